// GEMM ladder v04: 1-D thread coarsening. A block of 512 threads computes a 64x64 tile of C,
// each thread a column strip of 8 outputs (TM = 8), stepping K by 8. Per K step a thread loads
// one value of B from shared memory and reuses it for 8 FMAs (the A values are broadcast across
// the warp), so shared-memory traffic per FMA drops from 2 loads (v03) to about 1.1.
// What it measured, and why: cuda/gemm/README.md (the ladder, v04).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kBlockK = 8;
constexpr int kThreadM = 8;
constexpr int kThreads = kBlockM * kBlockN / kThreadM;  // 512
static_assert(gemm_version_has_tile("v04_1d_coarsening", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void __launch_bounds__(kThreads)
    coarsening_1d_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                         int ldb, float beta, float* c, int ldc) {
  __shared__ float a_tile[kBlockM][kBlockK];  // (64 rows of A, 8 of K)
  __shared__ float b_tile[kBlockK][kBlockN];  // (8 of K, 64 columns of B)
  const int tid = threadIdx.x;
  const int row0 = blockIdx.y * kBlockM;
  const int col0 = blockIdx.x * kBlockN;
  const int thread_col = tid % kBlockN;  // a warp shares one strip of rows
  const int thread_row = (tid / kBlockN) * kThreadM;
  const int a_row = tid / kBlockK, a_k = tid % kBlockK;  // one element of the A tile each
  const int b_k = tid / kBlockN, b_col = tid % kBlockN;  // one element of the B tile each
  float acc[kThreadM] = {};
  for (int k0 = 0; k0 < k; k0 += kBlockK) {
    const int ar = row0 + a_row, ak = k0 + a_k;
    a_tile[a_row][a_k] = (ar < m && ak < k) ? a[int64_t{ar} * lda + ak] : 0.0f;
    const int bk = k0 + b_k, bc = col0 + b_col;
    b_tile[b_k][b_col] = (bk < k && bc < n) ? b[int64_t{bk} * ldb + bc] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      const float b_value = b_tile[kk][thread_col];
#pragma unroll
      for (int i = 0; i < kThreadM; ++i) acc[i] += a_tile[thread_row + i][kk] * b_value;
    }
    __syncthreads();
  }
  const int col = col0 + thread_col;
  if (col >= n) return;
#pragma unroll
  for (int i = 0; i < kThreadM; ++i) {
    const int row = row0 + thread_row + i;
    if (row < m) {
      float* out = c + int64_t{row} * ldc + col;  // C (M, N)
      *out = epilogue(acc[i], alpha, beta, out);
    }
  }
}

}  // namespace

void gemm_v04_1d_coarsening(int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc,
                            cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v04_1d_coarsening", m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kBlockN), ceil_div(m, kBlockM));
  coarsening_1d_kernel<<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
