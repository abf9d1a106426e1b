// FlashAttention-2 forward and backward in bf16 on the tensor cores (mma.sync m16n8k16, fp32
// accumulation).
// Plain device pointers, the same layouts and masks as the fp32 kernels (flash_attention.h):
// q (B, H, Nq, D), k and v (B, H, Nk, D), out (B, H, Nq, D) in bf16, contiguous; lse (B, H, Nq)
// in fp32, base 2 (+inf for a row with every key hidden, whose output is zeros). Causal: key j
// hidden from query i when j > i (needs Nq == Nk). `padding` (B, Nk) float, nonzero hides the
// key; nullptr: none. `scale` multiplies q·k. Head dims 32, 64 and 128 only (D == Dv); anything
// else, a negative size or B * H > 65535 throws std::invalid_argument. Queued on launch_stream()
// (cuda/common/check.h).
//
// Design (flash_attention_bf16.cu): one block of 4 warps per 128 query rows of one (b, h); each
// warp owns two 16-row M-tiles, so every K or V fragment read from shared memory feeds two
// mma.sync. K and V tiles stream through shared memory with cp.async, double-buffered (tile t + 1
// lands while t is used); rows padded by 16 bytes so ldmatrix reads are bank-conflict free.
// D = 32 and 64: 64-key tiles, the warp's Q fragments held in registers for the whole pass (252
// registers). D = 128: 32-key tiles, Q fragments re-read from shared memory by ldmatrix for every
// tile (255 registers, no spills). S = Q K^T with mma.sync (K fragments by ldmatrix), the scores
// masked only on tiles that need it (ragged, diagonal, padding), online softmax in fp32 and base
// 2 with the row max reduced over the quad of lanes that share a row; P is packed to bf16
// straight from the S accumulators (the C layout of two n-tiles is the A layout of one k-step)
// and O += P V with mma.sync (V fragments by ldmatrix.trans). Causal: key tiles wholly above the
// diagonal are skipped and the heaviest query blocks start first. O / l is rounded to bf16 once.
//
// Measured (H100 SXM, results/gpu/h100/attention_bf16.jsonl; FLOPs 4 B H N^2 D, halved causal;
// ratios to PyTorch 2.11 SDPA bf16 forward in the same run):
//   (4,48,4096,64)   non-causal 275.6 TFLOP/s: 0.927x flash, 0.609x cuDNN
//                    causal     252.3 TFLOP/s: 0.901x flash, 0.589x cuDNN
//   (4,16,4096,128)  non-causal 305.8 TFLOP/s: 0.942x flash, 0.513x cuDNN
//                    causal     262.4 TFLOP/s: 0.922x flash, 0.537x cuDNN
// (D = 64 measured at 4f04a3f, D = 128 at 7555376: the same kernels.) The first version, one
// 16-row M-tile per warp and 64-key tiles for both head dims, ran 233.1 / 226.8 and
// 273.8 / 253.9 TFLOP/s (0.76x-0.85x flash). What is left: mma.sync tops out well below the
// H100's wgmma rate (cuDNN reaches 429-667 TFLOP/s here); a Hopper path (TMA + wgmma, warp
// specialisation) is the next step, and the bf16 backward does not exist yet.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/attention/flash_attention.h"

namespace pa::cuda {

void flash_attention_forward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                  const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const float* padding, bool causal, float scale,
                                  __nv_bfloat16* out, float* lse);

// Floats of workspace flash_attention_backward_bf16 needs for `shape`: lse and delta rows padded
// per (b, h), and the fp32 dQ accumulator (B, H, Nq, D). Throws like the backward on a bad shape.
int64_t flash_attention_backward_bf16_workspace(const AttentionShape& shape);

// dq, dk, dv (bf16, the layouts of q, k, v) from dout (B, H, Nq, D) bf16, with the forward's out
// and lse (flash_attention_forward_bf16) and the same q, k, v, padding, causal and scale.
// `workspace`: flash_attention_backward_bf16_workspace(shape) floats, 16-byte aligned
// (cudaMalloc). A query with every key hidden gets a zero dq row, a key hidden from every query
// zero dk and dv rows. dk and dv are deterministic; dq is summed over key blocks with fp32
// atomics, whose order varies, so its bits may differ run to run in the last place.
void flash_attention_backward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                   const __nv_bfloat16* k, const __nv_bfloat16* v,
                                   const float* padding, bool causal, float scale,
                                   const __nv_bfloat16* out, const float* lse,
                                   const __nv_bfloat16* dout, float* workspace, __nv_bfloat16* dq,
                                   __nv_bfloat16* dk, __nv_bfloat16* dv);

}  // namespace pa::cuda
