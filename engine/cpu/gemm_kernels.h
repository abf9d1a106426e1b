// SGEMM micro-kernels: C (MR x NR, row stride ldc) = A_panel B_panel (+ C when `accumulate`),
// where the packed A panel holds kc columns of MR values (a[k * MR + r]) and the packed B panel
// kc rows of NR values (b[k * NR + j]). Each keeps the whole MR x NR tile of C in vector
// registers across the k loop: per k, NR / width vector loads of B, MR broadcasts of A and
// MR * NR / width FMAs. Full tiles only; gemm.cc handles edges through a scratch tile.
#pragma once

#include <cstdint>

namespace pa::cpu {

// AVX2 + FMA: 6 x 16 (12 ymm accumulators). x86-64-v3, the build's baseline.
constexpr int64_t kAvx2MR = 6, kAvx2NR = 16;
void sgemm_kernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       bool accumulate);

// AVX-512F: 12 x 32 (24 zmm accumulators). Compiled for AVX-512 only in its own file; call it
// only when cpu_features().avx512f.
constexpr int64_t kAvx512MR = 12, kAvx512NR = 32;
void sgemm_kernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         bool accumulate);

}  // namespace pa::cpu
