// Optimizer update kernels (see optim_kernels.h).
#include "engine/cpu/optim_kernels.h"

#include <cmath>

#include "engine/cpu/vector_math.h"

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

namespace {

// One Adam (or AdamW, Decoupled) update over n values; the weight-decay variant is a template
// argument and the arrays are restrict, so GCC vectorises the loop (sqrt and divide included).
template <bool Decoupled, bool L2Decay>
void adam_loop(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
               float* __restrict exp_avg_sq, int64_t n, float beta1, float beta2, float eps,
               float weight_decay, float decay, float step_size, float correction2_sqrt) {
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (Decoupled) param[i] *= decay;
    if (L2Decay) g += weight_decay * param[i];
    exp_avg[i] += (1.0f - beta1) * (g - exp_avg[i]);
    exp_avg_sq[i] = beta2 * exp_avg_sq[i] + (1.0f - beta2) * g * g;
    const float denominator = std::sqrt(exp_avg_sq[i]) / correction2_sqrt + eps;
    param[i] -= step_size * (exp_avg[i] / denominator);
  }
}

}  // namespace

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
               const AdamHyper& hyper) {
  // Bias corrections in double, as PyTorch computes them from a Python float step count.
  const double correction1 = 1.0 - std::pow(static_cast<double>(hyper.beta1), hyper.step);
  const double correction2 = 1.0 - std::pow(static_cast<double>(hyper.beta2), hyper.step);
  const float step_size = static_cast<float>(hyper.lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float decay = hyper.decoupled ? 1.0f - hyper.lr * hyper.weight_decay : 1.0f;
  const bool l2 = !hyper.decoupled && hyper.weight_decay != 0.0f;
  auto run = hyper.decoupled ? adam_loop<true, false>
             : l2            ? adam_loop<false, true>
                             : adam_loop<false, false>;
  run(param, grad, exp_avg, exp_avg_sq, n, hyper.beta1, hyper.beta2, hyper.eps, hyper.weight_decay,
      decay, step_size, correction2_sqrt);
}

double sum_of_squares(const float* values, int64_t n) { return dot_double(values, values, n); }

void scale_in_place(float* values, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i) values[i] *= factor;
}

}  // namespace pa::cpu
