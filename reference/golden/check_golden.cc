// check_golden: runs the engine on one recorded PyTorch case and prints, per tensor, the max
// absolute and relative error; exits 0 when every tensor is within tolerance, 1 when one is
// not, 2 for bad flags or a missing/malformed case file.
//
//   bazel run //reference:check_golden -- --case reference/pytorch/cases/mha_causal.safetensors
//   bazel run //reference:check_golden -- --case FILE --device cuda --rtol 1e-3 --atol 1e-4
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "engine/core/error.h"
#include "reference/golden/golden.h"

int main(int argc, char** argv) {
  CLI::App app{"Check the engine against a recorded PyTorch golden case"};
  std::string path, device_name = "cpu";
  pa::golden::Tolerance tolerance;
  app.add_option("--case", path, "case file (safetensors; see reference/pytorch/README.md)")
      ->required();
  app.add_option("--device", device_name, "cpu or cuda")->capture_default_str();
  app.add_option("--rtol", tolerance.rtol, "relative tolerance")->capture_default_str();
  app.add_option("--atol", tolerance.atol, "absolute tolerance")->capture_default_str();
  app.add_option("--loss-rtol", tolerance.loss_rtol, "relative tolerance of trajectory losses")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  // `bazel run` starts in the runfiles tree: resolve relative paths against the caller's cwd.
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd != nullptr && !path.empty() && path[0] != '/') path = std::string(cwd) + "/" + path;
  try {
    const pa::Device device = pa::parse_device(device_name);
    const pa::golden::CaseReport report = pa::golden::check_case(path, device, tolerance);
    std::cout << report.format();
    return report.passed() ? 0 : 1;
  } catch (const pa::Error& error) {
    std::cerr << "check_golden: " << error.what() << "\n";
    return 2;
  }
}
