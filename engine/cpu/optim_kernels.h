// Optimizer update kernels on plain float arrays (n elements each), updating in place.
// Formulas follow PyTorch 1.13+'s single-tensor implementations step for step, so that a
// trajectory recorded in PyTorch is reproduced to float32 rounding.
#pragma once

#include <cstdint>

namespace pa::cpu {

struct SgdHyper {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer starts as the first gradient
};
// param -= lr * d, with d = g + wd * p, buf = momentum * buf + (1 - dampening) * d,
// d = nesterov ? d + momentum * buf : buf (when momentum != 0).
void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper);

struct AdamHyper {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: param *= 1 - lr * wd before the update; Adam: g += wd * param
  int64_t step;    // 1-based, after incrementing
};
// m = m + (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2;
// param -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
               const AdamHyper& hyper);

// Sum of squares in double (for the global gradient norm).
double sum_of_squares(const float* values, int64_t n);
void scale_in_place(float* values, int64_t n, float factor);

}  // namespace pa::cpu
