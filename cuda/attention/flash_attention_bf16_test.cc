// GPU test (tag `gpu`, --config=cuda only) of the bf16 tensor-core FlashAttention-2 forward and
// backward against the fp32 kernels (themselves tested against an Eigen oracle) run on the same
// bf16-rounded inputs widened to float: lengths 1, 17, 1000, 4097, head dims 32, 64 and 128,
// causal and not, Nq != Nk, and a key-padding mask with one batch entirely hidden (zeros out,
// +inf lse, zero gradients), and bad head dims and scales (std::invalid_argument). Each case
// runs both kernels, forward and backward: the default (wgmma on an H100 or H200 at D = 64 and
// 128) and mma.sync. Outputs
// (and the backward's workspace) are poisoned with NaN before each launch. Skips without a GPU.
//
// Tolerances. Forward: the output is bf16 (relative rounding 2^-9) and P is rounded to bf16
// before P V, so |diff| <= 2e-2 + 2e-2 |ref|; lse (fp32) within 1e-2. Backward: each gradient is
// a sum over up to N products whose factors were rounded to bf16 on our side (P and dS before
// their mma, out and lse come from the bf16 forward, so delta = rowsum(dO * O) differs from the
// fp32 one by ~2^-9 |delta|, and dP - delta can cancel), and the result is rounded to bf16: the
// rounding errors are ~2^-9 of the terms, of random sign, so they grow like the sum of random
// terms itself and stay a few 2^-9 of the tensor's typical magnitude. We check, per tensor,
// |diff| <= 1e-5 + 2e-2 max|ref| element by element (~10 roundings of the largest element) and
// the relative L2 error ||diff|| / (||ref|| + 1e-3 sqrt(n)) <= 1e-2 (bf16 operands land between
// 1e-3 and 1e-2; measured 2e-3 to 3e-3, max |diff| under 7e-3 max|ref|).
#include "cuda/attention/flash_attention_bf16.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
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

// `count` values sigma N(0, 1) rounded to bf16: the bits, and the same values widened to float.
void random_bf16(size_t count, float sigma, std::normal_distribution<float>& normal,
                 std::mt19937& rng, std::vector<uint16_t>& bits, std::vector<float>& wide) {
  bits.resize(count);
  wide.resize(count);
  for (size_t i = 0; i < count; ++i) {
    bits[i] = to_bf16_bits(sigma * normal(rng));
    wide[i] = from_bf16_bits(bits[i]);
  }
}

// The case's key-padding mask (empty without padding): each key hidden with probability 0.3,
// every key of the last batch entry hidden.
std::vector<float> padding_mask(const Case& c, std::mt19937& rng) {
  std::vector<float> mask;
  if (!c.padding) return mask;
  mask.assign(size_t(c.B) * c.Nk, 0.0f);
  std::bernoulli_distribution hide(0.3);
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = hide(rng) ? 1.0f : 0.0f;
  for (int64_t j = 0; j < c.Nk; ++j) mask[size_t(c.B - 1) * c.Nk + j] = 1.0f;
  return mask;
}

void check_kernel(const Case& c, Bf16Kernel kernel) {
  SCOPED_TRACE(describe(c) + (kernel == Bf16Kernel::kMmaSync ? " mma.sync" : " auto"));
  const AttentionShape shape{c.B, c.H, c.Nq, c.Nk, c.D, c.D};
  const size_t nq = size_t(c.B) * c.H * c.Nq * c.D, nk = size_t(c.B) * c.H * c.Nk * c.D;
  std::mt19937 rng(uint32_t(c.Nq * 131 + c.Nk * 7 + c.D + c.causal + 2 * c.padding));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Round the inputs to bf16 once: the bf16 kernel reads the bits, the fp32 one the same values.
  std::vector<uint16_t> qb, kb, vb;
  std::vector<float> qf, kf, vf;
  random_bf16(nq, 1.5f, normal, rng, qb, qf);  // sharper than uniform softmax rows
  random_bf16(nk, 1.5f, normal, rng, kb, kf);
  random_bf16(nk, 1.0f, normal, rng, vb, vf);
  const std::vector<float> mask = padding_mask(c, rng);

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
  flash_attention_forward_bf16(shape, as_bf16(q16.data), as_bf16(k16.data), as_bf16(v16.data), pad,
                               c.causal, scale, as_bf16(out16.data), lse16.data, kernel);
  PA_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<uint16_t> got = out16.download();
  const std::vector<float> want = out32.download(), got_lse = lse16.download(),
                           want_lse = lse32.download();
  int bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < nq; ++i) {
    const float g = from_bf16_bits(got[i]), w = want[i];
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
    for (size_t i = start * c.D; i < nq; ++i) ASSERT_EQ(from_bf16_bits(got[i]), 0.0f) << i;
    for (size_t i = start; i < got_lse.size(); ++i) ASSERT_TRUE(std::isinf(got_lse[i])) << i;
  }
}

// Both kernels: kAuto (wgmma on an H100 or H200) and mma.sync.
void check_case(const Case& c) {
  check_kernel(c, Bf16Kernel::kAuto);
  check_kernel(c, Bf16Kernel::kMmaSync);
}

// Compares one bf16 gradient tensor with the fp32 reference (see the tolerance note above).
int compare_gradient(const char* name, const std::vector<uint16_t>& got,
                     const std::vector<float>& want) {
  double max_ref = 0.0, diff_squares = 0.0, ref_squares = 0.0;
  for (const float w : want) {
    max_ref = std::max(max_ref, double(std::fabs(w)));
    ref_squares += double(w) * w;
  }
  const double tolerance = 1e-5 + 2e-2 * max_ref;
  int bad = 0;
  double worst = 0.0;
  size_t worst_index = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double diff = std::fabs(double(from_bf16_bits(got[i])) - want[i]);
    if (!(diff <= worst)) worst = std::isnan(diff) ? INFINITY : diff, worst_index = i;
    diff_squares += std::isnan(diff) ? INFINITY : diff * diff;
    if (!(diff <= tolerance) && bad++ < 5) {
      ADD_FAILURE() << name << "[" << i << "] = " << from_bf16_bits(got[i]) << ", want " << want[i]
                    << " (tolerance " << tolerance << ")";
    }
  }
  // The atol term keeps gradients that vanish analytically (one key: dS = P (dP - delta) = 0)
  // from failing on fp32 rounding noise.
  const double relative =
      std::sqrt(diff_squares) / (std::sqrt(ref_squares) + 1e-3 * std::sqrt(double(want.size())));
  EXPECT_LE(relative, 1e-2) << name << ": relative L2 error";
  EXPECT_EQ(bad, 0) << name << ": max |diff| " << worst << " at " << worst_index << ", max |ref| "
                    << max_ref;
  std::printf("    %s: max |diff| %.3g (%.2g of max |ref| %.3g), relative L2 %.3g\n", name, worst,
              max_ref > 0.0 ? worst / max_ref : 0.0, max_ref, relative);
  return bad;
}

// The backward: our bf16 forward then backward, against the fp32 forward then backward on the
// same values. `twice`: run our backward a second time and require bitwise equal dk and dv.
void check_backward_kernel(const Case& c, Bf16Kernel kernel, bool twice) {
  const std::string name =
      "backward " + describe(c) + (kernel == Bf16Kernel::kMmaSync ? " mma.sync" : " auto");
  SCOPED_TRACE(name);
  std::printf("  %s\n", name.c_str());
  const AttentionShape shape{c.B, c.H, c.Nq, c.Nk, c.D, c.D};
  const size_t nq = size_t(c.B) * c.H * c.Nq * c.D, nk = size_t(c.B) * c.H * c.Nk * c.D;
  const size_t rows = size_t(c.B) * c.H * c.Nq;
  std::mt19937 rng(uint32_t(c.Nq * 131 + c.Nk * 7 + c.D + c.causal + 2 * c.padding + 99991));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> qb, kb, vb, dob;
  std::vector<float> qf, kf, vf, dof;
  random_bf16(nq, 1.5f, normal, rng, qb, qf);
  random_bf16(nk, 1.5f, normal, rng, kb, kf);
  random_bf16(nk, 1.0f, normal, rng, vb, vf);
  random_bf16(nq, 1.0f, normal, rng, dob, dof);
  const std::vector<float> mask = padding_mask(c, rng);

  DeviceArray<uint16_t> q16(nq), k16(nk), v16(nk), do16(nq), out16(nq), dq16(nq), dk16(nk),
      dv16(nk);
  DeviceArray<float> q32(nq), k32(nk), v32(nk), do32(nq), out32(nq), dq32(nq), dk32(nk), dv32(nk),
      lse16(rows), lse32(rows), delta32(rows), padding(mask.size()),
      workspace(size_t(flash_attention_backward_bf16_workspace(shape)));
  q16.upload(qb), k16.upload(kb), v16.upload(vb), do16.upload(dob);
  q32.upload(qf), k32.upload(kf), v32.upload(vf), do32.upload(dof);
  if (c.padding) padding.upload(mask);
  const float scale = 1.0f / std::sqrt(float(c.D));
  const float* pad = c.padding ? padding.data : nullptr;
  flash_attention_forward(shape, q32.data, k32.data, v32.data, pad, c.causal, scale, out32.data,
                          lse32.data);
  flash_attention_backward(shape, q32.data, k32.data, v32.data, pad, c.causal, scale, out32.data,
                           lse32.data, do32.data, delta32.data, dq32.data, dk32.data, dv32.data);
  flash_attention_forward_bf16(shape, as_bf16(q16.data), as_bf16(k16.data), as_bf16(v16.data), pad,
                               c.causal, scale, as_bf16(out16.data), lse16.data);
  const auto run_backward = [&] {
    PA_CUDA_CHECK(cudaMemset(dq16.data, 0xff, nq * sizeof(uint16_t)));  // NaN
    PA_CUDA_CHECK(cudaMemset(dk16.data, 0xff, nk * sizeof(uint16_t)));
    PA_CUDA_CHECK(cudaMemset(dv16.data, 0xff, nk * sizeof(uint16_t)));
    PA_CUDA_CHECK(cudaMemset(workspace.data, 0xff, workspace.count * sizeof(float)));
    flash_attention_backward_bf16(shape, as_bf16(q16.data), as_bf16(k16.data), as_bf16(v16.data),
                                  pad, c.causal, scale, as_bf16(out16.data), lse16.data,
                                  as_bf16(do16.data), workspace.data, as_bf16(dq16.data),
                                  as_bf16(dk16.data), as_bf16(dv16.data), kernel);
    PA_CUDA_CHECK(cudaDeviceSynchronize());
  };
  run_backward();
  const std::vector<uint16_t> dq = dq16.download(), dk = dk16.download(), dv = dv16.download();
  compare_gradient("dq", dq, dq32.download());
  compare_gradient("dk", dk, dk32.download());
  compare_gradient("dv", dv, dv32.download());
  if (c.padding) {  // the last batch entry has every key hidden: zero gradients
    for (size_t i = size_t(c.B - 1) * c.H * c.Nq * c.D; i < nq; ++i) {
      ASSERT_EQ(from_bf16_bits(dq[i]), 0.0f) << "dq " << i;
    }
    for (size_t i = size_t(c.B - 1) * c.H * c.Nk * c.D; i < nk; ++i) {
      ASSERT_EQ(from_bf16_bits(dk[i]), 0.0f) << "dk " << i;
      ASSERT_EQ(from_bf16_bits(dv[i]), 0.0f) << "dv " << i;
    }
  }
  if (twice) {
    run_backward();
    EXPECT_TRUE(dk16.download() == dk) << "dk not deterministic";
    EXPECT_TRUE(dv16.download() == dv) << "dv not deterministic";
  }
}

// Both backward kernels: kAuto (wgmma on an H100 or H200 at D = 64 and 128) and mma.sync.
void check_backward_case(const Case& c, bool twice = false) {
  check_backward_kernel(c, Bf16Kernel::kAuto, twice);
  check_backward_kernel(c, Bf16Kernel::kMmaSync, twice);
}

class FlashAttentionBf16 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (device_count() == 0) GTEST_SKIP() << "no GPU";
  }
};

TEST_F(FlashAttentionBf16, SquareLengthsHeadDimsCausal) {
  for (const int64_t n : {1, 17, 1000}) {
    for (const int64_t d : {32, 64, 128}) {
      for (const bool causal : {false, true}) check_case({2, 3, n, n, d, causal, false});
    }
  }
}

TEST_F(FlashAttentionBf16, Long4097) {
  for (const int64_t d : {32, 64, 128}) {
    for (const bool causal : {false, true}) check_case({1, 2, 4097, 4097, d, causal, false});
  }
}

TEST_F(FlashAttentionBf16, RectangularNotCausal) {
  check_case({2, 2, 17, 1000, 64, false, false});
  check_case({2, 2, 1000, 17, 128, false, false});
  check_case({1, 2, 130, 1, 64, false, false});
  check_case({2, 2, 1000, 17, 32, false, false});
}

TEST_F(FlashAttentionBf16, KeyPadding) {
  for (const int64_t d : {32, 64, 128}) {
    check_case({3, 2, 1000, 1000, d, false, true});
    check_case({3, 2, 1000, 1000, d, true, true});
    check_case({2, 2, 17, 130, d, false, true});
  }
}

TEST_F(FlashAttentionBf16, BadHeadDimsThrow) {
  for (const auto& [d, dv] :
       {std::pair<int64_t, int64_t>{16, 16}, {96, 96}, {64, 128}, {32, 64}, {256, 256}, {0, 0}}) {
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

// kWgmma where no wgmma kernel exists (D = 32 anywhere; any D off compute capability 9.0) throws
// instead of running another kernel: the bench relies on it to skip those rows.
TEST_F(FlashAttentionBf16, ForcedWgmmaWithoutAKernelThrows) {
  const AttentionShape shape{1, 1, 4, 4, 32, 32};
  EXPECT_THROW(flash_attention_forward_bf16(shape, nullptr, nullptr, nullptr, nullptr, false, 1.0f,
                                            nullptr, nullptr, Bf16Kernel::kWgmma),
               std::invalid_argument);
  EXPECT_THROW(flash_attention_backward_bf16(shape, nullptr, nullptr, nullptr, nullptr, false, 1.0f,
                                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                             nullptr, Bf16Kernel::kWgmma),
               std::invalid_argument);
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
  for (const float scale : {0.0f, NAN}) {
    const AttentionShape shape64{1, 1, 4, 4, 64, 64};
    EXPECT_THROW(flash_attention_backward_bf16(shape64, nullptr, nullptr, nullptr, nullptr, false,
                                               scale, nullptr, nullptr, nullptr, nullptr, nullptr,
                                               nullptr, nullptr),
                 std::invalid_argument)
        << "backward scale " << scale;
  }
}

TEST_F(FlashAttentionBf16, BackwardSquareLengthsHeadDimsCausal) {
  for (const int64_t n : {1, 17, 1000}) {
    for (const int64_t d : {32, 64, 128}) {
      for (const bool causal : {false, true}) {
        check_backward_case({2, 3, n, n, d, causal, false}, n == 1000);
      }
    }
  }
}

TEST_F(FlashAttentionBf16, BackwardLong4097) {
  for (const int64_t d : {32, 64, 128}) {
    for (const bool causal : {false, true}) {
      check_backward_case({1, 2, 4097, 4097, d, causal, false});
    }
  }
}

TEST_F(FlashAttentionBf16, BackwardRectangularNotCausal) {
  check_backward_case({2, 2, 17, 1000, 64, false, false});
  check_backward_case({2, 2, 1000, 17, 128, false, false});
  check_backward_case({1, 2, 130, 1, 32, false, false});
  check_backward_case({1, 2, 1, 130, 64, false, false});
}

TEST_F(FlashAttentionBf16, BackwardKeyPadding) {
  for (const int64_t d : {32, 64, 128}) {
    check_backward_case({3, 2, 1000, 1000, d, false, true});
    check_backward_case({3, 2, 1000, 1000, d, true, true});
    check_backward_case({2, 2, 17, 130, d, false, true});
  }
}

TEST_F(FlashAttentionBf16, BackwardEmptyLengths) {
  // Nq = 0: dk and dv are zeros; Nk = 0: every row hidden, dq zeros (lse +inf from the forward).
  for (const auto& [nq, nk] : {std::pair<int64_t, int64_t>{0, 5}, {5, 0}}) {
    const AttentionShape shape{1, 2, nq, nk, 64, 64};
    const size_t count_q = size_t(2) * nq * 64, count_k = size_t(2) * nk * 64;
    DeviceArray<uint16_t> q(count_q), k(count_k), v(count_k), out(count_q), dout(count_q),
        dq(count_q), dk(count_k), dv(count_k);
    DeviceArray<float> lse(size_t(2) * nq),
        workspace(size_t(flash_attention_backward_bf16_workspace(shape)));
    for (auto* array : {&q, &k, &v, &dout}) {
      std::vector<uint16_t> bits(array->count);
      for (size_t i = 0; i < bits.size(); ++i) bits[i] = to_bf16_bits(0.25f + 0.01f * i);
      array->upload(bits);
    }
    for (auto* array : {&dq, &dk, &dv}) {
      PA_CUDA_CHECK(cudaMemset(array->data, 0xff, array->count * sizeof(uint16_t)));
    }
    flash_attention_forward_bf16(shape, as_bf16(q.data), as_bf16(k.data), as_bf16(v.data), nullptr,
                                 false, 0.125f, as_bf16(out.data), lse.data);
    flash_attention_backward_bf16(shape, as_bf16(q.data), as_bf16(k.data), as_bf16(v.data), nullptr,
                                  false, 0.125f, as_bf16(out.data), lse.data, as_bf16(dout.data),
                                  workspace.data, as_bf16(dq.data), as_bf16(dk.data),
                                  as_bf16(dv.data));
    for (const auto* array : {&dq, &dk, &dv}) {
      for (const uint16_t bits : array->download()) ASSERT_EQ(bits, 0u) << nq << " " << nk;
    }
  }
}

TEST_F(FlashAttentionBf16, BackwardBadShapesThrow) {
  const auto expect_throw = [](const AttentionShape& shape, const std::string& needle) {
    for (const bool workspace : {false, true}) {
      try {
        if (workspace) {
          flash_attention_backward_bf16_workspace(shape);
        } else {
          flash_attention_backward_bf16(shape, nullptr, nullptr, nullptr, nullptr, false, 1.0f,
                                        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                        nullptr);
        }
        ADD_FAILURE() << "no throw for " << needle;
      } catch (const std::invalid_argument& error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("flash_attention_backward_bf16"), std::string::npos) << what;
        EXPECT_NE(what.find(needle), std::string::npos) << what;
      }
    }
  };
  for (const auto& [d, dv] :
       {std::pair<int64_t, int64_t>{16, 16}, {96, 96}, {64, 128}, {32, 64}, {256, 256}, {0, 0}}) {
    expect_throw({1, 1, 4, 4, d, dv}, "D = " + std::to_string(d));
  }
  expect_throw({-1, 1, 4, 4, 64, 64}, "B = -1");
  expect_throw({1, 1, -4, 4, 64, 64}, "Nq = -4");
  expect_throw({1, 1, 4, -2, 64, 64}, "Nk = -2");
  expect_throw({256, 257, 4, 4, 64, 64}, "B * H = 65792");
}

}  // namespace
}  // namespace pa::cuda
