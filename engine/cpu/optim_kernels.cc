// Optimizer update kernels (see optim_kernels.h).
#include "engine/cpu/optim_kernels.h"

#include <cmath>

namespace pa::cpu {

void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper) {
  for (int64_t i = 0; i < n; ++i) {
    float d = grad[i];
    if (hyper.weight_decay != 0.0f) d += hyper.weight_decay * param[i];
    if (hyper.momentum != 0.0f) {
      float& buffer = momentum_buffer[i];
      buffer = hyper.first_step ? d : hyper.momentum * buffer + (1.0f - hyper.dampening) * d;
      d = hyper.nesterov ? d + hyper.momentum * buffer : buffer;
    }
    param[i] -= hyper.lr * d;
  }
}

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
               const AdamHyper& hyper) {
  // Bias corrections in double, as PyTorch computes them from a Python float step count.
  const double correction1 = 1.0 - std::pow(static_cast<double>(hyper.beta1), hyper.step);
  const double correction2 = 1.0 - std::pow(static_cast<double>(hyper.beta2), hyper.step);
  const float step_size = static_cast<float>(hyper.lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float decay = hyper.decoupled ? 1.0f - hyper.lr * hyper.weight_decay : 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (hyper.decoupled) {
      param[i] *= decay;
    } else if (hyper.weight_decay != 0.0f) {
      g += hyper.weight_decay * param[i];
    }
    exp_avg[i] += (1.0f - hyper.beta1) * (g - exp_avg[i]);
    exp_avg_sq[i] = hyper.beta2 * exp_avg_sq[i] + (1.0f - hyper.beta2) * g * g;
    const float denominator = std::sqrt(exp_avg_sq[i]) / correction2_sqrt + hyper.eps;
    param[i] -= step_size * (exp_avg[i] / denominator);
  }
}

double sum_of_squares(const float* values, int64_t n) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(values[i]) * values[i];
  return total;
}

void scale_in_place(float* values, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i) values[i] *= factor;
}

}  // namespace pa::cpu
