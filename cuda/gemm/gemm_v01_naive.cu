// GEMM ladder v01: naive. One thread per element of C, each reading a full row of A and a full
// column of B from global memory. threadIdx.x walks down a column of C, so the 32 threads of a
// warp read 32 different rows of A and write 32 different rows of C: no access is coalesced.
// What it measured, and why the next version: cuda/gemm/README.md (the ladder, v01).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

constexpr int kBlock = 32;
static_assert(gemm_version_has_tile("v01_naive", kBlock, kBlock),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void naive_kernel(int m, int n, int k, float alpha, const float* a, int lda,
                             const float* b, int ldb, float beta, float* c, int ldc) {
  const int row = blockIdx.x * kBlock + threadIdx.x;  // consecutive threads: consecutive rows
  const int col = blockIdx.y * kBlock + threadIdx.y;
  if (row >= m || col >= n) return;
  float acc = 0.0f;
  for (int i = 0; i < k; ++i) {
    acc += a[int64_t{row} * lda + i] * b[int64_t{i} * ldb + col];  // A (M, K) row, B (K, N) col
  }
  float* out = c + int64_t{row} * ldc + col;  // C (M, N)
  *out = epilogue(acc, alpha, beta, out);
}

}  // namespace

void gemm_v01_naive(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                    int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v01_naive", m, n, k, a, lda, b, ldb, c, ldc)) return;
  const dim3 grid(ceil_div(m, kBlock), ceil_div(n, kBlock));
  naive_kernel<<<grid, dim3(kBlock, kBlock), 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c,
                                                          ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
