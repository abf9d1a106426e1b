// .npy: NumPy's one-array file format (np.save / np.load). Layout: the magic "\x93NUMPY", a
// version (1.0: 2-byte little-endian header length; 2.0 and 3.0: 4-byte), then a Python dict
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n' so the data starts at a multiple of 64 bytes, then the
// data, row-major. Supported dtypes: '<f4' (float32), '<f8' (float64), '<i8' (int64).
#pragma once

#include <string>

#include "engine/core/tensor.h"

namespace pa::io {

// Writes a float32, float64 or int64 tensor (CPU or CUDA, any strides) with a v1.0 header, or
// v2.0 when the header needs more than 65535 bytes. Atomic like write_file_atomically.
void save_npy(const std::string& path, const Tensor& tensor);

// Reads a v1.0, v2.0 or 3.0 file with dtype '<f4', '<f8' or '<i8' and fortran_order False
// into a CPU tensor; a pa::Error naming the file otherwise (bad magic, unsupported version or
// dtype, big-endian data, Fortran order, malformed header, truncated data). Bytes after the
// array are ignored, as np.load does.
Tensor load_npy(const std::string& path);

}  // namespace pa::io
