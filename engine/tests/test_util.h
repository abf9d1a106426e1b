// Helpers shared by the test binaries: the bad-input assertion every error test uses, and paths
// under Bazel's test directories.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace pa::testing {

// Runs `fn`; succeeds when it throws a pa::Error whose message contains every one of `parts`.
inline ::testing::AssertionResult ThrowsPaError(const std::function<void()>& fn,
                                                const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks \"" << part << "\": " << message;
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& other) {
    return ::testing::AssertionFailure() << "threw a non-pa::Error: " << other.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// A path for `name` in the test's scratch directory (TEST_TMPDIR, or /tmp outside Bazel).
inline std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir == nullptr ? "/tmp" : dir) + "/" + name;
}

// A workspace file declared in the test's `data`, e.g.
// "reference/pytorch/cases/linear.safetensors".
inline std::string runfile(const std::string& workspace_path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return std::string(root == nullptr ? "." : root) + "/pureattention/" + workspace_path;
}

}  // namespace pa::testing
