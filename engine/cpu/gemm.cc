// CPU GEMM, i-k-j order: the innermost loop streams a row of B and a row of C, which GCC
// vectorises with FMA. Row blocks of C are independent, so OpenMP splits them.
#include "engine/cpu/gemm.h"

#include <algorithm>

namespace pa::cpu {

void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
          float* C, int64_t ldc, bool accumulate) {
  constexpr int64_t kBlockK = 256;  // a K-slice of B rows stays in L2 across the rows of C
  const bool parallel = M * N * K >= (1 << 18);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < M; ++i) {
    float* c_row = C + i * ldc;  // (N)
    if (!accumulate) std::fill(c_row, c_row + N, 0.0f);
    for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const int64_t k1 = std::min(K, k0 + kBlockK);
      for (int64_t k = k0; k < k1; ++k) {
        const float a = A[i * lda + k];
        const float* b_row = B + k * ldb;  // (N)
        for (int64_t j = 0; j < N; ++j) c_row[j] += a * b_row[j];
      }
    }
  }
}

}  // namespace pa::cpu
