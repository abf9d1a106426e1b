// Device code shared by the bf16 FlashAttention-2 forward kernels (flash_attention_bf16.cu,
// mma.sync for any sm_80+ GPU; flash_attention_bf16_sm90.cu, wgmma for sm_90a): the kernel
// parameters, and the per-key-tile steps on the score accumulators, which both hold in the
// mma.sync C layout (lane 4 g + t: s[i][j][0, 1] = row g, keys 8 j + 2 t, + 1 of M-tile i;
// s[i][j][2, 3] = row g + 8): masking, the online softmax in base 2 and the output rows.
#pragma once

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "cuda/attention/flash_attention.h"
#include "cuda/common/mma_bf16.cuh"

namespace pa::cuda::bf16_attention {

using mma_bf16::fast_exp2;
using mma_bf16::pack_bf16;

struct Params {
  const __nv_bfloat16 *q, *k, *v;
  const float* padding;
  __nv_bfloat16* out;
  float* lse;
  int64_t H, Nq, Nk;
  bool causal;
  float scale_log2;  // scale * log2(e), > 0
};

// C: kD, kMTiles (16-row tiles per warp), kNTiles (8-key slices per key tile).
template <class C>
using Scores = float[C::kMTiles][C::kNTiles][4];
template <class C>
using Output = float[C::kMTiles][C::kD / 8][4];

// -inf for the scores the masks hide: keys past Nk, above the diagonal (causal), padded.
// row0: this lane's first query row (M-tile i adds 16 i, the second half 8).
template <class C>
__device__ __forceinline__ void mask_scores(Scores<C>& s, const Params& p, int64_t b, int64_t k0,
                                            int64_t row0, int t) {
#pragma unroll
  for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
    for (int j = 0; j < C::kNTiles; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = k0 + 8 * j + 2 * t + (e % 2);
        const int64_t query = row0 + 16 * i + (e / 2) * 8;
        const bool visible = key < p.Nk && !(p.causal && key > query) &&
                             (p.padding == nullptr || p.padding[b * p.Nk + key] == 0.0f);
        if (!visible) s[i][j][e] = -INFINITY;
      }
    }
  }
}

// The row max of this lane's scores in row r of M-tile i, over its quad, in base 2.
template <class C>
__device__ __forceinline__ float quad_row_max(const Scores<C>& s, int i, int r, float scale_log2) {
  float x = -INFINITY;
#pragma unroll
  for (int j = 0; j < C::kNTiles; ++j) x = fmaxf(x, fmaxf(s[i][j][2 * r], s[i][j][2 * r + 1]));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  return x * scale_log2;  // scale > 0: the max commutes with it
}

// Scores to probabilities against the running max m of their row (-inf: nothing visible yet),
// adding their sum to l.
template <class C>
__device__ __forceinline__ void exponentiate(Scores<C>& s, int i, int r, float m, float& l,
                                             float scale_log2) {
  const float shift = m == -INFINITY ? 0.0f : m;
  float row_sum = 0.0f;
#pragma unroll
  for (int j = 0; j < C::kNTiles; ++j) {
    s[i][j][2 * r] = fast_exp2(fmaf(s[i][j][2 * r], scale_log2, -shift));
    s[i][j][2 * r + 1] = fast_exp2(fmaf(s[i][j][2 * r + 1], scale_log2, -shift));
    row_sum += s[i][j][2 * r] + s[i][j][2 * r + 1];
  }
  l += row_sum;
}

// Multiplies row r of M-tile i of O, and its l, by 2^(m - m_new), and moves m to m_new.
template <class C>
__device__ __forceinline__ void rescale(Output<C>& o, int i, int r, float& m, float& l,
                                        float m_new) {
  const float alpha = m_new == -INFINITY ? 1.0f : fast_exp2(m - m_new);
  m = m_new;
  l *= alpha;
#pragma unroll
  for (int dn = 0; dn < C::kD / 8; ++dn) o[i][dn][2 * r] *= alpha, o[i][dn][2 * r + 1] *= alpha;
}

// The online softmax step of one key tile, row by row: max, rescale, exponentials.
template <class C>
__device__ __forceinline__ void eager_softmax(Scores<C>& s, float (&m)[C::kMTiles][2],
                                              float (&l)[C::kMTiles][2], Output<C>& o,
                                              float scale_log2) {
#pragma unroll
  for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float row_max = quad_row_max<C>(s, i, r, scale_log2);
      rescale<C>(o, i, r, m[i][r], l[i][r], fmaxf(m[i][r], row_max));
      exponentiate<C>(s, i, r, m[i][r], l[i][r], scale_log2);
    }
  }
}

// The same with lazy rescaling: the running max m moves (rescaling O and l) only when some row's
// max passes m + kSlack; below that p <= 2^kSlack, and the result is the same, since O and l
// share the stale max. The test is warp-uniform (__any_sync), so the branch does not diverge.
template <class C>
__device__ __forceinline__ void lazy_softmax(Scores<C>& s, float (&m)[C::kMTiles][2],
                                             float (&l)[C::kMTiles][2], Output<C>& o,
                                             float scale_log2) {
  constexpr float kSlack = 8.0f;
  float row_max[C::kMTiles][2];
  bool grow = false;
#pragma unroll
  for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      row_max[i][r] = quad_row_max<C>(s, i, r, scale_log2);
      grow |= row_max[i][r] > m[i][r] + kSlack;
    }
  }
  if (__any_sync(0xffffffffu, grow)) {
#pragma unroll
    for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        rescale<C>(o, i, r, m[i][r], l[i][r], fmaxf(m[i][r], row_max[i][r]));
      }
    }
  }
#pragma unroll
  for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) exponentiate<C>(s, i, r, m[i][r], l[i][r], scale_log2);
  }
}

// The online softmax step, lazy or eager as C::kLazy says.
template <class C>
__device__ __forceinline__ void softmax_step(Scores<C>& s, float (&m)[C::kMTiles][2],
                                             float (&l)[C::kMTiles][2], Output<C>& o,
                                             float scale_log2) {
  if constexpr (C::kLazy) {
    lazy_softmax<C>(s, m, l, o, scale_log2);
  } else {
    eager_softmax<C>(s, m, l, o, scale_log2);
  }
}

// The bf16 A fragment of k-step kk of P V from the probabilities: the C fragments of key slices
// 2 kk and 2 kk + 1 are the A layout of one 16-key step.
template <class C>
__device__ __forceinline__ void probability_fragment(const Scores<C>& s, int i, int kk,
                                                     unsigned (&a)[4]) {
  mma_bf16::c_to_a_fragment(&s[i][2 * kk][0], a);
}

// O / l rounded to bf16 and lse = m + log2(l) for this lane's rows (l summed over the quad);
// a row with nothing visible writes zeros and +inf.
template <class C>
__device__ __forceinline__ void store_rows(const Output<C>& o, const float (&m)[C::kMTiles][2],
                                           const float (&l)[C::kMTiles][2], const Params& p,
                                           int64_t bh, int64_t row0, int t) {
#pragma unroll
  for (int i = 0; i < C::kMTiles; ++i) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = l[i][r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int64_t query = row0 + 16 * i + 8 * r;
      if (query >= p.Nq) continue;
      const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
      if (t == 0) p.lse[bh * p.Nq + query] = sum > 0.0f ? m[i][r] + log2f(sum) : INFINITY;
      unsigned* out = reinterpret_cast<unsigned*>(p.out + (bh * p.Nq + query) * C::kD);
#pragma unroll
      for (int dn = 0; dn < C::kD / 8; ++dn) {
        out[dn * 4 + t] = pack_bf16(o[i][dn][2 * r] * inverse, o[i][dn][2 * r + 1] * inverse);
      }
    }
  }
}

}  // namespace pa::cuda::bf16_attention
