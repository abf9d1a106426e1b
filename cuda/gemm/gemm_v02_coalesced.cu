// GEMM ladder v02: coalesced. Same work per thread as v01, but threadIdx.x now walks along a
// row of C: a warp reads one element of A (broadcast), 32 consecutive elements of a row of B and
// writes 32 consecutive elements of C, so every global access is coalesced.
// What it measured, and why: cuda/gemm/README.md (the ladder, v02).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

constexpr int kBlock = 32;
static_assert(gemm_version_has_tile("v02_coalesced", kBlock, kBlock),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void coalesced_kernel(int m, int n, int k, float alpha, const float* a, int lda,
                                 const float* b, int ldb, float beta, float* c, int ldc) {
  const int row = blockIdx.y * kBlock + threadIdx.y;
  const int col = blockIdx.x * kBlock + threadIdx.x;  // consecutive threads: consecutive columns
  if (row >= m || col >= n) return;
  float acc = 0.0f;
  for (int i = 0; i < k; ++i) {
    acc += a[int64_t{row} * lda + i] * b[int64_t{i} * ldb + col];  // A (M, K) row, B (K, N) col
  }
  float* out = c + int64_t{row} * ldc + col;  // C (M, N)
  *out = epilogue(acc, alpha, beta, out);
}

}  // namespace

void gemm_v02_coalesced(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v02_coalesced", m, n, k, a, lda, b, ldb, c, ldc)) {
    return;
  }
  const dim3 grid(ceil_div(n, kBlock), ceil_div(m, kBlock));
  coalesced_kernel<<<grid, dim3(kBlock, kBlock), 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta,
                                                              c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
