// Seeded sampling: uniform_below stays in range and is roughly uniform, shuffle is a seeded
// permutation, RowBatcher visits every row once per epoch with rows kept together, and skip(k)
// leaves it where k calls of next() would.
#include "engine/data/batching.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "engine/tests/test_util.h"

namespace pa::data {
namespace {

using ::pa::testing::ThrowsPaError;

TEST(Batching, UniformBelowCoversTheRangeEvenly) {
  Generator generator(3);
  std::vector<int64_t> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const uint64_t value = uniform_below(generator, 7);
    ASSERT_LT(value, 7u);
    ++counts[value];
  }
  for (int64_t count : counts) EXPECT_NEAR(count, 10000, 500);
  EXPECT_EQ(uniform_below(generator, 1), 0u);
}

TEST(Batching, ShuffleIsASeededPermutation) {
  std::vector<int64_t> first(100), second(100), other(100);
  std::iota(first.begin(), first.end(), 0);
  second = other = first;
  Generator a(5), b(5), c(6);
  shuffle(first, a);
  shuffle(second, b);
  shuffle(other, c);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Batching, RowBatcherVisitsEveryRowOncePerEpoch) {
  // Row r of the inputs (10, 2) is (r, -r); its target (10, 1) is 10 r: rows must stay together.
  std::vector<float> inputs, targets;
  for (int row = 0; row < 10; ++row) {
    inputs.insert(inputs.end(), {static_cast<float>(row), static_cast<float>(-row)});
    targets.push_back(10.0f * row);
  }
  RowBatcher batcher(from_vector(inputs, {10, 2}), from_vector(targets, {10, 1}), 3, 11);
  std::set<int> seen;
  for (int batch = 0; batch < 3; ++batch) {  // floor(10 / 3) = 3 batches per epoch
    const auto [x, y] = batcher.next();
    EXPECT_EQ(x.shape(), (Shape{3, 2}));
    EXPECT_EQ(y.shape(), (Shape{3, 1}));
    const std::vector<float> xs = x.to_vector(), ys = y.to_vector();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(xs[2 * i + 1], -xs[2 * i]);
      EXPECT_EQ(ys[i], 10.0f * xs[2 * i]);
      EXPECT_TRUE(seen.insert(static_cast<int>(xs[2 * i])).second) << "row seen twice";
    }
    EXPECT_EQ(batcher.epoch(), 1);
  }
  batcher.next();
  EXPECT_EQ(batcher.epoch(), 2);

  RowBatcher same(from_vector(inputs, {10, 2}), from_vector(targets, {10, 1}), 3, 11);
  RowBatcher again(from_vector(inputs, {10, 2}), from_vector(targets, {10, 1}), 3, 11);
  for (int batch = 0; batch < 5; ++batch) {
    EXPECT_EQ(same.next().first.to_vector(), again.next().first.to_vector());
  }
}

TEST(Batching, RowBatcherSkipDrawsTheSameBatchesAsNext) {
  std::vector<float> inputs(10);
  for (int row = 0; row < 10; ++row) inputs[row] = static_cast<float>(row);
  const Tensor x = from_vector(inputs, {10, 1}), y = from_vector(inputs, {10, 1});
  for (int64_t skipped : {0, 1, 3, 7}) {  // 3 batches per epoch: within, at and past epoch ends
    RowBatcher drawn(x, y, 3, 5), skipping(x, y, 3, 5);
    for (int64_t i = 0; i < skipped; ++i) drawn.next();
    skipping.skip(skipped);
    EXPECT_EQ(skipping.epoch(), drawn.epoch()) << skipped;
    for (int batch = 0; batch < 4; ++batch) {
      EXPECT_EQ(skipping.next().first.to_vector(), drawn.next().first.to_vector()) << skipped;
    }
  }
}

TEST(Batching, RowBatcherRejectsBadShapesAndSizes) {
  const Tensor inputs = zeros({4, 3}), targets = zeros({4, 1});
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        RowBatcher(inputs, zeros({5, 1}), 2, 0);
      },
      {"pa::data::RowBatcher", "(4, 3)", "(5, 1)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([&] { RowBatcher(inputs, targets, 5, 0); },
                            {"batch size 5 for 4 rows", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([&] { RowBatcher(inputs, targets, 0, 0); }, {"batch size 0"}));
}

}  // namespace
}  // namespace pa::data
