// The California Housing experiment: an MLP (He init, ReLU, MSE, Adam, optional LR schedule)
// regresses the median house value ($100k) on 13 features (engine/data/housing.h), next to
// closed-form linear least squares (Eigen, double) on the same split, which it must beat.
//
// Outputs (Run): metrics.jsonl rows {step, train_loss (mean batch MSE since the previous row),
// val_loss (full validation MSE), lr}; summary.json with the MLP's and the linear model's
// train/val/test MSE and RMSE, the best validation loss and its step, the data counts (rows,
// imputed total_bedrooms, split sizes, categories), the feature names and `beats_linear`.
//
// --seed seeds three independent streams: the train/val/test split, the initialisation and the
// order of the minibatches (reshuffled every epoch).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiments/common/datasets.h"
#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

struct HousingConfig {
  // A run of a few seconds on two cores that ends well below linear regression's test error.
  CommonFlags common =
      common_defaults(/*steps=*/3000, /*lr=*/3e-3, /*batch=*/128, /*log_every=*/50);
  std::string data;  // the CSV; empty: default_data_path(kCaliforniaHousing) (data/ in the repo)
  bool verify_checksum = true;             // the CSV must have data/SHA256SUMS's sha256
  std::vector<int64_t> hidden = {64, 64};  // hidden layer widths
  OptimFlags optim;           // --schedule (default cosine from --lr down to 0), --warmup, --clip
  double weight_decay = 0.0;  // Adam's L2 penalty
  double val_fraction = 0.1;
  double test_fraction = 0.1;

  nlohmann::json to_json() const;
};

// "" when the housing-specific settings fit together, else what is wrong: main() prints it and
// exits with code 2; run_housing throws it as a pa::Error.
std::string check_housing_config(const HousingConfig& config);

// Loads the data, fits linear regression, trains the MLP, evaluates both; writes metrics rows
// through `run` and finishes it. Returns the summary as written.
nlohmann::json run_housing(const HousingConfig& config, Run& run);

}  // namespace pa::experiments
