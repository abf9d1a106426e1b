// v18_bf16_stream_k: v15's kernel (gemm_warp_specialized.cuh, 128 x 256 tiles) with the last,
// partial wave of tiles split along k among all the SMs (stream-K for the tail).
// - Counting waves showed what the ladder lost past the products: 4096^3 is 512 tiles for 132
//   SMs, 3.88 waves, so the fourth takes as long as a full one with 16 SMs idle; 8192 x 768 x 768
//   is 192 tiles, 1.45 waves, and its second wave leaves half the SMs idle.
// - The tiles of full waves go one to a block as in v15. The k tiles of the rest, laid end to
//   end, are cut into one equal range per block (at least 8 k tiles each): a block whose range
//   stops inside a tile leaves its fp32 partial sums in a workspace slot and raises a flag; the
//   block that finishes the tile waits for those flags, adds the slots and writes C.
// - Each block takes its later piece first, so every partial sum is handed on before its block
//   waits for anyone: no chain of waits. The workspace (a 128 x 256 fp32 slot a block, and the
//   flags) is the stream's kept buffer (cuda/common/stream_workspace.h).
#include <cuda_bf16.h>

#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/gemm_warp_specialized.cuh"

namespace pa::cuda {

void gemm_v18_bf16_stream_k(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                            const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                            const float* bias, cudaStream_t stream) {
  if (!bf16_gemm::hopper_rung_launches("gemm_v18_bf16_stream_k", m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, bias, stream)) {
    return;
  }
  warp_specialized::launch<256, false, false>(
      m, n, k, a, lda, b, ldb, bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false}, stream,
      {}, warp_specialized::Schedule::StreamKTail);
}

}  // namespace pa::cuda
