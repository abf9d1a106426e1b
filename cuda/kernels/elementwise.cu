// CUDA elementwise kernels. One thread per element with a grid-stride loop; float4 loads on the
// contiguous unary path when the pointers are 16-byte aligned. Binary ops with broadcasting
// decompose the flat output index over at most kMaxDims dims passed by value.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/common/check.h"
#include "cuda/kernels/elementwise.h"

namespace pa::cuda {

namespace {

constexpr int kThreads = 256;

struct Layout {
  int64_t shape[kMaxDims];
  int64_t a_strides[kMaxDims];
  int64_t b_strides[kMaxDims];
  int ndim;
};

using kernels::unary_derivative;  // the scalar math shared with the CPU (engine/kernels/defs.h)
using kernels::unary_value;

__global__ void unary_forward_kernel(UnaryKind kind, const float* __restrict__ x,
                                     float* __restrict__ y, int64_t n, float scalar) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = unary_value(kind, x[i], scalar);
  }
}

// n4 float4 groups; the (n % 4) tail is handled by the scalar kernel.
__global__ void unary_forward_vec4_kernel(UnaryKind kind, const float4* __restrict__ x,
                                          float4* __restrict__ y, int64_t n4, float scalar) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float4 v = x[i];
    y[i] = make_float4(unary_value(kind, v.x, scalar), unary_value(kind, v.y, scalar),
                       unary_value(kind, v.z, scalar), unary_value(kind, v.w, scalar));
  }
}

__global__ void unary_backward_kernel(UnaryKind kind, const float* __restrict__ x,
                                      const float* __restrict__ y, const float* __restrict__ dy,
                                      float* __restrict__ dx, int64_t n, float scalar) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dx[i] = dy[i] * unary_derivative(kind, x[i], y[i], scalar);
  }
}

template <BinaryKind kKind>
__device__ __forceinline__ float binary_value(float a, float b) {
  if constexpr (kKind == BinaryKind::Add) return a + b;
  if constexpr (kKind == BinaryKind::Sub) return a - b;
  if constexpr (kKind == BinaryKind::Mul) return a * b;
  return a / b;
}

template <BinaryKind kKind>
__global__ void binary_kernel(const float* __restrict__ a, const float* __restrict__ b,
                              float* __restrict__ out, int64_t n, Layout layout) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i;
    int64_t a_offset = 0;
    int64_t b_offset = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % layout.shape[d];
      rest /= layout.shape[d];
      a_offset += index * layout.a_strides[d];
      b_offset += index * layout.b_strides[d];
    }
    out[i] = binary_value<kKind>(a[a_offset], b[b_offset]);
  }
}

struct WhereLayout {
  int64_t shape[kMaxDims];
  int64_t strides[3][kMaxDims];  // condition, a, b
  int ndim;
};

__global__ void where_kernel(const float* __restrict__ condition, const float* __restrict__ a,
                             const float* __restrict__ b, float* __restrict__ out, int64_t n,
                             WhereLayout layout) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i;
    int64_t offsets[3] = {0, 0, 0};
    for (int d = layout.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % layout.shape[d];
      rest /= layout.shape[d];
      for (int t = 0; t < 3; ++t) offsets[t] += index * layout.strides[t][d];
    }
    out[i] = condition[offsets[0]] != 0.0f ? a[offsets[1]] : b[offsets[2]];
  }
}

// dy == nullptr: the forward y = gelu(x + bias); otherwise the backward dx = dy * gelu'(x + bias).
__global__ void bias_gelu_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                                 const float* __restrict__ dy, float* __restrict__ out, int64_t n,
                                 int64_t C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i] + bias[i % C];
    out[i] = dy == nullptr ? unary_value(UnaryKind::GeluTanh, v, 0.0f)
                           : dy[i] * unary_derivative(UnaryKind::GeluTanh, v, 0.0f, 0.0f);
  }
}

__global__ void float_to_bf16_kernel(const float* __restrict__ x, uint16_t* __restrict__ y,
                                     int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = kernels::float_to_bf16_bits(x[i]);
  }
}

__global__ void bf16_to_float_kernel(const uint16_t* __restrict__ x, float* __restrict__ y,
                                     int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = kernels::bf16_bits_to_float(x[i]);
  }
}

int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

}  // namespace

void unary_forward(UnaryKind kind, const float* x, float* y, int64_t n, float scalar) {
  if (n == 0) return;
  const bool aligned =
      (reinterpret_cast<uintptr_t>(x) % 16 == 0) && (reinterpret_cast<uintptr_t>(y) % 16 == 0);
  int64_t done = 0;
  if (aligned && n >= 4) {
    const int64_t n4 = n / 4;
    unary_forward_vec4_kernel<<<blocks_for(n4), kThreads, 0, launch_stream()>>>(
        kind, reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), n4, scalar);
    PA_CUDA_CHECK_LAUNCH();
    done = n4 * 4;
  }
  if (done < n) {
    unary_forward_kernel<<<blocks_for(n - done), kThreads, 0, launch_stream()>>>(
        kind, x + done, y + done, n - done, scalar);
    PA_CUDA_CHECK_LAUNCH();
  }
}

void float_to_bf16(const float* x, uint16_t* y, int64_t n) {
  if (n == 0) return;
  float_to_bf16_kernel<<<blocks_for(n), kThreads, 0, launch_stream()>>>(x, y, n);
  PA_CUDA_CHECK_LAUNCH();
}

void bf16_to_float(const uint16_t* x, float* y, int64_t n) {
  if (n == 0) return;
  bf16_to_float_kernel<<<blocks_for(n), kThreads, 0, launch_stream()>>>(x, y, n);
  PA_CUDA_CHECK_LAUNCH();
}

void unary_backward(UnaryKind kind, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float scalar) {
  if (n == 0) return;
  unary_backward_kernel<<<blocks_for(n), kThreads, 0, launch_stream()>>>(kind, x, y, dy, dx, n,
                                                                         scalar);
  PA_CUDA_CHECK_LAUNCH();
}

void binary_forward(BinaryKind kind, const float* a, const int64_t* a_strides, const float* b,
                    const int64_t* b_strides, float* out, const int64_t* shape, int ndim) {
  if (ndim > kMaxDims) throw std::invalid_argument("binary_forward: more than 8 dims");
  Layout layout{};
  layout.ndim = ndim;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    layout.shape[d] = shape[d];
    layout.a_strides[d] = a_strides[d];
    layout.b_strides[d] = b_strides[d];
    n *= shape[d];
  }
  if (n == 0) return;
  switch (kind) {
    case BinaryKind::Add:
      binary_kernel<BinaryKind::Add>
          <<<blocks_for(n), kThreads, 0, launch_stream()>>>(a, b, out, n, layout);
      break;
    case BinaryKind::Sub:
      binary_kernel<BinaryKind::Sub>
          <<<blocks_for(n), kThreads, 0, launch_stream()>>>(a, b, out, n, layout);
      break;
    case BinaryKind::Mul:
      binary_kernel<BinaryKind::Mul>
          <<<blocks_for(n), kThreads, 0, launch_stream()>>>(a, b, out, n, layout);
      break;
    case BinaryKind::Div:
      binary_kernel<BinaryKind::Div>
          <<<blocks_for(n), kThreads, 0, launch_stream()>>>(a, b, out, n, layout);
      break;
  }
  PA_CUDA_CHECK_LAUNCH();
}

void where_forward(const float* condition, const int64_t* condition_strides, const float* a,
                   const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
                   const int64_t* shape, int ndim) {
  if (ndim > kMaxDims) throw std::invalid_argument("where_forward: more than 8 dims");
  WhereLayout layout{};
  layout.ndim = ndim;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    layout.shape[d] = shape[d];
    layout.strides[0][d] = condition_strides[d];
    layout.strides[1][d] = a_strides[d];
    layout.strides[2][d] = b_strides[d];
    n *= shape[d];
  }
  if (n == 0) return;
  where_kernel<<<blocks_for(n), kThreads, 0, launch_stream()>>>(condition, a, b, out, n, layout);
  PA_CUDA_CHECK_LAUNCH();
}

void bias_gelu_forward(const float* x, const float* bias, float* y, int64_t rows, int64_t C) {
  if (rows * C == 0) return;
  bias_gelu_kernel<<<blocks_for(rows * C), kThreads, 0, launch_stream()>>>(x, bias, nullptr, y,
                                                                           rows * C, C);
  PA_CUDA_CHECK_LAUNCH();
}

void bias_gelu_backward(const float* x, const float* bias, const float* dy, float* dx, int64_t rows,
                        int64_t C) {
  if (rows * C == 0) return;
  bias_gelu_kernel<<<blocks_for(rows * C), kThreads, 0, launch_stream()>>>(x, bias, dy, dx,
                                                                           rows * C, C);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
