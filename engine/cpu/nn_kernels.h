// CPU kernels for the row-wise ops: reductions, softmax, layer norm, losses, dropout,
// embedding. Data is contiguous; a "row" layout (outer, D, inner) means the op runs along the
// middle dim of size D for each of the outer * inner independent lines.
#pragma once

#include <cstdint>

namespace pa::cpu {

// out (rows) = sum over each contiguous row of length D of x (rows, D).
void sum_rows(const float* x, float* out, int64_t rows, int64_t D);
// out (D) = sum over the rows of x (rows, D): a reduction over leading dims (bias gradients).
void sum_columns(const float* x, float* out, int64_t rows, int64_t D);

// Max along the middle dim of x (outer, D, inner): values and the first argmax.
void max_along(const float* x, float* values, int64_t* indices, int64_t outer, int64_t D,
               int64_t inner);
// dx (outer, D, inner) = 0 except dx[argmax] = dy.
void max_along_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer,
                        int64_t D, int64_t inner);

// Softmax / log-softmax along the middle dim of (outer, D, inner).
void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner, bool log);
// Given y (the forward output) and dy: softmax dx = y (dy - sum(dy y));
// log-softmax dx = dy - exp(y) sum(dy).
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log);

// LayerNorm over the last D elements of each of `rows` rows; saves mean and rstd (rows).
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps);
// dgamma, dbeta (D) are overwritten.
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D);

// RMSNorm over the last D elements of each of `rows` rows: y = x * rstd * gamma with
// rstd = 1 / sqrt(mean(x^2) + eps), saved (rows); no centring, no bias. The backward overwrites
// dx and dgamma (D).
void rms_norm_forward(const float* x, const float* gamma, float* y, float* rstd, int64_t rows,
                      int64_t D, float eps);
void rms_norm_backward(const float* x, const float* gamma, const float* rstd, const float* dy,
                       float* dx, float* dgamma, int64_t rows, int64_t D);

// sum((a - b)^2) over n elements, accumulated in double (the MSE loss's forward).
double squared_error_sum(const float* a, const float* b, int64_t n);
// The MSE loss: *loss = mean((a - b)^2) (NaN when n = 0), summed in double; `workspace` is
// unused here (mse_loss_workspace gives 0 doubles: the CUDA kernel's signature needs one). The
// backward: da = (2 * *dloss / n) (a - b).
int64_t mse_loss_workspace(int64_t n);
void mse_loss_forward(const float* a, const float* b, int64_t n, double* workspace, float* loss);
void mse_loss_backward(const float* a, const float* b, const float* dloss, float* da, int64_t n);

// Cross-entropy from logits (N, C) and targets (N): *loss = the mean loss; saves log-probs
// (N, C).
void cross_entropy_forward(const float* logits, const int64_t* targets, float* log_probs,
                           float* loss, int64_t N, int64_t C);
// dlogits = (softmax - onehot) * *dloss / N.
void cross_entropy_backward(const float* log_probs, const int64_t* targets, const float* dloss,
                            float* dlogits, int64_t N, int64_t C);

// out (count, E) = weight[indices[i]] (V, E) rows.
void embedding_forward(const float* weight, const int64_t* indices, float* out, int64_t count,
                       int64_t E);
// dweight (V, E) is overwritten: row v is the sum of the dy rows at the positions reading it,
// positions[offsets[v] .. offsets[v + 1]) (ascending; built by the caller), added in that order.
void embedding_backward(const float* dy, const int64_t* offsets, const int64_t* positions,
                        float* dweight, int64_t V, int64_t E);

}  // namespace pa::cpu
