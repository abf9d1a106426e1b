// Ours vs PyTorch for one denoising training step (see train_step_compare.h).
#include "experiments/train_step_compare.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

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

// Runs a command, returning its output and whether it exited with 0.
bool run_command(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return false;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  return pclose(pipe) == 0;
}

}  // namespace

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
  const std::string command = python + " " + workspace_dir() +
                              "/experiments/torch_step.py --threads " + std::to_string(threads) +
                              " --steps " + std::to_string(steps) + " --device " +
                              (device.is_cpu() ? "cpu" : "cuda");
  TrainStepComparison result;
  // Rounds alternate ours and PyTorch, so that a slow phase of the machine lands on both.
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < 5; ++i) step_ms();
    std::vector<double> times;
    for (int i = 0; i < steps; ++i) times.push_back(step_ms());
    result.ours_rounds.push_back(median(times));
    std::string output;
    nlohmann::json row;
    if (run_command(command, output)) {
      try {
        row = nlohmann::json::parse(output);
      } catch (const nlohmann::json::exception&) {
      }
    }
    if (!row.is_object()) {
      result.failure = output.substr(0, 300);
      continue;
    }
    result.torch_rounds.push_back(row["ms_median"].get<double>());
    result.torch_version = row["torch_version"].get<std::string>();
    result.torch_device = row.value("device", std::string("cpu"));
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
