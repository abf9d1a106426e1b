// FlashAttention-2 forward in fp32 on the tensor cores with 3xTF32 (see flash_attention.h for
// the design, the accuracy argument and the measured numbers).
//
// Fragment layouts of mma.sync.m16n8k8 (tf32 in, fp32 out), lane = 4 g + t:
//   A (16 x 8, row-major): a0 = (row g, k t), a1 = (row g + 8, k t), a2 = (row g, k t + 4),
//                          a3 = (row g + 8, k t + 4).
//   B (8 x 8, "col"):      b0 = (k t, column g), b1 = (k t + 4, column g).
//   C (16 x 8, fp32):      c0, c1 = (row g, columns 2t, 2t + 1), c2, c3 = row g + 8.
// A k index only pairs an A element with a B element, so any one-to-one map from the eight k
// indices of a step to eight physical indices computes the same sum. The kernel picks maps that
// make every shared-memory read a 16-byte vector and need no shuffles:
//   S = Q K^T: k-steps 2s and 2s + 1 cover head dims 16s .. 16s + 15; lane t reads dims
//   16s + 4t .. + 3 of its Q rows and K row as one float4, whose .x, .y are k t, t + 4 of step 2s
//   and .z, .w those of step 2s + 1.
//   O += P V: k t of step kk is key 8 kk + 2t and k t + 4 is key 8 kk + 2t + 1, so the C fragment
//   of S's n-tile kk (keys 2t, 2t + 1 of rows g, g + 8) is the A fragment as it stands:
//   a = (c0, c2, c1, c3). The output columns are permuted too: column n of n-tile 4 grp + jj is
//   head dim 32 grp + 4 n + jj, so lane g reads V's dims 32 grp + 4g .. + 3 of one key as one
//   float4 (the B fragments of four n-tiles), and lane t ends up owning dims 32 grp + 8t .. + 7
//   of its rows: two float4 stores.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/attention/flash_attention.h"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"

namespace pa::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kRows = 16 * kWarps;  // query rows per block: one 16-row M-tile per warp

// A head-dim class kD (D and Dv zero-padded up to it) with K/V tiles of kKeys keys.
template <int kD_, int kKeys_>
struct Config {
  static constexpr int kD = kD_, kKeys = kKeys_;
  static constexpr int kNTiles = kKeys / 8;  // 8-key n-tiles of S, the k-steps of P V
  // Q and K rows (floats): a quarter-warp's float4 reads cover rows g, g + 1 at columns 4t: a
  // stride of 16 (mod 32) puts them on 32 distinct banks.
  static constexpr int kQKStride = kD + 16;
  // V rows: a quarter-warp reads keys 2t (t = 0..3) at columns 4g (g = 0, 1): a stride of
  // 4 (mod 16) puts 2t * stride on distinct multiples of 8 banks.
  static constexpr int kVStride = kD + 4;
  static_assert(kQKStride % 32 == 16 && kVStride % 16 == 4);
  static constexpr size_t kSharedBytes =
      sizeof(float) * (size_t(kRows) * kQKStride + 2 * size_t(kKeys) * (kQKStride + kVStride));
};

// 107.5 KB at D = 128, 94 KB at 64, 54 KB at 32: two blocks (8 warps) per H100 SM.
using Config32 = Config<32, 64>;
using Config64 = Config<64, 64>;
using Config128 = Config<128, 32>;

struct Params {
  const float *q, *k, *v, *padding;
  float *out, *lse;
  int64_t H, Nq, Nk, D, Dv;
  bool causal;
  float scale_log2;  // scale * log2(e)
};

// x = big + small with big = x rounded to tf32 (10 mantissa bits; to nearest, ties away from
// zero: add half a tf32 ulp to the bits, clear the 13 low ones) and small = x - big, exact in
// fp32, |small| <= 2^-11 |x|. small goes to the tensor cores as it is: a tf32 operand's low 13
// bits are not used (at worst truncated: an error under 2^-10 |small| <= 2^-21 |x|; ptxas knows
// it too and hands HMMA the unmasked sum). Three instructions (IADD, LOP3, FADD);
// cvt.rna.tf32.f32 compiles to about four per rounding on sm_90 (inf and NaN handling), which
// made the first version issue-bound.
__device__ __forceinline__ void split(float x, unsigned& big, unsigned& small) {
  big = (__float_as_uint(x) + 0x1000u) & 0xffffe000u;
  small = __float_as_uint(x - __uint_as_float(big));
}

// c += a b for one 16 x 8 x 8 step in tf32.
__device__ __forceinline__ void mma(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Rows [r0, r0 + kTileRows) of a (rows, cols) row-major matrix into a shared tile of row stride
// kStride through cp.async; rows past the end and columns from cols to kD are zero-filled by the
// copies. cols % 4 == 0 and 16-byte aligned rows. Queued, not waited for.
template <int kTileRows, int kD, int kStride>
__device__ __forceinline__ void load_tile_async(float* tile, const float* matrix, int64_t r0,
                                                int64_t rows, int64_t cols) {
  constexpr int kChunks = kD / 4;  // 16-byte chunks per padded row
  static_assert(kTileRows * kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kTileRows * kChunks / kThreads; ++i) {
    const int e = threadIdx.x + i * kThreads;
    const int r = e / kChunks, c = (e % kChunks) * 4;
    const bool inside = r0 + r < rows && c < cols;
    async_copy::copy_async_16(tile + r * kStride + c,
                              inside ? matrix + (r0 + r) * cols + c : matrix, inside ? 16 : 0);
  }
}

template <class C>
__global__ void __launch_bounds__(kThreads, 2) forward_kernel(Params p) {
  constexpr int kD = C::kD, kN = C::kNTiles, kKeys = C::kKeys;
  constexpr int kQKStride = C::kQKStride, kVStride = C::kVStride;
  extern __shared__ __align__(16) float shared[];
  float* q_tile = shared;                            // (kRows, kQKStride)
  float* k_tiles = q_tile + kRows * kQKStride;       // 2 x (kKeys, kQKStride): tile t + 1 lands
  float* v_tiles = k_tiles + 2 * kKeys * kQKStride;  // 2 x (kKeys, kVStride)  while t is used
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kRows;  // heaviest (causal) first
  const float* q = p.q + bh * p.Nq * p.D;                          // (Nq, D)
  const float* k = p.k + bh * p.Nk * p.D;                          // (Nk, D)
  const float* v = p.v + bh * p.Nk * p.Dv;                         // (Nk, Dv)
  const int64_t row0 = q0 + 16 * warp + g;  // this lane's rows: row0 and row0 + 8

  load_tile_async<kRows, kD, kQKStride>(q_tile, q, q0, p.Nq, p.D);
  const int64_t k_end = p.causal ? min(p.Nk, q0 + kRows) : p.Nk;
  if (k_end > 0) {
    load_tile_async<kKeys, kD, kQKStride>(k_tiles, k, 0, p.Nk, p.D);
    load_tile_async<kKeys, kD, kVStride>(v_tiles, v, 0, p.Nk, p.Dv);
  }
  async_copy::copy_async_commit();

  // This lane's Q row g (row g + 8 is 8 rows on) at column 4t.
  const float* q_row = q_tile + (16 * warp + g) * kQKStride + 4 * t;
  // o[4 grp + jj]: C fragment of output n-tile (grp, jj) (columns 32 grp + 4 n + jj).
  float o[kD / 8][4] = {};
  float m[2], l[2];  // per row g, g + 8; l: this lane's partial sums, the quad's added at the end
  m[0] = m[1] = -INFINITY, l[0] = l[1] = 0.0f;
  for (int64_t k0 = 0, tile = 0; k0 < k_end; k0 += kKeys, ++tile) {
    const int buffer = int(tile % 2);
    const float* k_tile = k_tiles + buffer * kKeys * kQKStride;
    const float* v_tile = v_tiles + buffer * kKeys * kVStride;
    __syncthreads();  // the other buffer (tile - 1) is no longer read
    if (k0 + kKeys < k_end) {
      load_tile_async<kKeys, kD, kQKStride>(k_tiles + (1 - buffer) * kKeys * kQKStride, k,
                                            k0 + kKeys, p.Nk, p.D);
      load_tile_async<kKeys, kD, kVStride>(v_tiles + (1 - buffer) * kKeys * kVStride, v, k0 + kKeys,
                                           p.Nk, p.Dv);
    }
    async_copy::copy_async_commit();
    async_copy::copy_async_wait<1>();  // this thread's copies of Q and tile `tile` have landed
    __syncthreads();

    // S = Q K^T, 16 rows x kKeys keys, n-tile j holding keys 8j .. 8j + 7. The big x big
    // products go to s, the two correction products to s_small: twice the independent mma
    // chains, and the corrections add up before they meet the larger sum.
    float s[kN][4] = {}, s_small[kN][4] = {};
#pragma unroll
    for (int pair = 0; pair < kD / 16; ++pair) {
      const float4 upper = *reinterpret_cast<const float4*>(q_row + 16 * pair);  // row g
      const float4 lower =
          *reinterpret_cast<const float4*>(q_row + 8 * kQKStride + 16 * pair);  // row g + 8
      unsigned a_big[2][4], a_small[2][4];  // k-steps 2 pair, 2 pair + 1
      split(upper.x, a_big[0][0], a_small[0][0]);
      split(lower.x, a_big[0][1], a_small[0][1]);
      split(upper.y, a_big[0][2], a_small[0][2]);
      split(lower.y, a_big[0][3], a_small[0][3]);
      split(upper.z, a_big[1][0], a_small[1][0]);
      split(lower.z, a_big[1][1], a_small[1][1]);
      split(upper.w, a_big[1][2], a_small[1][2]);
      split(lower.w, a_big[1][3], a_small[1][3]);
#pragma unroll
      for (int j = 0; j < kN; ++j) {
        const float4 key =
            *reinterpret_cast<const float4*>(k_tile + (8 * j + g) * kQKStride + 16 * pair + 4 * t);
        unsigned b_big[4], b_small[4];
        split(key.x, b_big[0], b_small[0]);
        split(key.y, b_big[1], b_small[1]);
        split(key.z, b_big[2], b_small[2]);
        split(key.w, b_big[3], b_small[3]);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          mma(s_small[j], a_small[h], b_big[2 * h], b_big[2 * h + 1]);
          mma(s_small[j], a_big[h], b_small[2 * h], b_small[2 * h + 1]);
          mma(s[j], a_big[h], b_big[2 * h], b_big[2 * h + 1]);
        }
      }
    }

    // Scale to base 2; mask only tiles that can hide something.
    const bool masked =
        k0 + kKeys > p.Nk || (p.causal && k0 + kKeys - 1 > q0) || p.padding != nullptr;
#pragma unroll
    for (int j = 0; j < kN; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[j][e] = (s[j][e] + s_small[j][e]) * p.scale_log2;
        if (masked) {
          const int64_t key = k0 + 8 * j + 2 * t + (e % 2);
          const int64_t query = row0 + (e / 2) * 8;
          const bool visible = key < p.Nk && !(p.causal && key > query) &&
                               (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
          if (!visible) s[j][e] = -INFINITY;
        }
      }
    }

    // Online softmax per row (r = 0: row g, r = 1: row g + 8); the 4 lanes of a quad share a row.
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float row_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < kN; ++j) row_max = fmaxf(row_max, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
      row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, 1));
      row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, 2));
      const float m_new = fmaxf(m[r], row_max);
      const float shift = m_new == -INFINITY ? 0.0f : m_new;  // nothing visible yet
      alpha[r] = exp2f(m[r] - shift);
      float row_sum = 0.0f;
#pragma unroll
      for (int j = 0; j < kN; ++j) {
        s[j][2 * r] = exp2f(s[j][2 * r] - shift);
        s[j][2 * r + 1] = exp2f(s[j][2 * r + 1] - shift);
        row_sum += s[j][2 * r] + s[j][2 * r + 1];
      }
      l[r] = l[r] * alpha[r] + row_sum;
      m[r] = m_new;
    }

    // O = alpha O + P V. This tile's P V sums in a fresh accumulator (the tensor cores' fp32
    // sums are not correctly rounded: over a whole sequence their error would grow with N), then
    // joins O with one fp32 FMA per element.
    float o_tile[kD / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < kN; ++kk) {
      unsigned p_big[4], p_small[4];
      split(s[kk][0], p_big[0], p_small[0]);                              // (row g, key 2t)
      split(s[kk][2], p_big[1], p_small[1]);                              // (row g + 8, key 2t)
      split(s[kk][1], p_big[2], p_small[2]);                              // (row g, key 2t + 1)
      split(s[kk][3], p_big[3], p_small[3]);                              // (row g + 8, key 2t + 1)
      const float* v_row = v_tile + (8 * kk + 2 * t) * kVStride + 4 * g;  // key 8 kk + 2t
#pragma unroll
      for (int grp = 0; grp < kD / 32; ++grp) {
        const float4 even = *reinterpret_cast<const float4*>(v_row + 32 * grp);
        const float4 odd = *reinterpret_cast<const float4*>(v_row + kVStride + 32 * grp);
        const float even_values[4] = {even.x, even.y, even.z, even.w};
        const float odd_values[4] = {odd.x, odd.y, odd.z, odd.w};
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) {
          unsigned b_big[2], b_small[2];
          split(even_values[jj], b_big[0], b_small[0]);
          split(odd_values[jj], b_big[1], b_small[1]);
          float* c = o_tile[4 * grp + jj];
          mma(c, p_small, b_big[0], b_big[1]);
          mma(c, p_big, b_small[0], b_small[1]);
          mma(c, p_big, b_big[0], b_big[1]);
        }
      }
    }
#pragma unroll
    for (int dn = 0; dn < kD / 8; ++dn) {
#pragma unroll
      for (int e = 0; e < 4; ++e) o[dn][e] = fmaf(o[dn][e], alpha[e / 2], o_tile[dn][e]);
    }
  }
  async_copy::copy_async_wait<0>();

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = l[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const int64_t query = row0 + 8 * r;
    if (query >= p.Nq) continue;
    const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
    if (t == 0) p.lse[bh * p.Nq + query] = sum > 0.0f ? m[r] + log2f(sum) : INFINITY;
    float* out = p.out + (bh * p.Nq + query) * p.Dv;  // (Dv,)
#pragma unroll
    for (int grp = 0; grp < kD / 32; ++grp) {
      const int d = 32 * grp + 8 * t;  // Dv % 4 == 0: each float4 is wholly inside or outside
      if (d < p.Dv) {
        *reinterpret_cast<float4*>(out + d) =
            make_float4(o[4 * grp][2 * r] * inverse, o[4 * grp + 1][2 * r] * inverse,
                        o[4 * grp + 2][2 * r] * inverse, o[4 * grp + 3][2 * r] * inverse);
      }
      if (d + 4 < p.Dv) {
        *reinterpret_cast<float4*>(out + d + 4) =
            make_float4(o[4 * grp][2 * r + 1] * inverse, o[4 * grp + 1][2 * r + 1] * inverse,
                        o[4 * grp + 2][2 * r + 1] * inverse, o[4 * grp + 3][2 * r + 1] * inverse);
      }
    }
  }
}

template <class C>
void forward(const AttentionShape& s, const Params& p) {
  launch_grid<forward_kernel<C>>((s.Nq + kRows - 1) / kRows, s.B * s.H, kThreads, C::kSharedBytes,
                                 p);
}

bool aligned(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % 16 == 0; }

}  // namespace

bool flash_attention_3xtf32_supports(const AttentionShape& s, const float* q, const float* k,
                                     const float* v, const float* out) {
  if (s.D < 1 || s.Dv < 1 || s.D > kMaxHeadDim || s.Dv > kMaxHeadDim || s.D % 4 != 0 ||
      s.Dv % 4 != 0 || s.B < 0 || s.H < 0 || s.Nq < 0 || s.Nk < 0 || s.B * s.H > 65535 ||
      !aligned(q) || !aligned(k) || !aligned(v) || !aligned(out)) {
    return false;
  }
  const DeviceCapability& device = current_device_capability();
  const int d = flash_attention_head_dim_class(s);
  const size_t needed = d == 32   ? Config32::kSharedBytes
                        : d == 64 ? Config64::kSharedBytes
                                  : Config128::kSharedBytes;
  return device.major >= 8 && needed <= static_cast<size_t>(device.shared_bytes_optin);
}

void flash_attention_forward_3xtf32(const AttentionShape& shape, const float* q, const float* k,
                                    const float* v, const float* padding, bool causal, float scale,
                                    float* out, float* lse) {
  if (!flash_attention_3xtf32_supports(shape, q, k, v, out)) {
    throw std::invalid_argument(
        "pa::cuda::flash_attention_forward_3xtf32: unsupported shape or device (D = " +
        std::to_string(shape.D) + ", Dv = " + std::to_string(shape.Dv) +
        "; needs head dims in [1, 128] that are multiples of 4, 16-byte aligned q, k, v, out, "
        "B * H <= 65535 and an sm80+ device)");
  }
  Params p{};
  p.q = q, p.k = k, p.v = v, p.padding = padding, p.out = out, p.lse = lse;
  p.H = shape.H, p.Nq = shape.Nq, p.Nk = shape.Nk, p.D = shape.D, p.Dv = shape.Dv;
  p.causal = causal;
  p.scale_log2 = scale * kLog2e;
  switch (flash_attention_head_dim_class(shape)) {
    case 32:
      return forward<Config32>(shape, p);
    case 64:
      return forward<Config64>(shape, p);
    default:
      return forward<Config128>(shape, p);
  }
}

}  // namespace pa::cuda
