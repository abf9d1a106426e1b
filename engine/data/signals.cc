// Synthetic signal batches (see signals.h).
#include "engine/data/signals.h"

#include <cmath>
#include <vector>

#include "engine/core/error.h"

namespace pa::data {
namespace {

void check_sizes(const char* op, int64_t batch, int64_t seq_len, int64_t channels) {
  PA_CHECK(batch > 0 && seq_len > 0 && channels > 0, op,
           "sizes (B=" << batch << ", S=" << seq_len << ", E=" << channels << ")",
           "batch, sequence length and channels must all be positive");
}

}  // namespace

SignalBatch denoising_batch(Generator& generator, int64_t batch, int64_t seq_len,
                            int64_t channels) {
  check_sizes("data::denoising_batch", batch, seq_len, channels);
  constexpr double kTwoPi = 6.283185307179586;
  std::vector<double> phase(batch);
  for (auto& p : phase) p = kTwoPi * generator.uniform();
  const int64_t count = batch * seq_len * channels;
  std::vector<float> clean(count), noisy(count);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq_len; ++s) {
      for (int64_t e = 0; e < channels; ++e) {
        const int64_t i = (b * seq_len + s) * channels + e;
        clean[i] = static_cast<float>(std::sin(0.1 * s + 0.05 * e + phase[b]));
      }
    }
  }
  for (int64_t i = 0; i < count; ++i) noisy[i] = clean[i] + (generator.uniform() - 0.5f);
  const Shape shape{batch, seq_len, channels};
  return {from_vector(noisy, shape), from_vector(clean, shape)};
}

SignalBatch inversion_batch(int64_t batch, int64_t seq_len, int64_t channels) {
  check_sizes("data::inversion_batch", batch, seq_len, channels);
  std::vector<float> x(batch * seq_len * channels), y(x.size());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq_len; ++s) {
      for (int64_t e = 0; e < channels; ++e) {
        const int64_t i = (b * seq_len + s) * channels + e;
        x[i] = static_cast<float>(std::sin(static_cast<double>(b + s) + e / 10.0));
        y[i] = -x[i];
      }
    }
  }
  const Shape shape{batch, seq_len, channels};
  return {from_vector(x, shape), from_vector(y, shape)};
}

}  // namespace pa::data
