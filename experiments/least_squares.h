// least_squares: the thesis' feed-forward check (chapter 4.1). A linear network (one Linear
// layer, no nonlinearity) is trained with Adam on one fixed batch of synthetic regression data,
// y = X W_true^T + b_true + noise; every --log-every steps the learned W, b are compared with
// the closed-form least-squares solution of the same batch (Eigen, double precision), which
// minimises the same MSE: training must converge to it.
#pragma once

#include <nlohmann/json.hpp>

#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

struct LeastSquaresConfig {
  CommonFlags common =
      common_defaults(/*steps=*/1000, /*lr=*/0.05, /*batch=*/256, /*log_every=*/25);
  int64_t inputs = 8;
  int64_t outputs = 4;
  double noise = 0.5;  // std of the Gaussian noise added to the targets
  OptimFlags optim{/*schedule=*/"cosine", /*warmup=*/50, /*clip=*/0.0};
  double tolerance = 1e-3;  // converged: max |W - W*| and max |b - b*| below this
  nlohmann::json to_json() const;
};

// Trains and logs {step, loss, closed_form_loss, weight_max_abs_diff, bias_max_abs_diff,
// weight_distance (Frobenius), lr}; returns the summary (also written to summary.json).
nlohmann::json run_least_squares(const LeastSquaresConfig& config, Run& run);

}  // namespace pa::experiments
