// Fuzz target: io::load_safetensors on arbitrary bytes (the 8-byte header length, the header
// JSON, dtypes, shapes, data offsets, overlaps, sizes that overflow). A pa::Error is the expected
// rejection; a file that loads must give tensors whose bytes can all be read.
#include <cstdlib>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "fuzz/fuzz_input.h"

namespace {
volatile unsigned read_sink;  // the checksum lands here, so the reads are not optimised away
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pa::fuzz::MemoryFile file("safetensors");
  try {
    const pa::io::NamedTensors contents = pa::io::load_safetensors(file.write(data, size));
    unsigned checksum = 0;
    for (const auto& [name, tensor] : contents.tensors) {
      const auto* bytes = static_cast<const unsigned char*>(tensor.storage()->data());
      const size_t count = static_cast<size_t>(tensor.numel()) * pa::dtype_size(tensor.dtype());
      for (size_t i = 0; i < count; ++i) checksum += bytes[i];  // ASan checks every byte is ours
    }
    read_sink = checksum;
  } catch (const pa::Error&) {
  }
  return 0;
}
