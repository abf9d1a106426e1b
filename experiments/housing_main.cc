// `bazel run //experiments:housing -- [flags]`: the California Housing experiment's command
// line (see housing.h). Exit codes: 0 after a run or --help, 1 for a run that fails (e.g. a
// malformed CSV, the message naming the line; a CSV failing its checksum), 2 for a bad flag or
// value or a missing --data file.
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "experiments/common/experiment.h"
#include "experiments/housing.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  HousingConfig config;
  ExperimentCli cli("housing",
                    "California Housing: an MLP (He init, ReLU, MSE, Adam) against closed-form "
                    "linear regression on the same seeded train/val/test split",
                    config.common);
  cli.add_training_flags(/*checkpoints=*/true);
  CLI::App& app = cli.app();
  app.add_option("--data", config.data,
                 std::string("the California Housing CSV (default: data/") +
                     kCaliforniaHousing.file + " in the repository)");
  app.add_flag("--no-checksum{false}", config.verify_checksum,
               "accept a CSV whose sha256 differs from data/SHA256SUMS (a changed copy)");
  app.add_option("--hidden", config.hidden, "hidden layer widths, comma-separated")
      ->delimiter(',')
      ->check(whole_number(1, 65536))
      ->capture_default_str();
  config.optim.add_to(app);
  app.add_option("--weight-decay", config.weight_decay, "Adam's L2 weight decay")
      ->check(non_negative_number())
      ->capture_default_str();
  app.add_option("--val-fraction", config.val_fraction, "share of rows held out for validation")
      ->check(number_in(0.0, 0.5))
      ->capture_default_str();
  app.add_option("--test-fraction", config.test_fraction, "share of rows held out for testing")
      ->check(number_in(0.0, 0.5))
      ->capture_default_str();
  cli.set_check([&config]() -> std::string {
    config.data = config.data.empty() ? default_data_path(kCaliforniaHousing)
                                      : resolve_user_path(config.data);
    if (!std::filesystem::is_regular_file(config.data)) {
      return "--data: no file '" + config.data + "' (pass the California Housing CSV)";
    }
    return check_housing_config(config);
  });
  if (const auto code = cli.parse(argc, argv)) return *code;

  bool beats_linear = false;
  const int status = run_main("housing", [&config, &beats_linear] {
    Run run("housing", config.common, config.to_json());
    const nlohmann::json summary = run_housing(config, run);
    const double mlp_rmse = summary["mlp"]["test_rmse"],
                 linear_rmse = summary["linear"]["test_rmse"];
    std::printf(
        "housing: %lld rows, %lld empty total_bedrooms filled with the training median %.1f; "
        "train/val/test %lld/%lld/%lld\n",
        summary["rows"].get<long long>(), summary["imputed_total_bedrooms"].get<long long>(),
        summary["total_bedrooms_median"].get<double>(), summary["split"]["train"].get<long long>(),
        summary["split"]["val"].get<long long>(), summary["split"]["test"].get<long long>());
    std::printf(
        "housing: test RMSE ($100k): MLP %.4f, linear regression %.4f (%s); best val MSE %.4f at "
        "step %lld\n",
        mlp_rmse, linear_rmse,
        summary["beats_linear"].get<bool>() ? "MLP better" : "MLP NOT better",
        summary["mlp"]["best_val_loss"].get<double>(),
        summary["mlp"]["best_val_step"].get<long long>());
    std::printf("housing: %.1fs; outputs in %s\n", summary["wall_time_s"].get<double>(),
                run.dir().c_str());
    beats_linear = summary["beats_linear"].get<bool>();
  });
  return status != 0 ? status : (beats_linear ? 0 : 1);  // the MLP must beat linear regression
}
