// One training step of the denoising Transformer, ours vs PyTorch, on one device: the
// training-step rows of cpu_bench (CPU) and of train_step_bench (--device cuda). The model and
// shapes are //experiments:denoising's defaults: E 32, 4 heads, FF 64, 2 post-norm layers + a
// Linear head, B 32, S 32; Adam; MSE. PyTorch runs experiments/torch_step.py (same model, same
// shapes, same thread count) as a child process of this run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pa.h"

namespace pa::experiments {

struct TrainStepComparison {
  std::string shape = "B32 S32 E32 H4 FF64 L2";
  std::vector<double> ours_rounds, torch_rounds;  // medians of each round, ms
  double ours_ms = 0, torch_ms = 0;               // medians over the rounds
  std::string torch_version, torch_device;
  std::string failure;  // why the PyTorch side is missing (never empty then), or empty
  bool has_torch() const { return failure.empty(); }
};

// `rounds` alternating rounds of ours and PyTorch, `steps` timed steps each (after 5 warm-up
// steps); every step is timed to a device synchronize. `python` runs torch_step.py (as a
// program with arguments, no shell). A PyTorch side that cannot start, fails or prints anything
// but its result ends the PyTorch rounds and leaves `failure` saying why.
TrainStepComparison compare_train_step(Device device, int threads, int steps, int rounds,
                                       const std::string& python);

// What torch_step.py reports, validated: exactly one JSON object with a positive finite
// ms_median and a torch_version (and optionally the device). Anything else is a pa::Error that
// quotes a bounded excerpt of the output.
struct TorchStepResult {
  double ms_median = 0;
  std::string torch_version, device = "cpu";
};
TorchStepResult parse_torch_step_output(const std::string& output);

// The two JSONL rows (ours with the ratio, PyTorch) of a comparison.
std::vector<nlohmann::json> train_step_rows(const TrainStepComparison& comparison, int threads);

}  // namespace pa::experiments
