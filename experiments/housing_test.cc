// The housing experiment on a quick configuration (300 steps): the real file parses into 20,640
// rows with 207 imputed values, the MLP beats linear regression on the test split, the three
// output files exist and parse, and the same seed gives byte-identical metrics. Bad settings
// and a malformed file are pa::Errors.
#include "experiments/housing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/tests/test_util.h"

namespace pa::experiments {
namespace {

using ::pa::testing::runfile;
using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;

HousingConfig quick_config(const std::string& out) {
  HousingConfig config;
  config.common.steps = 300;
  config.common.log_every = 50;
  config.common.out = temp_path(out);
  config.data = runfile("data/california_housing.csv");
  return config;
}

nlohmann::json run_quick(const HousingConfig& config) {
  Run run("housing", config.common, config.to_json());
  return run_housing(config, run);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(HousingExperiment, QuickRunParsesTheFileAndBeatsLinearRegression) {
  const HousingConfig config = quick_config("housing_quick");
  const nlohmann::json summary = run_quick(config);
  EXPECT_EQ(summary["rows"], 20640);
  EXPECT_EQ(summary["imputed_total_bedrooms"], 207);
  EXPECT_EQ(summary["split"]["train"], 16512);
  EXPECT_EQ(summary["split"]["val"], 2064);
  EXPECT_EQ(summary["split"]["test"], 2064);
  EXPECT_EQ(summary["feature_names"].size(), 13u);
  const double mlp = summary["mlp"]["test_rmse"], linear = summary["linear"]["test_rmse"];
  EXPECT_LT(mlp, linear);
  EXPECT_GT(linear, 0.6);  // about 0.67-0.70 on the splits of seeds 0-3
  EXPECT_LT(linear, 0.75);
  EXPECT_TRUE(summary["beats_linear"].get<bool>());
  EXPECT_NEAR(summary["mlp"]["test_mse"].get<double>(), mlp * mlp, 1e-9);
  EXPECT_LE(summary["mlp"]["best_val_step"].get<int64_t>(), 300);

  // metrics.jsonl: one row per 50 steps.
  std::istringstream metrics(read_text(config.common.out + "/metrics.jsonl"));
  std::string line;
  int64_t rows = 0;
  while (std::getline(metrics, line)) {
    const nlohmann::json row = nlohmann::json::parse(line);
    EXPECT_EQ(row["step"], 50 * (rows + 1));
    EXPECT_TRUE(std::isfinite(row["train_loss"].get<double>()));
    EXPECT_TRUE(std::isfinite(row["val_loss"].get<double>()));
    EXPECT_GT(row["lr"].get<double>(), 0.0);
    ++rows;
  }
  EXPECT_EQ(rows, 6);

  const nlohmann::json written =
      nlohmann::json::parse(read_text(config.common.out + "/summary.json"));
  EXPECT_EQ(written["mlp"]["test_rmse"], summary["mlp"]["test_rmse"]);
  EXPECT_EQ(written["experiment"], "housing");
  const nlohmann::json provenance =
      nlohmann::json::parse(read_text(config.common.out + "/provenance.json"));
  EXPECT_EQ(provenance["config"]["hidden"], nlohmann::json({64, 64}));
  EXPECT_EQ(provenance["config"]["steps"], 300);
  ASSERT_EQ(provenance["data"].size(), 1u);
  EXPECT_EQ(provenance["data"][0]["sha256"],
            "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e");
  EXPECT_TRUE(provenance.contains("git_commit"));
  EXPECT_TRUE(provenance.contains("wall_time_s"));
}

TEST(HousingExperiment, SameSeedGivesByteIdenticalMetrics) {
  HousingConfig first = quick_config("housing_seed_a"), second = quick_config("housing_seed_b");
  first.common.steps = second.common.steps = 100;
  first.common.log_every = second.common.log_every = 10;
  run_quick(first);
  run_quick(second);
  const std::string metrics = read_text(first.common.out + "/metrics.jsonl");
  EXPECT_FALSE(metrics.empty());
  EXPECT_EQ(metrics, read_text(second.common.out + "/metrics.jsonl"));
}

TEST(HousingExperiment, BadSettingsAndMalformedFilesAreErrors) {
  HousingConfig config = quick_config("housing_bad");
  config.hidden = {64, 0};
  EXPECT_EQ(check_housing_config(config), "--hidden: width 0 is not positive");
  EXPECT_TRUE(
      ThrowsPaError([&] { run_quick(config); }, {"pa::experiments::housing", "--hidden", "Hint:"}));
  config.hidden = {8};
  config.optim.warmup = config.common.steps;
  EXPECT_TRUE(ThrowsPaError([&] { run_quick(config); }, {"--warmup", "must be below --steps"}));

  config.optim.warmup = 0;
  config.optim.schedule = "none";
  config.data = temp_path("housing_missing.csv");
  EXPECT_TRUE(ThrowsPaError([&] { run_quick(config); }, {"housing_missing.csv", "no file"}));
  config.data = temp_path("housing_malformed.csv");
  std::ofstream(config.data)
      << "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,"
         "households,median_income,median_house_value,ocean_proximity\n"
         "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY\n"
         "-122.22,37.86,21.0,7099.0,1106.0,2401.0,1138.0,8.3014,358500.0\n";
  // Not the data set: its checksum fails first, naming the file and both sha256s.
  EXPECT_TRUE(ThrowsPaError(
      [&] { run_quick(config); },
      {"housing_malformed.csv", "fails its checksum", kCaliforniaHousing.sha256, "--no-checksum"}));
  config.verify_checksum = false;
  EXPECT_TRUE(ThrowsPaError([&] { run_quick(config); },
                            {"housing_malformed.csv", "line 3", "9 fields, expected 10"}));
}

}  // namespace
}  // namespace pa::experiments
