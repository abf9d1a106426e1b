// check_golden: runs the engine on one recorded PyTorch case and prints, per tensor, the max
// absolute and relative error; exits 0 when every tensor is within tolerance, 1 when one is
// not, 2 for bad flags (a tolerance that is not a finite number >= 0, --device cuda without a
// usable CUDA build and GPU) or a missing/malformed case file.
//
//   bazel run //reference:check_golden -- --case reference/pytorch/cases/mha_causal.safetensors
//   bazel run //reference:check_golden -- --case FILE --device cuda --rtol 1e-3 --atol 1e-4
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/flags.h"
#include "cli/main.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "reference/golden/golden.h"

int main(int argc, char** argv) {
  CLI::App app{"Check the engine against a recorded PyTorch golden case", "check_golden"};
  std::string path, device_name = "cpu";
  pa::golden::Tolerance tolerance;
  app.add_option("--case", path, "case file (safetensors; see reference/pytorch/README.md)")
      ->required();
  app.add_option("--device", device_name, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--rtol", tolerance.rtol, "relative tolerance")
      ->check(pa::cli::non_negative_number())
      ->capture_default_str();
  app.add_option("--atol", tolerance.atol, "absolute tolerance")
      ->check(pa::cli::non_negative_number())
      ->capture_default_str();
  app.add_option("--loss-rtol", tolerance.loss_rtol, "relative tolerance of trajectory losses")
      ->check(pa::cli::non_negative_number())
      ->capture_default_str();
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  // `bazel run` starts in the runfiles tree: resolve relative paths against the caller's cwd.
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd != nullptr && !path.empty() && path[0] != '/') path = std::string(cwd) + "/" + path;
  return pa::cli::run_main("check_golden", [&] {
    if (device_name == "cuda" && !pa::cuda_available()) {
      throw pa::cli::UsageError(
          "--device cuda: this build has no CUDA backend or no usable GPU and driver (build "
          "with --config=cuda and run on a machine with a GPU)");
    }
    const pa::Device device = pa::parse_device(device_name);
    pa::golden::CaseReport report;
    try {
      report = pa::golden::check_case(path, device, tolerance);
    } catch (const pa::Error& error) {
      throw pa::cli::UsageError(error.what());  // a missing or malformed case file
    }
    std::cout << report.format();
    return report.passed() ? 0 : 1;
  });
}
