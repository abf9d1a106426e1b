// GEMM ladder v08: warp tiling and register prefetch. Changes vs v07:
// - the 8 warps of a block tile C's 128x128 as 2 (M) x 4 (N) warp tiles of 64x32; inside a warp
//   the lanes form 8 (M) x 4 (N) and each lane computes 2x2 sub-tiles of 4x4, so a warp's float4
//   reads of A and B each cover one contiguous span of shared memory (broadcast within it);
// - K steps by 16 with two shared-memory buffers: the next tile's float4 global loads go to
//   registers before the current tile's FMAs and are stored after them, so global latency hides
//   behind arithmetic and one barrier per tile suffices (v07: two);
// - the epilogue can add a bias per column (gemm_v08_warptile_bias).
// What it measured (and its ncu profile), and why: cuda/gemm/README.md (the ladder, v08).
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

using gemm_internal::ceil_div;
using gemm_internal::load4;
using gemm_internal::store4;

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 16;
constexpr int kAStride = kBlockM + 4;  // padded row of the transposed A tile
constexpr int kThreads = 256;
constexpr int kWarpM = 64;
constexpr int kWarpN = 32;
constexpr int kLoads = kBlockM * kBlockK / 4 / kThreads;  // float4 loads per thread per tile: 2
static_assert(gemm_version_has_tile("v08_warptile", kBlockM, kBlockN),
              "kGemmVersions (gemm.h) must list this kernel's block tile");

template <bool kVector>
__global__ void __launch_bounds__(kThreads, 2)
    warptile_kernel(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                    int ldb, float beta, float* c, int ldc, const float* bias) {
  __shared__ __align__(16) float a_tile[2][kBlockK][kAStride];  // A transposed: (16 of K, 128)
  __shared__ __align__(16) float b_tile[2][kBlockK][kBlockN];   // (16 of K, 128 columns)
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int row0 = blockIdx.y * kBlockM;
  const int col0 = blockIdx.x * kBlockN;
  // A lane's rows: warp_row + {0, 32} + {0..3}; its columns: warp_col + {0, 16} + {0..3}.
  const int warp_row = (warp / 4) * kWarpM + (lane / 4) * 4;
  const int warp_col = (warp % 4) * kWarpN + (lane % 4) * 4;

  float4 a_stage[kLoads], b_stage[kLoads];
  const auto load_tile = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int e = tid + i * kThreads;
      a_stage[i] = load4<kVector>(a, lda, row0 + e / 4, k0 + (e % 4) * 4, m, k);    // A (M, K)
      b_stage[i] = load4<kVector>(b, ldb, k0 + e / 32, col0 + (e % 32) * 4, k, n);  // B (K, N)
    }
  };
  const auto store_tile = [&](int buffer) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int e = tid + i * kThreads;
      const int ar = e / 4, ak = (e % 4) * 4;
      a_tile[buffer][ak + 0][ar] = a_stage[i].x;
      a_tile[buffer][ak + 1][ar] = a_stage[i].y;
      a_tile[buffer][ak + 2][ar] = a_stage[i].z;
      a_tile[buffer][ak + 3][ar] = a_stage[i].w;
      *reinterpret_cast<float4*>(&b_tile[buffer][e / 32][(e % 32) * 4]) = b_stage[i];
    }
  };

  float acc[8][8] = {};
  const int tiles = ceil_div(k, kBlockK);
  if (tiles > 0) {
    load_tile(0);
    store_tile(0);
    __syncthreads();
  }
  for (int t = 0; t < tiles; ++t) {
    const int buffer = t % 2;
    if (t + 1 < tiles) load_tile((t + 1) * kBlockK);  // in flight during the FMAs below
#pragma unroll
    for (int kk = 0; kk < kBlockK; ++kk) {
      float a_frag[8];
      float b_frag[8];
      *reinterpret_cast<float4*>(&a_frag[0]) =
          *reinterpret_cast<const float4*>(&a_tile[buffer][kk][warp_row]);
      *reinterpret_cast<float4*>(&a_frag[4]) =
          *reinterpret_cast<const float4*>(&a_tile[buffer][kk][warp_row + 32]);
      *reinterpret_cast<float4*>(&b_frag[0]) =
          *reinterpret_cast<const float4*>(&b_tile[buffer][kk][warp_col]);
      *reinterpret_cast<float4*>(&b_frag[4]) =
          *reinterpret_cast<const float4*>(&b_tile[buffer][kk][warp_col + 16]);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a_frag[i] * b_frag[j];
      }
    }
    if (t + 1 < tiles) store_tile(1 - buffer);  // that buffer was last read before the barrier
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = row0 + warp_row + (i / 4) * 32 + i % 4;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = col0 + warp_col + half * 16;
      const float* v = &acc[i][half * 4];
      store4<kVector>(c, ldc, row, col, m, n, make_float4(v[0], v[1], v[2], v[3]), alpha, beta,
                      bias);
    }
  }
}

void run(const char* name, int m, int n, int k, float alpha, const float* a, int lda,
         const float* b, int ldb, float beta, float* c, int ldc, const float* bias,
         cudaStream_t stream) {
  if (!gemm_internal::check_arguments(name, m, n, k, a, lda, b, ldb, c, ldc)) return;
  const dim3 grid(ceil_div(n, kBlockN), ceil_div(m, kBlockM));
  if (gemm_internal::rows_vectorizable(a, lda) && gemm_internal::rows_vectorizable(b, ldb) &&
      gemm_internal::rows_vectorizable(c, ldc)) {
    warptile_kernel<true>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
  } else {
    warptile_kernel<false>
        <<<grid, kThreads, 0, stream>>>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
  }
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void gemm_v08_warptile(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, cudaStream_t stream) {
  run("gemm_v08_warptile", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr, stream);
}

void gemm_v08_warptile_bias(int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc,
                            const float* bias, cudaStream_t stream) {
  run("gemm_v08_warptile_bias", m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
}

}  // namespace pa::cuda
