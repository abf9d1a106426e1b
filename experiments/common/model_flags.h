// Flags shared by the experiments: the Transformer's size and shape (--d-model --nhead --ff
// --layers --norm --activation --dropout; denoising, sine inversion), the optimisation extras
// (--schedule --warmup --clip) with their checks, and the Adam training step that uses them.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

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

// One Adam training loop's moving parts: the optimizer, its schedule and clipping.
class AdamTrainer {
 public:
  // `weight_decay`: Adam's L2 penalty added to the gradient.
  AdamTrainer(const std::vector<Tensor>& parameters, double lr, const OptimFlags& flags,
              int64_t total_steps, double weight_decay = 0.0);
  // Backpropagates `loss`, clips, steps the optimizer and the schedule. Returns the gradient
  // norm before clipping. A non-finite loss is a pa::Error (the run diverged).
  double step(const Tensor& loss);
  double lr() const { return optimizer_.lr(); }
  optim::Adam& optimizer() { return optimizer_; }

 private:
  optim::Adam optimizer_;
  std::unique_ptr<optim::LRScheduler> scheduler_;
  double clip_;
};

}  // namespace pa::experiments
