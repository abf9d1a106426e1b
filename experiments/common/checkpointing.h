// Saving and resuming a training run, and stopping it cleanly at Ctrl-C.
//
// With --checkpoint-every N the run writes <out>/checkpoint.safetensors after every N-th step
// (train::save_checkpoint: model, Adam state, the generators, the step, and the experiment's
// own loop state as extra metadata; atomic, so the file on disk is always a whole checkpoint,
// the previous one or the new one). --resume loads it into a freshly built model, keeps
// metrics.jsonl through its step and continues; on the CPU with the same flags and threads the
// continuation is bit-identical to a run that was never stopped.
//
// While a Checkpointing is alive, Ctrl-C (SIGINT) asks the loop to stop after its current step:
// it writes a checkpoint and the summary (marked "interrupted") and throws Interrupted, which
// run_main turns into exit code 130. A second Ctrl-C ends the program at once.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/nn/module.h"
#include "engine/train/checkpoint.h"
#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

class Checkpointing {
 public:
  using Extra = std::map<std::string, std::string>;
  Checkpointing(Run& run, const CommonFlags& flags, nn::Module& model, AdamTrainer& trainer,
                train::Generators generators);
  ~Checkpointing();  // puts the previous SIGINT handler back
  Checkpointing(const Checkpointing&) = delete;
  Checkpointing& operator=(const Checkpointing&) = delete;

  std::string path() const;  // <out>/checkpoint.safetensors

  // With --resume: restores model, optimizer, schedule and generators from the checkpoint,
  // checks that it was written by a run with the same settings, keeps metrics.jsonl through its
  // step and returns the step and the loop state saved with it. Without --resume: step 0.
  train::LoadedCheckpoint resume();

  // Call after every step: writes a checkpoint when --checkpoint-every says so; after Ctrl-C
  // writes one, writes `summary()` (plus "interrupted" and "step") through Run::finish and
  // throws Interrupted. `extra` is the loop state a resumed run needs (best loss so far, ...).
  void after_step(int64_t step, const std::function<Extra()>& extra,
                  const std::function<nlohmann::json()>& summary);

  void save(int64_t step, const Extra& extra);

  static bool interrupt_requested();

  // Exact text forms for loop state in checkpoint metadata (hexadecimal floating point).
  static std::string encode(double value);
  static double decode(const Extra& extra, const std::string& key, const std::string& path);

 private:
  Run& run_;
  const CommonFlags& flags_;
  nn::Module& model_;
  AdamTrainer& trainer_;
  train::Generators generators_;
};

}  // namespace pa::experiments
