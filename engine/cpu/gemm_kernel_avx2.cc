// The AVX2 + FMA SGEMM micro-kernel, 6 x 16 (see gemm_kernels.h).
#include <immintrin.h>

#include "engine/cpu/gemm_kernels.h"

namespace pa::cpu {

void sgemm_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       bool accumulate) {
  constexpr int MR = kAvx2MR;
  __m256 acc[MR][2];  // row r: columns 0-7 and 8-15
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);  // B row k (16)
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 a_rk = _mm256_broadcast_ss(a + r);  // A (r, k)
      acc[r][0] = _mm256_fmadd_ps(a_rk, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a_rk, b1, acc[r][1]);
    }
    a += MR;
    b += 16;
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(row));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc[r][0]);
    _mm256_storeu_ps(row + 8, acc[r][1]);
  }
}

}  // namespace pa::cpu
