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
#include "cuda/attention/flash_attention_bf16_common.cuh"
#include "cuda/attention/flash_attention_bf16_sm90.h"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mma_bf16.cuh"

namespace pa::cuda {
namespace {

using namespace bf16_attention;
using mma_bf16::ldmatrix_x4;
using mma_bf16::ldmatrix_x4_trans;
using mma_bf16::mma;

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;

// A kernel configuration: each warp owns kMTiles 16-row query tiles (kRows = 64 kMTiles query
// rows per block), and K/V stream in tiles of kKeys keys. Two M-tiles per warp halve the
// shared-memory reads per mma (each K or V fragment feeds both), at the price of registers.
// kQInRegs: the warp's Q fragments stay in registers for the whole pass (else each is re-read
// from shared memory by ldmatrix for every K tile, freeing registers).
// kLazy: lazy rescaling (see the softmax step), which pays where the rescale of O (kD / 2
// multiplies per lane per row pair) is large next to the exponentials of a key tile (kKeys / 4).
template <int kD_, int kMTiles_, int kKeys_, bool kQInRegs_, bool kLazy_>
struct Config {
  static constexpr int kD = kD_, kMTiles = kMTiles_, kKeys = kKeys_;
  static constexpr bool kQInRegs = kQInRegs_, kLazy = kLazy_;
  static constexpr int kRows = 16 * kMTiles * kWarps;
  static constexpr int kNTiles = kKeys / 8;  // 8-key n-tiles of S
  // bf16 elements per shared-memory row: 16 bytes of padding put the 8 rows read by one
  // ldmatrix phase on distinct banks.
  static constexpr int kStride = kD + 8;
  static constexpr size_t kSharedBytes =
      sizeof(__nv_bfloat16) * size_t(kRows + 4 * kKeys) * kStride;  // Q, two K and two V tiles
};

// The configurations run (see flash_attention_bf16.h for what was measured).
using Config32 = Config<32, 2, 64, true, false>;
using Config64 = Config<64, 2, 64, true, false>;
using Config128 = Config<128, 2, 32, false, true>;

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

    // Mask only tiles that can hide something. The scores stay unscaled: scale > 0, so the row
    // max commutes with it, and the scale folds into the exponent's FMA below.
    if (k0 + kKeys > p.Nk || (p.causal && k0 + kKeys - 1 > q0) || p.padding != nullptr) {
      mask_scores<C>(s, p, b, k0, row0, t);
    }

    // Online softmax per row in base 2 (r = 0: row g, r = 1: row g + 8 of the M-tile); the 4
    // lanes of a quad share a row, and p = 2^(s scale log2(e) - m) is one FMA and one MUFU.
    softmax_step<C>(s, m, l, o, p.scale_log2);

    // O += P V: the C fragments of n-tiles 2 kk and 2 kk + 1 are the A fragment of k-step kk.
#pragma unroll
    for (int kk = 0; kk < kN / 2; ++kk) {
      unsigned a[kM][4];
#pragma unroll
      for (int i = 0; i < kM; ++i) probability_fragment<C>(s, i, kk, a[i]);
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
  store_rows<C>(o, m, l, p, bh, row0, t);
}

template <class C>
void forward(const AttentionShape& s, const Params& p) {
  launch_grid<forward_kernel<C>>((s.Nq + C::kRows - 1) / C::kRows, s.B * s.H, kThreads,
                                 C::kSharedBytes, p);
}

}  // namespace

void flash_attention_forward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                  const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const float* padding, bool causal, float scale,
                                  __nv_bfloat16* out, float* lse, Bf16Kernel kernel) {
  const std::string name = "pa::cuda::flash_attention_forward_bf16: ";
  if (shape.D != shape.Dv || (shape.D != 32 && shape.D != 64 && shape.D != 128)) {
    throw std::invalid_argument(name + "head dims D = " + std::to_string(shape.D) + ", Dv = " +
                                std::to_string(shape.Dv) + " must be equal and 32, 64 or 128");
  }
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    throw std::invalid_argument(name + "scale = " + std::to_string(scale) +
                                " must be finite and positive (negate q for a negative one)");
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
  const bool hopper = wgmma_device();
  if (kernel == Bf16Kernel::kWgmma && (!hopper || shape.D == 32)) {
    throw std::invalid_argument(name +
                                "the wgmma kernel needs a compute capability 9.0 GPU and D = 64 or "
                                "128 (D = " +
                                std::to_string(shape.D) + ")");
  }
  if (kernel == Bf16Kernel::kWgmma || (kernel == Bf16Kernel::kAuto && hopper && shape.D != 32)) {
    return forward_sm90(shape, p);
  }
  if (shape.D == 32) return forward<Config32>(shape, p);
  if (shape.D == 64) return forward<Config64>(shape, p);
  return forward<Config128>(shape, p);
}

}  // namespace pa::cuda
