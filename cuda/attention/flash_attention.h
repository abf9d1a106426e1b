// FlashAttention-2 in fp32: the forward with an online softmax and the backward with
// recomputation, never materialising the N x N score matrix. Plain device pointers; the engine's
// scaled_dot_product_attention calls these on CUDA tensors. Two forwards meet one contract (out,
// lse in base 2): on sm80+ GPUs an fp32-accurate tensor-core kernel (3xTF32,
// flash_attention_3xtf32.cu), elsewhere, and for what it does not cover, the SIMT kernel
// (flash_attention.cu), which stays the readable reference; the backward is SIMT only.
//
// Layout: q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv), out and dout (B, H, Nq, Dv),
// contiguous, float32. Head dims up to kMaxHeadDim (each kernel is built for 32, 64 and 128 and
// zero-pads the rest). Masks: causal (key j hidden from query i when j > i; needs Nq == Nk) and
// key padding (`padding` (B, Nk): nonzero hides the key; nullptr: none). A query with every key
// hidden outputs zeros and gets zero gradients, as on the CPU. `scale` multiplies q·k.
// Everything is queued on the current stream (cuda/common/runtime.h).
//
// The 3xTF32 forward. Each fp32 operand x splits into big = tf32(x) (10 mantissa bits, rounded to
// nearest) and small = x - big (exact in fp32, |small| <= 2^-11 |x|), and every product of the two
// matrix products runs as three tensor-core products with fp32 accumulation: a b ~ big_a big_b +
// big_a small_b + small_a big_b (mma.sync m16n8k8 .tf32). The dropped small_a small_b is under
// 2^-22 |a b|, and small enters the tensor cores at tf32 precision (at worst truncated, an error
// under 2^-21 |x|): each product is within about 2^-20 of exact, a few fp32 roundings, so the
// result is as accurate as fp32 arithmetic (measured: relative error at most 1.3e-6 against a
// double reference at N up to 4097, the SIMT kernel's at most 1.3e-6 too;
// flash_attention_3xtf32_test). Two terms do not suffice anywhere: dropping either correction
// leaves up to 2^-11 relative error per product in S (an absolute error in the exponent) or in P V,
// tf32's own 3e-4 level, far above the engine's fp32 tolerances. The tensor cores' accumulation is
// not correctly rounded, so each key tile's P V sums in a fresh accumulator and joins O with an
// fp32 FMA: the error does not grow with N.
//
// Design: one block of 4 warps per 64 query rows of one (b, h), each warp one 16-row M-tile; Q and
// double-buffered K/V tiles (cp.async; 64 keys at head-dim class 32 and 64, 32 at 128) in shared
// memory, rows padded so every 16-byte fragment read is bank-conflict free (107.5 KB at D = 128:
// two blocks per SM). The k orders of both products are permuted (see the .cu) so that Q, K and V
// fragments are float4 reads and S's accumulators are P's A fragments as they stand: no shuffles,
// no staging of P. The split is three instructions per element (integer rounding, mask,
// subtraction; cvt.rna.tf32.f32 took about nine and made the first version issue-bound). Everything
// else follows the bf16 kernel (flash_attention_bf16.h): online softmax in base 2, masks only on
// tiles that need them, causal tiles above the diagonal skipped, heaviest query blocks first.
//
// Measured (H100 SXM at commit 9248947, in git history: git show
// fcfdb0e:results/gpu/h100/attention_fp32_3xtf32.jsonl; FLOPs
// 4 B H N^2 D, halved causal; ratio to PyTorch 2.11 SDPA's memory-efficient fp32 forward, which
// runs CUTLASS's 3xTF32, in the same run), non-causal / causal TFLOP/s:
//   (4,48,4096,64)    55.8 / 53.9   1.59x / 1.62x   (SIMT forward: 28.1 / 27.4)
//   (4,16,4096,128)   54.5 / 52.0   1.17x / 1.18x   (24.2 / 24.2)
//   (16,16,1024,64)   52.8 / 47.1   1.68x / 1.74x   (27.5 / 24.5)
//   (1,8,16384,128)   54.4 / 54.6   1.23x / 1.24x   (24.2 / 24.9)
// The first version (56c14be), splitting with cvt.rna.tf32.f32, ran 34.9 / 31.9, 34.1 / 31.2,
// 32.7 / 27.4, 34.0 / 34.1 (0.69x-0.99x). What is left: at D = 128 two blocks (8 warps) per SM,
// bounded by 255 registers and the shared memory, issue one HMMA about every 12 cycles per
// scheduler (from the rate and the SASS counts, not profiled); every K and V element is split by
// all four warps of a block; a Hopper path (wgmma has a tf32 form) is the next step.
#pragma once

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cuda {

constexpr int kMaxHeadDim = 128;
// log2(e): every kernel here works in base 2 (exp(x) = 2^(x log2 e)), lse included.
constexpr float kLog2e = 1.4426950408889634f;

using kernels::AttentionMask;  // shared with the CPU kernels (engine/kernels/defs.h)
using kernels::AttentionShape;

// The head-dim class a shape runs in (the fp32 kernels are built for 32, 64 and 128 and
// zero-pad the rest): the smallest that holds max(D, Dv).
inline int flash_attention_head_dim_class(const AttentionShape& s) {
  const int64_t d = s.D > s.Dv ? s.D : s.Dv;
  return d <= 32 ? 32 : d <= 64 ? 64 : 128;
}

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

// ---- the engine's entry points: the CPU attention kernel's signatures (engine/cpu/attention.h),
// so that engine/ops dispatches to either through one table ----
// flash_attention_fits; the backward's workspace is `delta` (B * H * Nq floats).
bool attention_fits(const AttentionShape& shape);
int64_t attention_workspace(const AttentionShape& shape);
void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse);
void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout,
                        const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                        float* workspace);

}  // namespace pa::cuda
