// FlashAttention-2 in fp32 on CUDA cores (SIMT): the forward with an online softmax and the
// backward with recomputation, never materialising the N x N score matrix. Plain device
// pointers; the engine's scaled_dot_product_attention calls these on CUDA tensors.
//
// Layout: q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv), out and dout (B, H, Nq, Dv),
// contiguous, float32. Head dims up to kMaxHeadDim (each kernel is built for 32, 64 and 128 and
// zero-pads the rest). Masks: causal (key j hidden from query i when j > i; needs Nq == Nk) and
// key padding (`padding` (B, Nk): nonzero hides the key; nullptr: none). A query with every key
// hidden outputs zeros and gets zero gradients, as on the CPU. `scale` multiplies q·k.
// Everything is queued on the current stream (cuda/common/runtime.h).
#pragma once

#include <cstdint>

namespace pa::cuda {

constexpr int kMaxHeadDim = 128;

struct AttentionShape {
  int64_t B, H, Nq, Nk, D, Dv;
};

// Whether these kernels can run the shape on the current device: head dims in [1, kMaxHeadDim],
// B * H <= 65535, and shared memory for the head-dim class (up to 186 KB at D = 128: H100
// yes, A100's 163 KB no). The engine falls back to a composition of ops otherwise.
bool flash_attention_fits(const AttentionShape& shape);

// out (B, H, Nq, Dv) and lse (B, H, Nq): each query row's log-sum-exp of its scaled scores, in
// base 2 (+inf for a row with every key hidden); the backward reads it back. Runs the 3xTF32
// tensor-core forward where flash_attention_3xtf32_supports says it can and PA_FLASH_SIMT is not
// set to 1 (read once per process), the SIMT forward otherwise; both meet this contract.
void flash_attention_forward(const AttentionShape& shape, const float* q, const float* k,
                             const float* v, const float* padding, bool causal, float scale,
                             float* out, float* lse);

// The fp32 SIMT forward, whatever the device: the fallback and the readable reference.
void flash_attention_forward_simt(const AttentionShape& shape, const float* q, const float* k,
                                  const float* v, const float* padding, bool causal, float scale,
                                  float* out, float* lse);

// Whether flash_attention_forward_3xtf32 runs this call on the current device: an sm80+ GPU
// with the shared memory for the head-dim class, D and Dv multiples of 4 (its cp.async copies
// move 16-byte pieces of rows; D != Dv is fine), q, k, v, out 16-byte aligned, B * H <= 65535.
bool flash_attention_3xtf32_supports(const AttentionShape& shape, const float* q, const float* k,
                                     const float* v, const float* out);

// The forward on the tensor cores, fp32-accurate through 3xTF32 (flash_attention_3xtf32.cu):
// the same contract as flash_attention_forward. Throws std::invalid_argument where
// flash_attention_3xtf32_supports is false.
void flash_attention_forward_3xtf32(const AttentionShape& shape, const float* q, const float* k,
                                    const float* v, const float* padding, bool causal, float scale,
                                    float* out, float* lse);

// dq, dk, dv from dout, with the forward's out and lse. `delta` is a (B, H, Nq) workspace (the
// row sums of dout * out). Deterministic: dk and dv are summed over query blocks inside one
// thread block, dq over key blocks inside another; no atomics.
void flash_attention_backward(const AttentionShape& shape, const float* q, const float* k,
                              const float* v, const float* padding, bool causal, float scale,
                              const float* out, const float* lse, const float* dout, float* delta,
                              float* dq, float* dk, float* dv);

}  // namespace pa::cuda
