// CPU elementwise kernels: unary maps with their derivatives, and broadcasting binary ops.
// Plain pointers and shapes; nothing here knows Tensor or autograd.
#pragma once

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cpu {

// The kinds and their scalar math are shared with the CUDA kernels (engine/kernels/defs.h).
using kernels::BinaryKind;
using kernels::UnaryKind;

// The most dims binary_forward and where_forward take: any number here (the CUDA kernels take
// kernels::kMaxDims).
inline int elementwise_max_dims() { return 1 << 30; }

// y[i] = f(x[i]); `scalar` is the exponent for Pow.
void unary_forward(UnaryKind kind, const float* x, float* y, int64_t n, float scalar);
// dx[i] = dy[i] * f'(x[i]); `y` is the forward output (used where cheaper, e.g. Exp).
void unary_backward(UnaryKind kind, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float scalar);

// Conversions between float32 and bfloat16 (its bits, kernels::float_to_bf16_bits: round to
// nearest even) over n contiguous elements.
void float_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_float(const uint16_t* x, float* y, int64_t n);

// Fused bias + GELU (tanh form) over rows of C: y (rows, C) = gelu(x + bias), bias (C) shared
// by every row; one pass instead of an add and a GELU. The backward recomputes x + bias:
// dx (rows, C) = dy * gelu'(x + bias) (the bias gradient is dx summed over rows).
void bias_gelu_forward(const float* x, const float* bias, float* y, int64_t rows, int64_t C);
void bias_gelu_backward(const float* x, const float* bias, const float* dy, float* dx, int64_t rows,
                        int64_t C);

// out = a (op) b over `shape` (ndim dims, row-major contiguous output); a and b are read
// through their own strides (0 on broadcast dims).
void binary_forward(BinaryKind kind, const float* a, const int64_t* a_strides, const float* b,
                    const int64_t* b_strides, float* out, const int64_t* shape, int ndim);

// out[i] = condition[i] ? a[i] : b[i], all three read through strides (0 = broadcast).
void where_forward(const float* condition, const int64_t* condition_strides, const float* a,
                   const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
                   const int64_t* shape, int ndim);

}  // namespace pa::cpu
