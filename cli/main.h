// What every program's main() shares: exit codes 0 (done, or --help), 1 (the run failed) and
// 2 (a bad flag or value), and no exception ever escaping main() as an abort.
//
//   int main(int argc, char** argv) {
//     CLI::App app{"what it does", "tool"};
//     ...
//     if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
//     return pa::cli::run_main("tool", [&] { ...; return 0; });
//   }
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace pa::cli {

constexpr int kExitRunError = 1;
constexpr int kExitUsage = 2;

// A bad flag or value found after parsing (a device this build lacks, a missing input file):
// run_main prints it and exits kExitUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the command line: nullopt to go on, otherwise the exit code (0 after --help, 2 after a
// bad flag or value, CLI11's message and a pointer to --help on stderr).
std::optional<int> parse_flags(CLI::App& app, int argc, char** argv);

// Runs `body` and returns its exit code; whatever it throws becomes "<tool>: error: <message>"
// on stderr and exit 2 (UsageError, CLI::Error) or 1 (pa::Error, std::bad_alloc, any other
// exception, or a non-standard one). SIGXFSZ is ignored, so a write over the file-size limit
// is an error (EFBIG) the body reports, not a killed process.
int run_main(const std::string& tool, const std::function<int()>& body);

}  // namespace pa::cli
