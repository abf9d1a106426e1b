// CUDA elementwise kernels: unary maps with their derivatives, and broadcasting binary ops.
// Plain device pointers and shapes; the launch is asynchronous on the default stream and its
// launch error is checked.
#pragma once

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cuda {

// The kinds and their scalar math are shared with the CPU kernels (engine/kernels/defs.h).
using kernels::BinaryKind;
using kernels::kMaxDims;
using kernels::UnaryKind;

// kMaxDims: the most dims binary_forward and where_forward take (the layout is passed by value).
inline int elementwise_max_dims() { return kMaxDims; }

// y[i] = f(x[i]); `scalar` is the exponent for Pow.
void unary_forward(UnaryKind kind, const float* x, float* y, int64_t n, float scalar);
// float32 <-> bfloat16 (its bits; kernels::float_to_bf16_bits rounds to nearest even), n
// contiguous elements.
void float_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_float(const uint16_t* x, float* y, int64_t n);
// dx[i] = dy[i] * f'(x[i]); y is the forward output.
void unary_backward(UnaryKind kind, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float scalar);
// out (shape, contiguous) = a (op) b, read through strides (0 on broadcast dims); ndim <= 8.
void binary_forward(BinaryKind kind, const float* a, const int64_t* a_strides, const float* b,
                    const int64_t* b_strides, float* out, const int64_t* shape, int ndim);

// out (shape, contiguous) = condition != 0 ? a : b, each read through strides (0 on broadcast
// dims); ndim <= 8.
void where_forward(const float* condition, const int64_t* condition_strides, const float* a,
                   const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
                   const int64_t* shape, int ndim);

// Fused bias + GELU (tanh form) over contiguous (rows, C): y = gelu(x + bias[c]); the backward
// dx = dy * gelu'(x + bias[c]) (the bias gradient is dx summed over rows, by the caller).
void bias_gelu_forward(const float* x, const float* bias, float* y, int64_t rows, int64_t C);
void bias_gelu_backward(const float* x, const float* bias, const float* dy, float* dx, int64_t rows,
                        int64_t C);

}  // namespace pa::cuda
