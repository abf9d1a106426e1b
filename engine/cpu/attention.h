// CPU scaled dot-product attention, FlashAttention-style: tiles of Q and K/V, an online softmax,
// no N x N buffer (O(N) extra memory: the row logsumexp L kept for the backward).
// q (BH, Nq, D), k (BH, Nk, D), v (BH, Nk, Dv), all contiguous, BH = B * H. Masking: `causal`
// hides key j > query i (key blocks entirely above the diagonal are skipped); key_padding
// (B, Nk) of 0/1 floats (1 = padded, hidden) or null, where the batch of slice s is s / H.
// A query row with every key hidden outputs zeros and gets zero gradients.
// Arithmetic: cpu_config().attention_precision (float32 tiles by default; float64 tiles, with
// the backward recomputing out and lse in double, for accuracy comparisons).
#pragma once

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cpu {

using kernels::AttentionMask;  // shared with the CUDA kernels (engine/kernels/defs.h)
using kernels::AttentionShape;

// out (BH, Nq, Dv); lse (BH, Nq): the row logsumexp of the scaled, masked scores (-inf for a
// row with every key hidden). Parallel over (slice, query block).
void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse);

// Recomputes the probabilities from q, k and lse: dv = P^T dout, dP = dout v^T,
// dS = P * (dP - rowsum(dout * out)), dk = dS^T q * scale, dq = dS k * scale, in one pass over
// the key blocks (parallel over them). No atomics: dk and dv of a key block belong to one
// thread; dq goes to per-thread copies (O(threads * N * D) extra) added in thread order, so the
// same inputs and thread count give bit-identical results. dq, dk, dv are overwritten.
// `workspace` is unused here (attention_workspace gives 0 floats; the CUDA kernel's signature,
// which this one shares, needs one).
void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout,
                        const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                        float* workspace = nullptr);

// Every shape fits this kernel; it needs no backward workspace (the CUDA backend's answers
// differ: engine/ops/nn.cc asks both the same questions).
inline bool attention_fits(const AttentionShape&) { return true; }
inline int64_t attention_workspace(const AttentionShape&) { return 0; }

}  // namespace pa::cpu
