// sine_inversion: the thesis' second signal task (chapter 4.2). One fixed batch
//   x[b, s, e] = sin(b + s + e / 10),  y = -x,
// is overfitted by a Transformer encoder with a Linear head, twice from the same
// initialisation:
//   baseline  constant learning rate, no clipping (the thesis' setup), which settles on the
//             plateau near 0.5 = E[sin^2]: predicting the mean 0 makes most gradients cancel;
//   fixed     the thesis' proposed fix, an LR schedule (warmup + cosine decay) and gradient
//             clipping, which escapes it.
// Both runs go to the same metrics.jsonl (field "run") and summary.json.
#pragma once

#include <nlohmann/json.hpp>

#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

struct SineInversionConfig {
  CommonFlags common = common_defaults(/*steps=*/600, /*lr=*/0.1, /*batch=*/8, /*log_every=*/5);
  TransformerFlags model{/*d_model=*/16, /*nhead=*/2, /*dim_feedforward=*/32, /*layers=*/2};
  // The fixed run's schedule and clipping.
  OptimFlags fix{/*schedule=*/"cosine", /*warmup=*/50, /*clip=*/1.0};
  int64_t seq_len = 16;         // S
  bool head = true;             // a Linear head after the encoder
  int64_t repeats = 4;          // initialisations (seeds) per run
  double escaped_below = 0.05;  // a run whose final loss is below this escaped
  double plateau = 0.5;         // E[sin^2]: the loss of predicting 0
  double plateau_band = 0.05;   // |loss - plateau| within this counts as on the plateau
  nlohmann::json to_json() const;
};

// Logs {run, seed, step, loss, lr, grad_norm}; returns the summary with, per run and seed, the
// final and best loss and the steps spent on the plateau, and per run how many seeds ended on
// the 0.5 plateau and how many escaped.
nlohmann::json run_sine_inversion(const SineInversionConfig& config, Run& run);

}  // namespace pa::experiments
