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

// Softmax / log-softmax along the middle dim of a contiguous (outer, D, inner) array (the CPU
// kernel's signature); backward from y (the output) and dy: softmax dx = y (dy - <dy, y>),
// log-softmax dx = dy - exp(y) sum(dy). inner = 1 (the softmax dim last) runs one block per row;
// otherwise one thread per (outer, inner) line walks the D elements, neighbouring threads
// reading neighbouring addresses.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner, bool log);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log);

// LayerNorm over each row of D, saving mean and rstd (rows); the backward overwrites dx,
// dgamma and dbeta.
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D);

// RMSNorm over each row of D: y = x * rstd * gamma, rstd = 1 / sqrt(mean(x^2) + eps) saved
// (rows); the backward overwrites dx and dgamma. The LayerNorm kernels with the mean taken as 0.
void rms_norm_forward(const float* x, const float* gamma, float* y, float* rstd, int64_t rows,
                      int64_t D, float eps);
void rms_norm_backward(const float* x, const float* gamma, const float* rstd, const float* dy,
                       float* dx, float* dgamma, int64_t rows, int64_t D);

// sum((a - b)^2) over n elements (sum(a^2) when b is null: the gradient norm), in double, left on
// the device (no synchronisation): per-block partials go to `workspace` (device, at least
// squared_error_workspace(n) doubles), then one block adds them in a fixed order into *total
// (device double; added onto its value when `accumulate`) and writes float(*total * scale) to
// *scaled (device float) unless it is null.
int64_t squared_error_workspace(int64_t n);  // at most kMaxSquaredErrorPartials
constexpr int64_t kMaxSquaredErrorPartials = 4096;
void squared_error_sum(const float* a, const float* b, int64_t n, double* workspace, double* total,
                       bool accumulate, float* scaled, double scale);

// The MSE loss under the CPU kernels' signatures: *loss (a device float) = mean((a - b)^2),
// summed in double through `workspace` (mse_loss_workspace(n) doubles on the device), no
// synchronisation; the backward reads the upstream gradient from the device:
// da = (a - b) * (*dloss * (2 / n)).
int64_t mse_loss_workspace(int64_t n);
void mse_loss_forward(const float* a, const float* b, int64_t n, double* workspace, float* loss);
void mse_loss_backward(const float* a, const float* b, const float* dloss, float* da, int64_t n);

// Max along the middle dim of a contiguous (outer, D, inner) array, D >= 1: values and the
// index of the first maximum (a NaN wins at once), as the CPU kernel. The backward writes the
// whole of dx: dy at each argmax, zero elsewhere.
void max_along(const float* x, float* values, int64_t* indices, int64_t outer, int64_t D,
               int64_t inner);
void max_along_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer,
                        int64_t D, int64_t inner);

// Cross-entropy of (N, C) logits and targets in [0, C) (checked by the caller): log_probs
// (N, C) and *loss (a device float) = -mean_n log_probs[n, targets[n]], summed in a fixed order.
// The backward reads the upstream gradient from the device: dlogits = (exp(log_probs) - onehot)
// * (*dloss / N).
void cross_entropy_forward(const float* logits, const int64_t* targets, float* log_probs,
                           float* loss, int64_t N, int64_t C);
void cross_entropy_backward(const float* log_probs, const int64_t* targets, const float* dloss,
                            float* dlogits, int64_t N, int64_t C);

// Embedding rows: out (count, E) = weight[indices] (indices checked by the caller). The
// backward sums each row's gradients in position order, as the CPU: the positions reading
// row v are positions[offsets[v] .. offsets[v + 1]) (ascending), built by the caller.
void embedding_forward(const float* weight, const int64_t* indices, float* out, int64_t count,
                       int64_t E);
void embedding_backward(const float* dy, const int64_t* offsets, const int64_t* positions,
                        float* dweight, int64_t V, int64_t E);

}  // namespace pa::cuda
