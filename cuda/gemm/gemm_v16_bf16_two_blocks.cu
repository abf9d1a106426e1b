// v16_bf16_two_blocks: v15's kernel (gemm_warp_specialized.cuh) in 128 x 128 tiles, so that two
// blocks share each SM. v14 beat v15 on the transformer's K = 768 shapes: counting showed equal
// waves, so what v14 had left was its second block per SM, which multiplies while the other
// writes its tile of C. v16 keeps v15's producer, mbarrier ring and persistent grid and takes that
// back:
// - A 128 x 128 x 64 block step: 2^20 multiply-adds from 32 KB of shared memory; three stages take
//   96 KB, two blocks an SM.
// - The producer is a single warp (288 threads a block) and no registers move: the consumers hold
//   64 accumulators a thread within the 112 registers two blocks leave each thread.
// - The grid is as many blocks as the SMs keep resident (two each), walking the tiles in v15's
//   grouped order.
#include <cuda_bf16.h>

#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/gemm_warp_specialized.cuh"

namespace pa::cuda {

void gemm_v16_bf16_two_blocks(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                              const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                              const float* bias, cudaStream_t stream) {
  if (!bf16_gemm::hopper_rung_launches("gemm_v16_bf16_two_blocks", m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, bias, stream)) {
    return;
  }
  warp_specialized::launch<128, false, false>(
      m, n, k, a, lda, b, ldb, bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false},
      stream);
}

}  // namespace pa::cuda
