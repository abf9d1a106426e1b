// v13_bf16_mma: the first tensor-core rung (gemm_bf16.h). Work and data per 128 x 128 block tile
// and 32-deep k step: 128 * 128 * 32 multiply-adds (2 * 2^19 flops) from 2 * 128 * 32 bf16
// (16 KB) of shared memory, so 64 flops per byte of shared traffic before ldmatrix reuse.
//
// - 8 warps in a 2 (m) x 4 (n) grid, each owning a 64 x 32 tile of C: 4 x 4 mma.sync m16n8k16
//   accumulators (64 fp32 registers a thread) per 16-deep step.
// - A (m, k) and B (k, n) tiles go to shared memory through cp.async, 16 bytes a copy, two
//   stages: the next k tile is in flight while this one is multiplied. Rows are padded by 8
//   elements (A: 40, B: 136) so that the eight 16-byte rows an ldmatrix reads fall in distinct
//   banks.
// - A fragments come from ldmatrix.x4; B, stored with k as its row index, from ldmatrix.x4.trans,
//   which hands each lane the (k, n) pairs of the mma's "col" B layout (cuda/common/mma_bf16.cuh
//   describes the fragment layouts).
// - kVector (A and B 16-byte aligned, lda, ldb, k and n multiples of 8) uses cp.async, copies
//   outside the matrix zero-filled; otherwise every element is loaded with its own bounds check
//   (awkward sizes: k = 1, n = 13). Transposed operands (A given as A^T (k, m), B as B^T (n, k):
//   gemm_bf16's fallback where the copy engine cannot read them) take the element loads, each
//   thread walking the stored matrix's rows so that the reads stay coalesced.
// - The epilogue (gemm_bf16_common.cuh) writes fp32 or bf16, adds the bias and applies GELU.
#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/mma_bf16.cuh"
#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"

namespace pa::cuda {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kBlockM = 128, kBlockN = 128, kBlockK = 32;
constexpr int kWarpM = 64, kWarpN = 32;
constexpr int kThreads = 256;          // 8 warps: 2 along m, 4 along n
constexpr int kStrideA = kBlockK + 8;  // elements per shared row of the A tile (m rows)
constexpr int kStrideB = kBlockN + 8;  // elements per shared row of the B tile (k rows)
constexpr int kTilesM = kWarpM / 16, kTilesN = kWarpN / 8;
static_assert(kBlockM / kWarpM * (kBlockN / kWarpN) * 32 == kThreads);

struct SharedTiles {
  bf16 a[2][kBlockM * kStrideA];
  bf16 b[2][kBlockK * kStrideB];
};

// The (kBlockM x kBlockK) tile of op(A) at (m0, k0) and the (kBlockK x kBlockN) tile of op(B)
// at (k0, n0) into stage `s`: cp.async 16-byte chunks (kVector, A and B untransposed) or checked
// element loads.
template <bool kVector, bool kTransA, bool kTransB>
__device__ __forceinline__ void load_tiles(SharedTiles& tiles, int s, const bf16* a, int lda,
                                           const bf16* b, int ldb, int m, int n, int k, int m0,
                                           int n0, int k0) {
  static_assert(!kVector || (!kTransA && !kTransB), "cp.async reads untransposed operands");
  if constexpr (kVector) {
    constexpr int kChunksA = kBlockM * kBlockK / 8, kChunksB = kBlockK * kBlockN / 8;
#pragma unroll
    for (int i = threadIdx.x; i < kChunksA; i += kThreads) {
      const int r = i / (kBlockK / 8), col = (i % (kBlockK / 8)) * 8;
      const bool inside = m0 + r < m && k0 + col < k;
      async_copy::copy_async_16(async_copy::shared_address(&tiles.a[s][r * kStrideA + col]),
                                inside ? a + int64_t(m0 + r) * lda + k0 + col : a, inside ? 16 : 0);
    }
#pragma unroll
    for (int i = threadIdx.x; i < kChunksB; i += kThreads) {
      const int r = i / (kBlockN / 8), col = (i % (kBlockN / 8)) * 8;
      const bool inside = k0 + r < k && n0 + col < n;
      async_copy::copy_async_16(async_copy::shared_address(&tiles.b[s][r * kStrideB + col]),
                                inside ? b + int64_t(k0 + r) * ldb + n0 + col : b, inside ? 16 : 0);
    }
  } else {
    const bf16 zero = __float2bfloat16(0.0f);
    for (int i = threadIdx.x; i < kBlockM * kBlockK; i += kThreads) {
      // (r, col) of the tile of op(A); consecutive threads take consecutive stored elements.
      const int r = kTransA ? i % kBlockM : i / kBlockK, col = kTransA ? i / kBlockM : i % kBlockK;
      const int64_t at =
          kTransA ? int64_t(k0 + col) * lda + m0 + r : int64_t(m0 + r) * lda + k0 + col;
      tiles.a[s][r * kStrideA + col] = m0 + r < m && k0 + col < k ? a[at] : zero;
    }
    for (int i = threadIdx.x; i < kBlockK * kBlockN; i += kThreads) {
      const int r = kTransB ? i % kBlockK : i / kBlockN, col = kTransB ? i / kBlockK : i % kBlockN;
      const int64_t at =
          kTransB ? int64_t(n0 + col) * ldb + k0 + r : int64_t(k0 + r) * ldb + n0 + col;
      tiles.b[s][r * kStrideB + col] = k0 + r < k && n0 + col < n ? b[at] : zero;
    }
  }
}

template <bool kVector, bool kTransA, bool kTransB, typename Out>
__global__ void __launch_bounds__(kThreads)
    gemm_bf16_mma_kernel(int m, int n, int k, const bf16* a, int lda, const bf16* b, int ldb,
                         const bf16_gemm::Epilogue<Out> e) {
  __shared__ __align__(16) SharedTiles tiles;
  const int m0 = blockIdx.y * kBlockM, n0 = blockIdx.x * kBlockN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_m = (warp / (kBlockN / kWarpN)) * kWarpM;  // the warp's rows in the block tile
  const int warp_n = (warp % (kBlockN / kWarpN)) * kWarpN;  // and its columns
  float acc[kTilesM][kTilesN][4] = {};

  const int k_tiles = (k + kBlockK - 1) / kBlockK;
  if (k_tiles > 0)
    load_tiles<kVector, kTransA, kTransB>(tiles, 0, a, lda, b, ldb, m, n, k, m0, n0, 0);
  if constexpr (kVector) async_copy::copy_async_commit();
  for (int t = 0; t < k_tiles; ++t) {
    const int s = t % 2;
    if (t + 1 < k_tiles) {  // the next tile into the other stage, freed by the last barrier
      load_tiles<kVector, kTransA, kTransB>(tiles, s ^ 1, a, lda, b, ldb, m, n, k, m0, n0,
                                            (t + 1) * kBlockK);
    }
    if constexpr (kVector) {
      async_copy::copy_async_commit();
      async_copy::copy_async_wait<1>();  // this tile's group has landed
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBlockK; kk += 16) {
      unsigned a_frag[kTilesM][4], b_frag[kTilesN][2];
      // ldmatrix.x4: lane l addresses row l % 8 of 8 x 8 matrix l / 8.
      const int matrix = lane / 8, row = lane % 8;
#pragma unroll
      for (int i = 0; i < kTilesM; ++i) {  // matrices: (rows 0-7 | 8-15) x (cols 0-7 | 8-15)
        const bf16* p = &tiles.a[s][(warp_m + i * 16 + row + (matrix % 2) * 8) * kStrideA + kk +
                                    (matrix / 2) * 8];
        mma_bf16::ldmatrix_x4(a_frag[i], async_copy::shared_address(p));
      }
#pragma unroll
      for (int j = 0; j < kTilesN; j += 2) {  // two n-tiles a load: (k 0-7 | 8-15) x (n | n + 8)
        const bf16* p = &tiles.b[s][(kk + row + (matrix % 2) * 8) * kStrideB + warp_n + j * 8 +
                                    (matrix / 2) * 8];
        unsigned r[4];
        mma_bf16::ldmatrix_x4_trans(r, async_copy::shared_address(p));
        b_frag[j][0] = r[0];
        b_frag[j][1] = r[1];
        b_frag[j + 1][0] = r[2];
        b_frag[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < kTilesM; ++i) {
#pragma unroll
        for (int j = 0; j < kTilesN; ++j)
          mma_bf16::mma(acc[i][j], a_frag[i], b_frag[j][0], b_frag[j][1]);
      }
    }
    __syncthreads();  // every warp is done with stage s before it is refilled
  }

  // C fragments: c0, c1 = (row g, cols 2t, 2t + 1), c2, c3 = row g + 8.
  const int g = lane / 4, t4 = lane % 4;
  const bool pairs = bf16_gemm::pairs_aligned(e);
#pragma unroll
  for (int i = 0; i < kTilesM; ++i) {
#pragma unroll
    for (int j = 0; j < kTilesN; ++j) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = m0 + warp_m + i * 16 + g + half * 8;
        const int col = n0 + warp_n + j * 8 + 2 * t4;
        if (row >= m || col >= n) continue;
        bf16_gemm::store_pair(e, pairs, row, col, n, acc[i][j][2 * half], acc[i][j][2 * half + 1]);
      }
    }
  }
}

bool aligned16(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % 16 == 0; }

template <bool kVector, bool kTransA, bool kTransB, typename Out>
void launch(int m, int n, int k, const bf16* a, int lda, const bf16* b, int ldb,
            const bf16_gemm::Epilogue<Out>& e, cudaStream_t stream) {
  const dim3 grid((n + kBlockN - 1) / kBlockN, (m + kBlockM - 1) / kBlockM);
  gemm_bf16_mma_kernel<kVector, kTransA, kTransB, Out>
      <<<grid, kThreads, 0, stream>>>(m, n, k, a, lda, b, ldb, e);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace

namespace bf16_gemm {

template <typename Out>
void mma_sync_gemm(bool trans_a, bool trans_b, int m, int n, int k, const bf16* a, int lda,
                   const bf16* b, int ldb, const Epilogue<Out>& e, cudaStream_t stream) {
  if (trans_a && trans_b) return launch<false, true, true>(m, n, k, a, lda, b, ldb, e, stream);
  if (trans_a) return launch<false, true, false>(m, n, k, a, lda, b, ldb, e, stream);
  if (trans_b) return launch<false, false, true>(m, n, k, a, lda, b, ldb, e, stream);
  const bool vector =
      aligned16(a) && aligned16(b) && lda % 8 == 0 && ldb % 8 == 0 && k % 8 == 0 && n % 8 == 0;
  if (vector) return launch<true, false, false>(m, n, k, a, lda, b, ldb, e, stream);
  launch<false, false, false>(m, n, k, a, lda, b, ldb, e, stream);
}

template void mma_sync_gemm<float>(bool, bool, int, int, int, const bf16*, int, const bf16*, int,
                                   const Epilogue<float>&, cudaStream_t);
template void mma_sync_gemm<bf16>(bool, bool, int, int, int, const bf16*, int, const bf16*, int,
                                  const Epilogue<bf16>&, cudaStream_t);

}  // namespace bf16_gemm

void gemm_v13_bf16_mma(int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b,
                       int ldb, float beta, float* c, int ldc, const float* bias,
                       cudaStream_t stream) {
  if (!bf16_gemm::check_arguments("gemm_v13_bf16_mma", m, n, k, a, lda, b, ldb, c, ldc)) return;
  bf16_gemm::mma_sync_gemm(false, false, m, n, k, a, lda, b, ldb,
                           bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false}, stream);
}

}  // namespace pa::cuda
