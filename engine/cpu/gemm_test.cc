// The packed SGEMM against Eigen in double: edge sizes around every tile and block size, the
// four transpose combinations, accumulate, both micro-kernels, and bit-identical results for
// any thread count; the unpacked small-product path too.
#include "engine/cpu/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Dense>
#include <random>
#include <vector>

#include "engine/cpu/cpu_config.h"

namespace pa::cpu {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Restores the process-wide configuration after each test.
class Gemm : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = cpu_config(); }
  void TearDown() override { cpu_config() = saved_; }
  CpuConfig saved_;
};

std::vector<float> random_values(int64_t count, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(engine);
  return values;
}

// Runs sgemm on random operands stored transposed or not, with padding in every leading
// dimension, and checks each element of C against Eigen.
void check(int64_t M, int64_t N, int64_t K, bool transpose_a, bool transpose_b, bool accumulate,
           uint32_t seed) {
  const int64_t pad = 3;
  // A is stored as (M, K) row-major with ld K + pad, or as (K, M) with ld M + pad.
  const int64_t a_ld = (transpose_a ? M : K) + pad, b_ld = (transpose_b ? K : N) + pad;
  const std::vector<float> a = random_values((transpose_a ? K : M) * a_ld, seed);
  const std::vector<float> b = random_values((transpose_b ? N : K) * b_ld, seed + 1);
  const int64_t ldc = N + pad;
  std::vector<float> c = random_values(M * ldc, seed + 2);
  const std::vector<float> c_before = c;
  const MatrixRef a_ref = transpose_a ? MatrixRef{a.data(), 1, a_ld} : MatrixRef{a.data(), a_ld, 1};
  const MatrixRef b_ref = transpose_b ? MatrixRef{b.data(), 1, b_ld} : MatrixRef{b.data(), b_ld, 1};
  sgemm(M, N, K, a_ref, b_ref, c.data(), ldc, accumulate);

  MatrixD A(M, K), B(K, N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) A(i, k) = a[i * a_ref.row_stride + k * a_ref.col_stride];
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) B(k, j) = b[k * b_ref.row_stride + j * b_ref.col_stride];
  const MatrixD expected = A * B;
  double worst = 0;
  int64_t worst_i = 0, worst_j = 0;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const double want = expected(i, j) + (accumulate ? c_before[i * ldc + j] : 0.0);
      const double error = std::abs(c[i * ldc + j] - want) /
                           (1e-5 * (1 + std::abs(want)) + 2e-6 * std::sqrt(double(K)));
      if (error > worst) worst = error, worst_i = i, worst_j = j;
    }
    for (int64_t j = N; j < ldc; ++j) {
      ASSERT_EQ(c[i * ldc + j], c_before[i * ldc + j]) << "padding of C written at " << i;
    }
  }
  EXPECT_LE(worst, 1.0) << "M=" << M << " N=" << N << " K=" << K << " transpose_a=" << transpose_a
                        << " transpose_b=" << transpose_b << " accumulate=" << accumulate
                        << ": worst at (" << worst_i << ", " << worst_j << ")";
}

void sweep(uint32_t seed) {
  // Sizes around the tiles (6, 12, 16, 32) and blocks (kc 256): 1, primes, one past a tile.
  const int64_t sizes[][3] = {{1, 1, 1},     {1, 37, 5},     {7, 1, 13},   {5, 17, 3},
                              {13, 33, 19},  {25, 47, 64},   {64, 64, 64}, {97, 129, 257},
                              {12, 32, 256}, {200, 70, 513}, {6, 16, 1},   {130, 1050, 20}};
  for (const auto& size : sizes) {
    for (int t = 0; t < 4; ++t) {
      check(size[0], size[1], size[2], t & 1, t & 2, false, seed++);
    }
    check(size[0], size[1], size[2], false, false, true, seed++);
  }
}

// The packed path for every size (the small-product path off), then the small path for every
// size (the packed path never taken).
TEST_F(Gemm, MatchesEigenWithTheAvx2Kernel) {
  cpu_config().gemm_kernel = GemmKernel::Avx2;
  cpu_config().gemm_small_max = 0;
  sweep(100);
}

TEST_F(Gemm, MatchesEigenWithTheAvx512Kernel) {
  if (!cpu_features().avx512f) GTEST_SKIP() << "this CPU has no AVX-512F";
  cpu_config().gemm_kernel = GemmKernel::Avx512;
  cpu_config().gemm_small_max = 0;
  sweep(200);
}

TEST_F(Gemm, MatchesEigenOnTheSmallProductPath) {
  cpu_config().gemm_small_max = int64_t{1} << 40;
  sweep(300);
}

TEST_F(Gemm, SmallBlocksExerciseEveryLoop) {
  cpu_config().gemm_kc = 16;  // several k blocks
  cpu_config().gemm_nc = 64;  // several n blocks
  cpu_config().gemm_parallel_min = 1;
  sweep(300);
}

TEST_F(Gemm, ZeroKClearsOrKeepsC) {
  std::vector<float> c = {1, 2, 3, 4};
  sgemm(2, 2, 0, {nullptr, 0, 1}, {nullptr, 2, 1}, c.data(), 2, true);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  sgemm(2, 2, 0, {nullptr, 0, 1}, {nullptr, 2, 1}, c.data(), 2, false);
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
}

TEST_F(Gemm, ResultIsBitIdenticalForAnyThreadCount) {
  const int64_t M = 301, N = 257, K = 519;
  const std::vector<float> a = random_values(M * K, 1), b = random_values(K * N, 2);
  cpu_config().gemm_parallel_min = 1;
  std::vector<float> results[3];
  const int threads[3] = {1, 2, 3};
  for (int i = 0; i < 3; ++i) {
    cpu_config().threads = threads[i];
    results[i].assign(M * N, 0.0f);
    gemm(M, N, K, a.data(), K, b.data(), N, results[i].data(), N, false);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST_F(Gemm, RunsInsideAParallelRegion) {
  const int64_t M = 40, N = 50, K = 60;
  const std::vector<float> a = random_values(M * K, 3), b = random_values(K * N, 4);
  std::vector<float> serial(M * N), nested(4 * M * N);
  gemm(M, N, K, a.data(), K, b.data(), N, serial.data(), N, false);
#pragma omp parallel for num_threads(2)
  for (int s = 0; s < 4; ++s)
    gemm(M, N, K, a.data(), K, b.data(), N, nested.data() + s * M * N, N, false);
  for (int s = 0; s < 4; ++s) {
    EXPECT_TRUE(std::equal(serial.begin(), serial.end(), nested.begin() + s * M * N)) << s;
  }
}

}  // namespace
}  // namespace pa::cpu
