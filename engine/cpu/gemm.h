// CPU GEMM: C (M, N) = A (M, K) @ B (K, N), row-major, each with its own leading dimension.
// The straightforward cache-friendly version (i-k-j loops, OpenMP over row blocks); the
// packed AVX2/AVX-512 kernel replaces it in the fast-CPU-backend work.
#pragma once

#include <cstdint>

namespace pa::cpu {

// accumulate = false: C = A B; true: C += A B.
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
          float* C, int64_t ldc, bool accumulate);

}  // namespace pa::cpu
