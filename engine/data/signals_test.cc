// Synthetic signal batches: the formulas, the noise statistics, seeding, bad sizes.
#include "engine/data/signals.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/tests/test_util.h"

namespace pa::data {
namespace {

TEST(Signals, DenoisingCleanIsOnePhasedSinePerSequence) {
  Generator generator(7);
  const SignalBatch batch = denoising_batch(generator, 5, 9, 6);
  ASSERT_EQ(batch.input.shape(), (Shape{5, 9, 6}));
  ASSERT_EQ(batch.target.shape(), (Shape{5, 9, 6}));
  const std::vector<float> clean = batch.target.to_vector();
  for (int64_t b = 0; b < 5; ++b) {
    const float* x = clean.data() + b * 9 * 6;  // (S, E) of sequence b
    // sin(phi) = x[0, 0]; sin(phi + 0.1) = x[1, 0] gives cos(phi).
    const double sin_phi = x[0];
    const double cos_phi = (x[6] - sin_phi * std::cos(0.1)) / std::sin(0.1);
    const double phi = std::atan2(sin_phi, cos_phi);
    for (int64_t s = 0; s < 9; ++s) {
      for (int64_t e = 0; e < 6; ++e) {
        EXPECT_NEAR(x[s * 6 + e], std::sin(0.1 * s + 0.05 * e + phi), 1e-4)
            << "b=" << b << " s=" << s << " e=" << e;
      }
    }
  }
}

TEST(Signals, DenoisingNoiseIsUniformWithVarianceOneTwelfth) {
  Generator generator(11);
  const SignalBatch batch = denoising_batch(generator, 64, 32, 32);
  const std::vector<float> noisy = batch.input.to_vector(), clean = batch.target.to_vector();
  double sum = 0, sum_sq = 0, lo = 1, hi = -1;
  for (size_t i = 0; i < noisy.size(); ++i) {
    const double noise = noisy[i] - clean[i];
    sum += noise;
    sum_sq += noise * noise;
    lo = std::min(lo, noise);
    hi = std::max(hi, noise);
  }
  const double n = static_cast<double>(noisy.size());
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, kDenoisingCopyFloor, 0.003);
  EXPECT_GE(lo, -0.5 - 1e-6);
  EXPECT_LE(hi, 0.5 + 1e-6);
}

TEST(Signals, DenoisingIsSeeded) {
  Generator a(3), b(3), c(4);
  const auto first = denoising_batch(a, 2, 4, 4).input.to_vector();
  EXPECT_EQ(first, denoising_batch(b, 2, 4, 4).input.to_vector());
  EXPECT_NE(first, denoising_batch(c, 2, 4, 4).input.to_vector());
  EXPECT_NE(first, denoising_batch(a, 2, 4, 4).input.to_vector());  // the stream moves on
}

TEST(Signals, InversionFollowsTheThesisFormula) {
  const SignalBatch batch = inversion_batch(3, 5, 7);
  const std::vector<float> x = batch.input.to_vector(), y = batch.target.to_vector();
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t s = 0; s < 5; ++s) {
      for (int64_t e = 0; e < 7; ++e) {
        const int64_t i = (b * 5 + s) * 7 + e;
        EXPECT_FLOAT_EQ(x[i], static_cast<float>(std::sin(b + s + e / 10.0)));
        EXPECT_EQ(y[i], -x[i]);
      }
    }
  }
}

TEST(Signals, BadSizesAreErrors) {
  Generator generator(1);
  EXPECT_TRUE(testing::ThrowsPaError([&] { denoising_batch(generator, 0, 4, 4); },
                                     {"data::denoising_batch", "B=0"}));
  EXPECT_TRUE(testing::ThrowsPaError([&] { inversion_batch(2, -1, 4); },
                                     {"data::inversion_batch", "S=-1"}));
}

}  // namespace
}  // namespace pa::data
