// FlashAttention-2 forward in bf16 on the tensor cores (mma.sync m16n8k16, fp32 accumulation).
// Plain device pointers, the same layouts and masks as the fp32 kernels (flash_attention.h):
// q (B, H, Nq, D), k and v (B, H, Nk, D), out (B, H, Nq, D) in bf16, contiguous; lse (B, H, Nq)
// in fp32, base 2 (+inf for a row with every key hidden, whose output is zeros). Causal: key j
// hidden from query i when j > i (needs Nq == Nk). `padding` (B, Nk) float, nonzero hides the
// key; nullptr: none. `scale` (finite, > 0) multiplies q·k. Head dims 64 and 128 only (D == Dv);
// anything else throws std::invalid_argument. Queued on launch_stream() (cuda/common/check.h).
//
// Design (flash_attention_bf16.cu): one block of 4 warps per 128 query rows of one (b, h); each
// warp owns two 16-row M-tiles, so every K or V fragment read from shared memory feeds two
// mma.sync. K and V tiles stream through shared memory with cp.async, double-buffered (tile t + 1
// lands while t is used); rows padded by 16 bytes so ldmatrix reads are bank-conflict free.
// D = 64: 64-key tiles, the warp's Q fragments held in registers for the whole pass (252
// registers). D = 128: 32-key tiles, Q fragments re-read from shared memory by ldmatrix for every
// tile (255 registers, no spills). S = Q K^T with mma.sync (K fragments by ldmatrix), the scores
// masked only on tiles that need it (ragged, diagonal, padding), online softmax in fp32 and base
// 2 with the row max reduced over the quad of lanes that share a row, the scale folded into the
// exponent (p = ex2.approx(s * scale * log2 e - m): one FMA and one MUFU per score); at D = 128
// lazy rescaling (O and l are rescaled only when a row max grows by more than 2^8, a warp-uniform
// branch: exact, since O and l share the stale max), where the rescale of O, 64 multiplies per
// lane, outweighs a 32-key tile's 16 exponentials per lane. P is packed to bf16
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

#include "cuda/attention/flash_attention.h"

namespace pa::cuda {

// Which forward kernel runs: kAuto takes wgmma on a compute capability 9.0 GPU (H100, H200) and
// mma.sync elsewhere; the others force one (kWgmma on another GPU throws), for tests and benches.
enum class Bf16Kernel { kAuto, kMmaSync, kWgmma };

void flash_attention_forward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                  const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const float* padding, bool causal, float scale,
                                  __nv_bfloat16* out, float* lse,
                                  Bf16Kernel kernel = Bf16Kernel::kAuto);

}  // namespace pa::cuda
