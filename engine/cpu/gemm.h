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

#include "engine/kernels/defs.h"

namespace pa::cpu {

using kernels::GemmProblem;  // shared with the CUDA GEMM (engine/kernels/defs.h)
using kernels::GemmProblemBf16;
using kernels::MatrixRef;

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

// ---- the engine's entry points (the CUDA GEMM has the same signatures: cuda/gemm/gemm.h) ----
// Whether run_gemm reads operands through any strides (here: yes, row- or column-major views
// need no copy; engine/ops makes other views contiguous).
inline bool gemm_reads_views() { return true; }
// Whether run_gemm (and run_gemm_bf16) take a problem of `count` (M, K) x (K, N) products (here:
// any).
inline bool gemm_fits(int64_t, int64_t, int64_t, int64_t) { return true; }
// The problem's products one after the other through sgemm; the bias is added to each row of C
// after its product (c + bias, one rounding, as an add op would).
void run_gemm(const GemmProblem& problem);
// bf16 operands: each product's operands widened to fp32 (exactly), multiplied by sgemm, the
// bias added in fp32 and every element rounded once to bf16 — the reference the CUDA
// tensor-core GEMM (cuda/gemm/gemm_bf16.h) is held to, not a fast path.
void run_gemm_bf16(const GemmProblemBf16& problem);

// ---- packed operands ----
// For callers that multiply by the same operand many times (attention multiplies every query
// block by the same K^T and V): pack once, then call sgemm_packed with no packing at all.
// A packed A (M, K) is ceil(M / MR) panels of K * MR floats, a[k * MR + r] (rows past M zero);
// a packed B (K, N) is ceil(N / NR) panels of K * NR floats, b[k * NR + j] (columns past N
// zero). Panel p of A starts at p * K * MR, panel q of B at q * K * NR. A sub-range of the
// depth [k0, k0 + k) of a packed operand is the same panels offset by k0 * MR (or k0 * NR),
// with the full panel stride. Buffers must be 64-byte aligned.
struct GemmTile {
  int64_t mr, nr;
};
GemmTile gemm_tile();  // MR x NR of the micro-kernel cpu_config() selects
void pack_a_panels(int64_t M, int64_t K, MatrixRef A, float* packed);
void pack_b_panels(int64_t K, int64_t N, MatrixRef B, float* packed);
// C (M, N) (+)= A B from packed panels, depth K, on the calling thread.
void sgemm_packed(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_panel_stride,
                  const float* b, int64_t b_panel_stride, float* C, int64_t ldc, bool accumulate);

}  // namespace pa::cpu
