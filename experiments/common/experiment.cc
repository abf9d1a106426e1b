// The shared experiment library (see experiment.h).
#include "experiments/common/experiment.h"

#include <omp.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/main.h"
#include "cli/process.h"
#include "engine/core/error.h"
#include "engine/train/sha256.h"

namespace pa::experiments {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? std::string(value) : fallback;
}

// Runs git in `dir` (no shell; stderr discarded) and returns its stdout with the trailing
// newline removed, or nullopt when git is missing or fails.
std::optional<std::string> git_output(const std::string& dir, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"git", "-C", dir});
  cli::ProgramResult result;
  try {
    result = cli::run_program(arguments, cli::StderrMode::kDiscard);
  } catch (const Error&) {
    return std::nullopt;  // no git on this machine
  }
  if (!result.ok()) return std::nullopt;
  std::string output = result.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

nlohmann::json CommonFlags::to_json() const {
  return {{"device", device},   {"seed", seed},
          {"steps", steps},     {"lr", lr},
          {"batch", batch},     {"log_every", log_every},
          {"threads", threads}, {"out", out},
          {"on_nan", on_nan},   {"checkpoint_every", checkpoint_every}};
}

CommonFlags common_defaults(int64_t steps, double lr, int64_t batch, int64_t log_every) {
  CommonFlags flags;
  flags.steps = steps;
  flags.lr = lr;
  flags.batch = batch;
  flags.log_every = log_every;
  return flags;
}

ExperimentCli::ExperimentCli(std::string name, const std::string& description, CommonFlags& flags)
    : name_(std::move(name)), flags_(flags), app_(description, name_) {
  app_.add_option("--device", flags_.device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app_.add_option("--seed", flags_.seed, "random seed (initialisation and data)")
      ->check(cli::any_unsigned())
      ->capture_default_str();
  app_.add_option("--steps", flags_.steps, "training steps")
      ->check(positive_integer())
      ->capture_default_str();
  app_.add_option("--lr", flags_.lr, "learning rate")
      ->check(positive_number())
      ->capture_default_str();
  app_.add_option("--batch", flags_.batch, "batch size")
      ->check(positive_integer())
      ->capture_default_str();
  app_.add_option("--log-every", flags_.log_every, "a metrics row every N steps")
      ->check(positive_integer())
      ->capture_default_str();
  app_.add_option("--threads", flags_.threads, "OpenMP threads (0: all cores; at most 256)")
      ->check(whole_number(0, 256))
      ->capture_default_str();
  app_.add_option("--out", flags_.out,
                  "output folder (default: results/" + name_ + "/ under the workspace)");
  app_.add_flag("--overwrite", flags_.overwrite,
                "replace the files of an earlier run in the output folder (without it, a "
                "folder holding an earlier run is refused)");
}

void ExperimentCli::add_training_flags(bool checkpoints) {
  app_.add_option("--on-nan", flags_.on_nan,
                  "a NaN/Inf loss or gradient: stop (name the step and where it appeared) or "
                  "skip the step")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  if (!checkpoints) return;
  app_.add_option("--checkpoint-every", flags_.checkpoint_every,
                  "write <out>/checkpoint.safetensors every N steps (0: only at Ctrl-C)")
      ->check(non_negative_number())
      ->capture_default_str();
  app_.add_flag("--resume", flags_.resume,
                "continue the run in --out from its checkpoint (same flags as that run)");
}

std::optional<int> ExperimentCli::parse(int argc, char** argv) {
  if (const auto code = cli::parse_flags(app_, argc, argv)) return code;
  std::string problem;
  if (flags_.overwrite && flags_.resume) {
    problem =
        "--overwrite and --resume were both given: --overwrite starts over in the folder, "
        "--resume continues its run; pass one";
  } else if (flags_.device == "cuda" && !cuda_available()) {
    problem =
        "--device cuda: this build has no CUDA backend or no GPU is visible (build with "
        "--config=cuda and run on a machine with a GPU)";
  } else if (check_) {
    problem = check_();
  }
  if (!problem.empty()) {
    std::cerr << name_ << ": " << problem << "\nRun with --help for more information.\n";
    return 2;
  }
  flags_.out = flags_.out.empty() ? default_out_dir(name_) : resolve_user_path(flags_.out);
  if (flags_.threads > 0) omp_set_num_threads(flags_.threads);
  return std::nullopt;
}

std::string workspace_dir() {
  return env_or("BUILD_WORKSPACE_DIRECTORY", std::filesystem::current_path().string());
}

std::string resolve_user_path(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return env_or("BUILD_WORKING_DIRECTORY", std::filesystem::current_path().string()) + "/" + path;
}

std::string default_out_dir(const std::string& experiment) {
  return workspace_dir() + "/results/" + experiment;
}

GitState git_state(const std::string& dir) {
  GitState state;
  if (auto commit = git_output(dir, {"rev-parse", "HEAD"})) {
    state.commit = *commit;
    const auto changes = git_output(dir, {"status", "--porcelain", "--untracked-files=no"});
    state.dirty = !changes || !changes->empty();
  }
  return state;
}

Run::Run(std::string experiment, const CommonFlags& flags, nlohmann::json config)
    : experiment_(std::move(experiment)),
      config_(std::move(config)),
      device_(parse_device(flags.device)),
      folder_(flags.out.empty() ? default_out_dir(experiment_) : flags.out,
              run_folder_mode(flags.overwrite, flags.resume, experiment_), experiment_),
      log_(folder_.dir(), flags.resume),
      start_(std::chrono::steady_clock::now()),
      started_at_(utc_now()) {
  if (folder_.removed_temporaries() > 0) {
    std::cerr << experiment_ << ": removed " << folder_.removed_temporaries()
              << " temporary file(s) a killed run left in " << folder_.dir() << "\n";
  }
  // A resumed run's final files are written again at its end.
  for (const char* stale : {"summary.json", "provenance.json"}) {
    std::error_code ignored;
    std::filesystem::remove(log_.dir() + "/" + stale, ignored);
  }
}

void Run::add_data_file(const std::string& role, const std::string& path) {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(path, error);
  PA_CHECK(!error, experiment_, "data file '" << path << "' (" << role << ") cannot be read",
           "check the path given with --data");
  data_files_.push_back({{"role", role},
                         {"path", std::filesystem::absolute(path).lexically_normal().string()},
                         {"bytes", bytes},
                         {"sha256", train::sha256_file(path)}});
}

train::Progress& Run::start_progress(int64_t total, const std::string& label) {
  progress_ = std::make_unique<train::Progress>(label.empty() ? experiment_ : label, total,
                                                std::cerr, train::progress_is_interactive());
  return *progress_;
}

nlohmann::json Run::finish(nlohmann::json summary) {
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  summary["experiment"] = experiment_;
  summary["wall_time_s"] = wall_s;
  log_.write_json("summary.json", summary);

  const GitState git = git_state(workspace_dir());
  nlohmann::json provenance = {
      {"experiment", experiment_},
      {"git_commit", git.commit},
      {"git_dirty", git.dirty},
      {"config", config_},
      {"data", data_files_},
      {"device", {{"name", device_.str()}, {"cpu_model", cpu_model()}}},
      {"threads", omp_get_max_threads()},
      {"build",
       {{"compiler", __VERSION__},
#ifdef NDEBUG
        {"assertions", false},
#else
        {"assertions", true},
#endif
        {"cuda_backend", cuda_available()}}},
      {"started_at", started_at_},
      {"wall_time_s", wall_s},
      {"metrics_rows", log_.rows()},
  };
  log_.write_json("provenance.json", provenance);
  return summary;
}

const std::vector<std::string> kScheduleNames = {"none", "cosine", "step"};

std::unique_ptr<optim::Schedule> make_schedule(const std::string& name, int64_t steps,
                                               int64_t warmup) {
  if (name == "none") return nullptr;
  if (name == "cosine") return optim::cosine_with_warmup(warmup, steps);
  if (name == "step") return optim::step_lr(std::max<int64_t>(1, steps / 4), 0.5);
  PA_CHECK(false, "experiments::make_schedule", "unknown schedule '" << name << "'",
           "use none, cosine or step");
  return nullptr;
}

int run_main(const std::string& name, const std::function<void()>& body) {
  return cli::run_main(name, [&name, &body] {
    try {
      body();
    } catch (const Interrupted& interrupted) {
      std::cerr << name << ": interrupted at step " << interrupted.step
                << "; checkpoint and summary written (continue with --resume)\n";
      return 130;
    }
    return 0;
  });
}

}  // namespace pa::experiments
