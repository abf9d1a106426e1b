// Checkpointing and CtrlCGuard (see checkpointing.h).
#include "experiments/common/checkpointing.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/core/error.h"

namespace pa::experiments {
namespace {

constexpr const char* kOp = "experiments::Checkpointing";
constexpr const char* kFile = "checkpoint.safetensors";
// Extra metadata that Checkpointing itself writes; tracked variables take other names.
constexpr const char* kExperiment = "experiment";
constexpr const char* kConfig = "config";
constexpr const char* kSkippedSteps = "skipped_steps";
constexpr const char* kMetricsRows = "metrics_rows";

volatile std::sig_atomic_t interrupt_flag = 0;
struct sigaction previous_action {};
int installed = 0;

void on_sigint(int) { interrupt_flag = 1; }

// The settings that must match for a resumed run to continue the same run: everything but
// where it writes and how the resume itself was asked for.
nlohmann::json comparable(nlohmann::json config) {
  auto strip = [](nlohmann::json& common) {
    for (const char* key : {"out", "overwrite", "resume", "checkpoint_every", "threads"}) {
      common.erase(key);
    }
  };
  if (config.contains("common") && config["common"].is_object()) strip(config["common"]);
  if (config.is_object()) strip(config);
  return config;
}

// The first key where two JSON objects differ ("" when they are equal).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& prefix = "") {
  if (a == b) return "";
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return prefix + key;
      const std::string inner = first_difference(value, b[key], prefix + key + ".");
      if (!inner.empty()) return inner;
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) return prefix + key;
    }
  }
  return prefix.empty() ? "(the whole configuration)" : prefix.substr(0, prefix.size() - 1);
}

const std::string& entry(const std::map<std::string, std::string>& extra, const std::string& key,
                         const std::string& path) {
  auto found = extra.find(key);
  PA_CHECK(found != extra.end(), kOp, path << ": metadata lacks 'extra." << key << "'",
           "resume with the experiment (and the build) that wrote the checkpoint");
  return found->second;
}

// Exact text forms for loop state in checkpoint metadata: hexadecimal floating point for reals,
// decimal for integers.
std::string encode(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%a", value);
  return text;
}

double decode_real(const std::map<std::string, std::string>& extra, const std::string& key,
                   const std::string& path) {
  const std::string& text = entry(extra, key, path);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  PA_CHECK(end != text.c_str() && *end == '\0', kOp,
           path << ": metadata 'extra." << key << "' is not a number",
           "the checkpoint is damaged; pass --overwrite to start over");
  return value;
}

int64_t decode_integer(const std::map<std::string, std::string>& extra, const std::string& key,
                       const std::string& path) {
  const std::string& text = entry(extra, key, path);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  PA_CHECK(end != text.c_str() && *end == '\0' && errno == 0, kOp,
           path << ": metadata 'extra." << key << "' is not a whole number",
           "the checkpoint is damaged; pass --overwrite to start over");
  return value;
}

void check_exists(const std::string& path) {
  PA_CHECK(std::filesystem::exists(path), kOp,
           "--resume: there is no checkpoint " << path << " to continue from",
           "a run writes one with --checkpoint-every N or when stopped with Ctrl-C; or start "
           "over with --overwrite");
}

// The checkpoint was written by the experiment of `run` with the same settings (but for --out
// and the like).
void check_settings(const std::map<std::string, std::string>& extra, const std::string& path,
                    const Run& run) {
  const auto experiment = extra.find(kExperiment);
  PA_CHECK(experiment != extra.end() && experiment->second == run.experiment(), kOp,
           "--resume: " << path << " was written by "
                        << (experiment == extra.end() ? std::string("an unnamed experiment")
                                                      : quote_input(experiment->second))
                        << ", not by " << run.experiment(),
           "resume in the --out folder of a " << run.experiment()
                                              << " run, or start over with --overwrite");
  const auto saved = extra.find(kConfig);
  PA_CHECK(saved != extra.end(), kOp, path << " does not record the run's settings",
           "start over with --overwrite");
  const nlohmann::json then =
      nlohmann::json::parse(saved->second, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json now = comparable(run.config());
  PA_CHECK(then == now, kOp,
           "--resume: the checkpoint was written with other settings (first difference: "
               << first_difference(then, now) << ")",
           "resume with the flags of the run that wrote it, or start over with --overwrite");
}

}  // namespace

CtrlCGuard::CtrlCGuard() {
  if (installed++ == 0) {
    interrupt_flag = 0;
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the program at once
    sigaction(SIGINT, &action, &previous_action);
  }
}

CtrlCGuard::~CtrlCGuard() {
  if (--installed == 0) sigaction(SIGINT, &previous_action, nullptr);
}

bool CtrlCGuard::requested() { return interrupt_flag != 0; }

Checkpointing::Checkpointing(Run& run, const CommonFlags& flags, nn::Module& model,
                             AdamTrainer& trainer, train::Generators generators)
    : run_(run),
      flags_(flags),
      model_(model),
      trainer_(trainer),
      generators_(std::move(generators)) {}

std::string Checkpointing::path() const { return run_.path(kFile); }

void Checkpointing::check_new_name(const std::string& name) const {
  PA_CHECK(name != kExperiment && name != kConfig && name != kSkippedSteps &&
               name != kMetricsRows && !reals_.count(name) && !integers_.count(name),
           kOp, "loop variable '" << name << "' is tracked twice or is a name of Checkpointing's",
           "give every tracked variable its own name");
}

void Checkpointing::track(const std::string& name, double& value) {
  check_new_name(name);
  reals_[name] = &value;
}

void Checkpointing::track(const std::string& name, int64_t& value) {
  check_new_name(name);
  integers_[name] = &value;
}

void Checkpointing::save(int64_t step) {
  Extra extra;
  for (const auto& [name, value] : reals_) extra[name] = encode(*value);
  for (const auto& [name, value] : integers_) extra[name] = std::to_string(*value);
  extra[kExperiment] = run_.experiment();
  extra[kConfig] = train::dump_json(comparable(run_.config()));
  extra[kSkippedSteps] = std::to_string(trainer_.skipped_steps());
  extra[kMetricsRows] = std::to_string(run_.rows());
  train::save_checkpoint(path(), model_, trainer_.optimizer(), step, generators_, extra);
}

int64_t Checkpointing::resume() {
  if (!flags_.resume) return 0;
  const std::string file = path();
  check_exists(file);
  // The settings first: a checkpoint of another experiment or configuration is named as such,
  // not as a model that does not fit.
  check_settings(train::checkpoint_extra(file), file, run_);
  const train::LoadedCheckpoint loaded =
      train::load_checkpoint(file, model_, trainer_.optimizer(), generators_);
  PA_CHECK(loaded.step <= flags_.steps, kOp,
           file << " is at step " << loaded.step << ", past --steps " << flags_.steps,
           "resume with the flags of the run that wrote it");
  trainer_.resume_at(loaded.step, decode_integer(loaded.extra, kSkippedSteps, file));
  for (const auto& [name, value] : reals_) *value = decode_real(loaded.extra, name, file);
  for (const auto& [name, value] : integers_) *value = decode_integer(loaded.extra, name, file);
  run_.keep_rows(decode_integer(loaded.extra, kMetricsRows, file));
  return loaded.step;
}

void Checkpointing::after_step(int64_t step, const std::function<nlohmann::json()>& summary) {
  const bool interrupted = CtrlCGuard::requested();
  if (interrupted || (flags_.checkpoint_every > 0 && step % flags_.checkpoint_every == 0)) {
    save(step);
  }
  if (!interrupted) return;
  nlohmann::json final_summary = summary();
  final_summary["interrupted"] = true;
  final_summary["step"] = step;
  run_.finish(final_summary);
  throw Interrupted{step};
}

int64_t Checkpointing::saved_integer(const Run& run, const CommonFlags& flags,
                                     const std::string& name) {
  if (!flags.resume) return 0;
  const std::string file = run.path(kFile);
  check_exists(file);
  const std::map<std::string, std::string> extra = train::checkpoint_extra(file);
  check_settings(extra, file, run);
  return decode_integer(extra, name, file);
}

}  // namespace pa::experiments
