// safetensors: the tensor file format of Hugging Face (and of reference/pytorch's golden
// cases). Layout: an 8-byte little-endian u64 N, N bytes of JSON header
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [0, 24]}, ...}
// then the data buffer: each tensor row-major, little-endian, at its [begin, end) offsets
// relative to the start of the buffer. Supported dtypes: F32, F64, BF16, I64.
#pragma once

#include <map>
#include <string>

#include "engine/core/tensor.h"

namespace pa::io {

struct NamedTensors {  // ordered by name, as safetensors stores them
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" string->string map
};

// Writes every tensor (CPU or CUDA; copied to host; any strides, written contiguous) and the
// metadata. Atomic: written to "<path>.tmp.<pid>", flushed, fsync'd, then renamed over path;
// on any failure the temp file is removed and a pa::Error is thrown, never a torn file.
// Tensors are packed in name order; the header is padded with spaces to a multiple of 8 bytes
// (as the reference implementation does); "__metadata__" is omitted when the map is empty.
void save_safetensors(const std::string& path, const NamedTensors& contents);

// Reads a file into CPU tensors. Throws pa::Error naming the file and (where it applies) the
// tensor for: missing/unreadable file, file shorter than 8 bytes, header length larger than
// the file (or absurd, > 100 MB), header not valid JSON or not an object, a name used twice,
// an entry without dtype/shape/data_offsets or with wrong JSON types, unknown dtype, negative
// dims, offsets not [begin, end] with begin <= end, end beyond the data size,
// (end - begin) != numel * dtype size, overlapping tensors, and metadata values that are not
// strings. Bytes of the buffer that no tensor covers are ignored.
NamedTensors load_safetensors(const std::string& path);

}  // namespace pa::io
