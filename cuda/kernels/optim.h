// CUDA optimizer updates: the GPU side of engine/cpu/optim_kernels.h, the same formulas step for
// step (PyTorch 1.13's single-tensor SGD and Adam/AdamW), elementwise on device arrays, in place.
// Launches are asynchronous on the default stream and checked.
#pragma once

#include <cstdint>

namespace pa::cuda {

struct SgdHyper {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer starts as the first gradient
};
void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper);

struct AdamHyper {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW
  int64_t step;    // 1-based
};
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
               const AdamHyper& hyper);

// values *= factor (gradient clipping).
void scale_in_place(float* values, int64_t n, float factor);

}  // namespace pa::cuda
