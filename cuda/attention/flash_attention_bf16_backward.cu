// FlashAttention-2 backward, bf16 on the tensor cores (see flash_attention_bf16.h for the design
// and mma_bf16.cuh for the fragment layouts). Three launches: a pre-pass (delta, a padded copy
// of lse, the fp32 dQ accumulator zeroed), the main kernel over (key block, b h), and the dQ
// conversion to bf16.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/attention/flash_attention_bf16.h"
#include "cuda/attention/flash_attention_bf16_sm90.h"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mma_bf16.cuh"
#include "cuda/common/wgmma.cuh"

namespace pa::cuda {
namespace {

using mma_bf16::ldmatrix_x4;
using mma_bf16::ldmatrix_x4_trans;
using mma_bf16::mma;
using mma_bf16::pack_bf16;

// lse and delta rows are padded per (b, h) to a multiple of this (>= every kQueries below), so
// that a query tile's lse and delta load as whole 16-byte chunks.
constexpr int64_t kRowPadding = 64;

int64_t padded_rows(int64_t nq) { return (nq + kRowPadding - 1) / kRowPadding * kRowPadding; }

// A backward configuration: kWarps warps in kGroups groups of kKeyWarps; warp w owns kMTiles
// 16-key M-tiles (key group w % kKeyWarps) of the block's kKeys = 16 kMTiles kKeyWarps keys, and
// query tiles of kQueries rows stream through.
//   kGroups = 1: each warp computes its keys' rows of S^T and dP^T for the whole query tile and
//     keeps them in registers as the A fragments of its dV, dK (every column).
//   kGroups > 1: warp w computes its keys' rows of S^T and dP^T for query slice w / kKeyWarps,
//     P^T and dS^T go through shared memory, and it accumulates dV, dK for its keys and column
//     slice w / kKeyWarps: the dK, dV registers of a key are split over kGroups warps, which
//     leaves room for two M-tiles at D = 128.
// Two M-tiles per warp halve the shared-memory reads of the Q and dO fragments (each feeds both),
// and larger key blocks halve the dQ atomics per FLOP.
template <int kD_, int kQueries_, int kMTiles_, int kWarps_, int kGroups_>
struct BackwardConfig {
  static constexpr int kD = kD_, kQueries = kQueries_, kMTiles = kMTiles_, kWarps = kWarps_;
  static constexpr int kGroups = kGroups_;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kKeyWarps = kWarps / kGroups;
  static constexpr int kKeys = 16 * kMTiles * kKeyWarps;
  static constexpr int kSliceQueries = kQueries / kGroups;  // of S^T per warp
  static constexpr int kNTiles = kSliceQueries / 8;         // 8-query n-tiles of S^T
  static constexpr int kSliceColumns = kD / kGroups;        // of dK, dV per warp
  static_assert(kWarps % kGroups == 0 && kSliceQueries % 16 == 0 && kSliceColumns % 16 == 0);
  // bf16 elements per shared row; 16 bytes of padding keep ldmatrix phases off shared banks.
  static constexpr int kStride = kD + 8;
  static constexpr int kScoreStride = kQueries + 8;        // dS^T and P^T tiles (kKeys, kQueries)
  static constexpr int kScoreTiles = kGroups > 1 ? 2 : 1;  // dS^T, and P^T when split
  // dQ = dS K for the tile: kQueries / 16 warps along the queries, the rest split the columns.
  static constexpr int kDqRowWarps = kQueries / 16;
  static constexpr int kDqColumns = kD * kDqRowWarps / kWarps;
  static_assert(kWarps % kDqRowWarps == 0 && kDqColumns % 16 == 0);
  static constexpr size_t kSharedBytes =
      sizeof(__nv_bfloat16) * (size_t(2 * kKeys) * kStride       // K, V
                               + size_t(4 * kQueries) * kStride  // two buffers of Q and dO
                               + size_t(kScoreTiles * kKeys) * kScoreStride) +  // dS^T (and P^T)
      sizeof(float) * size_t(4 * kQueries);  // two buffers of lse and delta
};

// The configurations run (see flash_attention_bf16.h for what was measured).
using Backward32 = BackwardConfig<32, 32, 2, 4, 1>;
using Backward64 = BackwardConfig<64, 32, 2, 4, 1>;
using Backward128 = BackwardConfig<128, 64, 2, 8, 2>;

struct BackwardParams {
  const __nv_bfloat16 *q, *k, *v, *dout;  // (B, H, Nq | Nk, D)
  const float* padding;                   // (B, Nk) or nullptr
  const float *lse, *delta;               // (B, H, Nq_padded): lse copied, +inf past Nq
  float* dq_accumulator;                  // (B, H, Nq, D), fp32, unscaled
  __nv_bfloat16 *dk, *dv;                 // (B, H, Nk, D)
  int64_t H, Nq, Nk, Nq_padded;
  bool causal;
  float scale, scale_log2;  // scale * log2(e)
};

// delta[row] = sum_d dout[row][d] * out[row][d] in fp32 (bf16 inputs), lse copied into the padded
// layout (+inf and delta 0 for the padding rows), the dQ accumulator's row zeroed. kD / 8
// threads per row, 8 elements (16 bytes) each.
template <int kD>
__global__ void prepare_kernel(const __nv_bfloat16* out, const __nv_bfloat16* dout,
                               const float* lse_in, float* lse, float* delta, float* dq_accumulator,
                               int64_t Nq, int64_t Nq_padded, int64_t rows) {
  constexpr int kParts = kD / 8;
  const int64_t index = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t row = index / kParts;  // padded row: (b h) Nq_padded + query
  const int part = int(index % kParts);
  const int64_t bh = row / Nq_padded, query = row % Nq_padded;
  const bool inside = row < rows && query < Nq;
  float sum = 0.0f;
  if (inside) {
    const int64_t offset = (bh * Nq + query) * kD + part * 8;
    const uint4 o = *reinterpret_cast<const uint4*>(out + offset);
    const uint4 d = *reinterpret_cast<const uint4*>(dout + offset);
    const unsigned os[4] = {o.x, o.y, o.z, o.w}, ds[4] = {d.x, d.y, d.z, d.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 of = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&os[i]));
      const float2 df = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&ds[i]));
      sum += of.x * df.x + of.y * df.y;
    }
    float4* accumulator = reinterpret_cast<float4*>(dq_accumulator + offset);
    accumulator[0] = accumulator[1] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }
#pragma unroll
  for (int offset = kParts / 2; offset > 0; offset /= 2) {
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  }
  if (row < rows && part == 0) {
    delta[row] = inside ? sum : 0.0f;
    lse[row] = inside ? lse_in[bh * Nq + query] : INFINITY;
  }
}

// dq = bf16(scale * accumulator), four elements per thread.
__global__ void convert_dq_kernel(const float* accumulator, __nv_bfloat16* dq, int64_t quads,
                                  float scale) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < quads;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float4 a = reinterpret_cast<const float4*>(accumulator)[i];
    reinterpret_cast<uint2*>(dq)[i] =
        make_uint2(pack_bf16(a.x * scale, a.y * scale), pack_bf16(a.z * scale, a.w * scale));
  }
}

// Queues the lse and delta of the query tile at q0 (kQueries floats each, whole 16-byte chunks:
// the rows are padded to a multiple of 64) into `buffer` of their shared tiles; the first
// kQueries / 2 threads copy.
template <int kQueries>
__device__ __forceinline__ void load_row_vectors(float* lse_tiles, float* delta_tiles, int buffer,
                                                 const float* lse, const float* delta, int64_t q0) {
  constexpr int kChunks = kQueries / 4;  // 16-byte chunks of each row vector
  if (threadIdx.x < 2 * kChunks) {
    const int chunk = threadIdx.x % kChunks;
    const bool is_lse = threadIdx.x < kChunks;
    async_copy::copy_async_16(async_copy::shared_address((is_lse ? lse_tiles : delta_tiles) +
                                                         buffer * kQueries + 4 * chunk),
                              (is_lse ? lse : delta) + q0 + 4 * chunk, 16);
  }
}

// One element of P^T and dS^T, in place of the score s and of dP: p = 2^(s scale log2(e) - lse),
// 0 where the masks hide the key; dS = p (dP - delta).
__device__ __forceinline__ void probability_and_gradient(float& s, float& dp, float lse,
                                                         float delta, float scale_log2,
                                                         bool hidden) {
  const float prob = hidden ? 0.0f : mma_bf16::fast_exp2(fmaf(s, scale_log2, -lse));
  s = prob;
  dp = prob * (dp - delta);
}

// Writes this lane's two key rows (g, g + 8 of its 16-key slice: r = 0, 1) of dK and dV from
// kTiles 8-column C fragments (`dk_acc`, `dv_acc`: [kTiles][4]) into rows of bf16 dk and dv
// that start at the fragments' first column; dK takes the softmax scale (dS is w.r.t. the
// scaled scores).
template <int kTiles>
__device__ __forceinline__ void store_key_row(__nv_bfloat16* dk, __nv_bfloat16* dv,
                                              const float* dk_acc, const float* dv_acc, int r,
                                              int t, float scale) {
  unsigned* dk_row = reinterpret_cast<unsigned*>(dk);
  unsigned* dv_row = reinterpret_cast<unsigned*>(dv);
#pragma unroll
  for (int j = 0; j < kTiles; ++j) {
    dk_row[4 * j + t] = pack_bf16(dk_acc[4 * j + 2 * r] * scale, dk_acc[4 * j + 2 * r + 1] * scale);
    dv_row[4 * j + t] = pack_bf16(dv_acc[4 * j + 2 * r], dv_acc[4 * j + 2 * r + 1]);
  }
}

// One block per (key block of kKeys keys, b h): K and V stay in shared memory and dK, dV in
// registers while every query tile that can see the keys streams through (double-buffered by
// cp.async). Per tile, each warp computes its keys' rows of S^T = K Q^T and dP^T = V dO^T,
// P^T = exp2(scale log2(e) S^T - lse) and dS^T = P^T (dP^T - delta); packs P^T and dS^T to bf16
// straight from the accumulators as A fragments of dV += P^T dO and dK += dS^T Q (dO and Q by
// ldmatrix.trans); writes dS^T to shared memory, and after a barrier the warps compute the
// tile's dQ = dS K (dS by ldmatrix.trans) and add it into the fp32 accumulator with red.global.
template <class C>
__global__ void __launch_bounds__(C::kThreads) backward_kernel(BackwardParams p) {
  constexpr int kD = C::kD, kQueries = C::kQueries, kKeys = C::kKeys, kN = C::kNTiles;
  constexpr int kM = C::kMTiles, kSplit = C::kGroups > 1;
  constexpr int kStride = C::kStride, kScoreStride = C::kScoreStride;
  constexpr int kThreads = C::kThreads;
  extern __shared__ __align__(128) unsigned char shared[];
  __nv_bfloat16* k_tile = reinterpret_cast<__nv_bfloat16*>(shared);  // (kKeys, kStride)
  __nv_bfloat16* v_tile = k_tile + kKeys * kStride;
  __nv_bfloat16* q_tiles = v_tile + kKeys * kStride;  // two buffers (kQueries, kStride)
  __nv_bfloat16* do_tiles = q_tiles + 2 * kQueries * kStride;
  __nv_bfloat16* ds_tile = do_tiles + 2 * kQueries * kStride;  // dS^T (kKeys, kScoreStride)
  __nv_bfloat16* p_tile = ds_tile + kKeys * kScoreStride;      // P^T when split
  float* lse_tiles =
      reinterpret_cast<float*>(ds_tile + C::kScoreTiles * kKeys * kScoreStride);  // 2 x kQueries
  float* delta_tiles = lse_tiles + 2 * kQueries;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int matrix = lane / 8, matrix_row = lane % 8;  // ldmatrix addressing
  const int key_group = warp % C::kKeyWarps, group = warp / C::kKeyWarps;
  const int slice_q0 = group * C::kSliceQueries;  // this warp's queries of S^T in the tile
  const int column0 = group * C::kSliceColumns;   // and columns of dK, dV
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t k0 = int64_t(blockIdx.x) * kKeys;  // block 0 first: the heaviest when causal
  const __nv_bfloat16* q = p.q + bh * p.Nq * kD;
  const __nv_bfloat16* dout = p.dout + bh * p.Nq * kD;
  const float* lse = p.lse + bh * p.Nq_padded;
  const float* delta = p.delta + bh * p.Nq_padded;

  mma_bf16::load_tile_async<kD, kStride, kKeys, kThreads>(k_tile, p.k + bh * p.Nk * kD, k0, p.Nk);
  mma_bf16::load_tile_async<kD, kStride, kKeys, kThreads>(v_tile, p.v + bh * p.Nk * kD, k0, p.Nk);
  // Query tiles, lse and delta of tile q0 into `buffer`.
  const auto load_queries = [&](int buffer, int64_t q0) {
    mma_bf16::load_tile_async<kD, kStride, kQueries, kThreads>(
        q_tiles + buffer * kQueries * kStride, q, q0, p.Nq);
    mma_bf16::load_tile_async<kD, kStride, kQueries, kThreads>(
        do_tiles + buffer * kQueries * kStride, dout, q0, p.Nq);
    static_assert(kQueries / 2 <= kThreads);
    load_row_vectors<kQueries>(lse_tiles, delta_tiles, buffer, lse, delta, q0);
  };
  // Queries before k0 see none of these keys (causal): start at the tile holding k0.
  const int64_t q_begin = p.causal ? k0 / kQueries * kQueries : 0;
  if (q_begin < p.Nq) load_queries(0, q_begin);
  async_copy::copy_async_commit();

  // This lane's keys: rows g and g + 8 of M-tile i, block rows 16 (kM key_group + i) .. + 15.
  const int64_t key0 = k0 + 16 * kM * key_group + g;  // + 16 i + 8 r
  bool key_visible[kM][2];
#pragma unroll
  for (int i = 0; i < kM; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t key = key0 + 16 * i + 8 * r;
      key_visible[i][r] = key < p.Nk && (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
    }
  }
  // ldmatrix address of this lane's row of M-tile i, columns 16 c .. 16 c + 15, of a tile with
  // key rows (K, V: k-step c of S^T; P^T, dS^T: k-step c of dV, dK).
  const auto key_rows_address = [&](const __nv_bfloat16* tile, int stride, int i, int c) {
    return async_copy::shared_address(
        tile + (16 * (kM * key_group + i) + (matrix % 2) * 8 + matrix_row) * stride + c * 16 +
        (matrix / 2) * 8);
  };
  // Stores the A fragment `a` of M-tile i, queries 16 kk .. 16 kk + 15, into a key-row tile.
  const auto store_fragment = [&](__nv_bfloat16* tile, int i, int kk, const unsigned a[4]) {
    __nv_bfloat16* row = tile + (16 * (kM * key_group + i) + g) * kScoreStride + 16 * kk + 2 * t;
    *reinterpret_cast<unsigned*>(row) = a[0];
    *reinterpret_cast<unsigned*>(row + 8 * kScoreStride) = a[1];
    *reinterpret_cast<unsigned*>(row + 8) = a[2];
    *reinterpret_cast<unsigned*>(row + 8 * kScoreStride + 8) = a[3];
  };
  // dV += P^T dO and dK += dS^T Q for k-step kk (queries 16 kk .. + 15 of the tile), this warp's
  // columns; A fragments pa, dsa per M-tile, dO and Q by ldmatrix.trans.
  constexpr int kColumnTiles = C::kSliceColumns / 8;
  float dk[kM][kColumnTiles][4] = {}, dv[kM][kColumnTiles][4] = {};  // C layout
  const auto accumulate_dk_dv = [&](const __nv_bfloat16* q_tile, const __nv_bfloat16* do_tile,
                                    int kk, const unsigned pa[kM][4], const unsigned dsa[kM][4]) {
#pragma unroll
    for (int dn = 0; dn < kColumnTiles / 2; ++dn) {
      const int offset = (kk * 16 + (matrix % 2) * 8 + matrix_row) * kStride + column0 + dn * 16 +
                         (matrix / 2) * 8;
      unsigned ob[4], qb[4];
      ldmatrix_x4_trans(ob, async_copy::shared_address(do_tile + offset));
      ldmatrix_x4_trans(qb, async_copy::shared_address(q_tile + offset));
#pragma unroll
      for (int i = 0; i < kM; ++i) {
        mma(dv[i][2 * dn], pa[i], ob[0], ob[1]);
        mma(dv[i][2 * dn + 1], pa[i], ob[2], ob[3]);
        mma(dk[i][2 * dn], dsa[i], qb[0], qb[1]);
        mma(dk[i][2 * dn + 1], dsa[i], qb[2], qb[3]);
      }
    }
  };

  for (int64_t q0 = q_begin, tile = 0; q0 < p.Nq; q0 += kQueries, ++tile) {
    const int buffer = int(tile % 2);
    const __nv_bfloat16* q_tile = q_tiles + buffer * kQueries * kStride;
    const __nv_bfloat16* do_tile = do_tiles + buffer * kQueries * kStride;
    const float* lse_tile = lse_tiles + buffer * kQueries;
    const float* delta_tile = delta_tiles + buffer * kQueries;
    // Two barriers per tile. This one: tile `tile` (and K, V) is visible to every thread, and
    // every warp is done with tile - 1 (its Q, dO, lse, delta buffer, which split warps read up
    // to their last dV, dK step, and dS^T, P^T); only then is tile + 1 queued into that buffer,
    // landing while this tile is computed.
    async_copy::copy_async_wait<0>();
    __syncthreads();
    if (q0 + kQueries < p.Nq) load_queries(1 - buffer, q0 + kQueries);
    async_copy::copy_async_commit();

    // S^T = K Q^T and dP^T = V dO^T: per M-tile 16 keys x the warp's kSliceQueries queries,
    // n-tile j holding queries slice_q0 + 8 j .. + 7.
    float s[kM][kN][4] = {}, dp[kM][kN][4] = {};
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      unsigned ka[kM][4], va[kM][4];
#pragma unroll
      for (int i = 0; i < kM; ++i) {
        ldmatrix_x4(ka[i], key_rows_address(k_tile, kStride, i, ks));
        ldmatrix_x4(va[i], key_rows_address(v_tile, kStride, i, ks));
      }
#pragma unroll
      for (int np = 0; np < kN / 2; ++np) {
        const int offset = (slice_q0 + np * 16 + (matrix / 2) * 8 + matrix_row) * kStride +
                           ks * 16 + (matrix % 2) * 8;
        unsigned qb[4], ob[4];
        ldmatrix_x4(qb, async_copy::shared_address(q_tile + offset));
        ldmatrix_x4(ob, async_copy::shared_address(do_tile + offset));
#pragma unroll
        for (int i = 0; i < kM; ++i) {
          mma(s[i][2 * np], ka[i], qb[0], qb[1]);
          mma(s[i][2 * np + 1], ka[i], qb[2], qb[3]);
          mma(dp[i][2 * np], va[i], ob[0], ob[1]);
          mma(dp[i][2 * np + 1], va[i], ob[2], ob[3]);
        }
      }
    }

    // P^T and dS^T (into s and dp); masks only on tiles that can hide something (queries past
    // Nq need none: their lse is +inf, so P = 0).
    const bool masked =
        p.padding != nullptr || k0 + kKeys > p.Nk || (p.causal && k0 + kKeys - 1 > q0);
#pragma unroll
    for (int j = 0; j < kN; ++j) {
      const int column = slice_q0 + 8 * j + 2 * t;
      const float2 row_lse = *reinterpret_cast<const float2*>(lse_tile + column);
      const float2 row_delta = *reinterpret_cast<const float2*>(delta_tile + column);
#pragma unroll
      for (int i = 0; i < kM; ++i) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t key = key0 + 16 * i + 8 * (e / 2), query = q0 + column + (e % 2);
          const bool hidden = masked && (!key_visible[i][e / 2] || (p.causal && key > query));
          probability_and_gradient(s[i][j][e], dp[i][j][e], e % 2 ? row_lse.y : row_lse.x,
                                   e % 2 ? row_delta.y : row_delta.x, p.scale_log2, hidden);
        }
      }
    }

    // P^T and dS^T packed to bf16 straight from the C fragments: those of n-tiles 2 kk and
    // 2 kk + 1 are the A fragment of k-step kk. dS^T goes to shared memory for dQ; split, P^T
    // too, and dV, dK read both back after the barrier.
#pragma unroll
    for (int kk = 0; kk < kN / 2; ++kk) {
      unsigned pa[kM][4], dsa[kM][4];
#pragma unroll
      for (int i = 0; i < kM; ++i) {
        mma_bf16::c_to_a_fragment(&s[i][2 * kk][0], pa[i]);
        mma_bf16::c_to_a_fragment(&dp[i][2 * kk][0], dsa[i]);
        const int slice_kk = slice_q0 / 16 + kk;
        store_fragment(ds_tile, i, slice_kk, dsa[i]);
        if constexpr (kSplit) store_fragment(p_tile, i, slice_kk, pa[i]);
      }
      if constexpr (!kSplit) accumulate_dk_dv(q_tile, do_tile, kk, pa, dsa);
    }
    __syncthreads();  // dS^T (and P^T) complete
    if constexpr (kSplit) {
#pragma unroll
      for (int kk = 0; kk < kQueries / 16; ++kk) {
        unsigned pa[kM][4], dsa[kM][4];
#pragma unroll
        for (int i = 0; i < kM; ++i) {
          ldmatrix_x4(pa[i], key_rows_address(p_tile, kScoreStride, i, kk));
          ldmatrix_x4(dsa[i], key_rows_address(ds_tile, kScoreStride, i, kk));
        }
        accumulate_dk_dv(q_tile, do_tile, kk, pa, dsa);
      }
    }

    // dQ (kQueries x kD) += dS K: this warp's 16 queries x kDqColumns columns, summed over the
    // block's keys, added into the accumulator.
    constexpr int kColumns = C::kDqColumns;
    const int row0 = 16 * (warp % C::kDqRowWarps);
    const int dq_column0 = kColumns * (warp / C::kDqRowWarps);
    float dq[kColumns / 8][4] = {};
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks) {
      unsigned a[4];
      ldmatrix_x4_trans(a, async_copy::shared_address(
                               ds_tile + (ks * 16 + (matrix / 2) * 8 + matrix_row) * kScoreStride +
                               row0 + (matrix % 2) * 8));
#pragma unroll
      for (int dn = 0; dn < kColumns / 16; ++dn) {
        unsigned kb[4];
        ldmatrix_x4_trans(kb, async_copy::shared_address(
                                  k_tile + (ks * 16 + (matrix % 2) * 8 + matrix_row) * kStride +
                                  dq_column0 + dn * 16 + (matrix / 2) * 8));
        mma(dq[2 * dn], a, kb[0], kb[1]);
        mma(dq[2 * dn + 1], a, kb[2], kb[3]);
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t query = q0 + row0 + g + 8 * r;
      if (query >= p.Nq) continue;
      float* row = p.dq_accumulator + (bh * p.Nq + query) * kD + dq_column0 + 2 * t;
#pragma unroll
      for (int dn = 0; dn < kColumns / 8; ++dn) {
        mma_bf16::reduce_add_pair(row + 8 * dn, dq[dn][2 * r], dq[dn][2 * r + 1]);
      }
    }
  }
  async_copy::copy_async_wait<0>();

#pragma unroll
  for (int i = 0; i < kM; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t key = key0 + 16 * i + 8 * r;
      if (key >= p.Nk) continue;
      const int64_t offset = (bh * p.Nk + key) * kD + column0;
      store_key_row<kColumnTiles>(p.dk + offset, p.dv + offset, &dk[i][0][0], &dv[i][0][0], r, t,
                                  p.scale);
    }
  }
}

// The Hopper backward (sm_90a): the same algorithm with the five products on warpgroup MMA.
// Each warpgroup owns 64 keys of the block (kKeys = 64 kWarpgroups); K, V and the double-buffered
// 64-query Q and dO tiles sit in shared memory in wgmma's 128-byte swizzled layout
// (wgmma::load_swizzled_tile). Per query tile, each warpgroup: S^T = K Q^T and dP^T = V dO^T as
// m64n64k16 with both operands read from shared memory (K-major); P^T and dS^T in registers as
// above; dV += P^T dO and dK += dS^T Q as m64nDk16 with P^T, dS^T from registers and dO, Q
// transposed on the fly; dS^T stored to a swizzled (kKeys, 64) tile; after a barrier, dQ = dS K
// for its kD / kWarpgroups columns as m64nNk16 with dS^T and K both read transposed, added into
// the accumulator as in the mma.sync kernel.
template <int kD_, int kWarpgroups_>
struct WgmmaBackwardConfig {
  static constexpr int kD = kD_, kWarpgroups = kWarpgroups_;
  static constexpr int kThreads = 128 * kWarpgroups, kKeys = 64 * kWarpgroups, kQueries = 64;
  static constexpr int kDqColumns = kD / kWarpgroups;  // of each query tile's dQ, per warpgroup
  static constexpr int kKeyTileBytes = kKeys * kD * 2, kQueryTileBytes = kQueries * kD * 2;
  // K, V, two buffers of Q and dO, dS^T, two buffers of lse and delta, 1024 to align the start.
  static constexpr size_t kSharedBytes = 2 * kKeyTileBytes + 4 * kQueryTileBytes +
                                         kKeys * kQueries * 2 + 4 * kQueries * sizeof(float) + 1024;
};

// The configurations run on Hopper (D = 32 takes the mma.sync kernel).
using WgmmaBackward64 = WgmmaBackwardConfig<64, 2>;
using WgmmaBackward128 = WgmmaBackwardConfig<128, 2>;

template <class C>
__global__ void __launch_bounds__(C::kThreads) backward_kernel_sm90(BackwardParams p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int kD = C::kD, kQueries = C::kQueries, kKeys = C::kKeys, kThreads = C::kThreads;
  extern __shared__ unsigned char shared[];
  const unsigned shared_base = async_copy::shared_address(shared);
  const unsigned k_tile = (shared_base + 1023) & ~1023u;
  const unsigned v_tile = k_tile + C::kKeyTileBytes;
  const unsigned q_tiles = v_tile + C::kKeyTileBytes;  // two buffers
  const unsigned do_tiles = q_tiles + 2 * C::kQueryTileBytes;
  const unsigned ds_tile = do_tiles + 2 * C::kQueryTileBytes;  // dS^T (kKeys, kQueries)
  float* lse_tiles =
      reinterpret_cast<float*>(shared + (ds_tile + kKeys * kQueries * 2 - shared_base));
  float* delta_tiles = lse_tiles + 2 * kQueries;
  const int warpgroup = threadIdx.x / 128, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t k0 = int64_t(blockIdx.x) * kKeys;  // block 0 first: the heaviest when causal
  const __nv_bfloat16* q = p.q + bh * p.Nq * kD;
  const __nv_bfloat16* dout = p.dout + bh * p.Nq * kD;
  const float* lse = p.lse + bh * p.Nq_padded;
  const float* delta = p.delta + bh * p.Nq_padded;

  wgmma::load_swizzled_tile<kD, kThreads, kKeys>(k_tile, p.k + bh * p.Nk * kD, k0, p.Nk);
  wgmma::load_swizzled_tile<kD, kThreads, kKeys>(v_tile, p.v + bh * p.Nk * kD, k0, p.Nk);
  const auto load_queries = [&](int buffer, int64_t q0) {
    wgmma::load_swizzled_tile<kD, kThreads, kQueries>(q_tiles + buffer * C::kQueryTileBytes, q, q0,
                                                      p.Nq);
    wgmma::load_swizzled_tile<kD, kThreads, kQueries>(do_tiles + buffer * C::kQueryTileBytes, dout,
                                                      q0, p.Nq);
    load_row_vectors<kQueries>(lse_tiles, delta_tiles, buffer, lse, delta, q0);
  };
  const int64_t q_begin = p.causal ? k0 / kQueries * kQueries : 0;
  if (q_begin < p.Nq) load_queries(0, q_begin);
  async_copy::copy_async_commit();

  const int key_row = 64 * warpgroup + 16 * warp + g;  // this lane's keys: + 0, + 8
  const int64_t key0 = k0 + key_row;
  bool key_visible[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t key = key0 + 8 * r;
    key_visible[r] = key < p.Nk && (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
  }
  float dk[kD / 2] = {}, dv[kD / 2] = {};  // C layout, 8-column slice j: [4 j .. 4 j + 3]

  for (int64_t q0 = q_begin, tile = 0; q0 < p.Nq; q0 += kQueries, ++tile) {
    const int buffer = int(tile % 2);
    const unsigned q_tile = q_tiles + buffer * C::kQueryTileBytes;
    const unsigned do_tile = do_tiles + buffer * C::kQueryTileBytes;
    const float* lse_tile = lse_tiles + buffer * kQueries;
    const float* delta_tile = delta_tiles + buffer * kQueries;
    // Tile `tile` has landed and every warpgroup is done with tile - 1 (its buffer and dS^T).
    async_copy::copy_async_wait<0>();
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();
    if (q0 + kQueries < p.Nq) load_queries(1 - buffer, q0 + kQueries);
    async_copy::copy_async_commit();

    // S^T = K Q^T and dP^T = V dO^T: this warpgroup's 64 keys x 64 queries.
    float s[kQueries / 2], dp[kQueries / 2];
    wgmma::fence();
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      const unsigned within = (ks % 4) * 32;  // into column half ks / 4
      const unsigned keys = (ks / 4) * kKeys * 128 + warpgroup * 64 * 128 + within;
      const unsigned queries = (ks / 4) * kQueries * 128 + within;
      wgmma::mma_ss<kQueries, 0, 0>(s, wgmma::make_descriptor(k_tile + keys, 16, 1024),
                                    wgmma::make_descriptor(q_tile + queries, 16, 1024), ks > 0);
      wgmma::mma_ss<kQueries, 0, 0>(dp, wgmma::make_descriptor(v_tile + keys, 16, 1024),
                                    wgmma::make_descriptor(do_tile + queries, 16, 1024), ks > 0);
    }
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(s);
    wgmma::fence_operands(dp);

    // P^T and dS^T, masked only on tiles that can hide something (queries past Nq: lse +inf).
    const bool masked =
        p.padding != nullptr || k0 + kKeys > p.Nk || (p.causal && k0 + kKeys - 1 > q0);
#pragma unroll
    for (int j = 0; j < kQueries / 8; ++j) {
      const int column = 8 * j + 2 * t;
      const float2 row_lse = *reinterpret_cast<const float2*>(lse_tile + column);
      const float2 row_delta = *reinterpret_cast<const float2*>(delta_tile + column);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = key0 + 8 * (e / 2), query = q0 + column + (e % 2);
        const bool hidden = masked && (!key_visible[e / 2] || (p.causal && key > query));
        probability_and_gradient(s[4 * j + e], dp[4 * j + e], e % 2 ? row_lse.y : row_lse.x,
                                 e % 2 ? row_delta.y : row_delta.x, p.scale_log2, hidden);
      }
    }
    // bf16 A fragments of P^T and dS^T (k-step kk: queries 16 kk .. + 15); dS^T also to shared.
    unsigned pa[kQueries / 16][4], dsa[kQueries / 16][4];
#pragma unroll
    for (int kk = 0; kk < kQueries / 16; ++kk) {
      mma_bf16::c_to_a_fragment(&s[8 * kk], pa[kk]);
      mma_bf16::c_to_a_fragment(&dp[8 * kk], dsa[kk]);
#pragma unroll
      for (int part = 0; part < 4; ++part) {  // a0..a3: rows g, g + 8; columns + 8
        const unsigned address = wgmma::swizzled_address<kKeys>(ds_tile, key_row + 8 * (part % 2),
                                                                16 * kk + 2 * t + 8 * (part / 2));
        asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(address), "r"(dsa[kk][part]) : "memory");
      }
    }
    // dV += P^T dO, dK += dS^T Q (dO and Q transposed: 2048 bytes per 16-query step).
    wgmma::fence_operands(dv);
    wgmma::fence_operands(dk);
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kQueries / 16; ++kk) {
      wgmma::mma_rs_transposed_b<kD>(
          dv, pa[kk], wgmma::make_descriptor(do_tile + kk * 2048, kQueries * 128, 1024));
      wgmma::mma_rs_transposed_b<kD>(
          dk, dsa[kk], wgmma::make_descriptor(q_tile + kk * 2048, kQueries * 128, 1024));
    }
    wgmma::commit();
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();  // dS^T complete

    // dQ (64 queries x this warpgroup's kDqColumns columns) = dS K over the block's keys.
    constexpr int kN = C::kDqColumns;
    const int column0 = warpgroup * kN;
    float dq[kN / 2];
    wgmma::fence();
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks) {
      const uint64_t a = wgmma::make_descriptor(ds_tile + ks * 2048, 1024, 1024);
      const uint64_t bk = wgmma::make_descriptor(
          k_tile + (column0 / 64) * kKeys * 128 + ks * 2048 + (column0 % 64) * 2, kKeys * 128,
          1024);
      wgmma::mma_ss<kN, 1, 1>(dq, a, bk, ks > 0);
    }
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(dq);
    wgmma::fence_operands(dv);
    wgmma::fence_operands(dk);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t query = q0 + 16 * warp + g + 8 * r;
      if (query >= p.Nq) continue;
      float* row = p.dq_accumulator + (bh * p.Nq + query) * kD + column0 + 2 * t;
#pragma unroll
      for (int j = 0; j < kN / 8; ++j) {
        mma_bf16::reduce_add_pair(row + 8 * j, dq[4 * j + 2 * r], dq[4 * j + 2 * r + 1]);
      }
    }
  }
  async_copy::copy_async_wait<0>();
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t key = key0 + 8 * r;
    if (key >= p.Nk) continue;
    const int64_t offset = (bh * p.Nk + key) * kD;
    store_key_row<kD / 8>(p.dk + offset, p.dv + offset, dk, dv, r, t, p.scale);
  }
#else
  static_assert(C::kKeys == 64 * C::kWarpgroups && C::kDqColumns * C::kWarpgroups == C::kD);
  __trap();  // built for other targets only so the fatbin links; never launched there
#endif
}

// The three launches: pre-pass, kMain (backward_kernel or backward_kernel_sm90 of
// configuration C), dQ conversion.
template <class C, auto kMain>
void backward(const AttentionShape& s, const BackwardParams& p, const __nv_bfloat16* out,
              const float* lse_in, float* lse, float* delta, __nv_bfloat16* dq) {
  const int64_t rows = s.B * s.H * p.Nq_padded;  // padded lse / delta rows
  constexpr int kPrepareThreads = 256;
  const int64_t prepare_threads = rows * (C::kD / 8);
  if (rows > 0) {
    prepare_kernel<C::kD>
        <<<static_cast<unsigned>((prepare_threads + kPrepareThreads - 1) / kPrepareThreads),
           kPrepareThreads, 0, launch_stream()>>>(out, p.dout, lse_in, lse, delta, p.dq_accumulator,
                                                  s.Nq, p.Nq_padded, rows);
    PA_CUDA_CHECK_LAUNCH();
  }
  launch_grid<kMain>((s.Nk + C::kKeys - 1) / C::kKeys, s.B * s.H, C::kThreads, C::kSharedBytes, p);
  const int64_t quads = s.B * s.H * s.Nq * C::kD / 4;
  if (quads > 0) {
    constexpr int kConvertThreads = 256;
    const int64_t blocks =
        std::min<int64_t>((quads + kConvertThreads - 1) / kConvertThreads, int64_t{1} << 20);
    convert_dq_kernel<<<static_cast<unsigned>(blocks), kConvertThreads, 0, launch_stream()>>>(
        p.dq_accumulator, dq, quads, p.scale);
    PA_CUDA_CHECK_LAUNCH();
  }
}

void check_backward_shape(const AttentionShape& shape) {
  const std::string name = "pa::cuda::flash_attention_backward_bf16: ";
  if (shape.D != shape.Dv || (shape.D != 32 && shape.D != 64 && shape.D != 128)) {
    throw std::invalid_argument(name + "head dims D = " + std::to_string(shape.D) + ", Dv = " +
                                std::to_string(shape.Dv) + " must be equal and 32, 64 or 128");
  }
  if (shape.B < 0 || shape.H < 0 || shape.Nq < 0 || shape.Nk < 0) {
    throw std::invalid_argument(name + "negative size: B = " + std::to_string(shape.B) + ", H = " +
                                std::to_string(shape.H) + ", Nq = " + std::to_string(shape.Nq) +
                                ", Nk = " + std::to_string(shape.Nk));
  }
  if (shape.B * shape.H > 65535) {
    throw std::invalid_argument(name + "B * H = " + std::to_string(shape.B * shape.H) +
                                " exceeds 65535");
  }
}

}  // namespace

int64_t flash_attention_backward_bf16_workspace(const AttentionShape& shape) {
  check_backward_shape(shape);
  return shape.B * shape.H * (2 * padded_rows(shape.Nq) + shape.Nq * shape.D);
}

void flash_attention_backward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                   const __nv_bfloat16* k, const __nv_bfloat16* v,
                                   const float* padding, bool causal, float scale,
                                   const __nv_bfloat16* out, const float* lse,
                                   const __nv_bfloat16* dout, float* workspace, __nv_bfloat16* dq,
                                   __nv_bfloat16* dk, __nv_bfloat16* dv, Bf16Kernel kernel) {
  check_backward_shape(shape);
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    throw std::invalid_argument(
        "pa::cuda::flash_attention_backward_bf16: scale = " + std::to_string(scale) +
        " must be finite and positive, as in the forward");
  }
  BackwardParams p{};
  p.q = q, p.k = k, p.v = v, p.dout = dout, p.padding = padding;
  p.H = shape.H, p.Nq = shape.Nq, p.Nk = shape.Nk, p.Nq_padded = padded_rows(shape.Nq);
  p.causal = causal;
  p.scale = scale, p.scale_log2 = scale * kLog2e;
  // Workspace: lse (B H Nq_padded), delta (likewise), then the dQ accumulator (B, H, Nq, D).
  const int64_t rows = shape.B * shape.H * p.Nq_padded;
  float* lse_padded = workspace;
  float* delta = workspace + rows;
  p.lse = lse_padded, p.delta = delta, p.dq_accumulator = workspace + 2 * rows;
  p.dk = dk, p.dv = dv;
  const bool hopper = bf16_attention::wgmma_device();
  if (kernel == Bf16Kernel::kWgmma && (!hopper || shape.D == 32)) {
    throw std::invalid_argument(
        "pa::cuda::flash_attention_backward_bf16: the wgmma kernel needs a compute capability 9.0 "
        "GPU and D = 64 or 128 (D = " +
        std::to_string(shape.D) + ")");
  }
  if (kernel == Bf16Kernel::kWgmma || (kernel == Bf16Kernel::kAuto && hopper && shape.D != 32)) {
    if (shape.D == 64) {
      return backward<WgmmaBackward64, backward_kernel_sm90<WgmmaBackward64>>(
          shape, p, out, lse, lse_padded, delta, dq);
    }
    return backward<WgmmaBackward128, backward_kernel_sm90<WgmmaBackward128>>(
        shape, p, out, lse, lse_padded, delta, dq);
  }
  if (shape.D == 32) {
    return backward<Backward32, backward_kernel<Backward32>>(shape, p, out, lse, lse_padded, delta,
                                                             dq);
  }
  if (shape.D == 64) {
    return backward<Backward64, backward_kernel<Backward64>>(shape, p, out, lse, lse_padded, delta,
                                                             dq);
  }
  return backward<Backward128, backward_kernel<Backward128>>(shape, p, out, lse, lse_padded, delta,
                                                             dq);
}

}  // namespace pa::cuda
