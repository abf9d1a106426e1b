// CUDA row-wise kernels (see rowwise.h). One block of 256 threads per row: each thread strides
// over the row, then a shared-memory tree reduces the partial values in a fixed order, so the
// results do not change from run to run. Column sums (bias and LayerNorm parameter gradients)
// give each column 32 threads that stride over the rows, their partials added in order.
#include "cuda/common/check.h"
#include "cuda/kernels/rowwise.h"

namespace pa::cuda {
namespace {

constexpr int kThreads = 256;

// Block-wide reduction of one value per thread (sum or max), result in every thread.
template <typename T, typename Op>
__device__ T block_reduce(T value, Op op, T* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      shared[threadIdx.x] = op(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const T result = shared[0];
  __syncthreads();  // shared is reused by the next reduction
  return result;
}

struct Sum {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

__global__ void sum_rows_kernel(const float* x, float* out, int64_t D) {
  __shared__ double shared[kThreads];
  const float* row = x + blockIdx.x * D;
  double total = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) total += row[j];
  total = block_reduce(total, Sum(), shared);
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<float>(total);
}

// Column sums: a block of kColumnTile x kRowGroups threads owns kColumnTile columns; thread
// (c, g) adds rows g, g + kRowGroups, ... of its column (independent loads in flight), then
// thread (c, 0) adds the kRowGroups partials in order. A fixed order: the same sum every run.
constexpr int kColumnTile = 32;
constexpr int kRowGroups = 32;

// The kRowGroups partials of column threadIdx.x added in order (the result in row group 0).
__device__ double column_total(double value, double (*shared)[kColumnTile + 1]) {
  shared[threadIdx.y][threadIdx.x] = value;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.y == 0) {
    for (int g = 0; g < kRowGroups; ++g) total += shared[g][threadIdx.x];
  }
  __syncthreads();  // shared is reused by the next call
  return total;
}

__global__ void sum_columns_kernel(const float* x, float* out, int64_t rows, int64_t D) {
  __shared__ double shared[kRowGroups][kColumnTile + 1];
  const int64_t j = blockIdx.x * int64_t(kColumnTile) + threadIdx.x;
  double total = 0.0;
  if (j < D) {
#pragma unroll 4
    for (int64_t r = threadIdx.y; r < rows; r += kRowGroups) total += x[r * D + j];
  }
  total = column_total(total, shared);
  if (threadIdx.y == 0 && j < D) out[j] = static_cast<float>(total);
}

__global__ void softmax_forward_kernel(const float* x, float* y, int64_t D, bool log) {
  __shared__ float shared_max[kThreads];
  __shared__ double shared_sum[kThreads];
  const float* in = x + blockIdx.x * D;
  float* out = y + blockIdx.x * D;
  float row_max = -INFINITY;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) row_max = fmaxf(row_max, in[j]);
  row_max = block_reduce(row_max, Max(), shared_max);
  double total = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) total += expf(in[j] - row_max);
  total = block_reduce(total, Sum(), shared_sum);
  if (log) {
    const float shift = row_max + static_cast<float>(::log(total));
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) out[j] = in[j] - shift;
  } else {
    const float scale = static_cast<float>(1.0 / total);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) out[j] = expf(in[j] - row_max) * scale;
  }
}

__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t D,
                                        bool log) {
  __shared__ double shared[kThreads];
  const int64_t base = blockIdx.x * D;
  double dot = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    dot += log ? dy[base + j] : double(dy[base + j]) * y[base + j];
  }
  const float total = static_cast<float>(block_reduce(dot, Sum(), shared));
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const int64_t i = base + j;
    dx[i] = log ? dy[i] - expf(y[i]) * total : y[i] * (dy[i] - total);
  }
}

// Softmax along the middle dim of (outer, D, inner), inner > 1: thread t owns line
// (t / inner, t % inner) and walks its D elements (stride inner); neighbouring threads read
// neighbouring addresses. Sums in double, as the row kernels.
__global__ void softmax_forward_strided_kernel(const float* x, float* y, int64_t lines, int64_t D,
                                               int64_t inner, bool log) {
  const int64_t line = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (line >= lines) return;
  const int64_t base = (line / inner) * D * inner + line % inner;
  float line_max = -INFINITY;
  for (int64_t j = 0; j < D; ++j) line_max = fmaxf(line_max, x[base + j * inner]);
  double total = 0.0;
  for (int64_t j = 0; j < D; ++j) total += expf(x[base + j * inner] - line_max);
  if (log) {
    const float shift = line_max + static_cast<float>(::log(total));
    for (int64_t j = 0; j < D; ++j) y[base + j * inner] = x[base + j * inner] - shift;
  } else {
    const float scale = static_cast<float>(1.0 / total);
    for (int64_t j = 0; j < D; ++j) {
      y[base + j * inner] = expf(x[base + j * inner] - line_max) * scale;
    }
  }
}

__global__ void softmax_backward_strided_kernel(const float* y, const float* dy, float* dx,
                                                int64_t lines, int64_t D, int64_t inner, bool log) {
  const int64_t line = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (line >= lines) return;
  const int64_t base = (line / inner) * D * inner + line % inner;
  double dot = 0.0;
  for (int64_t j = 0; j < D; ++j) {
    const int64_t i = base + j * inner;
    dot += log ? dy[i] : double(dy[i]) * y[i];
  }
  const float total = static_cast<float>(dot);
  for (int64_t j = 0; j < D; ++j) {
    const int64_t i = base + j * inner;
    dx[i] = log ? dy[i] - expf(y[i]) * total : y[i] * (dy[i] - total);
  }
}

// da = (a - b) * (*dloss * (2 / n)): the MSE loss's backward, the upstream gradient read on the
// device.
__global__ void mse_loss_backward_kernel(const float* a, const float* b, const float* dloss,
                                         float* da, int64_t n) {
  const float scale = *dloss * (2.0f / static_cast<float>(n));
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    da[i] = (a[i] - b[i]) * scale;
  }
}

// LayerNorm (kCentered) and RMSNorm share these kernels: xhat = (x - mean) * rstd with
// rstd = 1 / sqrt(mean((x - mean)^2) + eps), where RMSNorm takes mean = 0 and has no beta.
template <bool kCentered>
__global__ void norm_forward_kernel(const float* x, const float* gamma, const float* beta, float* y,
                                    float* mean, float* rstd, int64_t D, float eps) {
  __shared__ double shared[kThreads];
  const float* row = x + blockIdx.x * D;
  float* out = y + blockIdx.x * D;
  double row_mean = 0.0;
  if constexpr (kCentered) {
    double total = 0.0;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) total += row[j];
    row_mean = block_reduce(total, Sum(), shared) / D;
  }
  double squares = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    squares += (row[j] - row_mean) * (row[j] - row_mean);
  }
  const double variance = block_reduce(squares, Sum(), shared) / D;
  const float row_rstd = static_cast<float>(1.0 / sqrt(variance + eps));
  if constexpr (kCentered) {
    const float m = static_cast<float>(row_mean);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      out[j] = (row[j] - m) * row_rstd * gamma[j] + beta[j];
    }
    if (threadIdx.x == 0) mean[blockIdx.x] = m;
  } else {
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) out[j] = row[j] * row_rstd * gamma[j];
  }
  if (threadIdx.x == 0) rstd[blockIdx.x] = row_rstd;
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma (RMSNorm: no mean(g) term).
template <bool kCentered>
__global__ void norm_dx_kernel(const float* x, const float* gamma, const float* mean,
                               const float* rstd, const float* dy, float* dx, int64_t D) {
  __shared__ double shared[kThreads];
  const int64_t base = blockIdx.x * D;
  const float row_mean = kCentered ? mean[blockIdx.x] : 0.0f, row_rstd = rstd[blockIdx.x];
  double g_total = 0.0, gx_total = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (x[base + j] - row_mean) * row_rstd;
    const float g = dy[base + j] * gamma[j];
    g_total += g;
    gx_total += double(g) * xhat;
  }
  const float g_mean =
      kCentered ? static_cast<float>(block_reduce(g_total, Sum(), shared) / D) : 0.0f;
  const float gx_mean = static_cast<float>(block_reduce(gx_total, Sum(), shared) / D);
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (x[base + j] - row_mean) * row_rstd;
    dx[base + j] = row_rstd * (dy[base + j] * gamma[j] - g_mean - xhat * gx_mean);
  }
}

// dgamma[j] = sum_r dy * xhat, dbeta[j] = sum_r dy (LayerNorm only): the column-sum layout of
// sum_columns.
template <bool kCentered>
__global__ void norm_parameters_kernel(const float* x, const float* mean, const float* rstd,
                                       const float* dy, float* dgamma, float* dbeta, int64_t rows,
                                       int64_t D) {
  __shared__ double shared[kRowGroups][kColumnTile + 1];
  const int64_t j = blockIdx.x * int64_t(kColumnTile) + threadIdx.x;
  double gamma_total = 0.0, beta_total = 0.0;
  if (j < D) {
#pragma unroll 4
    for (int64_t r = threadIdx.y; r < rows; r += kRowGroups) {
      const float xhat = (x[r * D + j] - (kCentered ? mean[r] : 0.0f)) * rstd[r];
      gamma_total += double(dy[r * D + j]) * xhat;
      if constexpr (kCentered) beta_total += dy[r * D + j];
    }
  }
  gamma_total = column_total(gamma_total, shared);
  if constexpr (kCentered) beta_total = column_total(beta_total, shared);
  if (threadIdx.y == 0 && j < D) {
    dgamma[j] = static_cast<float>(gamma_total);
    if constexpr (kCentered) dbeta[j] = static_cast<float>(beta_total);
  }
}

// Per-block partial sums of (a - b)^2 in double; squared_error_finish_kernel adds them up.
__global__ void squared_error_kernel(const float* a, const float* b, double* partial, int64_t n) {
  __shared__ double shared[kThreads];
  double total = 0.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const double diff = b != nullptr ? a[i] - b[i] : a[i];  // the difference in float, as on CPU
    total += diff * diff;
  }
  total = block_reduce(total, Sum(), shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// Adds the partials in a fixed tree (the same sum every run) into *total (or onto it), and
// writes float(*total * scale) to *scaled when it is not null.
__global__ void squared_error_finish_kernel(const double* partial, int count, double* total,
                                            bool accumulate, float* scaled, double scale) {
  __shared__ double shared[kThreads];
  double sum = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += partial[i];
  sum = block_reduce(sum, Sum(), shared);
  if (threadIdx.x == 0) {
    const double value = accumulate ? *total + sum : sum;
    *total = value;
    if (scaled != nullptr) *scaled = static_cast<float>(value * scale);
  }
}

__global__ void max_along_kernel(const float* x, float* values, int64_t* indices, int64_t outer,
                                 int64_t D, int64_t inner) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // (o, j)
  if (i >= outer * inner) return;
  const int64_t o = i / inner, j = i % inner;
  const float* line = x + o * D * inner + j;  // stride inner
  int64_t best = 0;
  for (int64_t d = 1; d < D; ++d) {
    const float value = line[d * inner];
    if (value > line[best * inner] || isnan(value)) {
      best = d;
      if (isnan(value)) break;
    }
  }
  values[i] = line[best * inner];
  indices[i] = best;
}

__global__ void max_along_backward_kernel(const float* dy, const int64_t* indices, float* dx,
                                          int64_t outer, int64_t D, int64_t inner) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // (o, j)
  if (i >= outer * inner) return;
  const int64_t o = i / inner, j = i % inner;
  const int64_t best = indices[i];
  for (int64_t d = 0; d < D; ++d) dx[(o * D + d) * inner + j] = d == best ? dy[i] : 0.0f;
}

// One block: -sum_n log_probs[n, targets[n]] / N.
__global__ void nll_mean_kernel(const float* log_probs, const int64_t* targets, float* loss,
                                int64_t N, int64_t C) {
  __shared__ double shared[kThreads];
  double total = 0.0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) total -= log_probs[n * C + targets[n]];
  total = block_reduce(total, Sum(), shared);
  if (threadIdx.x == 0) *loss = static_cast<float>(total / N);
}

__global__ void cross_entropy_backward_kernel(const float* log_probs, const int64_t* targets,
                                              const float* dloss, float* dlogits, int64_t N,
                                              int64_t C) {
  const float scale = *dloss / static_cast<float>(N);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < N * C;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float onehot = i % C == targets[i / C] ? 1.0f : 0.0f;
    dlogits[i] = (expf(log_probs[i]) - onehot) * scale;
  }
}

__global__ void embedding_forward_kernel(const float* weight, const int64_t* indices, float* out,
                                         int64_t count, int64_t E) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count * E;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = weight[indices[i / E] * E + i % E];
  }
}

// blockIdx.x: the row v; threads walk its columns and add the positions' gradients in order.
__global__ void embedding_backward_kernel(const float* dy, const int64_t* offsets,
                                          const int64_t* positions, float* dweight, int64_t E) {
  const int64_t v = blockIdx.x;
  for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
    float total = 0.0f;  // float, in position order: the CPU kernel's sum
    for (int64_t p = offsets[v]; p < offsets[v + 1]; ++p) total += dy[positions[p] * E + e];
    dweight[v * E + e] = total;
  }
}

// Blocks of a grid-stride loop over n elements, capped (the cap bounds squared_error's partials).
int grid_for(int64_t n) {
  return static_cast<int>(
      std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxSquaredErrorPartials));
}

}  // namespace

void sum_rows(const float* x, float* out, int64_t rows, int64_t D) {
  if (rows == 0) return;
  sum_rows_kernel<<<rows, kThreads, 0, launch_stream()>>>(x, out, D);
  PA_CUDA_CHECK_LAUNCH();
}

void sum_columns(const float* x, float* out, int64_t rows, int64_t D) {
  if (D == 0) return;
  sum_columns_kernel<<<(D + kColumnTile - 1) / kColumnTile, dim3(kColumnTile, kRowGroups), 0,
                       launch_stream()>>>(x, out, rows, D);
  PA_CUDA_CHECK_LAUNCH();
}

void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (outer * inner == 0 || D == 0) return;
  if (inner == 1) {
    softmax_forward_kernel<<<outer, kThreads, 0, launch_stream()>>>(x, y, D, log);
  } else {
    const int64_t lines = outer * inner;
    softmax_forward_strided_kernel<<<(lines + kThreads - 1) / kThreads, kThreads, 0,
                                     launch_stream()>>>(x, y, lines, D, inner, log);
  }
  PA_CUDA_CHECK_LAUNCH();
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log) {
  if (outer * inner == 0 || D == 0) return;
  if (inner == 1) {
    softmax_backward_kernel<<<outer, kThreads, 0, launch_stream()>>>(y, dy, dx, D, log);
  } else {
    const int64_t lines = outer * inner;
    softmax_backward_strided_kernel<<<(lines + kThreads - 1) / kThreads, kThreads, 0,
                                      launch_stream()>>>(y, dy, dx, lines, D, inner, log);
  }
  PA_CUDA_CHECK_LAUNCH();
}

namespace {

template <bool kCentered>
void norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                  float* rstd, int64_t rows, int64_t D, float eps) {
  if (rows == 0 || D == 0) return;
  norm_forward_kernel<kCentered>
      <<<rows, kThreads, 0, launch_stream()>>>(x, gamma, beta, y, mean, rstd, D, eps);
  PA_CUDA_CHECK_LAUNCH();
}

template <bool kCentered>
void norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                   const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                   int64_t D) {
  if (D == 0) return;
  if (rows > 0) {
    norm_dx_kernel<kCentered>
        <<<rows, kThreads, 0, launch_stream()>>>(x, gamma, mean, rstd, dy, dx, D);
    PA_CUDA_CHECK_LAUNCH();
  }
  norm_parameters_kernel<kCentered>
      <<<(D + kColumnTile - 1) / kColumnTile, dim3(kColumnTile, kRowGroups), 0, launch_stream()>>>(
          x, mean, rstd, dy, dgamma, dbeta, rows, D);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps) {
  norm_forward<true>(x, gamma, beta, y, mean, rstd, rows, D, eps);
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D) {
  norm_backward<true>(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, D);
}

void rms_norm_forward(const float* x, const float* gamma, float* y, float* rstd, int64_t rows,
                      int64_t D, float eps) {
  norm_forward<false>(x, gamma, nullptr, y, nullptr, rstd, rows, D, eps);
}

void rms_norm_backward(const float* x, const float* gamma, const float* rstd, const float* dy,
                       float* dx, float* dgamma, int64_t rows, int64_t D) {
  norm_backward<false>(x, gamma, nullptr, rstd, dy, dx, dgamma, nullptr, rows, D);
}

int64_t squared_error_workspace(int64_t n) { return n == 0 ? 0 : grid_for(n); }

void squared_error_sum(const float* a, const float* b, int64_t n, double* workspace, double* total,
                       bool accumulate, float* scaled, double scale) {
  const int blocks = static_cast<int>(squared_error_workspace(n));
  if (blocks > 0) {
    squared_error_kernel<<<blocks, kThreads, 0, launch_stream()>>>(a, b, workspace, n);
    PA_CUDA_CHECK_LAUNCH();
  }
  squared_error_finish_kernel<<<1, kThreads, 0, launch_stream()>>>(workspace, blocks, total,
                                                                   accumulate, scaled, scale);
  PA_CUDA_CHECK_LAUNCH();
}

int64_t mse_loss_workspace(int64_t n) { return squared_error_workspace(n) + 1; }

void mse_loss_forward(const float* a, const float* b, int64_t n, double* workspace, float* loss) {
  const int64_t blocks = squared_error_workspace(n);
  squared_error_sum(a, b, n, workspace, workspace + blocks, false, loss,
                    n > 0 ? 1.0 / static_cast<double>(n) : NAN);
}

void mse_loss_backward(const float* a, const float* b, const float* dloss, float* da, int64_t n) {
  if (n == 0) return;
  mse_loss_backward_kernel<<<grid_for(n), kThreads, 0, launch_stream()>>>(a, b, dloss, da, n);
  PA_CUDA_CHECK_LAUNCH();
}

void max_along(const float* x, float* values, int64_t* indices, int64_t outer, int64_t D,
               int64_t inner) {
  const int64_t count = outer * inner;
  if (count == 0) return;
  max_along_kernel<<<(count + kThreads - 1) / kThreads, kThreads, 0, launch_stream()>>>(
      x, values, indices, outer, D, inner);
  PA_CUDA_CHECK_LAUNCH();
}

void max_along_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer,
                        int64_t D, int64_t inner) {
  const int64_t count = outer * inner;
  if (count == 0) return;
  max_along_backward_kernel<<<(count + kThreads - 1) / kThreads, kThreads, 0, launch_stream()>>>(
      dy, indices, dx, outer, D, inner);
  PA_CUDA_CHECK_LAUNCH();
}

void cross_entropy_forward(const float* logits, const int64_t* targets, float* log_probs,
                           float* loss, int64_t N, int64_t C) {
  softmax_forward(logits, log_probs, N, C, 1, /*log=*/true);
  nll_mean_kernel<<<1, kThreads, 0, launch_stream()>>>(log_probs, targets, loss, N, C);
  PA_CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward(const float* log_probs, const int64_t* targets, const float* dloss,
                            float* dlogits, int64_t N, int64_t C) {
  if (N * C == 0) return;
  cross_entropy_backward_kernel<<<grid_for(N * C), kThreads, 0, launch_stream()>>>(
      log_probs, targets, dloss, dlogits, N, C);
  PA_CUDA_CHECK_LAUNCH();
}

void embedding_forward(const float* weight, const int64_t* indices, float* out, int64_t count,
                       int64_t E) {
  if (count * E == 0) return;
  embedding_forward_kernel<<<grid_for(count * E), kThreads, 0, launch_stream()>>>(weight, indices,
                                                                                  out, count, E);
  PA_CUDA_CHECK_LAUNCH();
}

void embedding_backward(const float* dy, const int64_t* offsets, const int64_t* positions,
                        float* dweight, int64_t V, int64_t E) {
  if (V * E == 0) return;
  embedding_backward_kernel<<<V, kThreads, 0, launch_stream()>>>(dy, offsets, positions, dweight,
                                                                 E);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
