// pytorch_compare: the engine next to PyTorch on the recorded denoising trajectory
// (reference/pytorch/cases/denoising_trajectory.safetensors, written by
// reference/pytorch/record_baselines.py): the same DenoisingTransformer initialisation, the
// same batches, the same Adam steps; the two loss curves side by side, step by step, and the
// final parameters compared (//reference:check_golden's trajectory check).
#pragma once

#include <nlohmann/json.hpp>

#include "experiments/common/experiment.h"

namespace pa::experiments {

struct PytorchCompareConfig {
  // Steps, learning rate and batch come from the recording; a row for every step.
  CommonFlags common = common_defaults(/*steps=*/1, /*lr=*/1e-3, /*batch=*/1, /*log_every=*/1);
  std::string case_path;  // empty: reference/pytorch/cases/denoising_trajectory.safetensors
  nlohmann::json to_json() const;
};

// Logs {step, engine_loss, pytorch_loss, abs_diff, rel_diff} for every recorded step; returns
// the summary (max relative loss difference, final-parameter errors, passed).
nlohmann::json run_pytorch_compare(const PytorchCompareConfig& config, Run& run);

}  // namespace pa::experiments
