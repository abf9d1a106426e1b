// Strided device copies (see copy.h): one thread per element over a grid-stride loop; each
// thread turns its flat index into the two offsets by dividing through the shape.
#include <stdexcept>
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/copy.h"

namespace pa::cuda {
namespace {

struct Layout {
  int64_t shape[kMaxCopyDims];
  int64_t src_strides[kMaxCopyDims];
  int64_t dst_strides[kMaxCopyDims];
  int ndim;
};

template <typename Element>
__global__ void strided_copy_kernel(const Element* src, Element* dst, Layout layout,
                                    int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, from = 0, to = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % layout.shape[d];
      rest /= layout.shape[d];
      from += index * layout.src_strides[d];
      to += index * layout.dst_strides[d];
    }
    dst[to] = src[from];
  }
}

__global__ void fill_kernel(float* data, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    data[i] = value;
  }
}

}  // namespace

void fill(float* data, int64_t n, float value) {
  if (n == 0) return;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, 65535);
  fill_kernel<<<blocks, threads, 0, launch_stream()>>>(data, n, value);
  PA_CUDA_CHECK_LAUNCH();
}

void strided_copy(const void* src, const int64_t* src_strides, void* dst,
                  const int64_t* dst_strides, const int64_t* shape, int ndim, int element_bytes) {
  if (ndim < 0 || ndim > kMaxCopyDims) {
    throw std::runtime_error("strided_copy: " + std::to_string(ndim) + " dims, at most " +
                             std::to_string(kMaxCopyDims));
  }
  Layout layout{};
  layout.ndim = ndim;
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    layout.shape[d] = shape[d];
    layout.src_strides[d] = src_strides[d];
    layout.dst_strides[d] = dst_strides[d];
    count *= shape[d];
  }
  if (count == 0) return;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((count + threads - 1) / threads, 65535);
  switch (element_bytes) {
    case 2:
      strided_copy_kernel<<<blocks, threads, 0, launch_stream()>>>(
          static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), layout, count);
      break;
    case 4:
      strided_copy_kernel<<<blocks, threads, 0, launch_stream()>>>(
          static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), layout, count);
      break;
    case 8:
      strided_copy_kernel<<<blocks, threads, 0, launch_stream()>>>(
          static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), layout, count);
      break;
    default:
      throw std::runtime_error("strided_copy: element size " + std::to_string(element_bytes) +
                               " (2, 4 or 8 bytes)");
  }
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
