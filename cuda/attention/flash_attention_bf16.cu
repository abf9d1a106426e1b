// FlashAttention-2 forward, bf16 on the tensor cores (see flash_attention_bf16.h for the design).
//
// The mma.sync fragment layouts and ldmatrix addressing are documented in mma_bf16.cuh.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/attention/flash_attention_bf16.h"
#include "cuda/attention/mma_bf16.cuh"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"

namespace pa::cuda {
namespace {

using mma_bf16::ldmatrix_x4;
using mma_bf16::ldmatrix_x4_trans;
using mma_bf16::mma;
using mma_bf16::pack_bf16;

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr float kLog2e = 1.4426950408889634f;

// A kernel configuration: each warp owns kMTiles 16-row query tiles (kRows = 64 kMTiles query
// rows per block), and K/V stream in tiles of kKeys keys. Two M-tiles per warp halve the
// shared-memory reads per mma (each K or V fragment feeds both), at the price of registers.
// kQInRegs: the warp's Q fragments stay in registers for the whole pass (else each is re-read
// from shared memory by ldmatrix for every K tile, freeing registers).
template <int kD_, int kMTiles_, int kKeys_, bool kQInRegs_>
struct Config {
  static constexpr int kD = kD_, kMTiles = kMTiles_, kKeys = kKeys_;
  static constexpr bool kQInRegs = kQInRegs_;
  static constexpr int kRows = 16 * kMTiles * kWarps;
  static constexpr int kNTiles = kKeys / 8;  // 8-key n-tiles of S
  // bf16 elements per shared-memory row: 16 bytes of padding put the 8 rows read by one
  // ldmatrix phase on distinct banks.
  static constexpr int kStride = kD + 8;
  static constexpr size_t kSharedBytes =
      sizeof(__nv_bfloat16) * size_t(kRows + 4 * kKeys) * kStride;  // Q, two K and two V tiles
};

// The configurations run (see flash_attention_bf16.h for what was measured).
using Config32 = Config<32, 2, 64, true>;
using Config64 = Config<64, 2, 64, true>;
using Config128 = Config<128, 2, 32, false>;

struct Params {
  const __nv_bfloat16 *q, *k, *v;
  const float* padding;
  __nv_bfloat16* out;
  float* lse;
  int64_t H, Nq, Nk;
  bool causal;
  float scale_log2;  // scale * log2(e)
};

// Rows [r0, r0 + kTileRows) of a (rows, kD) matrix into a shared tile of configuration C.
template <class C, int kTileRows>
__device__ __forceinline__ void load_tile(__nv_bfloat16* tile, const __nv_bfloat16* matrix,
                                          int64_t r0, int64_t rows) {
  mma_bf16::load_tile_async<C::kD, C::kStride, kTileRows, kThreads>(tile, matrix, r0, rows);
}

template <class C>
__global__ void __launch_bounds__(kThreads) forward_kernel(Params p) {
  constexpr int kD = C::kD, kM = C::kMTiles, kN = C::kNTiles, kKeys = C::kKeys;
  constexpr int kStride = C::kStride;
  extern __shared__ __align__(128) unsigned char shared[];
  __nv_bfloat16* q_tile = reinterpret_cast<__nv_bfloat16*>(shared);
  __nv_bfloat16* k_tiles = q_tile + C::kRows * kStride;  // two buffers each
  __nv_bfloat16* v_tiles = k_tiles + 2 * kKeys * kStride;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int matrix = lane / 8, matrix_row = lane % 8;  // ldmatrix addressing
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * C::kRows;  // heaviest (causal) first
  const __nv_bfloat16* q = p.q + bh * p.Nq * kD;
  const __nv_bfloat16* k = p.k + bh * p.Nk * kD;
  const __nv_bfloat16* v = p.v + bh * p.Nk * kD;
  // M-tile i of this warp: block rows 16 (kM warp + i) .. + 15; this lane's rows in it are
  // row0 + 16 i and row0 + 16 i + 8.
  const int64_t row0 = q0 + 16 * kM * warp + g;

  load_tile<C, C::kRows>(q_tile, q, q0, p.Nq);
  const int64_t k_end = p.causal ? min(p.Nk, q0 + C::kRows) : p.Nk;
  if (k_end > 0) {
    load_tile<C, kKeys>(k_tiles, k, 0, p.Nk);
    load_tile<C, kKeys>(v_tiles, v, 0, p.Nk);
  }
  async_copy::copy_async_commit();

  unsigned q_fragments[C::kQInRegs ? kM : 1][C::kQInRegs ? kD / 16 : 1][4];
  // ldmatrix address of this lane's row for k-step ks of M-tile i of the Q tile.
  const auto q_address = [&](int i, int ks) {
    const int row = 16 * (kM * warp + i) + (matrix % 2) * 8 + matrix_row;
    return async_copy::shared_address(q_tile + row * kStride + ks * 16 + (matrix / 2) * 8);
  };
  float o[kM][kD / 8][4] = {};
  float m[kM][2], l[kM][2];  // l: this lane's partial row sums; the quad's are added at the end
#pragma unroll
  for (int i = 0; i < kM; ++i) m[i][0] = m[i][1] = -INFINITY, l[i][0] = l[i][1] = 0.0f;
  for (int64_t k0 = 0, tile = 0; k0 < k_end; k0 += kKeys, ++tile) {
    const int buffer = int(tile % 2);
    const __nv_bfloat16* k_tile = k_tiles + buffer * kKeys * kStride;
    const __nv_bfloat16* v_tile = v_tiles + buffer * kKeys * kStride;
    __syncthreads();  // the other buffer (tile - 1) is no longer read
    if (k0 + kKeys < k_end) {
      load_tile<C, kKeys>(k_tiles + (1 - buffer) * kKeys * kStride, k, k0 + kKeys, p.Nk);
      load_tile<C, kKeys>(v_tiles + (1 - buffer) * kKeys * kStride, v, k0 + kKeys, p.Nk);
    }
    async_copy::copy_async_commit();
    async_copy::copy_async_wait<1>();  // this thread's copies of Q and tile `tile` have landed
    __syncthreads();
    if constexpr (C::kQInRegs) {
      if (tile == 0) {
#pragma unroll
        for (int i = 0; i < kM; ++i) {
#pragma unroll
          for (int ks = 0; ks < kD / 16; ++ks) ldmatrix_x4(q_fragments[i][ks], q_address(i, ks));
        }
      }
    }

    // S = Q K^T: per M-tile 16 rows x kKeys keys, n-tile j holding keys 8 j .. 8 j + 7.
    float s[kM][kN][4] = {};
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      unsigned qa[kM][4];
#pragma unroll
      for (int i = 0; i < kM; ++i) {
        if constexpr (C::kQInRegs) {
#pragma unroll
          for (int e = 0; e < 4; ++e) qa[i][e] = q_fragments[i][ks][e];
        } else {
          ldmatrix_x4(qa[i], q_address(i, ks));
        }
      }
#pragma unroll
      for (int np = 0; np < kN / 2; ++np) {
        unsigned kb[4];
        ldmatrix_x4(kb, async_copy::shared_address(
                            k_tile + (np * 16 + (matrix / 2) * 8 + matrix_row) * kStride + ks * 16 +
                            (matrix % 2) * 8));
#pragma unroll
        for (int i = 0; i < kM; ++i) {
          mma(s[i][2 * np], qa[i], kb[0], kb[1]);
          mma(s[i][2 * np + 1], qa[i], kb[2], kb[3]);
        }
      }
    }

    // Scale to base 2; mask only tiles that can hide something.
    const bool masked =
        k0 + kKeys > p.Nk || (p.causal && k0 + kKeys - 1 > q0) || p.padding != nullptr;
#pragma unroll
    for (int i = 0; i < kM; ++i) {
#pragma unroll
      for (int j = 0; j < kN; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[i][j][e] *= p.scale_log2;
          if (masked) {
            const int64_t key = k0 + 8 * j + 2 * t + (e % 2);
            const int64_t query = row0 + 16 * i + (e / 2) * 8;
            const bool visible = key < p.Nk && !(p.causal && key > query) &&
                                 (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
            if (!visible) s[i][j][e] = -INFINITY;
          }
        }
      }
    }

    // Online softmax per row (r = 0: row g, r = 1: row g + 8 of the M-tile); the 4 lanes of a
    // quad share a row.
#pragma unroll
    for (int i = 0; i < kM; ++i) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float row_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < kN; ++j) {
          row_max = fmaxf(row_max, fmaxf(s[i][j][2 * r], s[i][j][2 * r + 1]));
        }
        row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, 1));
        row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, 2));
        const float m_new = fmaxf(m[i][r], row_max);
        const float shift = m_new == -INFINITY ? 0.0f : m_new;  // nothing visible yet
        const float alpha = exp2f(m[i][r] - shift);
        float row_sum = 0.0f;
#pragma unroll
        for (int j = 0; j < kN; ++j) {
          s[i][j][2 * r] = exp2f(s[i][j][2 * r] - shift);
          s[i][j][2 * r + 1] = exp2f(s[i][j][2 * r + 1] - shift);
          row_sum += s[i][j][2 * r] + s[i][j][2 * r + 1];
        }
        l[i][r] = l[i][r] * alpha + row_sum;
        m[i][r] = m_new;
#pragma unroll
        for (int dn = 0; dn < kD / 8; ++dn) o[i][dn][2 * r] *= alpha, o[i][dn][2 * r + 1] *= alpha;
      }
    }

    // O += P V: the C fragments of n-tiles 2 kk and 2 kk + 1 are the A fragment of k-step kk.
#pragma unroll
    for (int kk = 0; kk < kN / 2; ++kk) {
      unsigned a[kM][4];
#pragma unroll
      for (int i = 0; i < kM; ++i) {
        a[i][0] = pack_bf16(s[i][2 * kk][0], s[i][2 * kk][1]);
        a[i][1] = pack_bf16(s[i][2 * kk][2], s[i][2 * kk][3]);
        a[i][2] = pack_bf16(s[i][2 * kk + 1][0], s[i][2 * kk + 1][1]);
        a[i][3] = pack_bf16(s[i][2 * kk + 1][2], s[i][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        unsigned vb[4];
        ldmatrix_x4_trans(vb, async_copy::shared_address(
                                  v_tile + (kk * 16 + (matrix % 2) * 8 + matrix_row) * kStride +
                                  dp * 16 + (matrix / 2) * 8));
#pragma unroll
        for (int i = 0; i < kM; ++i) {
          mma(o[i][2 * dp], a[i], vb[0], vb[1]);
          mma(o[i][2 * dp + 1], a[i], vb[2], vb[3]);
        }
      }
    }
  }
  async_copy::copy_async_wait<0>();

#pragma unroll
  for (int i = 0; i < kM; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = l[i][r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int64_t query = row0 + 16 * i + 8 * r;
      if (query >= p.Nq) continue;
      const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
      if (t == 0) p.lse[bh * p.Nq + query] = sum > 0.0f ? m[i][r] + log2f(sum) : INFINITY;
      unsigned* out = reinterpret_cast<unsigned*>(p.out + (bh * p.Nq + query) * kD);
#pragma unroll
      for (int dn = 0; dn < kD / 8; ++dn) {
        out[dn * 4 + t] = pack_bf16(o[i][dn][2 * r] * inverse, o[i][dn][2 * r + 1] * inverse);
      }
    }
  }
}

template <class C>
void forward(const AttentionShape& s, const Params& p) {
  static const bool raised = [] {
    PA_CUDA_CHECK(cudaFuncSetAttribute(forward_kernel<C>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(C::kSharedBytes)));
    return true;
  }();
  (void)raised;
  const int64_t blocks = (s.Nq + C::kRows - 1) / C::kRows;
  if (blocks == 0 || s.B * s.H == 0) return;
  forward_kernel<C><<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(s.B * s.H)),
                      kThreads, C::kSharedBytes, launch_stream()>>>(p);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void flash_attention_forward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                  const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const float* padding, bool causal, float scale,
                                  __nv_bfloat16* out, float* lse) {
  const std::string name = "pa::cuda::flash_attention_forward_bf16: ";
  if (shape.D != shape.Dv || (shape.D != 32 && shape.D != 64 && shape.D != 128)) {
    throw std::invalid_argument(name + "head dims D = " + std::to_string(shape.D) + ", Dv = " +
                                std::to_string(shape.Dv) + " must be equal and 32, 64 or 128");
  }
  if (shape.B < 0 || shape.H < 0 || shape.Nq < 0 || shape.Nk < 0) {
    throw std::invalid_argument(name + "negative B, H, Nq or Nk");
  }
  if (shape.B * shape.H > 65535) {
    throw std::invalid_argument(name + "B * H = " + std::to_string(shape.B * shape.H) +
                                " exceeds 65535");
  }
  Params p{};
  p.q = q, p.k = k, p.v = v, p.padding = padding, p.out = out, p.lse = lse;
  p.H = shape.H, p.Nq = shape.Nq, p.Nk = shape.Nk;
  p.causal = causal;
  p.scale_log2 = scale * kLog2e;
  if (shape.D == 32) return forward<Config32>(shape, p);
  if (shape.D == 64) return forward<Config64>(shape, p);
  return forward<Config128>(shape, p);
}

}  // namespace pa::cuda
