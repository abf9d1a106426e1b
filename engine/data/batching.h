// Seeded sampling for training: an unbiased Fisher-Yates shuffle on pa::Generator, and
// RowBatcher, which cuts minibatches from in-memory (N, ...) inputs and targets without
// replacement, reshuffling every epoch. Same seed, same batches on every machine.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace pa::data {

// A uniform integer in [0, n), n > 0, without modulo bias.
uint64_t uniform_below(Generator& generator, uint64_t n);

// Puts `values` in a uniformly random order (Fisher-Yates).
void shuffle(std::vector<int64_t>& values, Generator& generator);

class RowBatcher {
 public:
  // `inputs` (N, ...) and `targets` (N, ...): float32 with the same N; copied to the host once.
  // A batch of 1..N rows; otherwise a pa::Error (op "data::RowBatcher").
  RowBatcher(const Tensor& inputs, const Tensor& targets, int64_t batch, uint64_t seed);

  // The next minibatch as CPU tensors: inputs (B, ...) and targets (B, ...). An epoch is
  // floor(N / B) batches; the rows left over at its end are skipped, and the next epoch
  // starts from a fresh shuffle.
  std::pair<Tensor, Tensor> next();
  // Moves past the next `batches` minibatches without building them: the same shuffles as that
  // many next() calls, so a resumed training run continues with the batches it would have drawn.
  void skip(int64_t batches);
  int64_t epoch() const { return epoch_; }  // 1 during the first epoch

 private:
  int64_t advance();                     // the position in order_ of the next batch's first row
  std::vector<float> inputs_, targets_;  // (N, ...), (N, ...)
  Shape input_shape_, target_shape_;     // the shapes of one batch
  int64_t input_row_, target_row_;       // elements per row
  std::vector<int64_t> order_;
  int64_t batch_;
  int64_t cursor_ = 0;
  int64_t epoch_ = 0;
  Generator generator_;
};

}  // namespace pa::data
