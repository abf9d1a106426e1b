// bazel run //experiments:sine_inversion -- [--lr X --steps N --fix-clip C ...]
// The plateau at 0.5 and the thesis' fix (LR schedule + clipping); see sine_inversion.h.
// Exit codes: 0 done, 1 a run error, 2 a bad flag or value.
#include "experiments/sine_inversion.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  SineInversionConfig config;
  ExperimentCli cli("sine_inversion",
                    "Sine inversion: the 0.5 plateau and the schedule + clipping fix (thesis 4.2)",
                    config.common);
  cli.add_training_flags(/*checkpoints=*/true);
  CLI::App& app = cli.app();
  config.model.add_to(app);
  app.add_option("--seq-len", config.seq_len, "sequence length S")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_flag("--head,!--no-head", config.head, "a Linear head after the encoder (default on)");
  app.add_option("--repeats", config.repeats, "initialisations per run (seeds seed, seed+1, ...)")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--fix-schedule", config.fix.schedule, "the fixed run's schedule")
      ->check(CLI::IsMember(kScheduleNames))
      ->capture_default_str();
  app.add_option("--fix-warmup", config.fix.warmup, "the fixed run's warmup steps")
      ->check(non_negative_integer())
      ->capture_default_str();
  app.add_option("--fix-clip", config.fix.clip, "the fixed run's max gradient norm (0: off)")
      ->check(non_negative_number())
      ->capture_default_str();
  cli.set_check([&] {
    std::string problem = config.model.check(config.common.batch, config.seq_len);
    if (problem.empty()) problem = config.fix.check(config.common.steps, "--fix-");
    return problem;
  });
  if (auto code = cli.parse(argc, argv)) return *code;
  return run_main("sine_inversion", [&] {
    Run run("sine_inversion", config.common, config.to_json());
    run_sine_inversion(config, run);
    std::cout << "results in " << run.dir() << "\n";
  });
}
