// CPU scaled dot-product attention, one (batch, head) slice at a time, through gemm.
// q (BH, Nq, D), k (BH, Nk, D), v (BH, Nk, Dv), all contiguous. Masking: `causal` hides key
// j > query i; key_padding (B, Nk) of 0/1 floats (1 = padded, hidden) or null, where the
// batch of slice s is s / H. A query row with every key hidden outputs zeros.
#pragma once

#include <cstdint>

namespace pa::cpu {

struct AttentionShape {
  int64_t B, H, Nq, Nk, D, Dv;
};

// out (BH, Nq, Dv); probs (BH, Nq, Nk) keeps the softmax for the backward.
void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const float* key_padding, bool causal, float scale, float* out,
                       float* probs);

// dq, dk, dv are overwritten.
void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* probs, const float* dout, float scale, float* dq, float* dk,
                        float* dv);

}  // namespace pa::cpu
