// The small shared experiment library: the flags every experiment takes (--device --seed
// --steps --lr --batch --log-every --threads --out), their parsing into exit codes (0 after
// --help, 2 after a bad flag or value), and Run, which owns one run's output folder:
// metrics.jsonl (one row per logged step), summary.json (final and best metrics) and
// provenance.json (git commit, full config, data sha256, device, threads, wall time), plus the
// progress display (a bar on a terminal, plain periodic lines otherwise).
//
// An experiment is a library function `run_<name>(const <Name>Config&, Run&)` (tests call it
// on quick configurations) and a cc_binary whose main() parses flags into that config.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "engine/core/dtype.h"
#include "engine/optim/schedule.h"
#include "engine/train/run_log.h"
#include "experiments/common/run_folder.h"

namespace pa::experiments {

struct CommonFlags {
  std::string device = "cpu";
  uint64_t seed = 0;
  int64_t steps = 1000;
  double lr = 1e-3;
  int64_t batch = 32;
  int64_t log_every = 10;  // a metrics row every this many steps (and at the last step)
  int threads = 0;         // OpenMP threads; 0 keeps OpenMP's default (all cores)
  std::string out;         // empty: results/<experiment>/ under the workspace
  bool overwrite = false;  // replace an earlier run's files in `out` (else refuse)
  // Training experiments (ExperimentCli::add_training_flags):
  std::string on_nan = "stop";   // NaN/Inf loss or gradient: stop | skip (model_flags.h)
  bool resume = false;           // continue the run in `out` from its checkpoint
  int64_t checkpoint_every = 0;  // write <out>/checkpoint.safetensors every N steps (0: never)
  nlohmann::json to_json() const;
};

// The common flags with an experiment's own defaults.
CommonFlags common_defaults(int64_t steps, double lr, int64_t batch, int64_t log_every);

// The command line of one experiment: the common flags plus whatever the experiment adds to
// app() before parse(). `check` (optional) validates combinations after parsing and returns an
// error message, or "" when the values fit together.
class ExperimentCli {
 public:
  ExperimentCli(std::string name, const std::string& description, CommonFlags& flags);
  CLI::App& app() { return app_; }
  void set_check(std::function<std::string()> check) { check_ = std::move(check); }
  // --on-nan, for every experiment that trains with AdamTrainer; with `checkpoints`, also
  // --checkpoint-every and --resume (the experiment saves and resumes through Checkpointing).
  void add_training_flags(bool checkpoints);
  // nullopt: go on with the run. Otherwise the exit code: 0 after --help, 2 after a bad flag
  // or value (the message and a pointer to --help are on stderr).
  std::optional<int> parse(int argc, char** argv);

 private:
  std::string name_;
  CommonFlags& flags_;
  CLI::App app_;
  std::function<std::string()> check_;
};

// Flag checks with plain messages ("--steps: must be a positive whole number, got -1"): integer
// flags take the *_integer ones or cli::whole_number (CLI11 alone clamps, wraps and reads octal),
// real flags the *_number ones (finite only); see cli/flags.h.
using cli::non_negative_integer;
using cli::non_negative_number;
using cli::number_in;
using cli::positive_integer;
using cli::positive_number;
using cli::whole_number;

// The workspace root under `bazel run` (BUILD_WORKSPACE_DIRECTORY), else the current folder.
std::string workspace_dir();
// A user-given path: relative paths are taken from where the user ran `bazel run`
// (BUILD_WORKING_DIRECTORY), not from the runfiles tree.
std::string resolve_user_path(const std::string& path);
// <workspace>/results/<experiment>: where a run writes when --out is not given.
std::string default_out_dir(const std::string& experiment);

// The learning-rate schedules the experiments offer by name: "none" (constant), "cosine"
// (linear warmup over `warmup` steps, then cosine decay to 0 at `steps`), "step" (x0.5 every
// steps/4). nullptr for "none"; a pa::Error for other names.
extern const std::vector<std::string> kScheduleNames;
std::unique_ptr<optim::Schedule> make_schedule(const std::string& name, int64_t steps,
                                               int64_t warmup);

// One run's outputs. Creates the output folder and starts metrics.jsonl; finish() writes
// summary.json and provenance.json (each atomically).
class Run {
 public:
  // `config`: every setting of the run (common flags included), recorded in provenance.
  Run(std::string experiment, const CommonFlags& flags, nlohmann::json config);
  const std::string& experiment() const { return experiment_; }
  Device device() const { return device_; }
  const std::string& dir() const { return log_.dir(); }
  std::string path(const std::string& file) const { return log_.dir() + "/" + file; }

  // Records a data file (path, size, sha256) in provenance.
  void add_data_file(const std::string& role, const std::string& path);
  void log(const nlohmann::json& row) { log_.log(row); }
  // Rows in metrics.jsonl so far; resuming, metrics.jsonl keeps its first `count` (RunLog).
  int64_t rows() const { return log_.rows(); }
  void keep_rows(int64_t count) { log_.keep_rows(count); }
  const nlohmann::json& config() const { return config_; }
  void write_json(const std::string& name, const nlohmann::json& value) const {
    log_.write_json(name, value);
  }
  // The progress display over `total` steps; `label` defaults to the experiment's name.
  train::Progress& start_progress(int64_t total, const std::string& label = "");
  train::Progress& progress() { return *progress_; }
  // Writes summary.json (`summary` plus wall time) and provenance.json; returns the summary
  // as written.
  nlohmann::json finish(nlohmann::json summary);

 private:
  std::string experiment_;
  nlohmann::json config_;
  Device device_;
  RunFolder folder_;  // before log_: the lock is taken and the folder cleared first
  train::RunLog log_;
  nlohmann::json data_files_ = nlohmann::json::array();
  std::unique_ptr<train::Progress> progress_;
  std::chrono::steady_clock::time_point start_;
  std::string started_at_;
};

// The current git commit of the workspace ("unknown" outside a git checkout) and whether
// tracked files differ from it.
struct GitState {
  std::string commit = "unknown";
  bool dirty = false;
};
GitState git_state(const std::string& dir);

// Thrown by a run that stopped at Ctrl-C (SIGINT) after writing its checkpoint and summary;
// run_main turns it into exit code 130 (the shell's code for a SIGINT).
struct Interrupted {
  int64_t step = 0;
};

// main()'s body: runs `body` (exit code 0) through cli::run_main: anything it throws becomes
// "<name>: error: ..." on stderr and exit code 1 (2 for a cli::UsageError); Interrupted
// becomes 130.
int run_main(const std::string& name, const std::function<void()>& body);

}  // namespace pa::experiments
