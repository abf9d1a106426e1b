// The stream-K schedule (stream_k_schedule.h) on the CPU, block by block as the kernel walks it,
// over every shape class the GEMM meets: for each (units, k tiles, resident blocks) that
// plan_stream_k splits, every k tile of every unit is computed exactly once; a block leaves at
// most one partial sum, and as its first piece (so it never waits before handing it on); every
// split unit has exactly one last piece, which starts past k tile 0 and waits for exactly the
// blocks that hold the unit's other pieces; and the grid has a block for every worker. The
// whole-unit schedule (v15-v17) covers every unit once too.
#include "cuda/gemm/stream_k_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace pa::cuda::warp_specialized {
namespace {

struct Piece {
  int block, j;
  Work work;
};

// Walks every block's items as the kernel does; fails the test on the first broken invariant.
void check_schedule(int units, int k_tiles, int resident) {
  const StreamKPlan plan = plan_stream_k(units, k_tiles, resident);
  SCOPED_TRACE("units " + std::to_string(units) + ", k tiles " + std::to_string(k_tiles) +
               ", resident " + std::to_string(resident) + ", split units " +
               std::to_string(plan.units) + ", workers " + std::to_string(plan.workers));
  const StreamK sk{plan.units, plan.workers, nullptr, nullptr, 1};
  if (plan.workers > 0) {
    ASSERT_LT(plan.units, plan.workers);
    ASSERT_LE(plan.workers, resident);
    ASSERT_EQ(plan.units, units % resident);
  }
  const int blocks = std::max(std::min(units, resident), plan.workers);  // launch()'s grid
  std::vector<std::vector<int>> covered(units, std::vector<int>(k_tiles, 0));
  std::map<int, std::vector<Piece>> by_unit;
  for (int block = 0; block < blocks; ++block) {
    int partials = 0;
    Work work;
    for (int j = 0; work_item<true>(j, block, blocks, units, k_tiles, sk, work); ++j) {
      ASSERT_GE(work.unit, 0);
      ASSERT_LT(work.unit, units);
      ASSERT_GE(work.k_begin, 0);
      ASSERT_LT(work.k_begin, work.k_end);
      ASSERT_LE(work.k_end, k_tiles);
      for (int t = work.k_begin; t < work.k_end; ++t) ++covered[work.unit][t];
      if (work.k_end < k_tiles) {  // hands a partial sum on: its first piece, its only one
        ++partials;
        EXPECT_EQ(j, 0) << "block " << block << " hands a partial sum on after other work";
      }
      if (work.k_begin > 0 || work.k_end < k_tiles) by_unit[work.unit].push_back({block, j, work});
      ASSERT_LT(j, units + 2) << "block " << block << " never runs out of work";
    }
    EXPECT_LE(partials, 1) << "block " << block;
  }
  for (int u = 0; u < units; ++u) {
    for (int t = 0; t < k_tiles; ++t) {
      ASSERT_EQ(covered[u][t], 1) << "unit " << u << ", k tile " << t;
    }
  }
  for (const auto& [unit, pieces] : by_unit) {
    std::set<int> holders;
    const Piece* last = nullptr;
    for (const Piece& piece : pieces) {
      if (piece.work.k_end == k_tiles) {
        ASSERT_EQ(last, nullptr) << "unit " << unit << " has two last pieces";
        last = &piece;
      } else {
        holders.insert(piece.block);
      }
    }
    ASSERT_NE(last, nullptr) << "unit " << unit << " has no last piece";
    EXPECT_GT(last->work.k_begin, 0);
    // Whom the kernel's fixup waits for, by the kernel's own rule.
    std::set<int> waited;
    const int64_t first = int64_t(unit - (units - sk.units)) * k_tiles;
    for (int b = last->block - 1; stream_k_contributes(b, k_tiles, sk, first); --b) {
      waited.insert(b);
    }
    EXPECT_EQ(waited, holders) << "unit " << unit;
  }
}

TEST(StreamKSchedule, EveryShapeClassKeepsItsInvariants) {
  int split = 0;
  for (const int resident : {132, 264, 66, 7, 1}) {
    for (int units = 1; units <= 3 * resident + 5; units += (units < 300 ? 1 : 17)) {
      for (const int k_tiles : {1, 2, 7, 8, 9, 12, 13, 16, 18, 24, 47, 48, 64, 128, 786}) {
        check_schedule(units, k_tiles, resident);
        if (HasFatalFailure()) return;
        split += plan_stream_k(units, k_tiles, resident).workers > 0;
      }
    }
  }
  EXPECT_GT(split, 1000);  // the cases above do exercise the split
}

// The shapes the ladder and the tests name, on an H100's 132 SMs (v15's 128 x 256 tiles).
TEST(StreamKSchedule, TheLaddersShapesSplitAsCounted) {
  const auto plan = [](int m, int n, int k) {
    return plan_stream_k(int64_t((m + 127) / 128) * ((n + 255) / 256), (k + 63) / 64, 132);
  };
  // 4096^3: 512 tiles, 3 full waves, 116 left over, 64 k tiles: all 132 blocks share them.
  EXPECT_EQ(plan(4096, 4096, 4096).units, 116);
  EXPECT_EQ(plan(4096, 4096, 4096).workers, 132);
  // 8192 x 768 x 768: 192 tiles, 60 left over, 12 k tiles: 720 / 8 = 90 blocks.
  EXPECT_EQ(plan(8192, 768, 768).units, 60);
  EXPECT_EQ(plan(8192, 768, 768).workers, 90);
  // 2048^3: 128 tiles of 32 k tiles on 132 blocks would end 1 k tile sooner: not split.
  EXPECT_EQ(plan(2048, 2048, 2048).workers, 0);
  // The tests' cases (gemm_bf16_test.cc): 9 units of 24 k tiles in 27 ranges; 6 of 18 in 13.
  EXPECT_EQ(plan(384, 520, 1500).workers, 27);
  EXPECT_EQ(plan(260, 300, 1096).workers, 13);
  for (const auto& [m, n, k] : {std::tuple{4096, 4096, 4096},
                                {8192, 768, 768},
                                {384, 520, 1500},
                                {260, 300, 1096},
                                {8192, 8192, 8192},
                                {8192, 768, 3072}}) {
    const int units = ((m + 127) / 128) * ((n + 255) / 256);
    check_schedule(units, (k + 63) / 64, 132);
  }
}

}  // namespace
}  // namespace pa::cuda::warp_specialized
