// Strided device-to-device copies: what contiguous() and the views' backward (slice, concat)
// need on the GPU without a trip through the host; and a fill for the factories. Plain pointers,
// shapes and strides (in elements); asynchronous on the default stream, the launch checked.
#pragma once

#include <cstdint>

namespace pa::cuda {

constexpr int kMaxCopyDims = 8;

// dst[offset(i, dst_strides)] = src[offset(i, src_strides)] for every index i of `shape`
// (ndim <= kMaxCopyDims), elements of element_bytes = 2, 4 or 8.
void strided_copy(const void* src, const int64_t* src_strides, void* dst,
                  const int64_t* dst_strides, const int64_t* shape, int ndim, int element_bytes);

// data[i] = value for i in [0, n): full(), zeros() and ones() on the device, no host buffer.
void fill(float* data, int64_t n, float value);

}  // namespace pa::cuda
