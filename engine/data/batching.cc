// Seeded shuffling and minibatches (see batching.h).
#include "engine/data/batching.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "engine/core/error.h"

namespace pa::data {

uint64_t uniform_below(Generator& generator, uint64_t n) {
  // Accept draws below the largest multiple of n that fits in 64 bits, so every residue is
  // equally likely.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t value = generator.next_u64();
  while (value >= limit) value = generator.next_u64();
  return value % n;
}

void shuffle(std::vector<int64_t>& values, Generator& generator) {
  for (size_t i = values.size(); i > 1; --i) {
    std::swap(values[i - 1], values[uniform_below(generator, i)]);
  }
}

RowBatcher::RowBatcher(const Tensor& inputs, const Tensor& targets, int64_t batch, uint64_t seed)
    : generator_(seed) {
  const char* op = "data::RowBatcher";
  PA_CHECK(inputs.dim() >= 1 && targets.dim() >= 1 && inputs.size(0) == targets.size(0), op,
           "inputs " << shape_str(inputs.shape()) << " and targets " << shape_str(targets.shape())
                     << " do not have the same number of rows",
           "pass inputs (N, ...) and targets (N, ...) of the same N");
  const int64_t rows = inputs.size(0);
  PA_CHECK(batch >= 1 && batch <= rows, op,
           "batch size " << batch << " for " << rows << " rows (inputs "
                         << shape_str(inputs.shape()) << ")",
           "use a batch size between 1 and the number of rows");
  inputs_ = inputs.to_vector();
  targets_ = targets.to_vector();
  input_row_ = inputs.numel() / rows;
  target_row_ = targets.numel() / rows;
  input_shape_ = inputs.shape();
  input_shape_[0] = batch;
  target_shape_ = targets.shape();
  target_shape_[0] = batch;
  order_.resize(rows);
  std::iota(order_.begin(), order_.end(), 0);
  batch_ = batch;
  cursor_ = rows;  // the first next() starts an epoch
}

int64_t RowBatcher::advance() {
  if (cursor_ + batch_ > static_cast<int64_t>(order_.size())) {
    shuffle(order_, generator_);
    cursor_ = 0;
    ++epoch_;
  }
  const int64_t first = cursor_;
  cursor_ += batch_;
  return first;
}

std::pair<Tensor, Tensor> RowBatcher::next() {
  const int64_t first = advance();
  std::vector<float> inputs(batch_ * input_row_);    // (B, ...)
  std::vector<float> targets(batch_ * target_row_);  // (B, ...)
  for (int64_t i = 0; i < batch_; ++i) {
    const int64_t row = order_[first + i];
    std::copy_n(inputs_.begin() + row * input_row_, input_row_, inputs.begin() + i * input_row_);
    std::copy_n(targets_.begin() + row * target_row_, target_row_,
                targets.begin() + i * target_row_);
  }
  return {from_vector(inputs, input_shape_), from_vector(targets, target_shape_)};
}

void RowBatcher::skip(int64_t batches) {
  for (int64_t i = 0; i < batches; ++i) advance();
}

}  // namespace pa::data
