// GEMM ladder v07: shared-memory bank conflicts removed. Changes vs v06:
// - the transposed A tile gets 4 floats of padding per row, (8, 128 + 4): the two float4 loads
//   of a warp that land in rows 4 apart now hit different banks when they are stored;
// - a thread's 8 columns are two groups of 4, 64 apart (tx * 4 and 64 + tx * 4), and likewise its
//   8 rows: the float4 reads of a quarter-warp cover one contiguous 64-byte span instead of
//   strided 32-byte steps that wrap onto the same banks (v06 reads B with 2-way conflicts);
// - C is written as float4 (scalar on edges or when C is not 16-byte aligned).
// What it measured, and why: cuda/gemm/README.md (the ladder, v07).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::load4;
using gemm_internal::store4;

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 8;
constexpr int kPad = 4;
constexpr int kThreads = 256;
static_assert(gemm_version_has_tile("v07_bank_conflict_free", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

template <bool kVector>
__global__ void __launch_bounds__(kThreads)
    bank_conflict_free_kernel(int m, int n, int k, float alpha, const float* a, int lda,
                              const float* b, int ldb, float beta, float* c, int ldc) {
  __shared__ __align__(16) float a_tile[kBlockK][kBlockM + kPad];  // A transposed, padded
  __shared__ __align__(16) float b_tile[kBlockK][kBlockN];         // (8 of K, 128 columns)
  const int tid = threadIdx.x;
  const int row0 = blockIdx.y * kBlockM;
  const int col0 = blockIdx.x * kBlockN;
  const int thread_row = (tid / 16) * 4;  // rows thread_row + {0..3} and 64 + thread_row + {0..3}
  const int thread_col = (tid % 16) * 4;  // likewise for columns
  const int a_row = tid / 2, a_k = (tid % 2) * 4;
  const int b_k = tid / 32, b_col = (tid % 32) * 4;
  float acc[8][8] = {};
  for (int k0 = 0; k0 < k; k0 += kBlockK) {
    const float4 a_value = load4<kVector>(a, lda, row0 + a_row, k0 + a_k, m, k);  // A (M, K)
    a_tile[a_k + 0][a_row] = a_value.x;
    a_tile[a_k + 1][a_row] = a_value.y;
    a_tile[a_k + 2][a_row] = a_value.z;
    a_tile[a_k + 3][a_row] = a_value.w;
    const float4 b_value = load4<kVector>(b, ldb, k0 + b_k, col0 + b_col, k, n);  // B (K, N)
    *reinterpret_cast<float4*>(&b_tile[b_k][b_col]) = b_value;
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      float a_frag[8];
      float b_frag[8];
      *reinterpret_cast<float4*>(&a_frag[0]) =
          *reinterpret_cast<const float4*>(&a_tile[kk][thread_row]);
      *reinterpret_cast<float4*>(&a_frag[4]) =
          *reinterpret_cast<const float4*>(&a_tile[kk][thread_row + kBlockM / 2]);
      *reinterpret_cast<float4*>(&b_frag[0]) =
          *reinterpret_cast<const float4*>(&b_tile[kk][thread_col]);
      *reinterpret_cast<float4*>(&b_frag[4]) =
          *reinterpret_cast<const float4*>(&b_tile[kk][thread_col + kBlockN / 2]);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = row0 + thread_row + (i / 4) * (kBlockM / 2) + i % 4;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = col0 + thread_col + half * (kBlockN / 2);
      const float* v = &acc[i][half * 4];
      store4<kVector>(c, ldc, row, col, m, n, make_float4(v[0], v[1], v[2], v[3]), alpha, beta,
                      nullptr);
    }
  }
}

}  // namespace

void gemm_v07_bank_conflict_free(int m, int n, int k, float alpha, const float* a, int lda,
                                 const float* b, int ldb, float beta, float* c, int ldc,
                                 cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v07_bank_conflict_free", m, n, k, a, lda, b, ldb, c,
                                      ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kBlockN), ceil_div(m, kBlockM));
  if (gemm_internal::rows_vectorizable(a, lda) && gemm_internal::rows_vectorizable(b, ldb) &&
      gemm_internal::rows_vectorizable(c, ldc)) {
    bank_conflict_free_kernel<true>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    bank_conflict_free_kernel<false>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
