// What the CPU kernels (engine/cpu) and the CUDA kernels (cuda/) share, written once: the
// elementwise kinds and their scalar math (value and derivative), the attention shape and mask,
// and the longest broadcast the elementwise kernels take. Plain C++17 that g++ and nvcc both
// compile (host and device functions under nvcc); no engine types, no dependencies, so every
// backend can include it without breaking the layering.
#pragma once

#include <math.h>
#include <string.h>

#include <cstdint>

#if defined(__CUDACC__)
#define PA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define PA_HOST_DEVICE inline
#endif

namespace pa::kernels {

// ---- elementwise ----

enum class UnaryKind { Neg, Pow, Exp, Log, Sqrt, Tanh, Sigmoid, Relu, GeluTanh, GeluErf };
enum class BinaryKind { Add, Sub, Mul, Div };

// Broadcasting elementwise kernels take at most this many dims (the CUDA kernels pass the
// layout by value).
constexpr int kMaxDims = 8;

constexpr float kSqrt2OverPi = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluCubic = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;  // 1 / sqrt(2 pi)

// y = f(x); `scalar` is the exponent for Pow. The C float functions (expf, not std::exp) exist
// on the host and the device alike; on the host they are the same calls std::exp(float) makes.
PA_HOST_DEVICE float unary_value(UnaryKind kind, float x, float scalar) {
  switch (kind) {
    case UnaryKind::Neg:
      return -x;
    case UnaryKind::Pow:
      return powf(x, scalar);
    case UnaryKind::Exp:
      return expf(x);
    case UnaryKind::Log:
      return logf(x);
    case UnaryKind::Sqrt:
      return sqrtf(x);
    case UnaryKind::Tanh:
      return tanhf(x);
    case UnaryKind::Sigmoid:
      return 1.0f / (1.0f + expf(-x));
    case UnaryKind::Relu:
      return x < 0.0f ? 0.0f : x;  // NaN stays NaN
    case UnaryKind::GeluTanh:
      return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
    case UnaryKind::GeluErf:
      return 0.5f * x * (1.0f + erff(x * kInvSqrt2));
  }
  return 0.0f;
}

// f'(x), given x and y = f(x) (used where cheaper: Exp, Sqrt, Tanh, Sigmoid).
PA_HOST_DEVICE float unary_derivative(UnaryKind kind, float x, float y, float scalar) {
  switch (kind) {
    case UnaryKind::Neg:
      return -1.0f;
    case UnaryKind::Pow:
      return scalar * powf(x, scalar - 1.0f);
    case UnaryKind::Exp:
      return y;
    case UnaryKind::Log:
      return 1.0f / x;
    case UnaryKind::Sqrt:
      return 0.5f / y;
    case UnaryKind::Tanh:
      return 1.0f - y * y;
    case UnaryKind::Sigmoid:
      return y * (1.0f - y);
    case UnaryKind::Relu:
      return x > 0.0f ? 1.0f : 0.0f;
    case UnaryKind::GeluTanh: {
      const float t = tanhf(kSqrt2OverPi * (x + kGeluCubic * x * x * x));
      const float inner_grad = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * inner_grad;
    }
    case UnaryKind::GeluErf:
      return 0.5f * (1.0f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
  }
  return 0.0f;
}

PA_HOST_DEVICE float binary_value(BinaryKind kind, float a, float b) {
  switch (kind) {
    case BinaryKind::Add:
      return a + b;
    case BinaryKind::Sub:
      return a - b;
    case BinaryKind::Mul:
      return a * b;
    case BinaryKind::Div:
      return a / b;
  }
  return 0.0f;
}

// ---- bfloat16 ----

// A bfloat16 is stored as its 16 bits (uint16_t): the upper half of a float32, so 8 exponent
// bits (float32's range) and 8 significand bits (a relative step of 2^-8).

// Round to nearest, ties to even (what PyTorch and __float2bfloat16_rn do); a value past the
// largest bf16 becomes infinity, a NaN stays a quiet NaN.
PA_HOST_DEVICE uint16_t float_to_bf16_bits(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Exact: every bf16 is a float32.
PA_HOST_DEVICE float bf16_bits_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

// ---- matrix products ----

// A matrix operand: element (i, j) is data[i * row_stride + j * col_stride]. Row-major with
// leading dimension ld is {data, ld, 1}; its transpose is {data, 1, ld}.
template <typename T>
struct MatrixOf {
  const T* data;
  int64_t row_stride;
  int64_t col_stride;
};

// count products c_t (M, N) = a_t (M, K) b_t (K, N) (+ bias (N) on every row, when not null),
// t < count: a_t is `a` moved by t * stride_a elements (0: one matrix shared by every product),
// b_t likewise; c_t is row-major (leading dimension N) at c + t * stride_c. c is overwritten.
template <typename T>
struct GemmOf {
  int64_t count, M, N, K;
  MatrixOf<T> a;
  int64_t stride_a;
  MatrixOf<T> b;
  int64_t stride_b;
  const T* bias;
  T* c;
  int64_t stride_c;
  // float32 only: the GEMM may read the operands as tf32 (pa::set_allow_tf32; the CUDA backend
  // on sm_90 does, the CPU ignores it).
  bool allow_tf32 = false;
};

using MatrixRef = MatrixOf<float>;
using GemmProblem = GemmOf<float>;
// bf16 operands, bias and result (the bits, as above), the products accumulated in fp32 and
// each element of c rounded once, after the bias is added.
using MatrixRefBf16 = MatrixOf<uint16_t>;
using GemmProblemBf16 = GemmOf<uint16_t>;

// ---- attention ----

// q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv), out (B, H, Nq, Dv), all contiguous.
struct AttentionShape {
  int64_t B, H, Nq, Nk, D, Dv;
};

// `causal` hides key j > query i; key_padding (B, Nk) holds 0/1 floats (1 = padded, hidden), on
// the kernel's device, or is null.
struct AttentionMask {
  const float* key_padding;
  bool causal;
};

}  // namespace pa::kernels
