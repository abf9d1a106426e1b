// run_program: runs a helper program (git, a Python script) on an argument vector, never
// through a shell: every argument reaches the program exactly as given (`;`, `$(...)`, quotes
// and spaces included). Its standard output comes back through a pipe, with its standard error
// captured too, discarded or left on ours. A program that cannot be started is a pa::Error; a
// program that starts and fails comes back with its exit status.
//
//   const ProgramResult git = run_program({"git", "-C", dir, "rev-parse", "HEAD"},
//                                         StderrMode::kDiscard);
//   if (git.ok()) commit = git.output;
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace pa::cli {

enum class StderrMode {
  kInherit,  // the helper's stderr goes where ours goes
  kCapture,  // into `output`, interleaved with stdout
  kDiscard,  // to /dev/null
};

struct ProgramResult {
  int exit_code = 0;      // the exit status, or the signal's number when `signaled`
  bool signaled = false;  // killed by a signal
  std::string output;     // what it printed (stdout; stderr too with kCapture)
  bool ok() const { return !signaled && exit_code == 0; }
  std::string status() const;  // "exit status 3" or "killed by signal 11"
};

// Runs argv[0] (looked up on PATH when it has no '/') with arguments argv[1...]. Output beyond
// kMaxProgramOutput bytes is read and dropped.
ProgramResult run_program(const std::vector<std::string>& argv,
                          StderrMode stderr_mode = StderrMode::kInherit);
constexpr size_t kMaxProgramOutput = size_t{64} << 20;

// A helper's output for an error message: at most `limit` bytes, non-printable bytes escaped,
// in quotes, with how much was left out: "'Traceback (most ...' (1234 more bytes)"; "nothing"
// for empty output.
std::string excerpt(const std::string& text, size_t limit = 300);

}  // namespace pa::cli
