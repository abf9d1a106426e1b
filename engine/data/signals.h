// The thesis' synthetic signal tasks (chapter 4.2), as batches of (B, S, E) float tensors:
// every position s of a sequence is a token and every channel e a feature of it.
//   denoising:  clean = sin(0.1 s + 0.05 e + phi_b), phi_b ~ U[0, 2 pi) per sequence,
//               noisy = clean + U[-0.5, 0.5] noise (variance 1/12); the target is `clean`.
//   inversion:  x = sin(b + s + e / 10), y = -x (one fixed batch, as the thesis trains it).
#pragma once

#include <cstdint>

#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace pa::data {

struct SignalBatch {
  Tensor input;   // (B, S, E)
  Tensor target;  // (B, S, E)
};

// The variance of U[-0.5, 0.5]: the MSE of copying the noisy input as the prediction.
constexpr double kDenoisingCopyFloor = 1.0 / 12.0;

// Draws B phases, then B*S*E noise values, from `generator` (computed in double, stored as
// float32). Throws a pa::Error for non-positive sizes.
SignalBatch denoising_batch(Generator& generator, int64_t batch, int64_t seq_len, int64_t channels);

// The thesis' inversion batch: input x = sin(b + s + e / 10), target -x. Deterministic.
SignalBatch inversion_batch(int64_t batch, int64_t seq_len, int64_t channels);

}  // namespace pa::data
