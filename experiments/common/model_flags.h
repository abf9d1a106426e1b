// Flags shared by the experiments: the Transformer's size and shape (--d-model --nhead --ff
// --layers --norm --activation --dropout; denoising, sine inversion), the optimisation extras
// (--schedule --warmup --clip) with their checks, and the Adam training step that uses them.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/nn/transformer.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/schedule.h"

namespace pa::experiments {

struct TransformerFlags {
  int64_t d_model = 32;  // E: the signal's channels are the model's features
  int64_t nhead = 4;
  int64_t dim_feedforward = 64;
  int64_t layers = 2;
  std::string norm = "post";  // post (the thesis' layer) | pre
  std::string activation = "relu";
  double dropout = 0.0;

  void add_to(CLI::App& app);
  // "" when the values fit together: E divisible by H, and every weight and the activations of
  // `batch` sequences of `seq_len` small enough that their byte counts fit 64 bits.
  std::string check(int64_t batch = 1, int64_t seq_len = 1) const;
  nn::TransformerConfig config() const;
  nlohmann::json to_json() const;
};

struct OptimFlags {
  std::string schedule = "cosine";  // none | cosine | step (make_schedule)
  int64_t warmup = 0;               // warmup steps of the cosine schedule
  double clip = 0.0;                // max gradient norm; 0 turns clipping off

  void add_to(CLI::App& app);
  // "" when the values fit a run of `steps` steps (the warmup must end before the last step);
  // `prefix` is how the flags are spelled in the message ("--" or "--fix-").
  std::string check(int64_t steps, const std::string& prefix = "--") const;
  nlohmann::json to_json() const;
};

// What a training step does when the loss or a gradient is NaN or Inf (--on-nan).
enum class OnNan {
  kStop,  // a pa::Error naming the step and where the value first appeared (the default)
  kSkip,  // drop the step's update (the schedule still advances); stop after 10 in a row
};
OnNan parse_on_nan(const std::string& name);  // "stop" | "skip"; a pa::Error otherwise
extern const std::vector<std::string> kOnNanNames;

// One Adam training loop's moving parts: the optimizer, its schedule and clipping.
class AdamTrainer {
 public:
  // `weight_decay`: Adam's L2 penalty added to the gradient.
  AdamTrainer(const std::vector<Tensor>& parameters, double lr, const OptimFlags& flags,
              int64_t total_steps, double weight_decay = 0.0);
  // Names the parameters in NaN/Inf messages (optional; parameters are "#<index>" without).
  void set_parameter_names(const nn::NamedTensors& named);
  void set_on_nan(OnNan policy) { on_nan_ = policy; }
  // Backpropagates `loss`, clips, steps the optimizer and the schedule. Returns the gradient
  // norm before clipping. A non-finite loss or gradient follows the --on-nan policy: kStop
  // throws a pa::Error naming the step (1-based) and the first op or parameter where the value
  // appeared; kSkip returns NaN without changing any parameter.
  double step(const Tensor& loss);
  double lr() const { return optimizer_.lr(); }
  optim::Adam& optimizer() { return optimizer_; }
  int64_t steps_taken() const { return steps_; }
  int64_t skipped_steps() const { return skipped_; }
  // Resuming from a checkpoint saved after `steps` steps: the schedule's position and the
  // step counter (the optimizer's own state comes from the checkpoint).
  void resume_at(int64_t steps, int64_t skipped);

 private:
  [[noreturn]] void stop(const std::string& what) const;
  bool skip(const std::string& what);
  optim::Adam optimizer_;
  std::unique_ptr<optim::LRScheduler> scheduler_;
  double clip_;
  OnNan on_nan_ = OnNan::kStop;
  std::map<const void*, std::string> names_;
  int64_t steps_ = 0, skipped_ = 0, skipped_in_a_row_ = 0;
};

}  // namespace pa::experiments
