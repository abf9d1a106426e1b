// GPU test (tag `gpu`, --config=cuda only) of every version of the fp32 GEMM ladder against a CPU
// reference in double: awkward sizes (1, primes, one past a tile), alpha/beta other than 1/0,
// leading dimensions wider than the rows, misaligned pointers (the scalar fallbacks), K = 0 and
// empty C. C is poisoned with NaN before each launch (with beta == 0 it must not be read), and
// the padding between rows must come back untouched. Skips without a GPU.
#include "cuda/gemm/gemm.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda/common/check.h"
#include "cuda/common/device_array.h"
#include "cuda/common/runtime.h"

namespace pa::cuda {
namespace {

struct GemmCase {
  int m, n, k;
  float alpha, beta;
  int lda, ldb, ldc;  // 0: the row width
  int misalign;       // floats added to every pointer (1: not 16-byte aligned)
};

std::string describe(const GemmCase& c) {
  std::ostringstream out;
  out << "M=" << c.m << " N=" << c.n << " K=" << c.k << " alpha=" << c.alpha << " beta=" << c.beta
      << " lda=" << c.lda << " ldb=" << c.ldb << " ldc=" << c.ldc << " misalign=" << c.misalign;
  return out.str();
}

const std::vector<GemmCase>& cases() {
  static const std::vector<GemmCase> all = {
      {1, 1, 1, 1.0f, 0.0f, 0, 0, 0, 0},
      {17, 33, 5, 1.0f, 0.0f, 0, 0, 0, 0},
      {127, 129, 65, 1.0f, 0.0f, 0, 0, 0, 0},
      {128, 128, 128, 1.0f, 0.0f, 0, 0, 0, 0},
      {255, 513, 257, 1.0f, 0.0f, 0, 0, 0, 0},
      {128, 128, 128, 0.5f, -1.5f, 131, 133, 135, 0},   // unaligned leading dimensions
      {255, 513, 257, -2.0f, 0.25f, 260, 516, 520, 0},  // aligned, wider than the rows
      {64, 96, 300, 1.0f, 0.0f, 0, 0, 0, 1},            // misaligned pointers
      {33, 65, 2000, 1.5f, 1.0f, 0, 0, 0, 0},           // long K: split-K takes several slices
      {5, 7, 0, 1.0f, 0.5f, 0, 0, 0, 0},                // K = 0: C = beta * C
      {0, 5, 3, 1.0f, 0.0f, 0, 0, 0, 0},                // empty C: nothing to do
  };
  return all;
}

using Launch = std::function<void(const GemmCase&, const float* a, int lda, const float* b, int ldb,
                                  float* c, int ldc, const float* bias)>;

// Runs one case and returns an empty string, or a message naming the worst element.
std::string run_case(const GemmCase& gc, const Launch& launch, bool with_bias, uint32_t seed) {
  const int m = gc.m, n = gc.n, k = gc.k;
  const int lda = gc.lda ? gc.lda : k, ldb = gc.ldb ? gc.ldb : n, ldc = gc.ldc ? gc.ldc : n;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const size_t a_size = size_t(m) * lda + gc.misalign + 1;
  const size_t b_size = size_t(k) * ldb + gc.misalign + 1;
  const size_t c_size = size_t(m) * ldc + gc.misalign + 1;
  std::vector<float> a(a_size, nan), b(b_size, nan), c(c_size, nan), bias(n + 1);
  float* a0 = a.data() + gc.misalign;
  float* b0 = b.data() + gc.misalign;
  float* c0 = c.data() + gc.misalign;
  for (int i = 0; i < m; ++i) {
    for (int p = 0; p < k; ++p) a0[size_t(i) * lda + p] = uniform(rng);  // A (M, K)
  }
  for (int p = 0; p < k; ++p) {
    for (int j = 0; j < n; ++j) b0[size_t(p) * ldb + j] = uniform(rng);  // B (K, N)
  }
  if (gc.beta != 0.0f) {  // with beta == 0 C stays NaN: it must not be read
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) c0[size_t(i) * ldc + j] = uniform(rng);  // C (M, N)
    }
  }
  for (float& v : bias) v = uniform(rng);

  std::vector<double> reference(size_t(m) * n);  // (M, N)
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int p = 0; p < k; ++p) sum += double(a0[size_t(i) * lda + p]) * b0[size_t(p) * ldb + j];
      double value = double(gc.alpha) * sum;
      if (gc.beta != 0.0f) value += double(gc.beta) * c0[size_t(i) * ldc + j];
      if (with_bias) value += bias[j];
      reference[size_t(i) * n + j] = value;
    }
  }

  const DeviceArray<float> da(a), db(b), dc(c), dbias(bias);
  launch(gc, da.data + gc.misalign, lda, db.data + gc.misalign, ldb, dc.data + gc.misalign, ldc,
         with_bias ? dbias.data : nullptr);
  const std::vector<float> out = dc.download();

  // fp32 products summed over K: rounding grows like sqrt(K) times the entries (~sqrt(K / 9)).
  const double atol = 1e-5 * std::sqrt(double(std::max(k, 1))) + 1e-6;
  const double rtol = 1e-5;
  double worst_excess = 0.0;
  std::string worst;
  const float* out0 = out.data() + gc.misalign;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const float got = out0[size_t(i) * ldc + j];
      if (j >= n) {  // padding between rows: must be left alone
        const float before = c0[size_t(i) * ldc + j];
        if (std::memcmp(&got, &before, sizeof(float)) != 0) {
          return "wrote padding at (" + std::to_string(i) + ", " + std::to_string(j) + ")";
        }
        continue;
      }
      const double want = reference[size_t(i) * n + j];
      const double error = std::fabs(double(got) - want);
      const double allowed = atol + rtol * std::fabs(want);
      const double excess =
          std::isnan(error) ? std::numeric_limits<double>::infinity() : error / allowed;
      if (excess > 1.0 && excess > worst_excess) {
        worst_excess = excess;
        std::ostringstream message;
        message << "worst element (" << i << ", " << j << "): got " << got << ", want " << want
                << ", |error| " << error << " > allowed " << allowed;
        worst = message.str();
      }
    }
  }
  return worst;
}

class GemmLadder : public ::testing::Test {
 protected:
  void SetUp() override {
    if (device_count() == 0) GTEST_SKIP() << "no GPU visible";
  }
};

TEST_F(GemmLadder, EveryVersionMatchesTheDoubleReference) {
  uint32_t seed = 1;
  for (const GemmVersion& version : kGemmVersions) {
    for (const GemmCase& gc : cases()) {
      const Launch launch = [&](const GemmCase& c, const float* a, int lda, const float* b, int ldb,
                                float* out, int ldc, const float*) {
        version.launch(c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc, nullptr);
      };
      const std::string failure = run_case(gc, launch, false, seed++);
      EXPECT_TRUE(failure.empty()) << version.name << " " << describe(gc) << ": " << failure;
    }
  }
}

TEST_F(GemmLadder, BiasEpiloguesAddTheBias) {
  std::vector<std::pair<std::string, GemmBiasLauncher>> launchers = {{"gemm_best", gemm_best}};
  for (const GemmVersion& version : kGemmVersions) {
    if (version.launch_bias != nullptr) launchers.emplace_back(version.name, version.launch_bias);
  }
  ASSERT_GE(launchers.size(), 2u);
  uint32_t seed = 1000;
  for (const auto& [name, launch_bias] : launchers) {
    for (const GemmCase& gc : cases()) {
      for (const bool with_bias : {false, true}) {
        const Launch launch = [&, launch_bias = launch_bias](
                                  const GemmCase& c, const float* a, int lda, const float* b,
                                  int ldb, float* out, int ldc, const float* bias) {
          launch_bias(c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc, bias, nullptr);
        };
        const std::string failure = run_case(gc, launch, with_bias, seed++);
        EXPECT_TRUE(failure.empty())
            << name << " bias=" << with_bias << " " << describe(gc) << ": " << failure;
      }
    }
  }
}

// The batched form: count products at fixed strides in one launch, B shared (stride 0) or not,
// strides that break 16-byte alignment (the scalar path), a bias; checked per matrix against
// the double reference, with NaN poison in the gaps between C matrices left untouched.
TEST_F(GemmLadder, BatchedProductsMatchTheDoubleReference) {
  struct BatchedCase {
    int m, n, k, count;
    bool share_b;
    int gap;  // floats between consecutive matrices (1: strides not multiples of 4)
  };
  const BatchedCase batched_cases[] = {{32, 32, 8, 128, false, 0},   {17, 33, 5, 3, true, 0},
                                       {128, 129, 130, 4, false, 1}, {1, 1, 1, 7, true, 1},
                                       {200, 70, 33, 2, false, 4},   {5, 6, 0, 3, false, 0},
                                       {300, 700, 20, 8, false, 0}};  // 144 tiles: kBestVersion
  std::vector<std::pair<std::string, GemmBatchedLauncher>> launchers = {
      {"gemm_best_batched", gemm_best_batched}};
  for (const GemmVersion& version : kGemmVersions) {
    if (version.launch_batched != nullptr) {
      launchers.emplace_back(version.name, version.launch_batched);
    }
  }
  std::mt19937 rng(77);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& [name, launch] : launchers) {
    for (const BatchedCase& bc : batched_cases) {
      const int m = bc.m, n = bc.n, k = bc.k;
      GemmBatch batch;
      batch.count = bc.count;
      batch.stride_a = int64_t{m} * k + bc.gap;
      batch.stride_b = bc.share_b ? 0 : int64_t{k} * n + bc.gap;
      batch.stride_c = int64_t{m} * n + bc.gap;
      const size_t a_size = batch.stride_a * bc.count + 1;
      const size_t b_size = (bc.share_b ? int64_t{k} * n : batch.stride_b * bc.count) + 1;
      const size_t c_size = batch.stride_c * bc.count + 1;
      std::vector<float> a(a_size), b(b_size), bias(n), c(c_size, nan);
      for (float& v : a) v = uniform(rng);
      for (float& v : b) v = uniform(rng);
      for (float& v : bias) v = uniform(rng);
      const DeviceArray<float> da(a), db(b), dc(c), dbias(bias);
      launch(m, n, k, 1.0f, da.data, k, db.data, n, 0.0f, dc.data, n, dbias.data, batch, nullptr);
      const std::vector<float> out = dc.download();
      const double atol = 1e-5 * std::sqrt(double(std::max(k, 1))) + 1e-6;
      int bad = 0;
      for (int i = 0; i < bc.count && bad < 3; ++i) {
        const float* ai = a.data() + i * batch.stride_a;
        const float* bi = b.data() + i * batch.stride_b;
        const float* ci = out.data() + i * batch.stride_c;
        for (int r = 0; r < m; ++r) {
          for (int j = 0; j < n; ++j) {
            double want = bias[j];
            for (int p = 0; p < k; ++p)
              want += double(ai[size_t(r) * k + p]) * bi[size_t(p) * n + j];
            const float got = ci[size_t(r) * n + j];
            if (!(std::fabs(got - want) <= atol + 1e-5 * std::fabs(want)) && bad++ < 3) {
              ADD_FAILURE() << name << " M=" << m << " N=" << n << " K=" << k
                            << " count=" << bc.count << " matrix " << i << " (" << r << ", " << j
                            << "): got " << got << ", want " << want;
            }
          }
        }
        for (int g = 0; g < bc.gap; ++g) {  // the gap after matrix i: never written
          EXPECT_TRUE(std::isnan(ci[size_t(m) * n + g])) << name << " wrote a gap of matrix " << i;
        }
      }
    }
  }
}

// gemm_best's three paths: a grid of fewer tiles than SMs (kSmallGridVersion), a large one
// (kBestVersion), a long K over few tiles without bias (split-K); with and without a bias.
TEST_F(GemmLadder, GemmBestTakesEveryPath) {
  const GemmCase shapes[] = {{100, 200, 30, 1.0f, 0.0f, 0, 0, 0, 0},    // 2 tiles
                             {1500, 1700, 24, 1.0f, 0.0f, 0, 0, 0, 0},  // 168 tiles
                             {70, 90, 3000, 1.0f, 0.0f, 0, 0, 0, 0}};   // split-K
  uint32_t seed = 5000;
  for (const GemmCase& gc : shapes) {
    for (const bool with_bias : {false, true}) {
      const Launch launch = [](const GemmCase& c, const float* a, int lda, const float* b, int ldb,
                               float* out, int ldc, const float* bias) {
        gemm_best(c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc, bias, nullptr);
      };
      const std::string failure = run_case(gc, launch, with_bias, seed++);
      EXPECT_TRUE(failure.empty())
          << "gemm_best bias=" << with_bias << " " << describe(gc) << ": " << failure;
    }
  }
}

TEST_F(GemmLadder, SplitKReduceIsBitwiseReproducible) {
  const int m = 40, n = 70, k = 4000;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(size_t(m) * k), b(size_t(k) * n);
  for (float& v : a) v = uniform(rng);
  for (float& v : b) v = uniform(rng);
  const DeviceArray<float> da(a), db(b), dc(std::vector<float>(size_t(m) * n));
  std::vector<float> first;
  for (int run = 0; run < 5; ++run) {
    gemm_splitk_reduce(m, n, k, 1.0f, da.data, k, db.data, n, 0.0f, dc.data, n, nullptr);
    const std::vector<float> out = dc.download();
    if (run == 0) {
      first = out;
      continue;
    }
    ASSERT_EQ(std::memcmp(first.data(), out.data(), first.size() * sizeof(float)), 0)
        << "run " << run;
  }
}

TEST_F(GemmLadder, BadArgumentsNameTheLauncher) {
  float* dummy = static_cast<float*>(device_malloc(64 * sizeof(float), 0));
  for (const GemmVersion& version : kGemmVersions) {
    try {
      version.launch(4, 4, 4, 1.0f, dummy, 3, dummy, 4, 0.0f, dummy, 4, nullptr);  // lda < K
      ADD_FAILURE() << version.name << " accepted lda < K";
    } catch (const std::runtime_error& error) {
      EXPECT_NE(std::string(error.what()).find(std::string("gemm_") + version.name),
                std::string::npos)
          << error.what();
    }
  }
  EXPECT_THROW(gemm_best(-1, 4, 4, 1.0f, dummy, 4, dummy, 4, 0.0f, dummy, 4, nullptr, nullptr),
               std::runtime_error);
  device_free(dummy, 0);
}

}  // namespace
}  // namespace pa::cuda
