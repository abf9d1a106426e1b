// v15_bf16_warp_specialized: v14's wgmma and copy engine with the roles split and the grid made
// persistent: the kernel of gemm_warp_specialized.cuh in 128 x 256 tiles.
// - One producer warpgroup (one thread of it, in fact) only issues copies; two consumer
//   warpgroups only multiply, synchronised per stage by `full` and `empty` mbarriers instead of a
//   block-wide barrier.
// - Registers move from the producer to the consumers (setmaxnreg): each consumer holds a 64 x 256
//   accumulator tile (128 fp32 registers a thread).
// - A 128 x 256 x 64 block step: 2^21 multiply-adds from 48 KB of shared memory (v14: 2^20 from
//   32 KB); four stages take 192 KB, one block per SM.
// - Persistent: one block per SM walks the output tiles in an L2-friendly grouped order.
#include <cuda_bf16.h>

#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/gemm_warp_specialized.cuh"

namespace pa::cuda {

void gemm_v15_bf16_warp_specialized(int m, int n, int k, float alpha, const __nv_bfloat16* a,
                                    int lda, const __nv_bfloat16* b, int ldb, float beta, float* c,
                                    int ldc, const float* bias, cudaStream_t stream) {
  if (!bf16_gemm::hopper_rung_launches("gemm_v15_bf16_warp_specialized", m, n, k, alpha, a, lda, b,
                                       ldb, beta, c, ldc, bias, stream)) {
    return;
  }
  warp_specialized::launch<256, false, false>(
      m, n, k, a, lda, b, ldb, bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false},
      stream);
}

}  // namespace pa::cuda
