// FlashAttention-2 forward and backward in bf16 on the tensor cores, fp32 accumulation: mma.sync
// m16n8k16 kernels for any sm_80+ GPU, and on Hopper (compute capability 9.0) wgmma kernels at
// D = 64 and 128, taken by default there (Bf16Kernel below).
// Plain device pointers, the same layouts and masks as the fp32 kernels (flash_attention.h):
// q (B, H, Nq, D), k and v (B, H, Nk, D), out (B, H, Nq, D) in bf16, contiguous; lse (B, H, Nq)
// in fp32, base 2 (+inf for a row with every key hidden, whose output is zeros). Causal: key j
// hidden from query i when j > i (needs Nq == Nk). `padding` (B, Nk) float, nonzero hides the
// key; nullptr: none. `scale` (finite, > 0) multiplies q·k. Head dims 32, 64 and 128 only
// (D == Dv); anything else, a negative size, a bad scale or B * H > 65535 throws
// std::invalid_argument. Queued on launch_stream() (cuda/common/check.h).
//
// Forward design (flash_attention_bf16.cu): one block of 4 warps per 128 query rows of one (b, h);
// each warp owns two 16-row M-tiles, so every K or V fragment read from shared memory feeds two
// mma.sync. K and V tiles stream through shared memory with cp.async, double-buffered (tile t + 1
// lands while t is used); rows padded by 16 bytes so ldmatrix reads are bank-conflict free.
// D = 32 and 64: 64-key tiles, the warp's Q fragments held in registers for the whole pass (172
// and 252 registers). D = 128: 32-key tiles, Q fragments re-read from shared memory by ldmatrix for
// every tile (255 registers, no spills). S = Q K^T with mma.sync (K fragments by ldmatrix), the
// scores masked only on tiles that need it (ragged, diagonal, padding), online softmax in fp32 and
// base 2 with the row max reduced over the quad of lanes that share a row, the scale folded into
// the exponent (p = ex2.approx(s * scale * log2 e - m): one FMA and one MUFU per score); at
// D = 128 lazy rescaling (O and l are rescaled only when a row max grows by more than 2^8, a
// warp-uniform branch: exact, since O and l share the stale max), where the rescale of O, 64
// multiplies per lane, outweighs a 32-key tile's 16 exponentials per lane. P is packed to bf16
// straight from the S accumulators (the C layout of two n-tiles is the A layout of one k-step)
// and O += P V with mma.sync (V fragments by ldmatrix.trans). Causal: key tiles wholly above the
// diagonal are skipped and the heaviest query blocks start first. O / l is rounded to bf16 once.
//
// Forward measured (H100 SXM; FLOPs 4 B H N^2 D, halved causal; ratios to PyTorch 2.11 SDPA bf16
// forward in the same run, results/gpu/h100/attention.jsonl at be8826b), non-causal / causal:
// (4,48,4096,64) 327.6 / 292.7 TFLOP/s, 1.20x / 1.04x flash; (4,16,4096,128) 362.5 / 312.5,
// 1.06x / 1.07x; (4,32,4096,32) 220.8 / 195.9, 1.08x / 1.01x. The fused exponent took D = 64 from
// 284 to 320 and lazy rescaling D = 128 from 309 to 353 in a scratch sweep
// (attention_bf16_scratch_sweeps.txt). Before them (attention_bf16.jsonl, in git history at
// fcfdb0e) 275.6 / 252.3 and 305.8 /
// 262.4 (0.90x-0.94x); the first version, one M-tile per warp, 233.1 / 226.8 and 273.8 / 253.9. D =
// 32 (64-key tiles like D = 64), at f051698 before the fused exponent: 185.5 / 165.9, 0.87x / 0.88x
// flash.
//
// Hopper forward (flash_attention_bf16_sm90.cu, wgmma.cuh): each warpgroup (4 warps) owns 64
// query rows; Q and double-buffered K/V tiles sit in shared memory in the 128-byte swizzled
// layout the tensor cores read, written by cp.async; S = Q K^T is m64nKk16 with both operands
// read from shared memory by descriptor, O += P V m64nDk16 with P from registers and V
// transposed on the fly; the softmax is the mma.sync kernel's (flash_attention_bf16_common.cuh).
// D = 64: 2 warpgroups, 64-key tiles (125 registers, 2 blocks per SM), measured at 7b5f3ce
// (results/gpu/h100/attention.jsonl): (4,48,4096,64) 355.8 / 330.4 TFLOP/s, 1.18x / 1.16x flash,
// 0.74x / 0.76x cuDNN. D = 128 (forward_kernel_sm90_ws): warp-specialised, a producer warpgroup
// (32 registers) streams K and V through 3 cp.async stages of 128 keys, 2 consumer warpgroups
// (232 registers) of 64 rows compute; mbarriers instead of block barriers, K and V announced
// separately, the next tile's S issued with this tile's P V. Same file: (4,16,4096,128) 442.1 /
// 387.1, 1.30x / 1.40x flash, 0.74x / 0.87x cuDNN; (1,8,16384,128) 464.2 / 464.5, 1.32x / 1.75x
// flash. The synchronous kernel on 3 warpgroups had 431.9 / 345.5 and 392.7 / 393.9
// (attention_be8826b.jsonl, in git history at fcfdb0e). Scratch sweep
// (attention_bf16_scratch_sweeps.txt, section 5): 2 stages starve the consumers (320-363), one
// barrier for K and V costs 10-16%, ping-pong scheduling of the consumers by named barriers lost
// 3-6%; at D = 64 warp specialisation gained at most 4%, so that forward stays synchronous. Issuing
// the next tile's S before this tile's softmax was slower (ptxas serialised the wgmma); no TMA yet.
//
// Backward design (flash_attention_bf16_backward.cu), FlashAttention-2's: three launches.
//   1. Pre-pass: delta = rowsum(dO * O) in fp32 from the bf16 out and dout, lse copied into rows
//      padded per (b, h) to a multiple of 64 (+inf, delta 0 past Nq, so a query tile's lse and
//      delta load as whole 16-byte cp.async chunks and need no mask), the fp32 dQ accumulator
//      zeroed.
//   2. Main kernel, grid (key block, b h): the block's K and V tiles stay in shared memory and
//      dK, dV in fp32 registers while every query tile that can see the keys streams through
//      (Q, dO, lse, delta double-buffered by cp.async; causal: tiles wholly above the diagonal
//      skipped, key block 0, the heaviest, first). Each warp owns kMTiles 16-key M-tiles. Per
//      tile: S^T = K Q^T and dP^T = V dO^T (K, V as A fragments by ldmatrix, Q, dO as B), P^T =
//      exp2(S^T scale log2(e) - lse) (masked only on tiles that can hide something: diagonal,
//      padding, ragged keys), dS^T = P^T (dP^T - delta); P^T and dS^T are packed to bf16 straight
//      from the C fragments, which are the A fragments of dV += P^T dO and dK += dS^T Q (dO, Q by
//      ldmatrix.trans). With one warp group (D = 32, 64) each warp computes its keys' S^T rows
//      for the whole query tile and feeds them to its dV, dK from registers: P never touches
//      shared memory. With two groups (D = 128) each warp computes S^T for half the queries,
//      P^T and dS^T go through shared memory, and it accumulates dV, dK for half the columns:
//      the 128 dK, dV registers of a key are shared by two warps, leaving room for two M-tiles
//      (FlashAttention-2's tilings: 32 x 32 S^T tiles, 32 keys x 64 columns of dK, dV per warp).
//      dS^T goes to shared memory; after a barrier each warp computes a 16-query slice of
//      dQ = dS K (dS and K by ldmatrix.trans) and adds it to the accumulator with
//      red.global.add.v2.f32. Two barriers per tile; the next query tile is queued after the
//      first, once every warp is done reading the buffer it overwrites.
//   3. dq = bf16(scale * accumulator). dk = bf16(scale * dK) since dS is w.r.t. the scaled
//      scores; dv = bf16(dV).
//   Configurations: D = 32 and 64: one group of 4 warps of two M-tiles (128-key blocks, each Q
//   or dO fragment feeds two mma.sync), 32-query tiles, 2 blocks per SM (218 / 255 registers,
//   4 bytes spilled at D = 64). D = 128: two groups of 4 warps of two M-tiles (128-key blocks),
//   64-query tiles, 1 block per SM (255 registers, no spills, 177 KB of shared memory).
// Counts at (4,48,4096,64): 5 matrix products of 2 N^2 D per (b, h), 10 B H N^2 D = 2.06e12
// FLOPs (2.5x the forward), 2.6 ms at the 798 TFLOP/s a bf16 GEMM reaches here; the fewest
// device-memory bytes, q, k, v, out, dout read and dq, dk, dv written once, are 16 B H N D =
// 0.8 GB, 0.27 ms at 3 TB/s: compute-bound. On top, the dQ accumulator costs 8 B H N D bytes
// of device memory (zero, read back) and N / 128 B H N D fp32 reductions in L2 (6.4 GB), and Q,
// dO are re-read from L2 once per key block.
// Measured (H100 SXM at f051698, in git history: git show
// fcfdb0e:results/gpu/h100/attention_bf16_backward.jsonl; FLOPs
// 10 B H N^2 D, halved causal; ratios to PyTorch 2.11 SDPA bf16 backward in the same run; at
// be8826b, attention.jsonl: 294.1 / 258.1, 263.8 / 234.8 (0.98x / 1.01x), 250.2 / 221.7):
//   (4,48,4096,64)   non-causal 282.0 TFLOP/s: 1.074x flash (262.5), 0.657x cuDNN
//                    causal     255.6 TFLOP/s: 1.143x flash (223.6), 0.747x cuDNN
//   (4,16,4096,128)  non-causal 256.4 TFLOP/s: 0.939x flash (273.1), 0.496x cuDNN
//                    causal     226.0 TFLOP/s: 0.969x flash (233.1), 0.523x cuDNN
//   (4,32,4096,32)   non-causal 227.2 TFLOP/s: 1.189x flash, 1.045x cuDNN; causal 204.3: 1.262x
//   (16,16,1024,64)  non-causal 233.1 TFLOP/s: 1.299x flash; causal 168.0: 1.446x
// (Another machine, the same kernels but the prefetch order, at 612b500: 274.3 / 242.5 and
// 254.6 / 228.1 TFLOP/s, 1.042x / 1.112x and 0.934x / 0.967x flash.)
// Steps (same bench, (4,48,4096,64) / (4,16,4096,128) non-causal): one M-tile per warp, 4 warps
// (64-key blocks) for every D: 217.7 / 192.6 TFLOP/s; 8 warps (128-key blocks): 224.2 / 224.3;
// two M-tiles per warp at D = 64 (Q and dO fragments reused, half the dQ atomics): 272.8; 64-query
// tiles on 8 warps at D = 128: 246.1; two warp groups at D = 128 (P^T through shared memory, two
// M-tiles): 256.5. What is left at D = 128 (0.94x-0.97x flash): 0.475 ldmatrix.x4 per mma.sync
// against 0.45 at D = 64, the P^T and dS^T round trip through shared memory, and one block of 8
// warps per SM, so each of the two barriers per tile stalls the whole SM. Against cuDNN
// (0.50x-0.75x at D = 64 and 128) the gap is the forward's: mma.sync is far from the wgmma rate
// cuDNN uses (430-520 TFLOP/s here); the next step is a Hopper path (TMA, wgmma, warp
// specialisation).
//
// Hopper backward (backward_kernel_sm90 in flash_attention_bf16_backward.cu): the same three
// launches, the main kernel on wgmma. Each of 2 warpgroups owns 64 keys (128-key blocks); K, V
// and double-buffered 64-query Q and dO tiles swizzled in shared memory. Per query tile and
// warpgroup: S^T = K Q^T and dP^T = V dO^T as m64n64k16 from shared memory; P^T, dS^T in
// registers as above; dV += P^T dO and dK += dS^T Q as m64nDk16, P^T and dS^T from registers,
// dO and Q transposed; dS^T stored swizzled, and after a barrier dQ = dS K for the warpgroup's
// D / 2 columns (m64n(D/2)k16, dS^T and K both transposed), reduced into the accumulator.
// In the scratch comparison (attention_bf16_scratch_sweeps.txt, section 4) its dk and dv came out
// equal to the mma.sync kernel's and dq within 2e-4 (the reductions' order); the tests hold both
// to the fp32 reference. Measured at be8826b (results/gpu/h100/attention.jsonl, PyTorch 2.11 in
// the same run), non-causal / causal: (4,48,4096,64) 325.4 / 287.7 TFLOP/s, 1.25x / 1.33x flash,
// 0.76x / 0.83x cuDNN; (4,16,4096,128) 374.6 / 319.2, 1.39x / 1.37x flash, 0.72x / 0.77x cuDNN;
// (16,16,1024,64) 254.5 / 185.7, 1.47x / 1.62x flash; (1,8,16384,128) 400.9 / 395.1, 1.34x /
// 1.37x flash. compute-sanitizer memcheck and racecheck: clean (gpu_tests_be8826b.log).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/attention/flash_attention.h"

namespace pa::cuda {

// Which kernel runs: kAuto takes wgmma on a compute capability 9.0 GPU (H100, H200) at D = 64 and
// 128, and mma.sync otherwise; the others force one (kWgmma elsewhere throws
// std::invalid_argument), for tests and benches.
enum class Bf16Kernel { kAuto, kMmaSync, kWgmma };

void flash_attention_forward_bf16(const AttentionShape& shape, const __nv_bfloat16* q,
                                  const __nv_bfloat16* k, const __nv_bfloat16* v,
                                  const float* padding, bool causal, float scale,
                                  __nv_bfloat16* out, float* lse,
                                  Bf16Kernel kernel = Bf16Kernel::kAuto);

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
                                   __nv_bfloat16* dk, __nv_bfloat16* dv,
                                   Bf16Kernel kernel = Bf16Kernel::kAuto);

}  // namespace pa::cuda
