// Saving and resuming a training run, and stopping it cleanly at Ctrl-C; used by every training
// experiment (denoising, housing, least_squares, sine_inversion).
//
// With --checkpoint-every N the run writes <out>/checkpoint.safetensors after every N-th step
// (train::save_checkpoint: model, Adam state, the generators, the step, and the loop's own
// variables that the experiment tracks as extra metadata; atomic, so the file on disk is always
// a whole checkpoint, the previous one or the new one). --resume loads it into a freshly built
// model, keeps metrics.jsonl through the rows logged before it and continues; on the CPU with
// the same flags and threads the continuation is bit-identical to a run that was never stopped.
//
// While a Checkpointing (or a CtrlCGuard) is alive, Ctrl-C (SIGINT) asks the loop to stop after
// its current step: it writes a checkpoint and the summary (marked "interrupted") and throws
// Interrupted, which run_main turns into exit code 130. A second Ctrl-C ends the program at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/nn/module.h"
#include "engine/train/checkpoint.h"
#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

// While one is alive, SIGINT only sets a flag that Checkpointing::after_step reads. The first
// one alive installs the handler and clears the flag; the last one destroyed puts the previous
// handler back. Every Checkpointing holds one; a run of several trainings, each with its own
// Checkpointing (sine_inversion), holds one across all of them, so that a Ctrl-C that lands
// between two trainings is not lost.
class CtrlCGuard {
 public:
  CtrlCGuard();
  ~CtrlCGuard();
  CtrlCGuard(const CtrlCGuard&) = delete;
  CtrlCGuard& operator=(const CtrlCGuard&) = delete;
  static bool requested();
};

class Checkpointing {
 public:
  Checkpointing(Run& run, const CommonFlags& flags, nn::Module& model, AdamTrainer& trainer,
                train::Generators generators);
  Checkpointing(const Checkpointing&) = delete;
  Checkpointing& operator=(const Checkpointing&) = delete;

  std::string path() const;  // <out>/checkpoint.safetensors

  // The loop's own variables that a resumed run needs besides model, optimizer and generators
  // (the best loss so far, a running sum, ...), by name: saved exactly with every checkpoint
  // (reals in hexadecimal floating point) and put back by resume(). Track them before resume().
  void track(const std::string& name, double& value);
  void track(const std::string& name, int64_t& value);

  // With --resume: restores model, optimizer, schedule, generators and the tracked variables
  // from the checkpoint, checks first that it was written by the same experiment with the same
  // settings (a pa::Error naming the other experiment or the first differing setting), keeps
  // the rows metrics.jsonl had when it was written and returns its step. Without --resume: 0.
  int64_t resume();

  // Call after every step: writes a checkpoint when --checkpoint-every says so; after Ctrl-C
  // writes one, writes `summary()` (plus "interrupted" and "step") through Run::finish and
  // throws Interrupted.
  void after_step(int64_t step, const std::function<nlohmann::json()>& summary);

  // With --resume, before the model exists: the tracked integer `name` as the checkpoint holds it
  // (for a run of several trainings, which one to continue), its settings checked as resume()
  // checks them. Without --resume: 0.
  static int64_t saved_integer(const Run& run, const CommonFlags& flags, const std::string& name);

 private:
  using Extra = std::map<std::string, std::string>;
  void save(int64_t step);
  void check_new_name(const std::string& name) const;

  CtrlCGuard ctrl_c_;
  Run& run_;
  const CommonFlags& flags_;
  nn::Module& model_;
  AdamTrainer& trainer_;
  train::Generators generators_;
  std::map<std::string, double*> reals_;
  std::map<std::string, int64_t*> integers_;
};

}  // namespace pa::experiments
