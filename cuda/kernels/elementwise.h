// CUDA elementwise kernels: unary maps with their derivatives, and broadcasting binary ops.
// Plain device pointers and shapes; the launch is asynchronous on the default stream and its
// launch error is checked.
#pragma once

#include <cstdint>

namespace pa::cuda {

enum class UnaryKind { Neg, Pow, Exp, Log, Sqrt, Tanh, Sigmoid, Relu, GeluTanh, GeluErf };
enum class BinaryKind { Add, Sub, Mul, Div };

constexpr int kMaxDims = 8;

// y[i] = f(x[i]); `scalar` is the exponent for Pow.
void unary_forward(UnaryKind kind, const float* x, float* y, int64_t n, float scalar);
// dx[i] = dy[i] * f'(x[i]); y is the forward output.
void unary_backward(UnaryKind kind, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float scalar);
// out (shape, contiguous) = a (op) b, read through strides (0 on broadcast dims); ndim <= 8.
void binary_forward(BinaryKind kind, const float* a, const int64_t* a_strides, const float* b,
                    const int64_t* b_strides, float* out, const int64_t* shape, int ndim);

}  // namespace pa::cuda
