// GEMM ladder v09: cp.async multi-stage pipeline (sm_80+).
// Changes vs v08:
// - tiles move from global to shared memory with cp.async, never through registers: B as 16-byte
//   copies (masked edges through the copy's source size, which zero-fills the rest), A as 4-byte
//   copies that land transposed in the padded (16, 128 + 4) tile, so the inner loop keeps v08's
//   float4 reads of both operands;
// - three stages in dynamic shared memory (50 KB per block, two blocks per SM): the copies for
//   tile t + 2 are issued before the FMAs of tile t, one barrier per tile;
// - blocks are rasterised in groups of 8 block-rows, so blocks running together share rows of A
//   and columns of B in L2.
// What it measured (slower than v08), and why: cuda/gemm/README.md (the ladder, v09).
#include <mutex>

#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::copy_async_16;
using gemm_internal::copy_async_4;
using gemm_internal::copy_async_commit;
using gemm_internal::copy_async_wait;
using gemm_internal::store4;

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 16;
constexpr int kAStride = kBlockM + 4;  // padded row of the transposed A tile
constexpr int kStages = 3;
constexpr int kThreads = 256;
constexpr int kWarpM = 64;
constexpr int kWarpN = 32;
constexpr int kGroupRows = 8;  // block-rows per rasterisation group
constexpr int kATileFloats = kBlockK * kAStride;
constexpr int kStageFloats = kATileFloats + kBlockK * kBlockN;
constexpr int kSmemBytes = kStages * kStageFloats * sizeof(float);  // 49,920
static_assert(gemm_version_has_tile("v09_async_double_buffer", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

template <bool kVector>
__global__ void __launch_bounds__(kThreads, 2)
    async_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  extern __shared__ __align__(16) float smem[];  // kStages x [A (16, 132) | B (16, 128)]
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;

  // Grouped rasterisation: consecutive blocks walk down kGroupRows block-rows, then right.
  const int blocks_m = ceil_div(m, kBlockM), blocks_n = ceil_div(n, kBlockN);
  const int group_size = kGroupRows * blocks_n;
  const int group = blockIdx.x / group_size;
  const int first_block_m = group * kGroupRows;
  const int group_rows = min(blocks_m - first_block_m, kGroupRows);
  const int in_group = blockIdx.x % group_size;
  const int row0 = (first_block_m + in_group % group_rows) * kBlockM;
  const int col0 = (in_group / group_rows) * kBlockN;

  const int warp_row = (warp / 4) * kWarpM + (lane / 4) * 4;
  const int warp_col = (warp % 4) * kWarpN + (lane % 4) * 4;

  const auto load_tile = [&](int stage, int k0) {
    float* a_tile = smem + stage * kStageFloats;  // (16 of K, 128 rows + pad): A transposed
    float* b_tile = a_tile + kATileFloats;        // (16 of K, 128 columns)
#pragma unroll
    for (int i = 0; i < kBlockM * kBlockK / kThreads; ++i) {  // 8 words of A per thread
      const int e = tid + i * kThreads;
      const int r = e / kBlockK, kk = e % kBlockK;  // 16 lanes read 64 contiguous bytes of a row
      const int row = row0 + r, col = k0 + kk;
      const bool inside = row < m && col < k;
      copy_async_4(a_tile + kk * kAStride + r, inside ? a + int64_t{row} * lda + col : a,
                   inside ? 4 : 0);  // A (M, K)
    }
    if (kVector) {
#pragma unroll
      for (int i = 0; i < kBlockK * kBlockN / 4 / kThreads; ++i) {  // 2 float4 of B per thread
        const int e = tid + i * kThreads;
        const int kk = e / (kBlockN / 4), cc = (e % (kBlockN / 4)) * 4;
        const int row = k0 + kk, col = col0 + cc;
        const int bytes = row < k ? 4 * max(0, min(4, n - col)) : 0;
        copy_async_16(b_tile + kk * kBlockN + cc, bytes > 0 ? b + int64_t{row} * ldb + col : b,
                      bytes);  // B (K, N)
      }
    } else {
#pragma unroll
      for (int i = 0; i < kBlockK * kBlockN / kThreads; ++i) {  // 8 words of B per thread
        const int e = tid + i * kThreads;
        const int kk = e / kBlockN, cc = e % kBlockN;
        const int row = k0 + kk, col = col0 + cc;
        const bool inside = row < k && col < n;
        copy_async_4(b_tile + kk * kBlockN + cc, inside ? b + int64_t{row} * ldb + col : b,
                     inside ? 4 : 0);  // B (K, N)
      }
    }
  };

  float acc[8][8] = {};
  const int tiles = ceil_div(k, kBlockK);
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) load_tile(s, s * kBlockK);
    copy_async_commit();  // one group per tile, empty ones included, keeps the count simple
  }
  for (int t = 0; t < tiles; ++t) {
    copy_async_wait<kStages - 2>();  // tile t has landed (for this thread's copies)
    __syncthreads();                 // ... for every thread's; stage (t - 1) is free again
    const int next = t + kStages - 1;
    if (next < tiles) load_tile(next % kStages, next * kBlockK);
    copy_async_commit();
    const float* a_tile = smem + (t % kStages) * kStageFloats;
    const float* b_tile = a_tile + kATileFloats;
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      float a_frag[8];
      float b_frag[8];
      *reinterpret_cast<float4*>(&a_frag[0]) =
          *reinterpret_cast<const float4*>(a_tile + kk * kAStride + warp_row);
      *reinterpret_cast<float4*>(&a_frag[4]) =
          *reinterpret_cast<const float4*>(a_tile + kk * kAStride + warp_row + 32);
      *reinterpret_cast<float4*>(&b_frag[0]) =
          *reinterpret_cast<const float4*>(b_tile + kk * kBlockN + warp_col);
      *reinterpret_cast<float4*>(&b_frag[4]) =
          *reinterpret_cast<const float4*>(b_tile + kk * kBlockN + warp_col + 16);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
  }
  copy_async_wait<0>();

  const bool vector_store =
      kVector && (ldc % 4 == 0) && (reinterpret_cast<std::uintptr_t>(c) % 16 == 0);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = row0 + warp_row + (i / 4) * 32 + i % 4;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = col0 + warp_col + half * 16;
      const float* v = &acc[i][half * 4];
      const float4 value = make_float4(v[0], v[1], v[2], v[3]);
      if (vector_store) {
        store4<true>(c, ldc, row, col, m, n, value, alpha, beta, nullptr);
      } else {
        store4<false>(c, ldc, row, col, m, n, value, alpha, beta, nullptr);
      }
    }
  }
}

template <bool kVector>
void launch(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
            float beta, float* c, int ldc, cudaStream_t stream) {
  static std::once_flag raised;  // above 48 KB of dynamic shared memory needs an opt-in
  std::call_once(raised, [] {
    PA_CUDA_CHECK(cudaFuncSetAttribute(async_kernel<kVector>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  });
  const int blocks = ceil_div(m, kBlockM) * ceil_div(n, kBlockN);
  async_kernel<kVector>
      <<<blocks, kThreads, kSmemBytes, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void gemm_v09_async_double_buffer(int m, int n, int k, float alpha, const float* a, int lda,
                                  const float* b, int ldb, float beta, float* c, int ldc,
                                  cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_v09_async_double_buffer", m, n, k, a, lda, b, ldb, c,
                                      ldc)) {
    return;
  }
  // A is always copied word by word; only B decides between 16-byte and 4-byte copies (C's
  // alignment is checked in the kernel).
  if (gemm_internal::rows_vectorizable(b, ldb)) {
    launch<true>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
  } else {
    launch<false>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
  }
}

}  // namespace pa::cuda
