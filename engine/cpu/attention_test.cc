// The CPU attention kernels run twice on the same inputs with the same thread count give
// bit-identical outputs and gradients (the backward's per-thread dQ copies are added in a fixed
// order under a static schedule), for every mask and both precisions. Accuracy is the op sweep's
// job (engine/tests/ops_sweep_test.cc).
#include "engine/cpu/attention.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/cpu/cpu_config.h"

namespace pa::cpu {
namespace {

struct Outputs {
  std::vector<float> out, lse, dq, dk, dv;
};

Outputs run(const AttentionShape& shape, const AttentionMask& mask, uint32_t seed) {
  const auto [B, H, Nq, Nk, D, Dv] = shape;
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto values = [&](int64_t count) {
    std::vector<float> v(count);
    for (float& x : v) x = uniform(engine);
    return v;
  };
  const std::vector<float> q = values(B * H * Nq * D), k = values(B * H * Nk * D),
                           v = values(B * H * Nk * Dv), dout = values(B * H * Nq * Dv);
  Outputs o{std::vector<float>(B * H * Nq * Dv), std::vector<float>(B * H * Nq),
            std::vector<float>(B * H * Nq * D), std::vector<float>(B * H * Nk * D),
            std::vector<float>(B * H * Nk * Dv)};
  const float scale = 0.17f;
  attention_forward(shape, q.data(), k.data(), v.data(), mask, scale, o.out.data(), o.lse.data());
  attention_backward(shape, q.data(), k.data(), v.data(), o.out.data(), o.lse.data(), dout.data(),
                     mask, scale, o.dq.data(), o.dk.data(), o.dv.data());
  return o;
}

TEST(Attention, SameInputsAndThreadsGiveBitIdenticalResults) {
  const CpuConfig saved = cpu_config();
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(2);
  const AttentionShape shape{2, 3, 300, 260, 40, 24};
  std::vector<float> padding(2 * 260, 0.0f);
  for (int64_t j = 250; j < 260; ++j) padding[j] = 1.0f;  // the first sequence's last 10 keys
  for (const AttentionPrecision precision :
       {AttentionPrecision::Float32, AttentionPrecision::Float64}) {
    cpu_config().attention_precision = precision;
    for (const bool causal : {false, true}) {
      const std::vector<const float*> paddings = {nullptr, padding.data()};
      for (const float* key_padding : paddings) {
        const AttentionMask mask{key_padding, causal};
        const Outputs first = run(shape, mask, 5), second = run(shape, mask, 5);
        EXPECT_EQ(first.out, second.out) << "causal " << causal;
        EXPECT_EQ(first.lse, second.lse);
        EXPECT_EQ(first.dq, second.dq);
        EXPECT_EQ(first.dk, second.dk);
        EXPECT_EQ(first.dv, second.dv);
      }
    }
  }
  omp_set_num_threads(saved_threads);
  cpu_config() = saved;
}

// A NaN in one query row makes that row's output NaN (as PyTorch's softmax does) and leaves the
// other rows finite; a fully masked row stays 0 (with L = -inf), in both precisions.
TEST(Attention, NanInAQueryRowGivesNanNotZeros) {
  const CpuConfig saved = cpu_config();
  const AttentionShape shape{1, 1, 4, 5, 8, 8};
  std::vector<float> q(4 * 8, 0.25f), k(5 * 8, 0.5f), v(5 * 8, 1.0f);
  q[1 * 8 + 3] = std::numeric_limits<float>::quiet_NaN();  // row 1
  for (const AttentionPrecision precision :
       {AttentionPrecision::Float32, AttentionPrecision::Float64}) {
    cpu_config().attention_precision = precision;
    std::vector<float> out(4 * 8), lse(4);
    attention_forward(shape, q.data(), k.data(), v.data(), AttentionMask{nullptr, false}, 0.3f,
                      out.data(), lse.data());
    for (int64_t r = 0; r < 4; ++r) {
      for (int64_t d = 0; d < 8; ++d) {
        EXPECT_EQ(std::isnan(out[r * 8 + d]), r == 1) << "row " << r << " column " << d;
      }
      EXPECT_EQ(std::isnan(lse[r]), r == 1) << "row " << r;
    }
    // Every key masked: zeros and L = -inf, not NaN.
    std::vector<float> all_masked(5, 1.0f);
    std::vector<float> clean_q(4 * 8, 0.25f);
    attention_forward(shape, clean_q.data(), k.data(), v.data(),
                      AttentionMask{all_masked.data(), false}, 0.3f, out.data(), lse.data());
    for (float value : out) EXPECT_EQ(value, 0.0f);
    for (float value : lse) EXPECT_EQ(value, -std::numeric_limits<float>::infinity());
  }
  cpu_config() = saved;
}

}  // namespace
}  // namespace pa::cpu
