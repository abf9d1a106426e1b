// Owning a run's output folder, so that a folder only ever holds one run's files.
//
// A run takes the folder's lock (an flock on <folder>/.pa-run.lock, which the kernel releases
// when the process ends, however it ends): a second run given the same --out while the first is
// alive is refused with the first one's pid. Having the lock, the run removes temporary files
// that killed runs left behind ("*.tmp.<pid>"), then:
//   kFresh     the folder must be empty (or new): an earlier run's files are never mixed with
//              this run's; otherwise a pa::Error says to pass --overwrite, --resume or another
//              --out.
//   kOverwrite an earlier run's files are deleted first. Only a folder a run has owned (it
//              holds the lock file) is cleared: any other non-empty folder is refused, so a
//              mistyped --out cannot delete unrelated files.
//   kResume    the earlier run's files stay; the experiment continues from its checkpoint.
#pragma once

#include <string>

namespace pa::experiments {

class RunFolder {
 public:
  enum class Mode { kFresh, kOverwrite, kResume };
  // Creates `dir` (and parents) and takes its lock. Throws pa::Error (op `tool`) naming the
  // folder and the remedy.
  RunFolder(std::string dir, Mode mode, const std::string& tool);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& dir() const { return dir_; }
  // Stale temporary files removed when the lock was taken.
  int removed_temporaries() const { return removed_temporaries_; }

  static constexpr const char* kLockName = ".pa-run.lock";

 private:
  // Under the lock: removes dead runs' temporaries and applies `mode` (see above).
  void prepare(Mode mode, bool owned_before, const std::string& tool);
  std::string dir_;
  int lock_descriptor_ = -1;
  int removed_temporaries_ = 0;
};

// "fresh", "overwrite" or "resume" from the --overwrite and --resume flags (both: a pa::Error).
RunFolder::Mode run_folder_mode(bool overwrite, bool resume, const std::string& tool);

}  // namespace pa::experiments
