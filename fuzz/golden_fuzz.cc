// Fuzz target: golden::check_case on arbitrary bytes: the safetensors layer, then the case's
// metadata (module, config JSON and its keys' types), the module it builds, and the tensors it
// needs (input, parameters under PyTorch's names, expected outputs and gradients, trajectories,
// optimizer sequences). A pa::Error is the expected rejection; a mismatch is a report, not an
// error, so only crashes, sanitizer reports and other exceptions are findings.
#include "engine/core/error.h"
#include "fuzz/fuzz_input.h"
#include "reference/golden/golden.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pa::fuzz::MemoryFile file("golden");
  try {
    pa::golden::check_case(file.write(data, size)).format();
  } catch (const pa::Error&) {
  }
  return 0;
}
