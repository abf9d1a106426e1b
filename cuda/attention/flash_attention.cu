// FlashAttention-2, fp32 SIMT (see flash_attention.h): the backward, and the forward that
// flash_attention_forward falls back to where the 3xTF32 tensor-core forward
// (flash_attention_3xtf32.cu) does not run, or with PA_FLASH_SIMT=1; the dispatch is at the end
// of this file. Every kernel works on 64 x 64 tiles with 256 threads: thread t = 16 * g + c owns
// rows g, g + 16, g + 32, g + 48 of a tile and either
// columns c, c + 16, c + 32, c + 48 of a 64 x 64 score tile (tile_dot) or the kD / 16
// consecutive columns from c * kD / 16 of a 64 x kD output tile (tile_accumulate). The 16
// threads of a row group are 16 consecutive lanes, so row max and row sum are four shuffles.
// Tiles live in shared memory row-major with rows padded by 4 floats: the float4 reads of 16
// different rows at one column then fall on distinct banks.
//
// Forward (grid: query blocks x B*H): Q tile resident; K, V tiles stream through (cp.async,
// double-buffered: tile t + 1 lands while t is used); scores
// S = scale * Q K^T in registers, masked, online softmax in base 2 (running max m, sum l), the
// probabilities through shared memory into O += P V; O / l written once, with lse = m + log2 l.
// Causal: key tiles wholly above the diagonal are skipped, and the heaviest query blocks start
// first.
// Backward: delta = rowsum(dO * O); then one kernel over key blocks (K, V resident, every query
// block streamed: P^T and dS^T = P^T (dP^T - delta) recomputed, dV += P^T dO, dK += dS^T Q) and
// one over query blocks (Q, dO resident: dQ += dS K). Two passes instead of FA2's atomicAdd on
// dQ: the result does not depend on the order blocks finish, at the price of computing S and dP
// twice.
// Measured (H100, results/gpu/h100/attention.jsonl, 2c8fe75), fp32 TFLOP/s forward / backward:
// (4,48,4096,64) 27.9 / 21.8, (4,16,4096,128) 24.0 / 17.7, (16,16,1024,64) 26.9 / 20.9,
// (1,8,16384,128) 24.2 / 17.2: 0.51-0.85x PyTorch's memory-efficient fp32 forward. cp.async
// double buffers for K/V gained 3-12% in the forward; the same in the dQ pass (fa59a51, 2 blocks
// per SM at D = 64) measured slower at D = 64 (101.4 vs 94.4 ms backward at (4,48,4096,64)) and
// within 4% at D = 128, so the dQ pass loads synchronously.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "cuda/attention/flash_attention.h"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"

namespace pa::cuda {
namespace {

constexpr int kTile = 64;  // query and key rows per tile
constexpr int kThreads = 256;
constexpr int kScoreStride = kTile + 4;  // padded row of a 64 x 64 tile in shared memory

template <int kD>
constexpr int row_stride() {
  return kD + 4;  // padded row of a 64 x kD tile
}

struct Params {
  const float *q, *k, *v, *padding, *out, *lse, *dout, *delta;
  float *out_w, *lse_w, *dq, *dk, *dv;
  int64_t H, Nq, Nk, D, Dv;
  bool causal;
  float scale, scale_log2;  // scale, scale * log2(e)
};

// Rows [r0, r0 + 64) of a (rows, cols) row-major matrix into a 64 x kD shared tile, zeros
// outside the matrix (ragged last tiles, head dims padded up to kD).
template <int kD>
__device__ void load_tile(float* tile, const float* matrix, int64_t r0, int64_t rows,
                          int64_t cols) {
  constexpr int kVectors = kD / 4;
  const bool vector = cols % 4 == 0;
  for (int e = threadIdx.x; e < kTile * kVectors; e += kThreads) {
    const int r = e / kVectors, d = (e % kVectors) * 4;
    float4 value = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (r0 + r < rows && d < cols) {
      const float* p = matrix + (r0 + r) * cols + d;
      if (vector) {
        value = *reinterpret_cast<const float4*>(p);
      } else {
        value.x = p[0];
        if (d + 1 < cols) value.y = p[1];
        if (d + 2 < cols) value.z = p[2];
        if (d + 3 < cols) value.w = p[3];
      }
    }
    *reinterpret_cast<float4*>(tile + r * row_stride<kD>() + d) = value;
  }
}

// load_tile with cp.async (cols % 4 == 0 and 16-byte aligned rows): queued, not waited for; rows
// and columns outside the matrix are zero-filled by the copy itself.
template <int kD>
__device__ void load_tile_async(float* tile, const float* matrix, int64_t r0, int64_t rows,
                                int64_t cols) {
  constexpr int kVectors = kD / 4;
  for (int e = threadIdx.x; e < kTile * kVectors; e += kThreads) {
    const int r = e / kVectors, d = (e % kVectors) * 4;
    const bool inside = r0 + r < rows && d < cols;
    async_copy::copy_async_16(tile + r * row_stride<kD>() + d,
                              inside ? matrix + (r0 + r) * cols + d : matrix, inside ? 16 : 0);
  }
}

// out[i][j] = sum_d x[g + 16 i][d] * y[c + 16 j][d] over two 64 x kD tiles.
template <int kD>
__device__ __forceinline__ void tile_dot(const float* x, const float* y, float out[4][4]) {
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) out[i][j] = 0.0f;
  }
#pragma unroll 4
  for (int d = 0; d < kD; d += 4) {
    float4 a[4], b[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      a[i] = *reinterpret_cast<const float4*>(x + (g + 16 * i) * row_stride<kD>() + d);
      b[i] = *reinterpret_cast<const float4*>(y + (c + 16 * i) * row_stride<kD>() + d);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        out[i][j] += a[i].x * b[j].x + a[i].y * b[j].y + a[i].z * b[j].z + a[i].w * b[j].w;
      }
    }
  }
}

// acc[i][e] += sum_t a[g + 16 i][t] * b[t][c * kD / 16 + e]: a 64 x 64 tile (kScoreStride) times
// a 64 x kD tile.
template <int kD>
__device__ __forceinline__ void tile_accumulate(const float* a, const float* b,
                                                float acc[4][kD / 16]) {
  constexpr int kCols = kD / 16;
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
  const float* b_cols = b + c * kCols;
#pragma unroll 2
  for (int t = 0; t < kTile; t += 4) {
    float4 p[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      p[i] = *reinterpret_cast<const float4*>(a + (g + 16 * i) * kScoreStride + t);
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      float row[kCols];
      const float* src = b_cols + (t + u) * row_stride<kD>();
      if constexpr (kCols % 4 == 0) {
#pragma unroll
        for (int e = 0; e < kCols; e += 4) {
          const float4 v = *reinterpret_cast<const float4*>(src + e);
          row[e] = v.x, row[e + 1] = v.y, row[e + 2] = v.z, row[e + 3] = v.w;
        }
      } else {
#pragma unroll
        for (int e = 0; e < kCols; e += 2) {
          const float2 v = *reinterpret_cast<const float2*>(src + e);
          row[e] = v.x, row[e + 1] = v.y;
        }
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float w = u == 0 ? p[i].x : u == 1 ? p[i].y : u == 2 ? p[i].z : p[i].w;
#pragma unroll
        for (int e = 0; e < kCols; ++e) acc[i][e] += w * row[e];
      }
    }
  }
}

// Reduces over the 16 lanes of a row group (xor shuffles stay inside aligned groups of 16).
__device__ __forceinline__ float group_max(float value) {
#pragma unroll
  for (int offset = 8; offset > 0; offset /= 2) {
    value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  }
  return value;
}
__device__ __forceinline__ float group_sum(float value) {
#pragma unroll
  for (int offset = 8; offset > 0; offset /= 2)
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Whether query `q` may see key `key` of batch b.
__device__ __forceinline__ bool visible(const Params& p, int64_t b, int64_t q, int64_t key) {
  return q < p.Nq && key < p.Nk && !(p.causal && key > q) &&
         (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
}

// Writes rows of a 64 x kD accumulator tile (rows g + 16 i, columns c * kD / 16 + e) times
// `factor[i]` to a (rows, cols) row-major matrix from row r0; rows and columns outside skipped.
template <int kD>
__device__ void store_rows(float* matrix, int64_t r0, int64_t rows, int64_t cols,
                           const float acc[4][kD / 16], const float factor[4]) {
  constexpr int kCols = kD / 16;
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t r = r0 + g + 16 * i;
    if (r >= rows) continue;
#pragma unroll
    for (int e = 0; e < kCols; ++e) {
      const int64_t col = c * kCols + e;
      if (col < cols) matrix[r * cols + col] = acc[i][e] * factor[i];
    }
  }
}

template <int kD>
__global__ void __launch_bounds__(kThreads, kD <= 64 ? 2 : 1) forward_kernel(Params p) {
  extern __shared__ __align__(16) float shared[];
  constexpr int kTileFloats = kTile * row_stride<kD>();
  float* q_tile = shared;
  float* k_tiles = q_tile + kTileFloats;  // two buffers: tile t + 1 lands while t is used
  float* v_tiles = k_tiles + 2 * kTileFloats;
  float* p_tile = v_tiles + 2 * kTileFloats;  // 64 x 64 probabilities
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile;  // heaviest (causal) first
  const float* q = p.q + bh * p.Nq * p.D;
  const float* k = p.k + bh * p.Nk * p.D;
  const float* v = p.v + bh * p.Nk * p.Dv;
  // cp.async needs whole 16-byte rows: head dims that are multiples of 4 (the tensors' bases
  // are 256-byte aligned); other head dims load synchronously into buffer 0.
  const bool async = p.D % 4 == 0 && p.Dv % 4 == 0;
  load_tile<kD>(q_tile, q, q0, p.Nq, p.D);

  constexpr int kCols = kD / 16;
  float acc[4][kCols] = {};
  float m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) m[i] = -INFINITY, l[i] = 0.0f;
  const int64_t k_end = p.causal ? min(p.Nk, q0 + kTile) : p.Nk;
  if (async && k_end > 0) {
    load_tile_async<kD>(k_tiles, k, 0, p.Nk, p.D);
    load_tile_async<kD>(v_tiles, v, 0, p.Nk, p.Dv);
  }
  async_copy::copy_async_commit();
  for (int64_t k0 = 0, t = 0; k0 < k_end; k0 += kTile, ++t) {
    const int buffer = async ? int(t % 2) : 0;
    float* k_tile = k_tiles + buffer * kTileFloats;
    float* v_tile = v_tiles + buffer * kTileFloats;
    __syncthreads();  // tile t - 1 (the other buffer) and the probabilities are no longer read
    if (async) {
      if (k0 + kTile < k_end) {  // prefetch tile t + 1 into the buffer tile t - 1 used
        load_tile_async<kD>(k_tiles + (1 - buffer) * kTileFloats, k, k0 + kTile, p.Nk, p.D);
        load_tile_async<kD>(v_tiles + (1 - buffer) * kTileFloats, v, k0 + kTile, p.Nk, p.Dv);
      }
      async_copy::copy_async_commit();
      async_copy::copy_async_wait<1>();  // this thread's copies of tile t have landed
    } else {
      load_tile<kD>(k_tile, k, k0, p.Nk, p.D);
      load_tile<kD>(v_tile, v, k0, p.Nk, p.Dv);
    }
    __syncthreads();
    float s[4][4];
    tile_dot<kD>(q_tile, k_tile, s);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t query = q0 + g + 16 * i;
      float row_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        s[i][j] = visible(p, b, query, k0 + c + 16 * j) ? s[i][j] * p.scale_log2 : -INFINITY;
        row_max = fmaxf(row_max, s[i][j]);
      }
      const float m_new = fmaxf(m[i], group_max(row_max));
      const float shift = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet
      const float alpha = exp2f(m[i] - shift);
      float row_sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        s[i][j] = exp2f(s[i][j] - shift);
        row_sum += s[i][j];
        p_tile[(g + 16 * i) * kScoreStride + c + 16 * j] = s[i][j];
      }
      l[i] = l[i] * alpha + group_sum(row_sum);
      m[i] = m_new;
#pragma unroll
      for (int e = 0; e < kCols; ++e) acc[i][e] *= alpha;
    }
    __syncthreads();
    tile_accumulate<kD>(p_tile, v_tile, acc);
  }
  async_copy::copy_async_wait<0>();
  float inverse[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    inverse[i] = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    const int64_t query = q0 + g + 16 * i;
    if (c == 0 && query < p.Nq) {
      p.lse_w[bh * p.Nq + query] = l[i] > 0.0f ? m[i] + log2f(l[i]) : INFINITY;
    }
  }
  store_rows<kD>(p.out_w + bh * p.Nq * p.Dv, q0, p.Nq, p.Dv, acc, inverse);
}

// delta[r] = sum_d dout[r][d] * out[r][d]: one warp per row.
__global__ void delta_kernel(const float* dout, const float* out, float* delta, int64_t rows,
                             int64_t Dv) {
  const int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float sum = 0.0f;
  for (int64_t d = lane; d < Dv; d += 32) sum += dout[row * Dv + d] * out[row * Dv + d];
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (lane == 0) delta[row] = sum;
}

// dK, dV for one key block: K, V resident, every query block that can see them streamed.
template <int kD>
__global__ void __launch_bounds__(kThreads) backward_kv_kernel(Params p) {
  extern __shared__ __align__(16) float shared[];
  float* k_tile = shared;
  float* v_tile = k_tile + kTile * row_stride<kD>();
  float* q_tile = v_tile + kTile * row_stride<kD>();
  float* do_tile = q_tile + kTile * row_stride<kD>();
  float* p_tile = do_tile + kTile * row_stride<kD>();  // P^T: keys x queries
  float* ds_tile = p_tile + kTile * kScoreStride;      // dS^T
  float* lse_tile = ds_tile + kTile * kScoreStride;
  float* delta_tile = lse_tile + kTile;
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t k0 = int64_t(blockIdx.x) * kTile;
  load_tile<kD>(k_tile, p.k + bh * p.Nk * p.D, k0, p.Nk, p.D);
  load_tile<kD>(v_tile, p.v + bh * p.Nk * p.Dv, k0, p.Nk, p.Dv);
  const float* q = p.q + bh * p.Nq * p.D;
  const float* dout = p.dout + bh * p.Nq * p.Dv;

  constexpr int kCols = kD / 16;
  float dk[4][kCols] = {}, dv[4][kCols] = {};
  const int64_t q_start = p.causal ? k0 : 0;  // queries before k0 see none of these keys
  for (int64_t q0 = q_start / kTile * kTile; q0 < p.Nq; q0 += kTile) {
    __syncthreads();
    load_tile<kD>(q_tile, q, q0, p.Nq, p.D);
    load_tile<kD>(do_tile, dout, q0, p.Nq, p.Dv);
    if (threadIdx.x < kTile) {
      const int64_t query = q0 + threadIdx.x;
      lse_tile[threadIdx.x] = query < p.Nq ? p.lse[bh * p.Nq + query] : INFINITY;
      delta_tile[threadIdx.x] = query < p.Nq ? p.delta[bh * p.Nq + query] : 0.0f;
    }
    __syncthreads();
    float s[4][4], dp[4][4];
    tile_dot<kD>(k_tile, q_tile, s);    // S^T: keys g + 16 i, queries c + 16 j
    tile_dot<kD>(v_tile, do_tile, dp);  // dP^T
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int query = c + 16 * j;
        const float prob = visible(p, b, q0 + query, k0 + g + 16 * i)
                               ? exp2f(s[i][j] * p.scale_log2 - lse_tile[query])
                               : 0.0f;
        p_tile[(g + 16 * i) * kScoreStride + query] = prob;
        ds_tile[(g + 16 * i) * kScoreStride + query] = prob * (dp[i][j] - delta_tile[query]);
      }
    }
    __syncthreads();
    tile_accumulate<kD>(p_tile, do_tile, dv);  // dV += P^T dO
    tile_accumulate<kD>(ds_tile, q_tile, dk);  // dK += dS^T Q
  }
  const float ones[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  const float scales[4] = {p.scale, p.scale, p.scale, p.scale};
  store_rows<kD>(p.dk + bh * p.Nk * p.D, k0, p.Nk, p.D, dk, scales);
  store_rows<kD>(p.dv + bh * p.Nk * p.Dv, k0, p.Nk, p.Dv, dv, ones);
}

// dQ for one query block: Q, dO resident, every key block it can see streamed.
template <int kD>
__global__ void __launch_bounds__(kThreads) backward_q_kernel(Params p) {
  extern __shared__ __align__(16) float shared[];
  float* q_tile = shared;
  float* do_tile = q_tile + kTile * row_stride<kD>();
  float* k_tile = do_tile + kTile * row_stride<kD>();
  float* v_tile = k_tile + kTile * row_stride<kD>();
  float* ds_tile = v_tile + kTile * row_stride<kD>();  // dS: queries x keys
  const int g = threadIdx.x / 16, c = threadIdx.x % 16;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile;
  load_tile<kD>(q_tile, p.q + bh * p.Nq * p.D, q0, p.Nq, p.D);
  load_tile<kD>(do_tile, p.dout + bh * p.Nq * p.Dv, q0, p.Nq, p.Dv);
  float lse[4], delta[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t query = q0 + g + 16 * i;
    lse[i] = query < p.Nq ? p.lse[bh * p.Nq + query] : INFINITY;
    delta[i] = query < p.Nq ? p.delta[bh * p.Nq + query] : 0.0f;
  }
  const float* k = p.k + bh * p.Nk * p.D;
  const float* v = p.v + bh * p.Nk * p.Dv;

  constexpr int kCols = kD / 16;
  float dq[4][kCols] = {};
  const int64_t k_end = p.causal ? min(p.Nk, q0 + kTile) : p.Nk;
  for (int64_t k0 = 0; k0 < k_end; k0 += kTile) {
    __syncthreads();
    load_tile<kD>(k_tile, k, k0, p.Nk, p.D);
    load_tile<kD>(v_tile, v, k0, p.Nk, p.Dv);
    __syncthreads();
    float s[4][4], dp[4][4];
    tile_dot<kD>(q_tile, k_tile, s);
    tile_dot<kD>(do_tile, v_tile, dp);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int key = c + 16 * j;
        const float prob = visible(p, b, q0 + g + 16 * i, k0 + key)
                               ? exp2f(s[i][j] * p.scale_log2 - lse[i])
                               : 0.0f;
        ds_tile[(g + 16 * i) * kScoreStride + key] = prob * (dp[i][j] - delta[i]);
      }
    }
    __syncthreads();
    tile_accumulate<kD>(ds_tile, k_tile, dq);  // dQ += dS K
  }
  const float scales[4] = {p.scale, p.scale, p.scale, p.scale};
  store_rows<kD>(p.dq + bh * p.Nq * p.D, q0, p.Nq, p.D, dq, scales);
}

void check_shape(const char* name, const AttentionShape& s) {
  if (s.B < 0 || s.H < 0 || s.Nq < 0 || s.Nk < 0 || s.D < 1 || s.Dv < 1 || s.D > kMaxHeadDim ||
      s.Dv > kMaxHeadDim) {
    throw std::invalid_argument(
        std::string("pa::cuda::") + name + ": head dims D = " + std::to_string(s.D) +
        ", Dv = " + std::to_string(s.Dv) + " must be in [1, " + std::to_string(kMaxHeadDim) + "]");
  }
  if (s.B * s.H > 65535) {
    throw std::invalid_argument(std::string("pa::cuda::") + name +
                                ": B * H = " + std::to_string(s.B * s.H) + " exceeds 65535");
  }
}

// Shared-memory bytes of a kernel with `tiles` 64 x kD tiles, `scores` 64 x 64 tiles and
// `extra` floats.
template <int kD>
constexpr size_t shared_bytes(int tiles, int scores, int extra) {
  return sizeof(float) *
         (size_t(tiles) * kTile * row_stride<kD>() + size_t(scores) * kTile * kScoreStride + extra);
}

// The largest of the three kernels' shared memory for head-dim class kD (forward: Q, two K and
// two V buffers, P; dK/dV pass: K, V, Q, dO, P, dS, lse, delta; dQ pass: Q, dO, K, V, dS).
template <int kD>
constexpr size_t largest_shared_bytes() {
  return std::max(
      {shared_bytes<kD>(5, 1, 0), shared_bytes<kD>(4, 2, 2 * kTile), shared_bytes<kD>(4, 1, 0)});
}

// Launches kKernel (built for kD) with `tiles` 64 x kD tiles and `scores` 64 x 64 tiles of
// shared memory (plus `extra` floats), raising the kernel's dynamic shared-memory limit the
// first time.
template <auto kKernel, int kD>
void launch(int64_t blocks, int64_t bh, const Params& params, int tiles, int scores, int extra) {
  launch_grid<kKernel>(blocks, bh, kThreads, shared_bytes<kD>(tiles, scores, extra), params);
}

Params make_params(const AttentionShape& s, const float* q, const float* k, const float* v,
                   const float* padding, bool causal, float scale) {
  Params p{};
  p.q = q, p.k = k, p.v = v, p.padding = padding;
  p.H = s.H, p.Nq = s.Nq, p.Nk = s.Nk, p.D = s.D, p.Dv = s.Dv;
  p.causal = causal;
  p.scale = scale;
  p.scale_log2 = scale * kLog2e;
  return p;
}

template <int kD>
void forward(const AttentionShape& s, const Params& p) {
  launch<forward_kernel<kD>, kD>((s.Nq + kTile - 1) / kTile, s.B * s.H, p, 5, 1, 0);
}

template <int kD>
void backward(const AttentionShape& s, const Params& p) {
  launch<backward_kv_kernel<kD>, kD>((s.Nk + kTile - 1) / kTile, s.B * s.H, p, 4, 2, 2 * kTile);
  launch<backward_q_kernel<kD>, kD>((s.Nq + kTile - 1) / kTile, s.B * s.H, p, 4, 1, 0);
}

}  // namespace

bool flash_attention_fits(const AttentionShape& s) {
  if (s.D < 1 || s.Dv < 1 || s.D > kMaxHeadDim || s.Dv > kMaxHeadDim || s.B * s.H > 65535) {
    return false;
  }
  const int optin = current_device_capability().shared_bytes_optin;
  const int d = flash_attention_head_dim_class(s);
  const size_t needed = d == 32   ? largest_shared_bytes<32>()
                        : d == 64 ? largest_shared_bytes<64>()
                                  : largest_shared_bytes<128>();
  return needed <= static_cast<size_t>(optin);
}

void flash_attention_forward(const AttentionShape& shape, const float* q, const float* k,
                             const float* v, const float* padding, bool causal, float scale,
                             float* out, float* lse) {
  static const bool force_simt = [] {
    const char* text = std::getenv("PA_FLASH_SIMT");
    return text != nullptr && std::string(text) == "1";
  }();
  check_shape("flash_attention_forward", shape);
  if (!force_simt && flash_attention_3xtf32_supports(shape, q, k, v, out)) {
    return flash_attention_forward_3xtf32(shape, q, k, v, padding, causal, scale, out, lse);
  }
  flash_attention_forward_simt(shape, q, k, v, padding, causal, scale, out, lse);
}

void flash_attention_forward_simt(const AttentionShape& shape, const float* q, const float* k,
                                  const float* v, const float* padding, bool causal, float scale,
                                  float* out, float* lse) {
  check_shape("flash_attention_forward_simt", shape);
  Params p = make_params(shape, q, k, v, padding, causal, scale);
  p.out_w = out, p.lse_w = lse;
  switch (flash_attention_head_dim_class(shape)) {
    case 32:
      return forward<32>(shape, p);
    case 64:
      return forward<64>(shape, p);
    default:
      return forward<128>(shape, p);
  }
}

void flash_attention_backward(const AttentionShape& shape, const float* q, const float* k,
                              const float* v, const float* padding, bool causal, float scale,
                              const float* out, const float* lse, const float* dout, float* delta,
                              float* dq, float* dk, float* dv) {
  check_shape("flash_attention_backward", shape);
  const int64_t rows = shape.B * shape.H * shape.Nq;
  if (rows > 0) {
    delta_kernel<<<static_cast<unsigned>((rows * 32 + kThreads - 1) / kThreads), kThreads, 0,
                   launch_stream()>>>(dout, out, delta, rows, shape.Dv);
    PA_CUDA_CHECK_LAUNCH();
  }
  Params p = make_params(shape, q, k, v, padding, causal, scale);
  p.out = out, p.lse = lse, p.dout = dout, p.delta = delta;
  p.dq = dq, p.dk = dk, p.dv = dv;
  switch (flash_attention_head_dim_class(shape)) {
    case 32:
      return backward<32>(shape, p);
    case 64:
      return backward<64>(shape, p);
    default:
      return backward<128>(shape, p);
  }
}

bool attention_fits(const AttentionShape& shape) { return flash_attention_fits(shape); }

int64_t attention_workspace(const AttentionShape& shape) { return shape.B * shape.H * shape.Nq; }

void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse) {
  flash_attention_forward(shape, q, k, v, mask.key_padding, mask.causal, scale, out, lse);
}

void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout,
                        const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                        float* workspace) {
  flash_attention_backward(shape, q, k, v, mask.key_padding, mask.causal, scale, out, lse, dout,
                           workspace, dq, dk, dv);
}

}  // namespace pa::cuda
