// The bf16 tensor-core rungs of the GEMM ladder (issue 20): C (m, n) fp32 = alpha * A B + beta * C
// (+ bias (n) on every row, when not null), A (m, k) and B (k, n) row-major bf16, accumulated in
// fp32. One file per rung, as the fp32 ladder (gemm.h):
//   v13_bf16_mma: mma.sync m16n8k16 (sm80 and later), a 128 x 128 x 32 block tile of 8 warps
//   (64 x 32 each), operands through a two-stage cp.async ring and ldmatrix.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace pa::cuda {

void gemm_v13_bf16_mma(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                       const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                       const float* bias, cudaStream_t stream);

}  // namespace pa::cuda
