// FlashAttention-2 forward, bf16 on the tensor cores (see flash_attention_bf16.h for the design).
//
// Fragment layouts of mma.sync.m16n8k16 (bf16 in, fp32 out), lane = 4 g + t:
//   A (16 x 16, row-major): a0 = (row g, cols 2t, 2t+1), a1 = row g + 8, a2 = a0 cols + 8,
//                           a3 = a1 cols + 8; each register holds two bf16, lower column low.
//   B (16 x 8, "col"):      b0 = (k 2t, 2t+1; column g), b1 = k + 8.
//   C (16 x 8, fp32):       c0, c1 = (row g, cols 2t, 2t+1), c2, c3 = row g + 8.
// ldmatrix.x4: lane l gives the address of row l % 8 of 8 x 8 matrix l / 8; each lane gets from
// matrix i the pair (row l / 4, cols 2 (l % 4), +1), or with .trans the pair (rows 2 (l % 4), +1;
// col l / 4). So K rows (key-major, d contiguous) load as B fragments without .trans and V rows
// (key-major) load as B fragments with it.
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

namespace pa::cuda {
namespace {

using namespace bf16_attention;

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
using Config64 = Config<64, 2, 64, true, false>;
using Config128 = Config<128, 2, 32, false, true>;

__device__ __forceinline__ void ldmatrix_x4(unsigned r[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned r[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// c += a b for one 16 x 8 x 16 step.
__device__ __forceinline__ void mma(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Rows [r0, r0 + kTileRows) of a (rows, kD) row-major bf16 matrix into a padded shared tile
// through cp.async, rows past the end zero-filled; queued, not waited for.
template <class C, int kTileRows>
__device__ __forceinline__ void load_tile_async(__nv_bfloat16* tile, const __nv_bfloat16* matrix,
                                                int64_t r0, int64_t rows) {
  constexpr int kChunks = C::kD / 8;  // 16-byte chunks per row
  static_assert(kTileRows * kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kTileRows * kChunks / kThreads; ++i) {
    const int e = threadIdx.x + i * kThreads;
    const int r = e / kChunks, c = (e % kChunks) * 8;
    const bool inside = r0 + r < rows;
    async_copy::copy_async_16(async_copy::shared_address(tile + r * C::kStride + c),
                              inside ? matrix + (r0 + r) * C::kD + c : matrix, inside ? 16 : 0);
  }
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

  load_tile_async<C, C::kRows>(q_tile, q, q0, p.Nq);
  const int64_t k_end = p.causal ? min(p.Nk, q0 + C::kRows) : p.Nk;
  if (k_end > 0) {
    load_tile_async<C, kKeys>(k_tiles, k, 0, p.Nk);
    load_tile_async<C, kKeys>(v_tiles, v, 0, p.Nk);
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
      load_tile_async<C, kKeys>(k_tiles + (1 - buffer) * kKeys * kStride, k, k0 + kKeys, p.Nk);
      load_tile_async<C, kKeys>(v_tiles + (1 - buffer) * kKeys * kStride, v, k0 + kKeys, p.Nk);
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
  if (shape.D != shape.Dv || (shape.D != 64 && shape.D != 128)) {
    throw std::invalid_argument(name + "head dims D = " + std::to_string(shape.D) + ", Dv = " +
                                std::to_string(shape.Dv) + " must be equal and 64 or 128");
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
  if (kernel == Bf16Kernel::kWgmma && !hopper) {
    throw std::invalid_argument(name + "the wgmma kernel needs a compute capability 9.0 GPU");
  }
  if (kernel == Bf16Kernel::kWgmma || (kernel == Bf16Kernel::kAuto && hopper)) {
    return forward_sm90(shape, p);
  }
  if (shape.D == 64) return forward<Config64>(shape, p);
  return forward<Config128>(shape, p);
}

}  // namespace pa::cuda
