// GEMM split-K with atomicAdd: C is first scaled by beta (set to zero when beta == 0), then every
// slice of K adds alpha * its partial product into C with atomicAdd. One pass over C per slice
// and no workspace, but the order of the additions, and so the rounding of the result, changes
// from run to run. gemm_splitk_reduce.cu is the deterministic counterpart.
// What it measured: cuda/gemm/README.md (the ladder, split-K).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_splitk_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;

static_assert(gemm_version_has_tile("splitk_atomic", gemm_internal::kSplitBlock,
                                    gemm_internal::kSplitBlock),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void scale_kernel(int m, int n, float beta, float* c, int ldc) {
  const int64_t total = int64_t{m} * n;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    float* target = c + (e / n) * ldc + e % n;  // C (M, N)
    *target = beta == 0.0f ? 0.0f : beta * *target;
  }
}

}  // namespace

void gemm_splitk_atomic(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  using namespace gemm_internal;
  if (!check_arguments("gemm_splitk_atomic", m, n, k, a, lda, b, ldb, c, ldc)) return;
  const int64_t total = int64_t{m} * n;
  const int scale_blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4096));
  scale_kernel<<<scale_blocks, 256, 0, stream>>>(m, n, beta, c, ldc);
  PA_CUDA_CHECK_LAUNCH();
  if (k == 0) return;
  const SplitPlan plan = plan_splits(m, n, k);
  const dim3 grid(ceil_div(n, kSplitBlock), ceil_div(m, kSplitBlock), plan.splits);
  splitk_partial_kernel<true>
      <<<grid, kSplitThreads, 0, stream>>>(m, n, k, plan.slice, alpha, a, lda, b, ldb, c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
