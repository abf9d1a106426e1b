// GEMM split-K with a deterministic reduction: every slice of K writes its partial product to
// its own (M, N) plane of a workspace, then a second kernel sums the planes in slice order and
// applies alpha, beta. The result is bitwise the same on every run, at the price of writing and
// reading splits x M x N extra floats. gemm_splitk_atomic.cu is the atomicAdd counterpart.
// What it measured: cuda/gemm/README.md (the ladder, split-K).
#include "cuda/common/stream_workspace.h"
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_splitk_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::epilogue;

static_assert(gemm_version_has_tile("splitk_reduce", gemm_internal::kSplitBlock,
                                    gemm_internal::kSplitBlock),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

__global__ void reduce_kernel(int m, int n, int splits, float alpha, const float* workspace,
                              float beta, float* c, int ldc) {
  const int64_t total = int64_t{m} * n;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += workspace[s * total + e];  // (splits, M, N)
    float* target = c + (e / n) * ldc + e % n;                         // C (M, N)
    *target = epilogue(sum, alpha, beta, target);
  }
}

}  // namespace

void gemm_splitk_reduce(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  using namespace gemm_internal;
  if (!check_arguments("gemm_splitk_reduce", m, n, k, a, lda, b, ldb, c, ldc)) return;
  const SplitPlan plan = plan_splits(m, n, k);
  const int64_t total = int64_t{m} * n;
  float* partials = static_cast<float*>(
      stream_workspace(stream, static_cast<size_t>(plan.splits) * total * sizeof(float),
                       Workspace::SplitK)
          .data);
  const dim3 grid(ceil_div(n, kSplitBlock), ceil_div(m, kSplitBlock), plan.splits);
  splitk_partial_kernel<false>
      <<<grid, kSplitThreads, 0, stream>>>(m, n, k, plan.slice, alpha, a, lda, b, ldb, partials, n);
  PA_CUDA_CHECK_LAUNCH();
  const int reduce_blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4096));
  reduce_kernel<<<reduce_blocks, 256, 0, stream>>>(m, n, plan.splits, alpha, partials, beta, c,
                                                   ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
