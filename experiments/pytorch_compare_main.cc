// bazel run //experiments:pytorch_compare -- [--case FILE] [--device cuda]
// The engine and the recorded PyTorch trajectory, loss curves side by side.
// Exit codes: 0 within tolerance, 1 beyond it or a run error (a case file that cannot be read or
// holds no trajectory, too), 2 a bad flag or value (a missing case file, too).
#include <filesystem>

#include "experiments/pytorch_compare.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  PytorchCompareConfig config;
  ExperimentCli cli("pytorch_compare",
                    "The engine vs the recorded PyTorch denoising trajectory (same init, batches, "
                    "Adam steps)",
                    config.common);
  CLI::App& app = cli.app();
  app.add_option("--case", config.case_path,
                 "trajectory case (default: "
                 "reference/pytorch/cases/denoising_trajectory.safetensors)");
  cli.set_check([&]() -> std::string {
    for (const char* fixed : {"--seed", "--steps", "--lr", "--batch"}) {
      if (app.count(fixed) > 0) {
        return std::string(fixed) +
               " is fixed by the recorded trajectory (its config holds the seed, steps, "
               "learning rate and batch); record another case to change it";
      }
    }
    config.case_path =
        config.case_path.empty()
            ? workspace_dir() + "/reference/pytorch/cases/denoising_trajectory.safetensors"
            : resolve_user_path(config.case_path);
    if (!std::filesystem::is_regular_file(config.case_path)) {
      return "--case: no such file '" + config.case_path + "'";
    }
    return "";
  });
  if (auto code = cli.parse(argc, argv)) return *code;
  bool passed = false;
  const int status = run_main("pytorch_compare", [&] {
    Run run("pytorch_compare", config.common, config.to_json());
    passed = run_pytorch_compare(config, run)["passed"].get<bool>();
    std::cout << "results in " << run.dir() << "\n";
  });
  return status != 0 ? status : (passed ? 0 : 1);
}
