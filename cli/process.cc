// run_program with posix_spawnp and a pipe (see process.h).
#include "cli/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/core/error.h"

extern char** environ;

namespace pa::cli {
namespace {

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& argument : argv) text += (text.empty() ? "" : " ") + argument;
  return text;
}

// Closes a file descriptor when it goes out of scope.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// Spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  SpawnSetup() { posix_spawn_file_actions_init(&actions); }
  ~SpawnSetup() { posix_spawn_file_actions_destroy(&actions); }
};

}  // namespace

std::string ProgramResult::status() const {
  return (signaled ? "killed by signal " : "exit status ") + std::to_string(exit_code);
}

ProgramResult run_program(const std::vector<std::string>& argv, StderrMode stderr_mode) {
  PA_CHECK(!argv.empty() && !argv[0].empty(), "cli::run_program", "no program given",
           "pass the program and its arguments");
  int ends[2];
  PA_CHECK(pipe2(ends, O_CLOEXEC) == 0, "cli::run_program",
           "cannot create a pipe for '" << argv[0] << "': " << std::strerror(errno),
           "too many open files?");
  FileDescriptor read_end{ends[0]}, write_end{ends[1]};
  SpawnSetup setup;
  // The child's stdout (and stderr) become the pipe's write end; dup2 clears close-on-exec on
  // the copies, while both original ends close at exec.
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, STDOUT_FILENO);
  if (stderr_mode == StderrMode::kCapture) {
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, STDERR_FILENO);
  } else if (stderr_mode == StderrMode::kDiscard) {
    posix_spawn_file_actions_addopen(&setup.actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawnp(&pid, arguments[0], &setup.actions, nullptr, arguments.data(), environ);
  PA_CHECK(spawn_error == 0, "cli::run_program",
           "cannot start '" << argv[0] << "' (" << command_text(argv)
                            << "): " << std::strerror(spawn_error),
           "check that the program exists and is executable (a bare name is looked up on PATH)");
  write_end.reset();  // the child holds the only write end: end of file when it exits

  ProgramResult result;
  char buffer[65536];
  for (;;) {
    const ssize_t count = read(read_end.fd, buffer, sizeof(buffer));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    const size_t room = kMaxProgramOutput - std::min(kMaxProgramOutput, result.output.size());
    result.output.append(buffer, std::min(room, static_cast<size_t>(count)));
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    PA_CHECK(errno == EINTR, "cli::run_program",
             "lost track of '" << argv[0] << "': " << std::strerror(errno), "");
  }
  result.signaled = WIFSIGNALED(wait_status);
  result.exit_code = result.signaled ? WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
  return result;
}

std::string excerpt(const std::string& text, size_t limit) {
  if (text.empty()) return "nothing";
  std::string shown = "'";
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
      shown += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      shown += escaped;
    }
  }
  shown += "'";
  if (text.size() > limit) shown += " (" + std::to_string(text.size() - limit) + " more bytes)";
  return shown;
}

}  // namespace pa::cli
