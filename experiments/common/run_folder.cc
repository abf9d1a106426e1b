// RunFolder (see run_folder.h).
#include "experiments/common/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <vector>

#include "engine/core/error.h"

namespace pa::experiments {
namespace fs = std::filesystem;

namespace {

// "<anything>.tmp.<pid>": what io::write_file_atomically leaves when its process is killed.
bool is_temporary(const fs::path& path) {
  static const std::regex pattern(R"(.+\.tmp\.[0-9]+)");
  return std::regex_match(path.filename().string(), pattern);
}

std::string read_pid(int descriptor) {
  char text[32] = {};
  const ssize_t got = ::pread(descriptor, text, sizeof(text) - 1, 0);
  std::string pid = got > 0 ? std::string(text, static_cast<size_t>(got)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

RunFolder::Mode run_folder_mode(bool overwrite, bool resume, const std::string& tool) {
  PA_CHECK(!(overwrite && resume), tool, "--overwrite and --resume were both given",
           "--overwrite starts over in the folder, --resume continues its run: pass one");
  if (resume) return RunFolder::Mode::kResume;
  return overwrite ? RunFolder::Mode::kOverwrite : RunFolder::Mode::kFresh;
}

RunFolder::RunFolder(std::string dir, Mode mode, const std::string& tool) : dir_(std::move(dir)) {
  std::error_code error;
  fs::create_directories(dir_, error);
  PA_CHECK(!error, tool, "cannot create output folder '" << dir_ << "': " << error.message(),
           "pass a writable --out folder");
  PA_CHECK(fs::is_directory(dir_, error), tool, "--out '" << dir_ << "' is not a folder",
           "pass a folder path with --out");

  // Whether a run owned this folder before (the lock file stays behind after a run).
  const std::string lock_path = dir_ + "/" + kLockName;
  const bool owned_before = fs::exists(lock_path, error);
  lock_descriptor_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  PA_CHECK(lock_descriptor_ >= 0, tool,
           "cannot create the lock file '" << lock_path << "': " << std::strerror(errno),
           "pass a writable --out folder");
  if (::flock(lock_descriptor_, LOCK_EX | LOCK_NB) != 0) {
    const std::string holder = read_pid(lock_descriptor_);
    ::close(lock_descriptor_);
    lock_descriptor_ = -1;
    throw Error(tool, "output folder '" + dir_ + "' is in use by another run (pid " + holder + ")",
                "wait for that run to end, or pass another --out");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_descriptor_, 0) != 0 ||
      ::pwrite(lock_descriptor_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The pid only makes the refusal message more helpful; the lock itself is held.
  }

  try {
    prepare(mode, owned_before, tool);
  } catch (...) {
    // A refused folder that no run owned is left as it was found, without our lock file.
    if (!owned_before) ::unlink(lock_path.c_str());
    ::close(lock_descriptor_);  // a constructor that throws runs no destructor
    lock_descriptor_ = -1;
    throw;
  }
}

void RunFolder::prepare(Mode mode, bool owned_before, const std::string& tool) {
  std::error_code error;
  // Holding the lock, no other run writes here: every temporary file is a dead run's.
  std::vector<fs::path> entries, temporaries;
  for (auto it = fs::recursive_directory_iterator(dir_, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it.depth() == 0 && it->path().filename() != kLockName) entries.push_back(it->path());
    if (it->is_regular_file(error) && is_temporary(it->path())) temporaries.push_back(it->path());
  }
  PA_CHECK(!error, tool, "cannot list output folder '" << dir_ << "': " << error.message(),
           "pass a readable, writable --out folder");
  for (const fs::path& temporary : temporaries) {
    if (fs::remove(temporary, error)) ++removed_temporaries_;
  }

  // What is left that holds anything: empty files and folders (a run that failed before its
  // first row; the output folders Bazel makes before a build action runs) are no earlier run.
  auto holds_data = [&](const fs::path& path) {
    return fs::is_directory(path, error) ? false : fs::file_size(path, error) > 0;
  };
  std::vector<fs::path> left;
  for (const fs::path& entry : entries) {
    if (!fs::exists(entry, error)) continue;
    bool holds = holds_data(entry);
    for (auto it = fs::recursive_directory_iterator(entry, error);
         !holds && !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      holds = holds_data(it->path());
    }
    if (holds) left.push_back(entry);
  }
  if (mode == Mode::kResume) return;
  if (left.empty()) {
    // A run's own empty leftovers go, so that nothing of an earlier run stays beside this one.
    if (owned_before) {
      for (const fs::path& entry : entries) fs::remove_all(entry, error);
    }
    return;
  }
  if (mode == Mode::kFresh) {
    throw Error(tool,
                "output folder '" + dir_ + "' already holds " +
                    (owned_before ? "an earlier run's files" : "other files") + " (" +
                    left.front().filename().string() +
                    (left.size() > 1 ? " and " + std::to_string(left.size() - 1) + " more" : "") +
                    ")",
                owned_before ? "pass --overwrite to replace that run, --resume to continue it, or "
                               "another --out"
                             : "pass an empty or new --out folder");
  }
  // kOverwrite: clear a folder that a run owned; refuse anything else.
  if (!owned_before) {
    throw Error(tool,
                "output folder '" + dir_ + "' is not empty and no run wrote it (no " + kLockName +
                    "); --overwrite "
                    "only clears folders that runs wrote",
                "pass an empty or new --out folder");
  }
  for (const fs::path& entry : left) {
    fs::remove_all(entry, error);
    PA_CHECK(!error, tool, "cannot remove '" << entry.string() << "': " << error.message(),
             "remove the earlier run's files by hand, or pass another --out");
  }
}

RunFolder::~RunFolder() {
  if (lock_descriptor_ >= 0) ::close(lock_descriptor_);  // releases the flock
}

}  // namespace pa::experiments
