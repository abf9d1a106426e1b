// The experiments on quick configurations: least squares reaches the closed form, the
// denoiser's held-out loss drops below the copy-the-input floor, sine inversion logs both runs,
// pytorch_compare agrees with the recording; every run writes metrics.jsonl, summary.json and
// provenance.json, and the same seed gives byte-identical metrics.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/data/signals.h"
#include "engine/tests/test_util.h"
#include "experiments/denoising.h"
#include "experiments/least_squares.h"
#include "experiments/pytorch_compare.h"
#include "experiments/sine_inversion.h"

namespace pa::experiments {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A fresh output folder under the test's temporary directory.
std::string fresh_out(const std::string& name) {
  const std::string dir = pa::testing::temp_path(name);
  std::filesystem::remove_all(dir);
  return dir;
}

void expect_run_files(const std::string& dir, const std::string& experiment) {
  const auto summary = nlohmann::json::parse(read_text(dir + "/summary.json"));
  EXPECT_EQ(summary["experiment"], experiment);
  EXPECT_GT(summary["wall_time_s"].get<double>(), 0.0);
  const auto provenance = nlohmann::json::parse(read_text(dir + "/provenance.json"));
  EXPECT_EQ(provenance["experiment"], experiment);
  for (const char* key : {"git_commit", "config", "data", "device", "threads", "wall_time_s"}) {
    EXPECT_TRUE(provenance.contains(key)) << key;
  }
  EXPECT_EQ(provenance["metrics_rows"].get<int64_t>(),
            static_cast<int64_t>(read_rows(dir + "/metrics.jsonl").size()));
}

DenoisingConfig quick_denoising(const std::string& out, int64_t steps) {
  DenoisingConfig config;
  config.common.out = out;
  config.common.steps = steps;
  config.common.batch = 16;
  config.common.log_every = 50;
  config.model.d_model = 16;
  config.model.nhead = 2;
  config.model.dim_feedforward = 32;
  config.seq_len = 16;
  config.eval_batch = 64;
  config.optim.warmup = 20;
  return config;
}

TEST(LeastSquares, ConvergesToTheClosedForm) {
  LeastSquaresConfig config;
  config.common.out = fresh_out("least_squares");
  config.common.steps = 400;
  config.inputs = 5;
  config.outputs = 3;
  experiments::Run run("least_squares", config.common, config.to_json());
  const auto summary = run_least_squares(config, run);
  EXPECT_LE(summary["weight_max_abs_diff"].get<double>(), 1e-3);
  EXPECT_LE(summary["bias_max_abs_diff"].get<double>(), 1e-3);
  EXPECT_TRUE(summary["converged"].get<bool>());
  // At the solution the loss is the closed form's (the noise the linear model cannot fit).
  EXPECT_NEAR(summary["final_loss"].get<double>(), summary["closed_form_loss"].get<double>(), 1e-5);
  const auto rows = read_rows(config.common.out + "/metrics.jsonl");
  ASSERT_GE(rows.size(), 2u);
  EXPECT_GT(rows.front()["weight_max_abs_diff"].get<double>(), 0.1);  // it started far away
  expect_run_files(config.common.out, "least_squares");
}

TEST(LeastSquares, TooFewStepsIsReportedAsNotConverged) {
  LeastSquaresConfig config;
  config.common.out = fresh_out("least_squares_short");
  config.common.steps = 5;
  config.optim.warmup = 1;
  experiments::Run run("least_squares", config.common, config.to_json());
  EXPECT_FALSE(run_least_squares(config, run)["converged"].get<bool>());
}

TEST(Denoising, HeldOutLossDropsBelowTheCopyFloor) {
  const DenoisingConfig config = quick_denoising(fresh_out("denoising"), 400);
  experiments::Run run("denoising", config.common, config.to_json());
  const auto summary = run_denoising(config, run);
  const auto rows = read_rows(config.common.out + "/metrics.jsonl");
  ASSERT_GE(rows.size(), 3u);
  const double first = rows.front()["eval_loss"].get<double>();
  const double last = summary["final_eval_loss"].get<double>();
  EXPECT_LT(last, 0.2 * first);  // a clear drop
  EXPECT_LT(last, data::kDenoisingCopyFloor);
  EXPECT_TRUE(summary["below_floor"].get<bool>());
  EXPECT_NEAR(summary["copy_loss_eval_set"].get<double>(), data::kDenoisingCopyFloor, 0.01);
  for (const char* name : {"noisy", "clean", "predicted"}) {
    EXPECT_TRUE(std::filesystem::exists(config.common.out + "/predictions/" + name + ".npy"));
  }
  EXPECT_TRUE(std::filesystem::exists(config.common.out + "/model.safetensors"));
  expect_run_files(config.common.out, "denoising");
}

TEST(Denoising, SameSeedGivesIdenticalMetrics) {
  std::string metrics[3];
  for (int i = 0; i < 3; ++i) {
    DenoisingConfig config = quick_denoising(fresh_out("denoising_seed" + std::to_string(i)), 30);
    config.common.log_every = 5;
    config.common.seed = i < 2 ? 5 : 6;
    experiments::Run run("denoising", config.common, config.to_json());
    run_denoising(config, run);
    metrics[i] = read_text(config.common.out + "/metrics.jsonl");
  }
  EXPECT_EQ(metrics[0], metrics[1]);
  EXPECT_NE(metrics[0], metrics[2]);
}

TEST(SineInversion, LogsBothRunsForEverySeed) {
  SineInversionConfig config;
  config.common.out = fresh_out("sine_inversion");
  config.common.steps = 60;
  config.common.log_every = 10;
  config.repeats = 2;
  config.fix.warmup = 10;
  experiments::Run run("sine_inversion", config.common, config.to_json());
  const auto summary = run_sine_inversion(config, run);
  for (const char* name : {"baseline", "fixed"}) {
    ASSERT_EQ(summary[name]["seeds"].size(), 2u) << name;
    for (const auto& seed : summary[name]["seeds"]) {
      EXPECT_TRUE(std::isfinite(seed["final_loss"].get<double>()));
      EXPECT_LT(seed["best_loss"].get<double>(), 1.5);  // it trained (starts near 1.7)
    }
  }
  // 2 kinds x 2 seeds x (steps 1, 10, ..., 60) rows.
  EXPECT_EQ(read_rows(config.common.out + "/metrics.jsonl").size(), 2u * 2u * 7u);
  EXPECT_NEAR(summary["target_mean_square"].get<double>(), 0.5, 0.05);  // E[sin^2]
  expect_run_files(config.common.out, "sine_inversion");
}

TEST(PytorchCompare, AgreesWithTheRecordedTrajectory) {
  PytorchCompareConfig config;
  config.common.out = fresh_out("pytorch_compare");
  config.case_path =
      pa::testing::runfile("reference/pytorch/cases/denoising_trajectory.safetensors");
  experiments::Run run("pytorch_compare", config.common, config.to_json());
  const auto summary = run_pytorch_compare(config, run);
  EXPECT_TRUE(summary["passed"].get<bool>());
  EXPECT_LT(summary["max_rel_loss_diff"].get<double>(), 1e-4);
  const auto rows = read_rows(config.common.out + "/metrics.jsonl");
  EXPECT_EQ(rows.size(), 20u);
  expect_run_files(config.common.out, "pytorch_compare");
}

TEST(PytorchCompare, ACaseWithoutATrajectoryIsAnError) {
  PytorchCompareConfig config;
  config.common.out = fresh_out("pytorch_compare_linear");
  config.case_path = pa::testing::runfile("reference/pytorch/cases/linear.safetensors");
  experiments::Run run("pytorch_compare", config.common, config.to_json());
  EXPECT_TRUE(pa::testing::ThrowsPaError([&] { run_pytorch_compare(config, run); },
                                         {"pytorch_compare", "without a loss trajectory"}));
}

TEST(RunOutputs, AnUnwritableOutputFolderIsAnError) {
  CommonFlags flags;
  flags.out = "/proc/pureattention_cannot_write_here";
  EXPECT_TRUE(pa::testing::ThrowsPaError([&] { experiments::Run run("denoising", flags, {}); },
                                         {"cannot create", "--out"}));
}

}  // namespace
}  // namespace pa::experiments
