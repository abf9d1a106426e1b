// bazel run //experiments:denoising -- [--steps N --d-model E --norm pre|post ...]
// The project's main job: a Transformer denoises sines; see experiments/denoising.h.
// Exit codes: 0 done, 1 a run error, 2 a bad flag or value.
#include "experiments/denoising.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  DenoisingConfig config;
  ExperimentCli cli("denoising", "Transformer sine denoising (thesis 4.2; the main job)",
                    config.common);
  CLI::App& app = cli.app();
  cli.add_training_flags(/*checkpoints=*/true);
  config.model.add_to(app);
  config.optim.add_to(app);
  app.add_option("--seq-len", config.seq_len, "sequence length S")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--eval-batch", config.eval_batch, "held-out sequences scored at each log")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--predictions", config.predictions, "held-out sequences saved for plots")
      ->check(non_negative_integer())
      ->capture_default_str();
  cli.set_check([&] {
    std::string problem = config.model.check(config.common.batch, config.seq_len);
    if (problem.empty()) problem = config.optim.check(config.common.steps);
    return problem;
  });
  if (auto code = cli.parse(argc, argv)) return *code;
  return run_main("denoising", [&] {
    Run run("denoising", config.common, config.to_json());
    run_denoising(config, run);
    std::cout << "results in " << run.dir() << "\n";
  });
}
