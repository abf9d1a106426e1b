// GEMM ladder v12: an 8x16 thread tile in 128-thread blocks, and a steady-state loop with no
// masks or branches. Changes vs v11:
// - 4 warps per 128x128 block tile instead of 8: warps form 2 (M) x 2 (N) tiles of 64x64, lanes
//   8 (M) x 4 (N), and each thread computes 8 rows x 16 columns of C (128 accumulators, up to 255
//   registers, 2 blocks per SM). A step of K reads 2 + 4 float4 fragments for 128 FFMAs (v11:
//   2 + 2 for 64), and each K tile's fixed costs (copies, barrier, loop) are shared by twice the
//   FFMAs;
// - fragments are double-buffered in registers (step kk + 1 loads while step kk computes);
// - K steps by 8; A still goes global -> registers -> transposed shared tile, B through
//   cp.async, both double-buffered (B one tile ahead instead of two);
// - tiles inside K of blocks inside N run an unmasked loop: rows of A past M read row M - 1
//   (they only feed rows of C that are never stored), so the loads need no predicates, the B
//   copies no zero fill, and the loop no per-tile branches. The last tile (K % 8 != 0) and edge
//   blocks take the masked, zero-filling path.
// The promoted version: gemm_best runs it (gemm.h kBestVersion).
// What it predicted and measured, why it stops here: cuda/gemm/README.md (the ladder, v12).
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
constexpr int kBlockK = 8;
constexpr int kAStride = kBlockM + 4;  // padded row of the transposed A tile
constexpr int kThreads = 128;
constexpr int kWarpsN = 2;  // warps: 2 (M) x 2 (N)
constexpr int kWarpM = 64;
constexpr int kWarpN = 64;
constexpr int kThreadN = 16;  // a thread's columns of C (its rows: 8)
constexpr int kGroupRows = 8;
constexpr int kAVectorsPerRow = kBlockK / 4;
constexpr int kALoads = kBlockM * kAVectorsPerRow / kThreads;  // float4 per thread per tile: 2
constexpr int kBVectorsPerRow = kBlockN / 4;
constexpr int kBLoads = kBlockK * kBVectorsPerRow / kThreads;  // 16-byte copies per thread: 2
static_assert(gemm_version_has_tile("v12_thread_tile_8x16", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

// kVector: A, B (pointers and leading dimensions) are 16-byte aligned.
template <bool kVector>
__global__ void __launch_bounds__(kThreads, 2)
    thread_tile_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, const float* bias, int64_t stride_a,
                       int64_t stride_b, int64_t stride_c) {
  // blockIdx.y picks the matrix of a batch (gridDim.y == 1 for a single product).
  a += blockIdx.y * stride_a;
  b += blockIdx.y * stride_b;
  c += blockIdx.y * stride_c;
  __shared__ __align__(16) float a_tile[2][kBlockK][kAStride];  // A transposed: (K, 128)
  __shared__ __align__(16) float b_tile[2][kBlockK][kBlockN];   // (K, 128)
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;

  const int blocks_m = ceil_div(m, kBlockM), blocks_n = ceil_div(n, kBlockN);
  const int group_size = kGroupRows * blocks_n;
  const int first_block_m = (blockIdx.x / group_size) * kGroupRows;
  const int group_rows = min(blocks_m - first_block_m, kGroupRows);
  const int in_group = blockIdx.x % group_size;
  const int row0 = (first_block_m + in_group % group_rows) * kBlockM;
  const int col0 = (in_group / group_rows) * kBlockN;

  // A thread's rows of C: lane_row + {0, 32} + {0..3}; its columns: lane_col + {0, 16, 32, 48} +
  // {0..3}. A warp's float4 fragment reads each cover one contiguous span (broadcast within it).
  const int lane_row = (warp / kWarpsN) * kWarpM + (lane / 4) * 4;
  const int lane_col = (warp % kWarpsN) * kWarpN + (lane % 4) * 4;

  // A: load i of thread tid reads row a_row + i * kARowStep, K offset a_col..a_col+3. Rows past
  // M read row M - 1 instead: they only feed rows of C that are never stored.
  constexpr int kARowStep = kThreads / kAVectorsPerRow;
  const int a_row = tid / kAVectorsPerRow, a_col = (tid % kAVectorsPerRow) * 4;
  const float* a_source[kALoads];
#pragma unroll
  for (int i = 0; i < kALoads; ++i) {
    const int row = min(row0 + a_row + i * kARowStep, m - 1);
    a_source[i] = a + int64_t{row} * lda + a_col;  // A (M, K)
  }
  float4 a_stage[kALoads];
  // The tile at K offset k0 -> a_stage, zeros past K (the checked path).
  const auto load_a = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kALoads; ++i) {
      const float* p = a_source[i] + k0;
      const int col = k0 + a_col;
      if (kVector && col + 3 < k) {
        a_stage[i] = *reinterpret_cast<const float4*>(p);
      } else {
        a_stage[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (col < k) a_stage[i].x = p[0];
        if (col + 1 < k) a_stage[i].y = p[1];
        if (col + 2 < k) a_stage[i].z = p[2];
        if (col + 3 < k) a_stage[i].w = p[3];
      }
    }
  };
  const auto store_a = [&](int buffer) {
#pragma unroll
    for (int i = 0; i < kALoads; ++i) {
      const int r = a_row + i * kARowStep;
      a_tile[buffer][a_col + 0][r] = a_stage[i].x;
      a_tile[buffer][a_col + 1][r] = a_stage[i].y;
      a_tile[buffer][a_col + 2][r] = a_stage[i].z;
      a_tile[buffer][a_col + 3][r] = a_stage[i].w;
    }
  };

  // B: copy i of thread tid fills row b_row + i * kBRowStep, columns b_col..b_col+3; columns
  // past N are zero-filled (a thread with none keeps b as its never-read source).
  constexpr int kBRowStep = kThreads / kBVectorsPerRow;
  const int b_row = tid / kBVectorsPerRow, b_col = (tid % kBVectorsPerRow) * 4;
  const int b_bytes = 4 * max(0, min(4, n - col0 - b_col));
  const float* b_source = b_bytes > 0 ? b + int64_t{b_row} * ldb + col0 + b_col : b;  // B (K, N)
  const int64_t b_copy_step = b_bytes > 0 ? int64_t{kBRowStep} * ldb : 0;
  const int64_t b_tile_step = b_bytes > 0 ? int64_t{kBlockK} * ldb : 0;
  const auto load_b = [&](int buffer, int k0) {
    if (kVector) {
#pragma unroll
      for (int i = 0; i < kBLoads; ++i) {
        const int row = b_row + i * kBRowStep;
        const bool inside = k0 + row < k;
        copy_async_16(&b_tile[buffer][row][b_col], inside ? b_source + i * b_copy_step : b,
                      inside ? b_bytes : 0);
      }
    } else {
#pragma unroll
      for (int i = 0; i < kBlockK * kBlockN / kThreads; ++i) {
        const int e = tid + i * kThreads;
        const int kk = e / kBlockN, cc = e % kBlockN;
        const bool inside = k0 + kk < k && col0 + cc < n;
        copy_async_4(&b_tile[buffer][kk][cc], inside ? b + int64_t{k0 + kk} * ldb + col0 + cc : b,
                     inside ? 4 : 0);
      }
    }
  };
  // Tile t: A to registers (zeros past K), B copies in flight to b_tile[buffer] (zero-filled
  // past K and N).
  const auto load_tile_checked = [&](int t, int buffer) {
    load_a(t * kBlockK);
    load_b(buffer, t * kBlockK);
    b_source += b_tile_step;
    copy_async_commit();
  };
  // The same for a tile inside K of a block inside N: no masks, no zero fill.
  const unsigned b_destination =
      static_cast<unsigned>(__cvta_generic_to_shared(&b_tile[0][b_row][b_col]));
  const auto load_tile_inside = [&](int t, int buffer) {
#pragma unroll
    for (int i = 0; i < kALoads; ++i) {
      a_stage[i] = *reinterpret_cast<const float4*>(a_source[i] + t * kBlockK);
    }
#pragma unroll
    for (int i = 0; i < kBLoads; ++i) {
      copy_async_16(b_destination + 4 * (buffer * kBlockK * kBlockN + i * kBRowStep * kBlockN),
                    b_source + i * b_copy_step);
    }
    b_source += b_tile_step;
    copy_async_commit();
  };

  float a_frag[2][8];
  float b_frag[2][kThreadN];
  const auto load_fragments = [&](int slot, int buffer, int kk) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      *reinterpret_cast<float4*>(&a_frag[slot][4 * i]) =
          *reinterpret_cast<const float4*>(&a_tile[buffer][kk][lane_row + 32 * i]);
    }
#pragma unroll
    for (int j = 0; j < kThreadN / 4; ++j) {
      *reinterpret_cast<float4*>(&b_frag[slot][4 * j]) =
          *reinterpret_cast<const float4*>(&b_tile[buffer][kk][lane_col + 16 * j]);
    }
  };

  float acc[8][kThreadN] = {};  // C (8, 16): row i is lane_row + (i / 4) * 32 + i % 4
  // The FMAs of tile t (in a_tile[buffer], b_tile[buffer]); with has_next, the loads of tile
  // t + 1 are in flight: its A is stored and its copies awaited behind the one barrier per tile.
  const auto compute_tile = [&](int buffer, bool has_next) {
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      // Fragments of step kk + 1 load while step kk's FMAs run.
      if (kk + 1 < kBlockK) {
        load_fragments((kk + 1) & 1, buffer, kk + 1);
      } else if (has_next) {
        store_a(buffer ^ 1);  // that buffer was last read before the previous barrier
        copy_async_wait<0>();
        __syncthreads();
        load_fragments(0, buffer ^ 1, 0);
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < kThreadN; ++j) acc[i][j] += a_frag[kk & 1][i] * b_frag[kk & 1][j];
      }
    }
  };

  const int tiles = ceil_div(k, kBlockK);
  // Tiles that take the unchecked loads: those inside K, in a block inside N.
  const int inside_tiles = kVector && col0 + kBlockN <= n ? k / kBlockK : 0;
  if (tiles > 0) {
    if (inside_tiles > 0) {
      load_tile_inside(0, 0);
    } else {
      load_tile_checked(0, 0);
    }
    store_a(0);
    copy_async_wait<0>();
    __syncthreads();
    load_fragments(0, 0, 0);
  }
  int t = 0;
  for (; t + 1 < inside_tiles; ++t) {  // the steady state: the next tile is inside too
    load_tile_inside(t + 1, (t + 1) & 1);
    compute_tile(t & 1, true);
  }
  for (; t < tiles; ++t) {  // the last one or two tiles (all of them for edge blocks)
    const bool has_next = t + 1 < tiles;
    if (has_next) load_tile_checked(t + 1, (t + 1) & 1);
    compute_tile(t & 1, has_next);
  }

  const bool vector_store =
      kVector && (ldc % 4 == 0) && (reinterpret_cast<std::uintptr_t>(c) % 16 == 0);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = row0 + lane_row + (i / 4) * 32 + i % 4;
#pragma unroll
    for (int j = 0; j < kThreadN / 4; ++j) {
      const int col = col0 + lane_col + j * 16;
      const float* v = &acc[i][j * 4];
      const float4 value = make_float4(v[0], v[1], v[2], v[3]);
      if (vector_store) {
        store4<true>(c, ldc, row, col, m, n, value, alpha, beta, bias);
      } else {
        store4<false>(c, ldc, row, col, m, n, value, alpha, beta, bias);
      }
    }
  }
}

void run(const char* name, int m, int n, int k, float alpha, const float* a, int lda,
         const float* b, int ldb, float beta, float* c, int ldc, const float* bias,
         const GemmBatch& batch, cudaStream_t stream) {
  if (!gemm_internal::check_arguments(name, m, n, k, a, lda, b, ldb, c, ldc)) return;
  gemm_internal::check_batch(name, batch);
  const int blocks = ceil_div(m, kBlockM) * ceil_div(n, kBlockN);
  const bool vector = gemm_internal::batch_vectorizable(a, lda, b, ldb, batch);
  gemm_internal::launch_batched(
      blocks, a, b, c, batch, [&](dim3 grid, const float* a0, const float* b0, float* c0) {
        if (vector) {
          thread_tile_kernel<true>
              <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a0, lda, b0, ldb, beta, c0, ldc, bias,
                                              batch.stride_a, batch.stride_b, batch.stride_c);
        } else {
          thread_tile_kernel<false>
              <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a0, lda, b0, ldb, beta, c0, ldc, bias,
                                              batch.stride_a, batch.stride_b, batch.stride_c);
        }
      });
}

}  // namespace

void gemm_v12_thread_tile_8x16(int m, int n, int k, float alpha, const float* a, int lda,
                               const float* b, int ldb, float beta, float* c, int ldc,
                               cudaStream_t stream) {
  run("gemm_v12_thread_tile_8x16", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, {},
      stream);
}

void gemm_v12_thread_tile_8x16_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                    const float* b, int ldb, float beta, float* c, int ldc,
                                    const float* bias, cudaStream_t stream) {
  run("gemm_v12_thread_tile_8x16_bias", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, {},
      stream);
}

void gemm_v12_thread_tile_8x16_batched(int m, int n, int k, float alpha, const float* a, int lda,
                                       const float* b, int ldb, float beta, float* c, int ldc,
                                       const float* bias, const GemmBatch& batch,
                                       cudaStream_t stream) {
  run("gemm_v12_thread_tile_8x16_batched", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
      batch, stream);
}

}  // namespace pa::cuda
