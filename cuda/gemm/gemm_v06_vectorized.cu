// GEMM ladder v06: vectorised loads. Same 128x128 block tile and 8x8 thread tile as v05, but
// global memory is read as float4 (one 16-byte load per thread per tile of A and of B instead of
// four scalar ones), and A is stored transposed in shared memory, (K, M), so the inner loop reads
// a thread's 8 values of A and 8 of B as two float4 each: 4 shared loads per 64 FMAs (v05: 16).
// When A or B (pointer or leading dimension) is not 16-byte aligned the scalar instantiation
// runs; edge tiles take the scalar path inside the vector one.
// What it measured, and why: cuda/gemm/README.md (the ladder, v06).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;
using gemm_internal::load4;

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 8;
constexpr int kThreadM = 8;
constexpr int kThreadN = 8;
constexpr int kThreads = 256;
static_assert(gemm_version_has_tile("v06_vectorized", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

template <bool kVector>
__global__ void __launch_bounds__(kThreads)
    vectorized_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                      int ldb, float beta, float* c, int ldc) {
  __shared__ __align__(16) float a_tile[kBlockK][kBlockM];  // A transposed: (8 of K, 128 rows)
  __shared__ __align__(16) float b_tile[kBlockK][kBlockN];  // (8 of K, 128 columns)
  const int tid = threadIdx.x;
  const int row0 = blockIdx.y * kBlockM;
  const int col0 = blockIdx.x * kBlockN;
  const int thread_row = (tid / (kBlockN / kThreadN)) * kThreadM;
  const int thread_col = (tid % (kBlockN / kThreadN)) * kThreadN;
  const int a_row = tid / 2, a_k = (tid % 2) * 4;    // one float4 of the A tile each
  const int b_k = tid / 32, b_col = (tid % 32) * 4;  // one float4 of the B tile each
  float acc[kThreadM][kThreadN] = {};
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
      float a_frag[kThreadM];
      float b_frag[kThreadN];
      *reinterpret_cast<float4*>(&a_frag[0]) =
          *reinterpret_cast<const float4*>(&a_tile[kk][thread_row]);
      *reinterpret_cast<float4*>(&a_frag[4]) =
          *reinterpret_cast<const float4*>(&a_tile[kk][thread_row + 4]);
      *reinterpret_cast<float4*>(&b_frag[0]) =
          *reinterpret_cast<const float4*>(&b_tile[kk][thread_col]);
      *reinterpret_cast<float4*>(&b_frag[4]) =
          *reinterpret_cast<const float4*>(&b_tile[kk][thread_col + 4]);
#pragma unroll
      for (int i = 0; i < kThreadM; ++i) {
#pragma unroll
        for (int j = 0; j < kThreadN; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kThreadM; ++i) {
    const int row = row0 + thread_row + i;
    if (row >= m) break;
#pragma unroll
    for (int j = 0; j < kThreadN; ++j) {
      const int col = col0 + thread_col + j;
      if (col < n) {
        float* out = c + int64_t{row} * ldc + col;  // C (M, N)
        *out = epilogue(acc[i][j], alpha, beta, out);
      }
    }
  }
}

}  // namespace

void gemm_v06_vectorized(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                         int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v06_vectorized", m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kBlockN), ceil_div(m, kBlockM));
  if (gemm_internal::rows_vectorizable(a, lda) && gemm_internal::rows_vectorizable(b, ldb)) {
    vectorized_kernel<true>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    vectorized_kernel<false>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
