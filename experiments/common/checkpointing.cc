// Checkpointing (see checkpointing.h).
#include "experiments/common/checkpointing.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/core/error.h"

namespace pa::experiments {
namespace {

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

}  // namespace

Checkpointing::Checkpointing(Run& run, const CommonFlags& flags, nn::Module& model,
                             AdamTrainer& trainer, train::Generators generators)
    : run_(run),
      flags_(flags),
      model_(model),
      trainer_(trainer),
      generators_(std::move(generators)) {
  if (installed++ == 0) {
    interrupt_flag = 0;
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the program at once
    sigaction(SIGINT, &action, &previous_action);
  }
}

Checkpointing::~Checkpointing() {
  if (--installed == 0) sigaction(SIGINT, &previous_action, nullptr);
}

bool Checkpointing::interrupt_requested() { return interrupt_flag != 0; }

std::string Checkpointing::path() const { return run_.path("checkpoint.safetensors"); }

std::string Checkpointing::encode(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%a", value);
  return text;
}

double Checkpointing::decode(const Extra& extra, const std::string& key, const std::string& path) {
  auto found = extra.find(key);
  PA_CHECK(found != extra.end(), "experiments::Checkpointing",
           path << ": metadata lacks 'extra." << key << "'",
           "resume with the experiment that wrote the checkpoint");
  char* end = nullptr;
  const double value = std::strtod(found->second.c_str(), &end);
  PA_CHECK(end != found->second.c_str() && *end == '\0', "experiments::Checkpointing",
           path << ": metadata 'extra." << key << "' is not a number",
           "the checkpoint is damaged; pass --overwrite to start over");
  return value;
}

void Checkpointing::save(int64_t step, const Extra& extra) {
  Extra all = extra;
  all["config"] = train::dump_json(comparable(run_.config()));
  all["skipped_steps"] = std::to_string(trainer_.skipped_steps());
  train::save_checkpoint(path(), model_, trainer_.optimizer(), step, generators_, all);
}

train::LoadedCheckpoint Checkpointing::resume() {
  if (!flags_.resume) return {};
  const std::string file = path();
  PA_CHECK(std::filesystem::exists(file), "experiments::Checkpointing",
           "--resume: there is no checkpoint " << file << " to continue from",
           "a run writes one with --checkpoint-every N or when stopped with Ctrl-C; or start "
           "over with --overwrite");
  train::LoadedCheckpoint loaded =
      train::load_checkpoint(file, model_, trainer_.optimizer(), generators_);
  const auto saved = loaded.extra.find("config");
  PA_CHECK(saved != loaded.extra.end(), "experiments::Checkpointing",
           file << " does not record the run's settings", "start over with --overwrite");
  const nlohmann::json then =
      nlohmann::json::parse(saved->second, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json now = comparable(run_.config());
  PA_CHECK(then == now, "experiments::Checkpointing",
           "--resume: the checkpoint was written with other settings (first difference: "
               << first_difference(then, now) << ")",
           "resume with the flags of the run that wrote it, or start over with --overwrite");
  PA_CHECK(loaded.step <= flags_.steps, "experiments::Checkpointing",
           file << " is at step " << loaded.step << ", past --steps " << flags_.steps,
           "resume with the flags of the run that wrote it");
  trainer_.resume_at(loaded.step,
                     static_cast<int64_t>(decode(loaded.extra, "skipped_steps", file)));
  run_.keep_rows_through(loaded.step);
  return loaded;
}

void Checkpointing::after_step(int64_t step, const std::function<Extra()>& extra,
                               const std::function<nlohmann::json()>& summary) {
  const bool interrupted = interrupt_requested();
  if (interrupted || (flags_.checkpoint_every > 0 && step % flags_.checkpoint_every == 0)) {
    save(step, extra());
  }
  if (!interrupted) return;
  nlohmann::json final_summary = summary();
  final_summary["interrupted"] = true;
  final_summary["step"] = step;
  run_.finish(final_summary);
  throw Interrupted{step};
}

}  // namespace pa::experiments
