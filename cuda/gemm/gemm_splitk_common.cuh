// Split-K, shared by gemm_splitk_atomic.cu and gemm_splitk_reduce.cu: blockIdx.z takes one slice
// of K and computes that slice's partial product for a 64x64 tile of C (256 threads, 4x4 per
// thread, scalar masked loads: the point of the pair is how the partials are summed, not the
// tile). Useful when M and N are small and K is long: the grid then has too few tiles to fill
// the GPU, and splitting K multiplies the blocks.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>

#include "cuda/common/check.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda::gemm_internal {

constexpr int kSplitBlock = 64;  // tile of C
constexpr int kSplitBlockK = 16;
constexpr int kSplitThreads = 256;

struct SplitPlan {
  int splits;  // slices of K (gridDim.z)
  int slice;   // length of a slice, a multiple of kSplitBlockK
};

// Aims for about four blocks per SM in total, with slices of at least 256 along K.
inline SplitPlan plan_splits(int m, int n, int k) {
  int device = 0, sms = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  PA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int tiles = ceil_div(m, kSplitBlock) * ceil_div(n, kSplitBlock);
  int splits = std::clamp(ceil_div(4 * sms, tiles), 1, std::max(1, std::min(64, k / 256)));
  const int slice = ceil_div(ceil_div(std::max(k, 1), splits), kSplitBlockK) * kSplitBlockK;
  splits = ceil_div(std::max(k, 1), slice);
  return {splits, slice};
}

// kAtomic: atomicAdd(C, alpha * partial); else partial (M, N) -> workspace[split] (dense rows).
template <bool kAtomic>
__global__ void __launch_bounds__(kSplitThreads)
    splitk_partial_kernel(int m, int n, int k, int slice, float alpha, const float* a, int lda,
                          const float* b, int ldb, float* out, int ld_out) {
  __shared__ float a_tile[kSplitBlockK][kSplitBlock + 1];  // A transposed: (16 of K, 64 rows)
  __shared__ float b_tile[kSplitBlockK][kSplitBlock];      // (16 of K, 64 columns)
  const int tid = threadIdx.x;
  const int row0 = blockIdx.y * kSplitBlock;
  const int col0 = blockIdx.x * kSplitBlock;
  const int k_begin = blockIdx.z * slice;
  const int k_end = min(k, k_begin + slice);
  const int tx = tid % 16, ty = tid / 16;  // outputs (ty + 16 i, tx + 16 j): coalesced stores
  float acc[4][4] = {};
  for (int k0 = k_begin; k0 < k_end; k0 += kSplitBlockK) {
#pragma unroll
    for (int i = 0; i < kSplitBlock * kSplitBlockK / kSplitThreads; ++i) {  // 4 of each tile
      const int e = tid + i * kSplitThreads;
      const int ar = e / kSplitBlockK, ak = e % kSplitBlockK;
      const int row = row0 + ar, col = k0 + ak;
      a_tile[ak][ar] = (row < m && col < k_end) ? a[int64_t{row} * lda + col] : 0.0f;  // A (M, K)
      const int bk = e / kSplitBlock, bc = e % kSplitBlock;
      const int brow = k0 + bk, bcol = col0 + bc;
      b_tile[bk][bc] = (brow < k_end && bcol < n) ? b[int64_t{brow} * ldb + bcol] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kSplitBlockK; ++kk) {
      float a_frag[4], b_frag[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a_frag[i] = a_tile[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b_frag[j] = b_tile[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
    __syncthreads();
  }
  float* slice_out = kAtomic ? out : out + int64_t{blockIdx.z} * m * ld_out;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = row0 + ty + 16 * i;
    if (row >= m) break;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = col0 + tx + 16 * j;
      if (col >= n) continue;
      float* target = slice_out + int64_t{row} * ld_out + col;  // (M, N)
      if (kAtomic) {
        atomicAdd(target, alpha * acc[i][j]);
      } else {
        *target = acc[i][j];
      }
    }
  }
}

}  // namespace pa::cuda::gemm_internal
