// The AVX-512F SGEMM micro-kernel, 12 x 32 (see gemm_kernels.h). This file alone is compiled
// for AVX-512 (the pragma below); gemm.cc calls it only on CPUs that report AVX-512F. It
// includes nothing but the intrinsics, so no inline library code is built for AVX-512 here.
#pragma GCC target("avx512f")
#include <immintrin.h>

#include "engine/cpu/gemm_kernels.h"

namespace pa::cpu {

void sgemm_kernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         bool accumulate) {
  constexpr int MR = kAvx512MR;
  __m512 acc[MR][2];  // row r: columns 0-15 and 16-31
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);  // B row k (32)
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 a_rk = _mm512_set1_ps(a[r]);  // A (r, k)
      acc[r][0] = _mm512_fmadd_ps(a_rk, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a_rk, b1, acc[r][1]);
    }
    a += MR;
    b += 32;
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}

}  // namespace pa::cpu
