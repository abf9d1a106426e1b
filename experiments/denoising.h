// denoising: the project's main job and the thesis' attention check (chapter 4.2). A
// Transformer encoder with a Linear head learns to recover clean sines from noisy ones:
//   x[b, s, e] = sin(0.1 s + 0.05 e + phi_b) + U[-0.5, 0.5],  phi_b ~ U[0, 2 pi),
// target the clean signal. Every training step draws a fresh batch; every --log-every steps
// the model is scored on a fixed held-out set of fresh noisy signals, next to the MSE of simply
// copying the noisy input (the noise variance 1/12 ~ 0.083: the floor a useful denoiser must
// beat). The thesis reached about 0.1.
#pragma once

#include <nlohmann/json.hpp>

#include "experiments/common/experiment.h"
#include "experiments/common/model_flags.h"

namespace pa::experiments {

struct DenoisingConfig {
  CommonFlags common = common_defaults(/*steps=*/1000, /*lr=*/3e-3, /*batch=*/32, /*log_every=*/25);
  TransformerFlags model;
  OptimFlags optim{/*schedule=*/"cosine", /*warmup=*/100, /*clip=*/1.0};
  int64_t seq_len = 32;      // S
  int64_t eval_batch = 256;  // held-out sequences scored at every log step
  int64_t predictions = 4;   // held-out sequences written to predictions/*.npy for plots
  nlohmann::json to_json() const;
};

// Logs {step, train_loss, lr, grad_norm} every log step plus {eval_loss, copy_loss}; writes
// predictions/{noisy,clean,predicted}.npy (K, S, E) and model.safetensors; returns the summary
// (final and best eval MSE, the copy floor, the ratio to it).
nlohmann::json run_denoising(const DenoisingConfig& config, Run& run);

}  // namespace pa::experiments
