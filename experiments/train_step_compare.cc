// Ours vs PyTorch for one denoising training step (see train_step_compare.h).
#include "experiments/train_step_compare.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "cli/process.h"
#include "engine/cpu/cpu_config.h"
#include "engine/nn/transformer.h"
#include "engine/optim/optimizer.h"
#include "experiments/common/experiment.h"

namespace pa::experiments {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

TorchStepResult parse_torch_step_output(const std::string& output) {
  const auto fail = [&output](const std::string& problem) -> TorchStepResult {
    PA_CHECK(false, "train_step",
             "torch_step.py " << problem << "; it printed " << cli::excerpt(output),
             "torch_step.py prints one JSON object with ms_median and torch_version");
    return {};
  };
  const size_t first = output.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return fail("printed no result");
  const size_t last = output.find_last_not_of(" \t\r\n");
  const std::string text = output.substr(first, last - first + 1);
  if (text.find('\n') != std::string::npos) return fail("printed more than one line");
  nlohmann::json row;
  try {
    row = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return fail("printed something that is not JSON");
  }
  if (!row.is_object()) return fail("printed JSON that is not an object");
  const auto median = row.find("ms_median");
  if (median == row.end() || !median->is_number()) return fail("gave no number ms_median");
  TorchStepResult result;
  result.ms_median = median->get<double>();
  if (!std::isfinite(result.ms_median) || result.ms_median <= 0) {
    return fail("gave ms_median " + median->dump() + ", not a positive finite time");
  }
  const auto version = row.find("torch_version");
  if (version == row.end() || !version->is_string()) return fail("gave no string torch_version");
  result.torch_version = version->get<std::string>();
  const auto device = row.find("device");
  if (device != row.end()) {
    if (!device->is_string()) return fail("gave a device that is not a string");
    result.device = device->get<std::string>();
  }
  return result;
}

TrainStepComparison compare_train_step(Device device, int threads, int steps, int rounds,
                                       const std::string& python) {
  omp_set_num_threads(threads);
  cpu::cpu_config().threads = threads;
  const int64_t B = 32, S = 32, E = 32;
  nn::TransformerConfig config;
  config.d_model = E;
  config.nhead = 4;
  config.dim_feedforward = 64;
  Generator generator(0);
  nn::DenoisingTransformer model(config, 2, generator);
  model.to(device);
  optim::AdamOptions options;
  optim::Adam adam(model.parameters(), options);
  const Tensor x = add(rand({B, S, E}, generator), -0.5f).to(device);
  const Tensor y = tanh(x);
  auto step_ms = [&] {
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    adam.zero_grad();
    const Tensor loss = mse_loss(model.forward(x), y);
    loss.backward();
    adam.step();
    synchronize(device);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  const std::vector<std::string> command = {
      python,      workspace_dir() + "/experiments/torch_step.py",
      "--threads", std::to_string(threads),
      "--steps",   std::to_string(steps),
      "--device",  device.is_cpu() ? "cpu" : "cuda"};
  TrainStepComparison result;
  // Rounds alternate ours and PyTorch, so that a slow phase of the machine lands on both.
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < 5; ++i) step_ms();
    std::vector<double> times;
    for (int i = 0; i < steps; ++i) times.push_back(step_ms());
    result.ours_rounds.push_back(median(times));
    // The helper's stdout is its result; its stderr (warnings, a traceback) goes to ours.
    try {
      const cli::ProgramResult run = cli::run_program(command);
      PA_CHECK(run.ok(), "train_step",
               "'" << python << " torch_step.py' failed (" << run.status()
                   << "; its messages are above); it printed " << cli::excerpt(run.output),
               "is PyTorch installed for that Python (--python)?");
      const TorchStepResult torch = parse_torch_step_output(run.output);
      result.torch_rounds.push_back(torch.ms_median);
      result.torch_version = torch.torch_version;
      result.torch_device = torch.device;
    } catch (const Error& error) {
      result.failure = error.what();
      break;  // one failure is enough: the other rounds would fail the same way
    }
  }
  result.ours_ms = median(result.ours_rounds);
  if (result.failure.empty()) result.torch_ms = median(result.torch_rounds);
  return result;
}

std::vector<nlohmann::json> train_step_rows(const TrainStepComparison& c, int threads) {
  nlohmann::json ours = {{"op", "train_step"},        {"variant", "ours"}, {"shape", c.shape},
                         {"threads", threads},        {"ms", c.ours_ms},   {"anchor", "pytorch"},
                         {"ms_rounds", c.ours_rounds}};
  if (!c.has_torch()) {
    ours["anchor_missing"] = "python3-torch not available or failed: " + c.failure;
    return {ours};
  }
  ours["ratio"] = c.torch_ms / c.ours_ms;
  const nlohmann::json torch = {{"op", "train_step"},
                                {"variant", "pytorch"},
                                {"shape", c.shape},
                                {"threads", threads},
                                {"ms", c.torch_ms},
                                {"ms_rounds", c.torch_rounds},
                                {"torch_version", c.torch_version},
                                {"torch_device", c.torch_device}};
  return {ours, torch};
}

}  // namespace pa::experiments
