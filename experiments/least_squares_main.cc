// bazel run //experiments:least_squares -- [--steps N --lr X --schedule cosine ...]
// A linear network trained with Adam converges to the closed-form least-squares solution.
// Exit codes: 0 converged, 1 not converged or a run error, 2 a bad flag or value.
#include "experiments/least_squares.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  LeastSquaresConfig config;
  ExperimentCli cli("least_squares",
                    "Linear network vs the closed-form least-squares solution (thesis 4.1)",
                    config.common);
  cli.add_training_flags(/*checkpoints=*/true);
  CLI::App& app = cli.app();
  app.add_option("--inputs", config.inputs, "input features")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--outputs", config.outputs, "output features")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--noise", config.noise, "std of the target noise")
      ->check(non_negative_number())
      ->capture_default_str();
  config.optim.add_to(app);
  app.add_option("--tolerance", config.tolerance, "max |W - W*| and |b - b*| counted converged")
      ->check(positive_number())
      ->capture_default_str();
  cli.set_check([&]() -> std::string {
    if (config.common.batch <= config.inputs) {
      return "--batch " + std::to_string(config.common.batch) + " must exceed --inputs " +
             std::to_string(config.inputs) + " for a unique least-squares solution";
    }
    return config.optim.check(config.common.steps);
  });
  if (auto code = cli.parse(argc, argv)) return *code;
  bool converged = false;
  const int status = run_main("least_squares", [&] {
    Run run("least_squares", config.common, config.to_json());
    converged = run_least_squares(config, run)["converged"].get<bool>();
    std::cout << "results in " << run.dir() << "\n";
  });
  return status != 0 ? status : (converged ? 0 : 1);
}
