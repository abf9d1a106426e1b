// GEMM ladder v05: 2-D block tiling. A block of 256 threads computes a 128x128 tile of C, each
// thread an 8x8 sub-tile (TM = TN = 8) held in registers, stepping K by 8. Per K step a thread
// loads 8 values of A and 8 of B from shared memory into registers and does 64 FMAs with them:
// 0.25 shared loads per FMA (v04: 1.1), and each global element is reused 128 times (v04: 64).
// Global loads are still scalar and masked element by element.
// What it measured, and why: cuda/gemm/README.md (the ladder, v05).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 8;
constexpr int kThreadM = 8;
constexpr int kThreadN = 8;
constexpr int kThreads = (kBlockM / kThreadM) * (kBlockN / kThreadN);  // 256
static_assert(gemm_version_has_tile("v05_2d_blocktile", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void __launch_bounds__(kThreads)
    blocktile_2d_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc) {
  __shared__ float a_tile[kBlockM][kBlockK];  // (128 rows of A, 8 of K)
  __shared__ float b_tile[kBlockK][kBlockN];  // (8 of K, 128 columns of B)
  const int tid = threadIdx.x;
  const int row0 = blockIdx.y * kBlockM;
  const int col0 = blockIdx.x * kBlockN;
  const int thread_row = (tid / (kBlockN / kThreadN)) * kThreadM;
  const int thread_col = (tid % (kBlockN / kThreadN)) * kThreadN;
  float acc[kThreadM][kThreadN] = {};
  float a_frag[kThreadM];
  float b_frag[kThreadN];
  for (int k0 = 0; k0 < k; k0 += kBlockK) {
#pragma unroll
    for (int i = 0; i < kBlockM * kBlockK / kThreads; ++i) {  // 4 elements of each tile
      const int e = tid + i * kThreads;
      const int ar = e / kBlockK, ak = e % kBlockK;
      const int grow = row0 + ar, gk = k0 + ak;
      a_tile[ar][ak] = (grow < m && gk < k) ? a[int64_t{grow} * lda + gk] : 0.0f;
      const int bk = e / kBlockN, bc = e % kBlockN;
      const int gbk = k0 + bk, gcol = col0 + bc;
      b_tile[bk][bc] = (gbk < k && gcol < n) ? b[int64_t{gbk} * ldb + gcol] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
#pragma unroll
      for (int i = 0; i < kThreadM; ++i) a_frag[i] = a_tile[thread_row + i][kk];
#pragma unroll
      for (int j = 0; j < kThreadN; ++j) b_frag[j] = b_tile[kk][thread_col + j];
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

void gemm_v05_2d_blocktile(int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc,
                           cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v05_2d_blocktile", m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kBlockN), ceil_div(m, kBlockM));
  blocktile_2d_kernel<<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
