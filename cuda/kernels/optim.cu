// CUDA optimizer updates (see optim.h): one thread per element over a grid-stride loop. The bias
// corrections are computed on the host in double, as the CPU kernels do, and passed in.
#include <algorithm>
#include <cmath>

#include "cuda/common/check.h"
#include "cuda/kernels/optim.h"

namespace pa::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535));
}

__global__ void sgd_kernel(float* param, const float* grad, float* buffer, int64_t n,
                           SgdHyper hyper) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float d = grad[i];
    if (hyper.weight_decay != 0.0f) d += hyper.weight_decay * param[i];
    if (hyper.momentum != 0.0f) {
      buffer[i] = hyper.first_step ? d : hyper.momentum * buffer[i] + (1.0f - hyper.dampening) * d;
      d = hyper.nesterov ? d + hyper.momentum * buffer[i] : buffer[i];
    }
    param[i] -= hyper.lr * d;
  }
}

__global__ void adam_kernel(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                            int64_t n, AdamHyper hyper, float step_size, float correction2_sqrt,
                            float decay) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float g = grad[i];
    if (hyper.decoupled) {
      param[i] *= decay;
    } else if (hyper.weight_decay != 0.0f) {
      g += hyper.weight_decay * param[i];
    }
    exp_avg[i] += (1.0f - hyper.beta1) * (g - exp_avg[i]);
    exp_avg_sq[i] = hyper.beta2 * exp_avg_sq[i] + (1.0f - hyper.beta2) * g * g;
    const float denominator = sqrtf(exp_avg_sq[i]) / correction2_sqrt + hyper.eps;
    param[i] -= step_size * (exp_avg[i] / denominator);
  }
}

__global__ void scale_kernel(float* values, int64_t n, float factor) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    values[i] *= factor;
  }
}

}  // namespace

void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kThreads, 0, launch_stream()>>>(param, grad, momentum_buffer, n, hyper);
  PA_CUDA_CHECK_LAUNCH();
}

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
               const AdamHyper& hyper) {
  if (n == 0) return;
  const double correction1 = 1.0 - std::pow(static_cast<double>(hyper.beta1), hyper.step);
  const double correction2 = 1.0 - std::pow(static_cast<double>(hyper.beta2), hyper.step);
  const float step_size = static_cast<float>(hyper.lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float decay = hyper.decoupled ? 1.0f - hyper.lr * hyper.weight_decay : 1.0f;
  adam_kernel<<<grid_for(n), kThreads, 0, launch_stream()>>>(
      param, grad, exp_avg, exp_avg_sq, n, hyper, step_size, correction2_sqrt, decay);
  PA_CUDA_CHECK_LAUNCH();
}

void scale_in_place(float* values, int64_t n, float factor) {
  if (n == 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, launch_stream()>>>(values, n, factor);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
