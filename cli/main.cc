// Exit codes and the catch-all around main()'s body (see main.h).
#include "cli/main.h"

#include <csignal>
#include <iostream>
#include <new>

#include "engine/core/error.h"

namespace pa::cli {

std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  // CLI11's own messages ("The following argument was not expected: --bogus") do not say which
  // program wrote them: "<tool>: " goes first, as in run_main's.
  app.failure_message([](const CLI::App* failed, const CLI::Error& error) {
    const CLI::App* top = failed;
    while (top->get_parent() != nullptr) top = top->get_parent();
    return top->get_name() + ": " + CLI::FailureMessage::simple(failed, error);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
}

int run_main(const std::string& tool, const std::function<int()>& body) {
  const auto report = [&tool](const std::string& message, int code) {
    std::cerr << tool << ": error: " << message << "\n";
    if (code == kExitUsage) std::cerr << "Run with --help for more information.\n";
    return code;
  };
  // Over a file-size limit (ulimit -f) a write then fails with EFBIG, a clear error, instead of
  // SIGXFSZ ending the program in the middle of it.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body();
  } catch (const UsageError& error) {
    return report(error.what(), kExitUsage);
  } catch (const CLI::Error& error) {
    return report(error.what(), kExitUsage);
  } catch (const Error& error) {
    return report(error.what(), kExitRunError);
  } catch (const std::bad_alloc&) {
    return report("out of memory (a smaller problem size?)", kExitRunError);
  } catch (const std::exception& error) {
    return report(error.what(), kExitRunError);
  } catch (...) {
    return report("unknown exception", kExitRunError);
  }
}

}  // namespace pa::cli
