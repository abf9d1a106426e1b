// Fuzz target: io::load_npy on arbitrary bytes (magic, version, header length, the header dict:
// descr, fortran_order, shape tuple; truncated data). A pa::Error is the expected rejection; an
// array that loads must have exactly the bytes its shape and dtype say, all readable.
#include <cstdlib>

#include "engine/core/error.h"
#include "engine/io/npy.h"
#include "fuzz/fuzz_input.h"

namespace {
volatile unsigned read_sink;  // the checksum lands here, so the reads are not optimised away
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pa::fuzz::MemoryFile file("npy");
  try {
    const pa::Tensor tensor = pa::io::load_npy(file.write(data, size));
    const auto* bytes = static_cast<const unsigned char*>(tensor.storage()->data());
    const size_t count = static_cast<size_t>(tensor.numel()) * pa::dtype_size(tensor.dtype());
    if (count > size) std::abort();  // more data than the file holds: a reader bug
    unsigned checksum = 0;
    for (size_t i = 0; i < count; ++i) checksum += bytes[i];  // ASan checks every byte is ours
    read_sink = checksum;
  } catch (const pa::Error&) {
  }
  return 0;
}
