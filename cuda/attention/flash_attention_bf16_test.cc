// GPU test (tag `gpu`, --config=cuda only) of the bf16 tensor-core FlashAttention-2 forward
// against the fp32 kernel (itself tested against an Eigen oracle) run on the same bf16-rounded
// inputs widened to float: lengths 1, 17, 1000, 4097, head dims 64 and 128, causal and not,
// Nq != Nk, a key-padding mask with one batch entirely hidden (zeros out, +inf lse), and bad head
// dims and scales (std::invalid_argument). The output is bf16, so the tolerance is
// |diff| <= 2e-2 + 2e-2 |ref|; lse (fp32) within 1e-2. Each case runs both forward kernels: the
// default (wgmma on an H100 or H200) and mma.sync.
// Outputs are poisoned with NaN before each launch. Skips without a GPU.
#include "cuda/attention/flash_attention_bf16.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda/attention/flash_attention.h"
#include "cuda/common/check.h"
#include "cuda/common/device_array.h"
#include "cuda/common/runtime.h"

namespace pa::cuda {
namespace {

float from_bf16(uint16_t h) {
  const uint32_t u = uint32_t{h} << 16;
  float x;
  std::memcpy(&x, &u, sizeof(x));
  return x;
}

struct Case {
  int64_t B, H, Nq, Nk, D;
  bool causal, padding;
};

std::string describe(const Case& c) {
  std::ostringstream out;
  out << "B=" << c.B << " H=" << c.H << " Nq=" << c.Nq << " Nk=" << c.Nk << " D=" << c.D
      << " causal=" << c.causal << " padding=" << c.padding;
  return out.str();
}

void check_kernel(const Case& c, Bf16Kernel kernel) {
  SCOPED_TRACE(describe(c) + (kernel == Bf16Kernel::kMmaSync ? " mma.sync" : " auto"));
  const AttentionShape shape{c.B, c.H, c.Nq, c.Nk, c.D, c.D};
  const size_t nq = size_t(c.B) * c.H * c.Nq * c.D, nk = size_t(c.B) * c.H * c.Nk * c.D;
  std::mt19937 rng(uint32_t(c.Nq * 131 + c.Nk * 7 + c.D + c.causal + 2 * c.padding));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Round the inputs to bf16 once: the bf16 kernel reads the bits, the fp32 one the same values.
  auto make = [&](size_t count, float sigma, std::vector<uint16_t>& bits,
                  std::vector<float>& wide) {
    bits.resize(count);
    wide.resize(count);
    for (size_t i = 0; i < count; ++i) {
      bits[i] = to_bf16_bits(sigma * normal(rng));
      wide[i] = from_bf16(bits[i]);
    }
  };
  std::vector<uint16_t> qb, kb, vb;
  std::vector<float> qf, kf, vf;
  make(nq, 1.5f, qb, qf);  // sharper than uniform softmax rows
  make(nk, 1.5f, kb, kf);
  make(nk, 1.0f, vb, vf);
  std::vector<float> mask;
  if (c.padding) {
    mask.assign(size_t(c.B) * c.Nk, 0.0f);
    std::bernoulli_distribution hide(0.3);
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = hide(rng) ? 1.0f : 0.0f;
    for (int64_t j = 0; j < c.Nk; ++j) mask[size_t(c.B - 1) * c.Nk + j] = 1.0f;  // all hidden
  }

  DeviceArray<uint16_t> q16(nq), k16(nk), v16(nk), out16(nq);
  DeviceArray<float> q32(nq), k32(nk), v32(nk), out32(nq), lse16(size_t(c.B) * c.H * c.Nq),
      lse32(size_t(c.B) * c.H * c.Nq), padding(mask.size());
  q16.upload(qb), k16.upload(kb), v16.upload(vb);
  q32.upload(qf), k32.upload(kf), v32.upload(vf);
  if (c.padding) padding.upload(mask);
  PA_CUDA_CHECK(cudaMemset(out16.data, 0xff, nq * sizeof(uint16_t)));  // NaN
  PA_CUDA_CHECK(cudaMemset(lse16.data, 0xff, lse16.count * sizeof(float)));
  const float scale = 1.0f / std::sqrt(float(c.D));
  const float* pad = c.padding ? padding.data : nullptr;
  flash_attention_forward(shape, q32.data, k32.data, v32.data, pad, c.causal, scale, out32.data,
                          lse32.data);
  flash_attention_forward_bf16(shape, reinterpret_cast<const __nv_bfloat16*>(q16.data),
                               reinterpret_cast<const __nv_bfloat16*>(k16.data),
                               reinterpret_cast<const __nv_bfloat16*>(v16.data), pad, c.causal,
                               scale, reinterpret_cast<__nv_bfloat16*>(out16.data), lse16.data,
                               kernel);
  PA_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<uint16_t> got = out16.download();
  const std::vector<float> want = out32.download(), got_lse = lse16.download(),
                           want_lse = lse32.download();
  int bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < nq; ++i) {
    const float g = from_bf16(got[i]), w = want[i];
    const double diff = std::fabs(double(g) - w);
    worst = std::max(worst, std::isnan(diff) ? INFINITY : diff);
    if (!(diff <= 2e-2 + 2e-2 * std::fabs(w)) && bad++ < 5) {
      ADD_FAILURE() << "out[" << i << "] = " << g << ", want " << w;
    }
  }
  for (size_t i = 0; i < want_lse.size(); ++i) {
    const float g = got_lse[i], w = want_lse[i];
    const bool ok = std::isinf(w) ? (std::isinf(g) && g > 0) : std::fabs(g - w) <= 1e-2f;
    if (!ok && bad++ < 10) ADD_FAILURE() << "lse[" << i << "] = " << g << ", want " << w;
  }
  EXPECT_EQ(bad, 0) << "max |out diff| " << worst;
  if (c.padding) {  // the last batch entry has every key hidden
    const size_t start = size_t(c.B - 1) * c.H * c.Nq;
    for (size_t i = start * c.D; i < nq; ++i) ASSERT_EQ(from_bf16(got[i]), 0.0f) << i;
    for (size_t i = start; i < got_lse.size(); ++i) ASSERT_TRUE(std::isinf(got_lse[i])) << i;
  }
}

// Both kernels: kAuto (wgmma on an H100 or H200) and mma.sync.
void check_case(const Case& c) {
  check_kernel(c, Bf16Kernel::kAuto);
  check_kernel(c, Bf16Kernel::kMmaSync);
}

class FlashAttentionBf16 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (device_count() == 0) GTEST_SKIP() << "no GPU";
  }
};

TEST_F(FlashAttentionBf16, SquareLengthsHeadDimsCausal) {
  for (const int64_t n : {1, 17, 1000}) {
    for (const int64_t d : {64, 128}) {
      for (const bool causal : {false, true}) check_case({2, 3, n, n, d, causal, false});
    }
  }
}

TEST_F(FlashAttentionBf16, Long4097) {
  for (const int64_t d : {64, 128}) {
    for (const bool causal : {false, true}) check_case({1, 2, 4097, 4097, d, causal, false});
  }
}

TEST_F(FlashAttentionBf16, RectangularNotCausal) {
  check_case({2, 2, 17, 1000, 64, false, false});
  check_case({2, 2, 1000, 17, 128, false, false});
  check_case({1, 2, 130, 1, 64, false, false});
}

TEST_F(FlashAttentionBf16, KeyPadding) {
  for (const int64_t d : {64, 128}) {
    check_case({3, 2, 1000, 1000, d, false, true});
    check_case({3, 2, 1000, 1000, d, true, true});
    check_case({2, 2, 17, 130, d, false, true});
  }
}

TEST_F(FlashAttentionBf16, BadHeadDimsThrow) {
  for (const auto& [d, dv] :
       {std::pair<int64_t, int64_t>{32, 32}, {96, 96}, {64, 128}, {256, 256}, {0, 0}}) {
    const AttentionShape shape{1, 1, 4, 4, d, dv};
    try {
      flash_attention_forward_bf16(shape, nullptr, nullptr, nullptr, nullptr, false, 1.0f, nullptr,
                                   nullptr);
      ADD_FAILURE() << "no throw for D = " << d << ", Dv = " << dv;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("flash_attention_forward_bf16"), std::string::npos);
    }
  }
}

TEST_F(FlashAttentionBf16, BadScaleThrows) {
  const AttentionShape shape{1, 1, 4, 4, 64, 64};
  for (const float scale : {0.0f, -0.125f, INFINITY, NAN}) {
    try {
      flash_attention_forward_bf16(shape, nullptr, nullptr, nullptr, nullptr, false, scale, nullptr,
                                   nullptr);
      ADD_FAILURE() << "no throw for scale = " << scale;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("scale"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace pa::cuda
