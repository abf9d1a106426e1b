// GEMM ladder v11: cp.async for B, register-staged transposed A, grouped rasterisation.
// v11 keeps v08's inner loop exactly (A transposed in shared memory, contiguous float4 reads of
// both operands, fragments prefetched by the compiler) and moves only B to cp.async. Changes vs
// v08:
// - B tiles land through a three-stage cp.async ring (16-byte copies, zero-filled edges), so the
//   registers and stores that v08 spent on B are gone and B is two tiles ahead;
// - A still goes global -> registers -> transposed shared tile (double buffered), from source
//   pointers computed once and advanced per tile;
// - blocks are rasterised in groups of 8 block-rows (as v09), and the epilogue can add a bias;
// - blockIdx.y walks a batch of products at fixed strides (one launch for attention's B*H
//   products; the ladder's runs use a batch of one).
// gemm_best runs it for grids of fewer tiles than SMs (gemm.h kSmallGridVersion).
// What it measured, and why: cuda/gemm/README.md (the ladder, v11).
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
constexpr int kBStages = 3;
constexpr int kThreads = 256;
constexpr int kWarpM = 64;
constexpr int kWarpN = 32;
constexpr int kGroupRows = 8;
static_assert(gemm_version_has_tile("v11_async_b_register_a", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

// kVector: A, B (pointers and leading dimensions) are 16-byte aligned.
template <bool kVector>
__global__ void __launch_bounds__(kThreads, 2)
    async_b_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                   int ldb, float beta, float* c, int ldc, const float* bias, int64_t stride_a,
                   int64_t stride_b, int64_t stride_c) {
  // blockIdx.y picks the matrix of a batch (gridDim.y == 1 for a single product).
  a += blockIdx.y * stride_a;
  b += blockIdx.y * stride_b;
  c += blockIdx.y * stride_c;
  __shared__ __align__(16) float a_tile[2][kBlockK][kAStride];        // A transposed: (16, 128)
  __shared__ __align__(16) float b_tile[kBStages][kBlockK][kBlockN];  // (16 of K, 128 columns)
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

  // A: thread tid loads rows a_row and a_row + 64, K offset a_col..a_col+3, of each tile.
  const int a_row = tid / 4, a_col = (tid % 4) * 4;
  const bool a_inside[2] = {row0 + a_row < m, row0 + a_row + 64 < m};
  const float* a_source = a + int64_t{a_inside[0] ? row0 + a_row : 0} * lda + a_col;  // A (M, K)
  const int64_t a_half_step = int64_t{64} * lda;
  float4 a_stage[2];
  const auto load_a = [&](int k0) {  // tile at K offset k0 -> a_stage (zeros outside A)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      a_stage[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (!a_inside[i]) continue;
      const float* p = a_source + i * a_half_step + k0;
      const int col = k0 + a_col;
      if (kVector && col + 3 < k) {
        a_stage[i] = *reinterpret_cast<const float4*>(p);
      } else {
        if (col < k) a_stage[i].x = p[0];
        if (col + 1 < k) a_stage[i].y = p[1];
        if (col + 2 < k) a_stage[i].z = p[2];
        if (col + 3 < k) a_stage[i].w = p[3];
      }
    }
  };
  const auto store_a = [&](int buffer) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = a_row + 64 * i;
      a_tile[buffer][a_col + 0][r] = a_stage[i].x;
      a_tile[buffer][a_col + 1][r] = a_stage[i].y;
      a_tile[buffer][a_col + 2][r] = a_stage[i].z;
      a_tile[buffer][a_col + 3][r] = a_stage[i].w;
    }
  };

  // B: thread tid copies rows b_row and b_row + 8, columns b_col..b_col+3, of each tile.
  const int b_row = tid / 32, b_col = (tid % 32) * 4;
  const int b_bytes = 4 * max(0, min(4, n - col0 - b_col));
  const float* b_source = b + int64_t{b_row} * ldb + col0 + b_col;  // B (K, N)
  const auto load_b = [&](int stage, int k0) {
    if (kVector) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const bool inside = k0 + b_row + 8 * i < k && b_bytes > 0;
        copy_async_16(&b_tile[stage][b_row + 8 * i][b_col],
                      inside ? b_source + int64_t{k0 + 8 * i} * ldb : b, inside ? b_bytes : 0);
      }
    } else {
#pragma unroll
      for (int i = 0; i < kBlockK * kBlockN / kThreads; ++i) {  // 8 words per thread
        const int e = tid + i * kThreads;
        const int kk = e / kBlockN, cc = e % kBlockN;
        const bool inside = k0 + kk < k && col0 + cc < n;
        copy_async_4(&b_tile[stage][kk][cc], inside ? b + int64_t{k0 + kk} * ldb + col0 + cc : b,
                     inside ? 4 : 0);
      }
    }
  };

  float acc[8][8] = {};
  const int tiles = ceil_div(k, kBlockK);
  load_b(0, 0);
  copy_async_commit();
  if (tiles > 1) load_b(1, kBlockK);
  copy_async_commit();
  if (tiles > 0) {
    load_a(0);
    store_a(0);
  }
  copy_async_wait<1>();  // B tile 0
  __syncthreads();
  for (int t = 0; t < tiles; ++t) {
    const int buffer = t % 2;
    if (t + 1 < tiles) load_a((t + 1) * kBlockK);  // in flight during the FMAs below
    if (t + 2 < tiles) load_b((t + 2) % kBStages, (t + 2) * kBlockK);  // stage read at t - 1
    copy_async_commit();
    const float* b_stage = &b_tile[t % kBStages][0][0];
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      float a_frag[8];
      float b_frag[8];
      *reinterpret_cast<float4*>(&a_frag[0]) =
          *reinterpret_cast<const float4*>(&a_tile[buffer][kk][warp_row]);
      *reinterpret_cast<float4*>(&a_frag[4]) =
          *reinterpret_cast<const float4*>(&a_tile[buffer][kk][warp_row + 32]);
      *reinterpret_cast<float4*>(&b_frag[0]) =
          *reinterpret_cast<const float4*>(b_stage + kk * kBlockN + warp_col);
      *reinterpret_cast<float4*>(&b_frag[4]) =
          *reinterpret_cast<const float4*>(b_stage + kk * kBlockN + warp_col + 16);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
    if (t + 1 < tiles) store_a(1 - buffer);  // that buffer was last read before the barrier
    copy_async_wait<1>();                    // B tile t + 1 has landed (t + 2 may be in flight)
    __syncthreads();
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
          async_b_kernel<true><<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a0, lda, b0, ldb,
                                                              beta, c0, ldc, bias, batch.stride_a,
                                                              batch.stride_b, batch.stride_c);
        } else {
          async_b_kernel<false><<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a0, lda, b0, ldb,
                                                               beta, c0, ldc, bias, batch.stride_a,
                                                               batch.stride_b, batch.stride_c);
        }
      });
}

}  // namespace

void gemm_v11_async_b_register_a(int m, int n, int k, float alpha, const float* a, int lda,
                                 const float* b, int ldb, float beta, float* c, int ldc,
                                 cudaStream_t stream) {
  run("gemm_v11_async_b_register_a", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, {},
      stream);
}

void gemm_v11_async_b_register_a_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                      const float* b, int ldb, float beta, float* c, int ldc,
                                      const float* bias, cudaStream_t stream) {
  run("gemm_v11_async_b_register_a_bias", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, {},
      stream);
}

void gemm_v11_async_b_register_a_batched(int m, int n, int k, float alpha, const float* a, int lda,
                                         const float* b, int ldb, float beta, float* c, int ldc,
                                         const float* bias, const GemmBatch& batch,
                                         cudaStream_t stream) {
  run("gemm_v11_async_b_register_a_batched", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
      batch, stream);
}

}  // namespace pa::cuda
