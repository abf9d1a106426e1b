// The engine-vs-PyTorch trajectory comparison (see pytorch_compare.h).
#include "experiments/pytorch_compare.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "reference/golden/golden.h"

namespace pa::experiments {

nlohmann::json PytorchCompareConfig::to_json() const {
  return {{"common", common.to_json()}, {"case", case_path}};
}

nlohmann::json run_pytorch_compare(const PytorchCompareConfig& config, Run& run) {
  run.add_data_file("recorded PyTorch trajectory", config.case_path);
  const golden::CaseReport report = golden::check_case(config.case_path, run.device());
  const std::vector<double>& engine = report.losses;
  const std::vector<double>& pytorch = report.expected_losses;
  PA_CHECK(!engine.empty() && engine.size() == pytorch.size(), "pytorch_compare",
           config.case_path << " is a '" << report.module << "' case without a loss trajectory",
           "pass a trajectory case such as reference/pytorch/cases/denoising_trajectory"
           ".safetensors");
  const int64_t steps = static_cast<int64_t>(engine.size());
  run.start_progress(steps);
  double max_rel = 0;
  for (int64_t i = 0; i < steps; ++i) {
    const double diff = std::abs(engine[i] - pytorch[i]);
    const double rel = diff / std::max(std::abs(pytorch[i]), 1e-30);
    max_rel = std::max(max_rel, rel);
    const int64_t step = i + 1;
    if (step % config.common.log_every == 0 || step == steps || step == 1) {
      run.log({{"step", step},
               {"engine_loss", engine[i]},
               {"pytorch_loss", pytorch[i]},
               {"abs_diff", diff},
               {"rel_diff", rel}});
    }
    std::ostringstream status;
    status << std::scientific << std::setprecision(2) << "relative loss difference " << rel;
    run.progress().update(step, status.str());
  }
  nlohmann::json parameters = nlohmann::json::array();
  double max_param_error = 0;
  for (const golden::TensorReport& tensor : report.tensors) {
    if (tensor.name.rfind("expected.param.", 0) != 0) continue;
    max_param_error = std::max(max_param_error, tensor.max_abs_error);
    parameters.push_back({{"name", tensor.name.substr(15)},
                          {"max_abs_error", tensor.max_abs_error},
                          {"passed", tensor.passed},
                          {"note", tensor.note}});
  }
  std::ostringstream status;
  status << (report.passed() ? "agrees" : "DIFFERS") << ": max relative loss difference "
         << std::scientific << std::setprecision(2) << max_rel;
  run.progress().finish(status.str());
  return run.finish({{"steps", steps},
                     {"torch_version", report.torch_version},
                     {"max_rel_loss_diff", max_rel},
                     {"final_engine_loss", engine.back()},
                     {"final_pytorch_loss", pytorch.back()},
                     {"max_param_abs_error", max_param_error},
                     {"parameters", parameters},
                     {"passed", report.passed()}});
}

}  // namespace pa::experiments
