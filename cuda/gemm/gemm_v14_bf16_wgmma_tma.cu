// v14_bf16_wgmma_tma: the first Hopper rung (gemm_bf16.h). Two changes from v13, both moving
// work off the threads:
// - Products by wgmma (wgmma.cuh): a warpgroup of 4 warps multiplies a 64 x 128 tile of C by
//   reading A and B straight from shared memory (no ldmatrix, no fragments in registers), 16
//   deep per instruction, asynchronously.
// - Loads by the tensor memory accelerator (tma.cuh): one thread issues a copy of a whole box per
//   operand and stage; the copy engine writes it in the 128-byte swizzled layout wgmma reads and
//   fills what lies outside the matrix with zeros (awkward m, n, k need no checked path); an
//   mbarrier per stage counts the bytes landed.
// Work per 128 x 128 x 64 block step: 2^20 multiply-adds from 32 KB of shared memory. A ring of
// kStages stages (96 KB) keeps kStages - 1 tiles in flight; two blocks fit on an SM. Every warp
// both computes and waits: the block synchronises once per k tile so that the stage read in this
// step can be refilled in the next (v15 separates the roles).
//
// Layouts in shared memory: A (m, k) row-major is K-major for wgmma: a box of 128 rows of 64
// elements (128 bytes), the k-th 16-wide step 32 k bytes into each row. B (k, n) row-major is
// MN-major (wgmma transposes it on the fly): two boxes of 64 k-rows x 64 columns, one per half
// of the 128 columns, the k-th step 16 rows (2048 bytes) on.
#include <cuda.h>
#include <cuda_bf16.h>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mbarrier.cuh"
#include "cuda/common/tensor_map.h"
#include "cuda/common/tma.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"

namespace pa::cuda {
namespace {

constexpr int kBlockM = 128, kBlockN = 128, kBlockK = 64, kStages = 3;
constexpr int kThreads = 256;                           // two warpgroups of 64 rows each
constexpr int kTileA = kBlockM * kBlockK * 2;           // bytes of a stage's A box
constexpr int kTileB = kBlockK * kBlockN * 2;           // and of its B boxes
[[maybe_unused]] constexpr int kHalfB = kBlockK * 128;  // one 64-column B box
constexpr int kSharedBytes = 1024 + kStages * (kTileA + kTileB) + 8 * kStages;

__global__ void __launch_bounds__(kThreads, 2)
    gemm_wgmma_tma_kernel(const __grid_constant__ CUtensorMap map_a,
                          const __grid_constant__ CUtensorMap map_b, int m, int n, int k,
                          float alpha, float beta, float* c, int ldc, const float* bias) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char shared[];
  const unsigned tiles_a = (async_copy::shared_address(shared) + 1023) & ~1023u;
  const unsigned tiles_b = tiles_a + kStages * kTileA;
  const unsigned full = tiles_b + kStages * kTileB;  // kStages mbarriers
  const int m0 = blockIdx.y * kBlockM, n0 = blockIdx.x * kBlockN;
  const int warpgroup = threadIdx.x / 128;
  const int k_tiles = (k + kBlockK - 1) / kBlockK;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) mbarrier::init(full + 8 * s, 1);
    tma::fence_barrier_init();
  }
  __syncthreads();
  // Tile t goes to stage t % kStages, completing that barrier's phase t / kStages.
  const auto load = [&](int t) {
    const int s = t % kStages;
    tma::expect_bytes(full + 8 * s, kTileA + kTileB);
    tma::load_2d(tiles_a + s * kTileA, &map_a, t * kBlockK, m0, full + 8 * s);
#pragma unroll
    for (int h = 0; h < kBlockN / 64; ++h) {
      tma::load_2d(tiles_b + s * kTileB + h * kHalfB, &map_b, n0 + 64 * h, t * kBlockK,
                   full + 8 * s);
    }
  };
  if (threadIdx.x == 0) {
    for (int t = 0; t < kStages - 1 && t < k_tiles; ++t) load(t);
  }

  float acc[kBlockN / 2] = {};
  for (int t = 0; t < k_tiles; ++t) {
    // The stage of tile t + kStages - 1 was read in step t - 1, which every warp has finished.
    if (threadIdx.x == 0 && t + kStages - 1 < k_tiles) load(t + kStages - 1);
    const int s = t % kStages;
    mbarrier::wait(full + 8 * s, (t / kStages) & 1);
    const unsigned a_tile = tiles_a + s * kTileA + warpgroup * 64 * 128;
    const unsigned b_tile = tiles_b + s * kTileB;
    wgmma::fence_operands(acc);
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) {
      const uint64_t a = wgmma::make_descriptor(a_tile + 32 * kk, 16, 1024);
      const uint64_t b = wgmma::make_descriptor(b_tile + 2048 * kk, kHalfB, 1024);
      wgmma::mma_ss<kBlockN, 0, 1>(acc, a, b, 1);
    }
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(acc);
    __syncthreads();
  }
  bf16_gemm::store_accumulators<kBlockN>(
      acc, m0 + warpgroup * 64, n0, m, n,
      bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false});
#endif
}

}  // namespace

void gemm_v14_bf16_wgmma_tma(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                             const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                             const float* bias, cudaStream_t stream) {
  if (!bf16_gemm::hopper_rung_launches("gemm_v14_bf16_wgmma_tma", m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, bias, stream)) {
    return;
  }
  const CUtensorMap map_a = make_tensor_map_bf16(a, m, k, lda, kBlockM, kBlockK);
  const CUtensorMap map_b = make_tensor_map_bf16(b, k, n, ldb, kBlockK, 64);
  raise_shared_limit<gemm_wgmma_tma_kernel>(kSharedBytes);
  const dim3 grid((n + kBlockN - 1) / kBlockN, (m + kBlockM - 1) / kBlockM);
  gemm_wgmma_tma_kernel<<<grid, kThreads, kSharedBytes, stream>>>(map_a, map_b, m, n, k, alpha,
                                                                  beta, c, ldc, bias);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
