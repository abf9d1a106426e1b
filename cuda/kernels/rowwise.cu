// CUDA row-wise kernels (see rowwise.h). One block of 256 threads per row: each thread strides
// over the row, then a shared-memory tree reduces the partial values in a fixed order, so the
// results do not change from run to run. Column sums (bias and LayerNorm parameter gradients)
// give each thread one column and walk the rows in order.
#include <mutex>
#include <stdexcept>
#include <vector>

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

__global__ void sum_columns_kernel(const float* x, float* out, int64_t rows, int64_t D) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= D) return;
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) total += x[r * D + j];
  out[j] = static_cast<float>(total);
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

__global__ void layer_norm_forward_kernel(const float* x, const float* gamma, const float* beta,
                                          float* y, float* mean, float* rstd, int64_t D,
                                          float eps) {
  __shared__ double shared[kThreads];
  const float* row = x + blockIdx.x * D;
  float* out = y + blockIdx.x * D;
  double total = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) total += row[j];
  const double row_mean = block_reduce(total, Sum(), shared) / D;
  double squares = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    squares += (row[j] - row_mean) * (row[j] - row_mean);
  }
  const double variance = block_reduce(squares, Sum(), shared) / D;
  const float row_rstd = static_cast<float>(1.0 / sqrt(variance + eps));
  const float m = static_cast<float>(row_mean);
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    out[j] = (row[j] - m) * row_rstd * gamma[j] + beta[j];
  }
  if (threadIdx.x == 0) {
    mean[blockIdx.x] = m;
    rstd[blockIdx.x] = row_rstd;
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
__global__ void layer_norm_dx_kernel(const float* x, const float* gamma, const float* mean,
                                     const float* rstd, const float* dy, float* dx, int64_t D) {
  __shared__ double shared[kThreads];
  const int64_t base = blockIdx.x * D;
  const float row_mean = mean[blockIdx.x], row_rstd = rstd[blockIdx.x];
  double g_total = 0.0, gx_total = 0.0;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (x[base + j] - row_mean) * row_rstd;
    const float g = dy[base + j] * gamma[j];
    g_total += g;
    gx_total += double(g) * xhat;
  }
  const float g_mean = static_cast<float>(block_reduce(g_total, Sum(), shared) / D);
  const float gx_mean = static_cast<float>(block_reduce(gx_total, Sum(), shared) / D);
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (x[base + j] - row_mean) * row_rstd;
    dx[base + j] = row_rstd * (dy[base + j] * gamma[j] - g_mean - xhat * gx_mean);
  }
}

// dgamma[j] = sum_r dy * xhat, dbeta[j] = sum_r dy: one thread per column, rows in order.
__global__ void layer_norm_parameters_kernel(const float* x, const float* mean, const float* rstd,
                                             const float* dy, float* dgamma, float* dbeta,
                                             int64_t rows, int64_t D) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= D) return;
  double gamma_total = 0.0, beta_total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float xhat = (x[r * D + j] - mean[r]) * rstd[r];
    gamma_total += double(dy[r * D + j]) * xhat;
    beta_total += dy[r * D + j];
  }
  dgamma[j] = static_cast<float>(gamma_total);
  dbeta[j] = static_cast<float>(beta_total);
}

// Per-block partial sums of (a - b)^2 in double; the host adds the partials in block order.
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

int grid_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 4096));
}

}  // namespace

void sum_rows(const float* x, float* out, int64_t rows, int64_t D) {
  if (rows == 0) return;
  sum_rows_kernel<<<rows, kThreads>>>(x, out, D);
  PA_CUDA_CHECK_LAUNCH();
}

void sum_columns(const float* x, float* out, int64_t rows, int64_t D) {
  if (D == 0) return;
  sum_columns_kernel<<<(D + kThreads - 1) / kThreads, kThreads>>>(x, out, rows, D);
  PA_CUDA_CHECK_LAUNCH();
}

void softmax_forward(const float* x, float* y, int64_t rows, int64_t D, bool log) {
  if (rows == 0 || D == 0) return;
  softmax_forward_kernel<<<rows, kThreads>>>(x, y, D, log);
  PA_CUDA_CHECK_LAUNCH();
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t D,
                      bool log) {
  if (rows == 0 || D == 0) return;
  softmax_backward_kernel<<<rows, kThreads>>>(y, dy, dx, D, log);
  PA_CUDA_CHECK_LAUNCH();
}

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps) {
  if (rows == 0 || D == 0) return;
  layer_norm_forward_kernel<<<rows, kThreads>>>(x, gamma, beta, y, mean, rstd, D, eps);
  PA_CUDA_CHECK_LAUNCH();
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D) {
  if (D == 0) return;
  if (rows > 0) {
    layer_norm_dx_kernel<<<rows, kThreads>>>(x, gamma, mean, rstd, dy, dx, D);
    PA_CUDA_CHECK_LAUNCH();
  }
  layer_norm_parameters_kernel<<<(D + kThreads - 1) / kThreads, kThreads>>>(x, mean, rstd, dy,
                                                                            dgamma, dbeta, rows, D);
  PA_CUDA_CHECK_LAUNCH();
}

double squared_error_sum(const float* a, const float* b, int64_t n) {
  if (n == 0) return 0.0;
  const int blocks = grid_for(n);
  // The per-block partials live in one device buffer per device, allocated once (at most
  // 4096 doubles): no cudaMalloc per call.
  static std::mutex mutex;
  static double* partials[16] = {};
  std::lock_guard<std::mutex> lock(mutex);
  int device = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  if (device < 0 || device >= 16) throw std::runtime_error("squared_error_sum: device index > 15");
  if (partials[device] == nullptr) {
    PA_CUDA_CHECK(cudaMalloc(&partials[device], 4096 * sizeof(double)));
  }
  squared_error_kernel<<<blocks, kThreads>>>(a, b, partials[device], n);
  PA_CUDA_CHECK_LAUNCH();
  std::vector<double> host(blocks);
  PA_CUDA_CHECK(
      cudaMemcpy(host.data(), partials[device], blocks * sizeof(double), cudaMemcpyDeviceToHost));
  double total = 0.0;
  for (double partial : host) total += partial;  // block order: the same sum every run
  return total;
}

}  // namespace pa::cuda
