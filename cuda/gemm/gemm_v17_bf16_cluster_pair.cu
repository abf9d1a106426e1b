// v17_bf16_cluster_pair: v15 (gemm_warp_specialized.cuh, 128 x 256 tiles) launched in thread-block
// clusters of two blocks on vertically adjacent tiles, which share their columns of B. Each
// block's producer loads its own 128 rows of A and half of the 64 x 256 B tile, multicast by the
// copy engine into the shared memory of both blocks (TMA .multicast::cluster), so each B byte
// leaves L2 once per pair: per block and k step 16 KB of A + 16 KB of B instead of 16 + 32.
// cuBLAS's fastest kernel at n = 4096 runs in 1 x 2 clusters (results/gpu/h100/
// gemm_bf16_ncu_4096.txt: nvjet ..._1x2_...), and v15's L2 throughput was the busiest memory unit.
// The cost: a stage is refilled only when the consumers of both blocks have freed it (their
// arrivals cross the cluster), so the pair advances at the pace of the slower block.
#include <cuda_bf16.h>

#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/gemm_warp_specialized.cuh"

namespace pa::cuda {

void gemm_v17_bf16_cluster_pair(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                                const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                                const float* bias, cudaStream_t stream) {
  if (!bf16_gemm::hopper_rung_launches("gemm_v17_bf16_cluster_pair", m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, bias, stream)) {
    return;
  }
  warp_specialized::launch<256, false, false, float, __nv_bfloat16, 2>(
      m, n, k, a, lda, b, ldb, bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false},
      stream);
}

}  // namespace pa::cuda
