// CUDA row-wise kernels: the GPU side of engine/cpu/nn_kernels.h (sums, softmax, LayerNorm, the
// MSE loss) on plain device pointers, contiguous data. Sums accumulate in double, as the CPU
// kernels do. Launches are asynchronous on the default stream and checked.
#pragma once

#include <cstdint>

namespace pa::cuda {

// out (rows) = sum over each row of x (rows, D).
void sum_rows(const float* x, float* out, int64_t rows, int64_t D);
// out (D) = sum over the rows of x (rows, D).
void sum_columns(const float* x, float* out, int64_t rows, int64_t D);

// Softmax / log-softmax over each row of x (rows, D); backward from y (the output) and dy:
// softmax dx = y (dy - <dy, y>), log-softmax dx = dy - exp(y) sum(dy).
void softmax_forward(const float* x, float* y, int64_t rows, int64_t D, bool log);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t D,
                      bool log);

// LayerNorm over each row of D, saving mean and rstd (rows); the backward overwrites dx,
// dgamma and dbeta.
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D);

// sum((a - b)^2) over n elements (sum(a^2) when b is null: the gradient norm), in double,
// returned to the host (synchronises).
double squared_error_sum(const float* a, const float* b, int64_t n);

}  // namespace pa::cuda
