// GEMM ladder v10: cp.async with 16-byte copies only. Changes vs v09:
// - A is copied untransposed, (128 rows, 32 of K), in 16-byte pieces like B: 4 copies of A per
//   thread per 32 of K instead of 16, from source pointers computed once and advanced per tile;
// - the inner loop reads a thread's 8 rows of A as float4 along K (4 steps of K per read) and B
//   as float4 along N, so shared reads per FMA stay those of v08;
// - the 16-byte slots of each A row are XOR-swizzled with (row / 4) % 8: the 8 distinct rows a
//   warp reads at once (4 apart) fall in 8 different bank groups, where a padded layout puts
//   them in 2 (a conflict if the hardware serves a float4 read by distinct addresses rather
//   than by quarter-warps); the copies stay conflict-free;
// - K steps by 32 (three stages, 96 KB per block, two blocks per SM): half the barriers and
//   loop overhead per FMA of BK = 16;
// - the epilogue can add a bias per column (gemm_v10_async_wide_copies_bias).
// A or B not 16-byte aligned: word-by-word copies (same shared layout); C: scalar stores.
// What it measured (still slower than v08), and why: cuda/gemm/README.md (the ladder, v10).
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
constexpr int kBlockK = 32;
constexpr int kStages = 3;
constexpr int kThreads = 256;
constexpr int kWarpM = 64;
constexpr int kWarpN = 32;
constexpr int kGroupRows = 8;
constexpr int kATileFloats = kBlockM * kBlockK;
constexpr int kStageFloats = kATileFloats + kBlockK * kBlockN;
constexpr int kSmemBytes = kStages * kStageFloats * sizeof(float);  // 98,304
constexpr int kACopies = kBlockM * kBlockK / 4 / kThreads;          // 16-byte copies: 4
constexpr int kBCopies = kBlockK * kBlockN / 4 / kThreads;          // 4
static_assert(gemm_version_has_tile("v10_async_wide_copies", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

// Offset of A (row, col) in the swizzled (128, 32) tile: 16-byte slot (col / 4) ^ ((row / 4) % 8).
__device__ __forceinline__ int a_offset(int row, int col) {
  return row * kBlockK + (((col / 4) ^ (row / 4)) & 7) * 4 + col % 4;
}

template <bool kVector>
__global__ void __launch_bounds__(kThreads, 2)
    wide_copies_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, const float* bias) {
  extern __shared__ __align__(16) float smem[];  // kStages x [A (128, 32) | B (32, 128)]
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;

  const int blocks_m = ceil_div(m, kBlockM), blocks_n = ceil_div(n, kBlockN);
  const int group_size = kGroupRows * blocks_n;
  const int first_block_m = (blockIdx.x / group_size) * kGroupRows;
  const int group_rows = min(blocks_m - first_block_m, kGroupRows);
  const int in_group = blockIdx.x % group_size;
  const int row0 = (first_block_m + in_group % group_rows) * kBlockM;
  const int col0 = (in_group / group_rows) * kBlockN;

  const int warp_row = (warp / 4) * kWarpM + (lane / 4) * 4;
  const int warp_col = (warp % 4) * kWarpN + (lane % 4) * 4;
  const int a_key = (warp_row / 4) & 7;

  // Vector copies: thread tid copies A rows tid / 8 + 32 i, K offset (tid % 8) * 4, and B rows
  // tid / 32 + 8 i, columns (tid % 32) * 4, from source pointers that advance one tile per call
  // (tiles are loaded in order).
  const int a_row = tid / 8, a_col = (tid % 8) * 4;
  const int b_row = tid / 32, b_col = (tid % 32) * 4;
  const float* a_source = a + int64_t{min(row0 + a_row, m - 1)} * lda + a_col;  // A (M, K)
  const float* b_source = b + int64_t{b_row} * ldb + col0 + b_col;              // B (K, N)
  const int b_bytes = 4 * max(0, min(4, n - col0 - b_col));

  const auto load_tile = [&](int stage, int k0) {
    float* a_tile = smem + stage * kStageFloats;
    float* b_tile = a_tile + kATileFloats;
    if (kVector) {
      const int a_bytes = 4 * max(0, min(4, k - k0 - a_col));
      const float* source = a_source;
#pragma unroll
      for (int i = 0; i < kACopies; ++i, source += int64_t{32} * lda) {
        const bool inside = row0 + a_row + 32 * i < m && a_bytes > 0;
        copy_async_16(a_tile + a_offset(a_row + 32 * i, a_col), inside ? source : a,
                      inside ? a_bytes : 0);
      }
      source = b_source;
#pragma unroll
      for (int i = 0; i < kBCopies; ++i, source += int64_t{8} * ldb) {
        const bool inside = k0 + b_row + 8 * i < k && b_bytes > 0;
        copy_async_16(b_tile + (b_row + 8 * i) * kBlockN + b_col, inside ? source : b,
                      inside ? b_bytes : 0);
      }
      a_source += kBlockK;
      b_source += int64_t{kBlockK} * ldb;
    } else {
#pragma unroll 4
      for (int i = 0; i < kBlockM * kBlockK / kThreads; ++i) {  // 16 words of A per thread
        const int e = tid + i * kThreads;
        const int r = e / kBlockK, kk = e % kBlockK;
        const bool inside = row0 + r < m && k0 + kk < k;
        copy_async_4(a_tile + a_offset(r, kk), inside ? a + int64_t{row0 + r} * lda + k0 + kk : a,
                     inside ? 4 : 0);
      }
#pragma unroll 4
      for (int i = 0; i < kBlockK * kBlockN / kThreads; ++i) {  // 16 words of B per thread
        const int e = tid + i * kThreads;
        const int kk = e / kBlockN, cc = e % kBlockN;
        const bool inside = k0 + kk < k && col0 + cc < n;
        copy_async_4(b_tile + kk * kBlockN + cc,
                     inside ? b + int64_t{k0 + kk} * ldb + col0 + cc : b, inside ? 4 : 0);
      }
    }
  };

  float acc[8][8] = {};
  const int tiles = ceil_div(k, kBlockK);
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) load_tile(s, s * kBlockK);
    copy_async_commit();
  }
  for (int t = 0; t < tiles; ++t) {
    copy_async_wait<kStages - 2>();
    __syncthreads();
    const int next = t + kStages - 1;
    if (next < tiles) load_tile(next % kStages, next * kBlockK);
    copy_async_commit();
    const float* a_tile = smem + (t % kStages) * kStageFloats;
    const float* b_tile = a_tile + kATileFloats;
#pragma unroll
    for (int k4 = 0; k4 < kBlockK; k4 += 4) {
      // Rows warp_row + {0, 32} + {0..3} share the swizzle key (warp_row / 4) % 8.
      const float* a_rows = a_tile + warp_row * kBlockK + ((k4 / 4) ^ a_key) * 4;
      float4 a_quad[8];  // rows warp_row + {0, 32} + {0..3}, K k4..k4+3
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        a_quad[i] = *reinterpret_cast<const float4*>(a_rows + ((i / 4) * 32 + i % 4) * kBlockK);
      }
#pragma unroll
      for (int kq = 0; kq < 4; ++kq) {
        float b_frag[8];
        *reinterpret_cast<float4*>(&b_frag[0]) =
            *reinterpret_cast<const float4*>(b_tile + (k4 + kq) * kBlockN + warp_col);
        *reinterpret_cast<float4*>(&b_frag[4]) =
            *reinterpret_cast<const float4*>(b_tile + (k4 + kq) * kBlockN + warp_col + 16);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float a_value = kq == 0   ? a_quad[i].x
                                : kq == 1 ? a_quad[i].y
                                : kq == 2 ? a_quad[i].z
                                          : a_quad[i].w;
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] += a_value * b_frag[j];
        }
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
        store4<true>(c, ldc, row, col, m, n, value, alpha, beta, bias);
      } else {
        store4<false>(c, ldc, row, col, m, n, value, alpha, beta, bias);
      }
    }
  }
}

template <bool kVector>
void launch(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
            float beta, float* c, int ldc, const float* bias, cudaStream_t stream) {
  static std::once_flag raised;  // above 48 KB of dynamic shared memory needs an opt-in
  std::call_once(raised, [] {
    PA_CUDA_CHECK(cudaFuncSetAttribute(wide_copies_kernel<kVector>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  });
  const int blocks = ceil_div(m, kBlockM) * ceil_div(n, kBlockN);
  wide_copies_kernel<kVector><<<blocks, kThreads, kSmemBytes, stream>>>(m, n, k, alpha, a, lda, b,
                                                                        ldb, beta, c, ldc, bias);
  PA_CUDA_CHECK_LAUNCH();
}

void run(const char* name, int m, int n, int k, float alpha, const float* a, int lda,
         const float* b, int ldb, float beta, float* c, int ldc, const float* bias,
         cudaStream_t stream) {
  if (!gemm_internal::check_arguments(name, m, n, k, a, lda, b, ldb, c, ldc)) return;
  if (gemm_internal::rows_vectorizable(a, lda) && gemm_internal::rows_vectorizable(b, ldb)) {
    launch<true>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
  } else {
    launch<false>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
  }
}

}  // namespace

void gemm_v10_async_wide_copies(int m, int n, int k, float alpha, const float* a, int lda,
                                const float* b, int ldb, float beta, float* c, int ldc,
                                cudaStream_t stream) {
  run("gemm_v10_async_wide_copies", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, stream);
}

void gemm_v10_async_wide_copies_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                     const float* b, int ldb, float beta, float* c, int ldc,
                                     const float* bias, cudaStream_t stream) {
  run("gemm_v10_async_wide_copies_bias", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
      stream);
}

}  // namespace pa::cuda
