// Crash-safe runs, in process: the output folder's lock and its fresh/overwrite/resume rules,
// stale temporary files, metrics.jsonl kept through a resumed step, and the --on-nan policies
// (the message names the step and where the non-finite value first appeared; skip leaves the
// parameters untouched). The kill-and-resume runs are experiments/crash_safety_test.sh.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/autograd/anomaly.h"
#include "engine/nn/layers.h"
#include "engine/pa.h"
#include "engine/tests/test_util.h"
#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"
#include "experiments/common/run_folder.h"

namespace pa::experiments {
namespace {

using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const std::string dir = temp_path(name);
  fs::remove_all(dir);
  return dir;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(RunFolder, FreshFolderIsCreatedAndLocked) {
  const std::string dir = fresh_dir("folder_new") + "/a/b";
  RunFolder folder(dir, RunFolder::Mode::kFresh, "test");
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::exists(dir + "/" + RunFolder::kLockName));
  // A second owner in the same process (another open file description) is refused, naming the
  // holder's pid.
  EXPECT_TRUE(ThrowsPaError([&] { RunFolder again(dir, RunFolder::Mode::kOverwrite, "test"); },
                            {"in use by another run", std::to_string(::getpid()), "--out"}));
}

TEST(RunFolder, LockIsReleasedWhenTheOwnerDies) {
  const std::string dir = fresh_dir("folder_dead_owner");
  const pid_t child = fork();
  if (child == 0) {
    RunFolder folder(dir, RunFolder::Mode::kFresh, "test");
    _exit(0);  // no destructor: only the kernel releases the lock
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  RunFolder folder(dir, RunFolder::Mode::kFresh, "test");  // empty but for the lock: fine
}

TEST(RunFolder, EarlierRunIsRefusedUnlessOverwriteOrResume) {
  const std::string dir = fresh_dir("folder_earlier");
  { RunFolder first(dir, RunFolder::Mode::kFresh, "test"); }
  write(dir + "/metrics.jsonl", "{\"step\":1}\n");
  fs::create_directories(dir + "/predictions");
  write(dir + "/predictions/old.npy", "x");
  EXPECT_TRUE(ThrowsPaError([&] { RunFolder again(dir, RunFolder::Mode::kFresh, "test"); },
                            {"earlier run", "--overwrite", "--resume"}));
  { RunFolder resumed(dir, RunFolder::Mode::kResume, "test"); }
  EXPECT_TRUE(fs::exists(dir + "/metrics.jsonl"));
  { RunFolder overwritten(dir, RunFolder::Mode::kOverwrite, "test"); }
  EXPECT_FALSE(fs::exists(dir + "/metrics.jsonl"));
  EXPECT_FALSE(fs::exists(dir + "/predictions"));  // nothing of the earlier run is left
}

TEST(RunFolder, OverwriteNeverClearsAFolderNoRunWrote) {
  const std::string dir = fresh_dir("folder_foreign");
  fs::create_directories(dir);
  write(dir + "/thesis.tex", "precious");
  EXPECT_TRUE(ThrowsPaError([&] { RunFolder folder(dir, RunFolder::Mode::kOverwrite, "test"); },
                            {"no run wrote it", "empty or new --out"}));
  EXPECT_EQ(read(dir + "/thesis.tex"), "precious");
  EXPECT_TRUE(ThrowsPaError([&] { RunFolder folder(dir, RunFolder::Mode::kFresh, "test"); },
                            {"other files", "thesis.tex"}));
}

TEST(RunFolder, StaleTemporaryFilesAreRemoved) {
  const std::string dir = fresh_dir("folder_stale");
  { RunFolder first(dir, RunFolder::Mode::kFresh, "test"); }
  write(dir + "/checkpoint.safetensors", "whole");
  write(dir + "/checkpoint.safetensors.tmp.12345", "torn");
  fs::create_directories(dir + "/predictions");
  write(dir + "/predictions/clean.npy.tmp.999", "torn");
  write(dir + "/notes.tmp.txt", "not a temporary of ours");
  RunFolder folder(dir, RunFolder::Mode::kResume, "test");
  EXPECT_EQ(folder.removed_temporaries(), 2);
  EXPECT_FALSE(fs::exists(dir + "/checkpoint.safetensors.tmp.12345"));
  EXPECT_FALSE(fs::exists(dir + "/predictions/clean.npy.tmp.999"));
  EXPECT_EQ(read(dir + "/checkpoint.safetensors"), "whole");
  EXPECT_TRUE(fs::exists(dir + "/notes.tmp.txt"));
}

TEST(RunFolder, EmptySubfoldersAreNotAnEarlierRun) {
  // Bazel creates a build action's output folders before the run starts.
  const std::string dir = fresh_dir("folder_empty_subfolders");
  fs::create_directories(dir + "/predictions/deeper");
  RunFolder folder(dir, RunFolder::Mode::kFresh, "test");
}

TEST(RunFolder, OutThatIsAFileIsAClearError) {
  const std::string dir = fresh_dir("folder_is_file");
  write(dir, "a file");
  EXPECT_TRUE(
      ThrowsPaError([&] { RunFolder folder(dir, RunFolder::Mode::kFresh, "test"); }, {dir}));
}

TEST(RunFolder, OverwriteAndResumeTogetherAreRefused) {
  EXPECT_TRUE(
      ThrowsPaError([] { run_folder_mode(true, true, "test"); }, {"--overwrite and --resume"}));
}

TEST(RunLog, ResumeKeepsTheCheckpointsRowsAndDropsATornLine) {
  const std::string dir = fresh_dir("runlog_resume");
  fs::create_directories(dir);
  write(dir + "/metrics.jsonl",
        "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n{\"step\":30,\"loss\":3}\n{\"st");
  {
    // A checkpoint taken after more rows than a kill left whole: every whole row stays.
    train::RunLog log(dir, /*resume=*/true);
    log.keep_rows(5);
    EXPECT_EQ(log.rows(), 3);
    EXPECT_EQ(read(dir + "/metrics.jsonl"),
              "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n{\"step\":30,\"loss\":3}\n");
  }
  train::RunLog log(dir, /*resume=*/true);
  log.keep_rows(2);
  log.log({{"step", 30}, {"loss", 4}});
  EXPECT_EQ(read(dir + "/metrics.jsonl"),
            "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n{\"loss\":4,\"step\":30}\n");
  EXPECT_EQ(log.rows(), 3);
}

// ---- --on-nan ----

struct TinyProblem {
  Generator generator{7};
  nn::Linear layer{3, 2, true, generator};
  OptimFlags optim{"none", 0, 0.0};
  AdamTrainer trainer{layer.parameters(), 0.1, optim, 10};
  TinyProblem() { trainer.set_parameter_names(layer.named_parameters()); }
  Tensor loss(const Tensor& input) {
    return mse_loss(layer.forward(input), zeros({input.size(0), 2}));
  }
};

Tensor finite_input() { return from_vector({1, 2, 3, 4, 5, 6}, {2, 3}); }

TEST(OnNan, StopNamesTheStepAndTheInput) {
  TinyProblem problem;
  problem.trainer.step(problem.loss(finite_input()));
  Tensor bad = from_vector({1, NAN, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(
      ThrowsPaError([&] { problem.trainer.step(problem.loss(bad)); },
                    {"step 2", "the loss became nan", "an input tensor (2, 3)", "--on-nan skip"}));
}

TEST(OnNan, StopNamesTheParameter) {
  TinyProblem problem;
  const nn::NamedTensors named = problem.layer.named_parameters();
  Tensor weight;
  for (const auto& [name, value] : named) {
    if (name == "weight") weight = value;
  }
  ASSERT_TRUE(weight.defined());
  weight.data<float>()[1] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(ThrowsPaError([&] { problem.trainer.step(problem.loss(finite_input())); },
                            {"step 1", "parameter 'weight'"}));
}

TEST(OnNan, TraceFindsTheOpThatMadeNanFromFiniteInputs) {
  Tensor x = from_vector({-1, 4}, {2});
  x.set_requires_grad(true);
  const Tensor y = sum(mul(log(x), 2.0f));  // log(-1) is NaN: log is the first bad op
  const std::string where = autograd::trace_non_finite(y, {});
  EXPECT_NE(where.find("op '"), std::string::npos) << where;
  EXPECT_NE(where.find("log"), std::string::npos) << where;
  EXPECT_NE(where.find("from finite inputs"), std::string::npos) << where;
  EXPECT_EQ(autograd::trace_non_finite(sum(x), {}), "");
}

TEST(OnNan, AnInfiniteGradientNamesItsParameter) {
  // sqrt at 0: a finite loss whose gradient is infinite.
  Tensor w = zeros({2});
  w.set_requires_grad(true);
  OptimFlags optim{"none", 0, 0.0};
  AdamTrainer trainer({w}, 0.1, optim, 10);
  trainer.set_parameter_names({{"w", w}});
  EXPECT_TRUE(
      ThrowsPaError([&] { trainer.step(sum(sqrt(w))); }, {"step 1", "gradient", "parameter 'w'"}));
}

TEST(OnNan, SkipLeavesParametersAndStopsAfterTenInARow) {
  TinyProblem problem;
  problem.trainer.set_on_nan(OnNan::kSkip);
  const std::vector<float> before = problem.layer.parameters()[0].to_vector();
  Tensor bad = from_vector({1, NAN, 3, 4, 5, 6}, {2, 3});
  const double norm = problem.trainer.step(problem.loss(bad));
  EXPECT_TRUE(std::isnan(norm));
  EXPECT_EQ(problem.layer.parameters()[0].to_vector(), before);
  EXPECT_EQ(problem.trainer.skipped_steps(), 1);
  EXPECT_EQ(problem.trainer.steps_taken(), 1);
  problem.trainer.step(problem.loss(finite_input()));  // a good step resets the streak
  EXPECT_NE(problem.layer.parameters()[0].to_vector(), before);
  for (int i = 0; i < 9; ++i) problem.trainer.step(problem.loss(bad));
  EXPECT_TRUE(ThrowsPaError([&] { problem.trainer.step(problem.loss(bad)); },
                            {"10 steps in a row were skipped"}));
}

TEST(OnNan, PolicyNames) {
  EXPECT_EQ(parse_on_nan("stop"), OnNan::kStop);
  EXPECT_EQ(parse_on_nan("skip"), OnNan::kSkip);
  EXPECT_TRUE(ThrowsPaError([] { parse_on_nan("ignore"); }, {"ignore", "stop or skip"}));
}

}  // namespace
}  // namespace pa::experiments
