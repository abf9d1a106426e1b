// GEMM ladder v03: shared-memory tiling. A 32x32 block of threads stages a 32x32 tile of A and
// of B in shared memory per step of K, so each element loaded from global memory is used 32
// times instead of once. Out-of-range elements are loaded as zeros, so the inner loop needs no
// masks. Still one output per thread: two shared loads per FMA.
// What it measured, and why: cuda/gemm/README.md (the ladder, v03).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

constexpr int kTile = 32;
static_assert(gemm_version_has_tile("v03_smem_tiling", kTile, kTile),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void smem_tiling_kernel(int m, int n, int k, float alpha, const float* a, int lda,
                                   const float* b, int ldb, float beta, float* c, int ldc) {
  __shared__ float a_tile[kTile][kTile];  // (32 rows of A, 32 of K)
  __shared__ float b_tile[kTile][kTile];  // (32 of K, 32 columns of B)
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int row = blockIdx.y * kTile + ty;
  const int col = blockIdx.x * kTile + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < k; k0 += kTile) {
    a_tile[ty][tx] = (row < m && k0 + tx < k) ? a[int64_t{row} * lda + k0 + tx] : 0.0f;
    b_tile[ty][tx] = (k0 + ty < k && col < n) ? b[int64_t{k0 + ty} * ldb + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kTile; ++i) acc += a_tile[ty][i] * b_tile[i][tx];
    __syncthreads();
  }
  if (row < m && col < n) {
    float* out = c + int64_t{row} * ldc + col;  // C (M, N)
    *out = epilogue(acc, alpha, beta, out);
  }
}

}  // namespace

void gemm_v03_smem_tiling(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                          int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v03_smem_tiling", m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kTile), ceil_div(m, kTile));
  smem_tiling_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                              c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
