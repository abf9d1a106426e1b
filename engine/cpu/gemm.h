// CPU SGEMM: C (M, N) = A (M, K) @ B (K, N) (+ C), in float32, for operands of any strides, so
// that transposed views (matmul's backward, Linear's x W^T) need no copy.
//
// The packed, cache-blocked algorithm of BLIS / GotoBLAS: for each kc x nc block of B (packed
// into NR-column panels, kept in L2) and each MR-row panel of A (packed, kept in L1), a
// register-tiled micro-kernel (gemm_kernels.h: AVX-512 12x32 or AVX2 6x16, chosen at run time
// by CPU features) computes MR x NR tiles of C. OpenMP splits the A panels (rows of C) across
// threads; every element of C is summed by one thread in a fixed k order, so the result is
// bit-identical for any thread count. Edge tiles (M % MR, N % NR) are zero-padded in the packs
// and written back through a scratch tile. Tunables: cpu_config() (cpu_config.h).
#pragma once

#include <cstdint>

namespace pa::cpu {

// A matrix operand: element (i, j) is data[i * row_stride + j * col_stride]. Row-major with
// leading dimension ld is {data, ld, 1}; its transpose is {data, 1, ld}.
struct MatrixRef {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};

// accumulate = false: C = A B (C is not read); true: C += A B. C is row-major with leading
// dimension ldc. Safe to call from inside an OpenMP parallel region (it then runs on the
// calling thread only).
void sgemm(int64_t M, int64_t N, int64_t K, MatrixRef A, MatrixRef B, float* C, int64_t ldc,
           bool accumulate);

// Row-major shorthand: A (M, K) with leading dimension lda, B (K, N) with ldb.
inline void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  sgemm(M, N, K, {A, lda, 1}, {B, ldb, 1}, C, ldc, accumulate);
}

}  // namespace pa::cpu
