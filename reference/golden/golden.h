// Checks the engine against a recorded PyTorch case (reference/pytorch/README.md describes the
// format): builds the module the case names from its config, loads the parameters under
// PyTorch's names, runs forward and backward (or the training trajectory, or the optimizer
// sequence) and compares every expected tensor.
#pragma once

#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace pa::golden {

struct Tolerance {
  double rtol = 1e-4;  // |actual - expected| <= atol + rtol * |expected|, element-wise
  double atol = 1e-5;
  double loss_rtol = 1e-4;  // trajectory losses, per step
};

struct TensorReport {
  std::string name;
  std::string shape;
  double max_abs_error = 0;
  double max_rel_error = 0;  // max |a - e| / max |e|: the error relative to the tensor's scale
  bool passed = true;
  std::string note;  // why a tolerance differs from the default, if it does
};

struct CaseReport {
  std::string path, module, description, torch_version;
  std::vector<TensorReport> tensors;
  // Trajectory cases: the loss at every step, the engine's and the recorded PyTorch one.
  std::vector<double> losses, expected_losses;
  bool passed() const;
  std::string format() const;  // one line per tensor, then PASS/FAIL
};

// Throws pa::Error (op "golden::check_case") for a missing or malformed case file, naming the
// tensor or config key at fault.
CaseReport check_case(const std::string& path, Device device = Device::cpu(),
                      const Tolerance& tolerance = {});

}  // namespace pa::golden
