// The bf16 tensor-core rungs of the GEMM ladder (issue 20): C (m, n) fp32 = alpha * A B + beta * C
// (+ bias (n) on every row, when not null), A (m, k) and B (k, n) row-major bf16, accumulated in
// fp32. One file per rung, as the fp32 ladder (gemm.h):
//   v13_bf16_mma: mma.sync m16n8k16 (sm80 and later), a 128 x 128 x 32 block tile of 8 warps
//   (64 x 32 each), operands through a two-stage cp.async ring and ldmatrix.
//   v14_bf16_wgmma_tma: Hopper (sm_90) wgmma from shared memory, operands loaded by the tensor
//   memory accelerator into a three-stage mbarrier ring, 128 x 128 x 64 block tiles of two
//   warpgroups, a block-wide barrier per k tile.
//   v15_bf16_warp_specialized: v14 with a producer warpgroup and two consumer warpgroups
//   (setmaxnreg), 128 x 256 x 64 tiles, four stages, one wgmma group kept in flight, and a
//   persistent grid of one block per SM walking the tiles in L2-friendly groups.
//   v16_bf16_two_blocks: v15's kernel in 128 x 128 tiles with three stages and a producer warp,
//   two blocks per SM, so that one block's epilogue runs under the other's products.
//   v17_bf16_cluster_pair: v15 in clusters of two blocks on vertically adjacent tiles, each
//   loading half of their shared B tile into both (TMA multicast).
//   v18_bf16_stream_k: v15 with the last, partial wave of tiles split along k among all the SMs
//   (stream-K), partial sums handed through an fp32 workspace.
// v14-v18 need an sm_90 GPU (std::invalid_argument elsewhere) and hand layouts the copy
// engine cannot read (A or B not 16-byte aligned, lda or ldb not a multiple of 8, k = 0) to v13.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cuda {

// What the epilogue applies after alpha * AB + beta * C + bias.
enum class GemmActivation { None, GeluTanh };

void gemm_v13_bf16_mma(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                       const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                       const float* bias, cudaStream_t stream);
void gemm_v14_bf16_wgmma_tma(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                             const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                             const float* bias, cudaStream_t stream);
void gemm_v15_bf16_warp_specialized(int m, int n, int k, float alpha, const __nv_bfloat16* a,
                                    int lda, const __nv_bfloat16* b, int ldb, float beta, float* c,
                                    int ldc, const float* bias, cudaStream_t stream);
void gemm_v16_bf16_two_blocks(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                              const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                              const float* bias, cudaStream_t stream);
void gemm_v17_bf16_cluster_pair(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                                const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                                const float* bias, cudaStream_t stream);
void gemm_v18_bf16_stream_k(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                            const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                            const float* bias, cudaStream_t stream);

// The best bf16 GEMM for the layout, with transposed operands read in place: op(A) (m, k) is A
// given (m, k) row-major, or (trans_a) A^T given (k, m) row-major with lda >= m; op(B) (k, n)
// likewise (trans_b: (n, k) row-major, ldb >= k). C (m, n) = act(alpha op(A) op(B) + beta C +
// bias), accumulated in fp32, written as fp32 or (second form) rounded once to bf16; bias (n) of
// C's type or null. On sm_90 with layouts the copy engine reads (16-byte aligned pointers, lda
// and ldb multiples of 8, k > 0): v15 or v16 by the shape (gemm_bf16_best.cu), in all four layouts.
// Otherwise (other GPUs from sm_80, any leading dimension, k = 0 or 1): v13's mma.sync kernel in
// the same layout. Bad sizes or pointers are a std::invalid_argument naming the layout.
void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const __nv_bfloat16* a,
               int lda, const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
               const float* bias, cudaStream_t stream,
               GemmActivation activation = GemmActivation::None);
void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const __nv_bfloat16* a,
               int lda, const __nv_bfloat16* b, int ldb, float beta, __nv_bfloat16* c, int ldc,
               const __nv_bfloat16* bias, cudaStream_t stream,
               GemmActivation activation = GemmActivation::None);

// Which tiles gemm_bf16 and gemm_bf16_batched give the Hopper kernel: by the shape (Auto, the
// default), or always v15's 128 x 256 (Wide) or v16's 128 x 128 (Narrow), so that tests and the
// bench can cover both in every layout. Per process; other GPUs are not affected.
enum class Bf16Tiles { Auto, Wide, Narrow };
void set_bf16_tiles(Bf16Tiles tiles);
// Whether gemm_bf16 and gemm_bf16_batched split a partial last wave of tiles along k (stream-K,
// v18's schedule) or hand every tile whole to one block (v15's and v16's; the default until the
// ladder shows the tail faster). Per process, for the bench and the tests.
void set_bf16_stream_k(bool enabled);

// A batch of `count` such products: product z reads A at a + z stride_a and B at b + z stride_b
// (a stride of 0: one matrix shared by every product) and writes C at c + z stride_c; the bias is
// shared. On sm_90 with every matrix readable by the copy engine (batch strides multiples of 8
// elements, or 0) one persistent v15 launch walks the tiles of all the products; otherwise one
// launch per product.
void gemm_bf16_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                       const __nv_bfloat16* a, int lda, int64_t stride_a, const __nv_bfloat16* b,
                       int ldb, int64_t stride_b, float beta, float* c, int ldc, int64_t stride_c,
                       int count, const float* bias, cudaStream_t stream,
                       GemmActivation activation = GemmActivation::None);
void gemm_bf16_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                       const __nv_bfloat16* a, int lda, int64_t stride_a, const __nv_bfloat16* b,
                       int ldb, int64_t stride_b, float beta, __nv_bfloat16* c, int ldc,
                       int64_t stride_c, int count, const __nv_bfloat16* bias, cudaStream_t stream,
                       GemmActivation activation = GemmActivation::None);

// ---- TF32: fp32 operands on the tensor cores ----
// C (m, n) fp32 = act(alpha A op(B) + beta C + bias), A (m, k) row-major fp32, op(B) = B (k, n)
// row-major or (trans_b) B^T given (n, k) row-major; the products read the operands as tf32 (10
// significand bits, as PyTorch with allow_tf32) and accumulate in fp32. v15's kernel with the
// tf32 wgmma, which reads both operands K-major: a row-major B is first transposed into the
// stream's kept scratch buffer (cuda/common/stream_workspace.h). Needs sm_90, k > 0, 16-byte
// aligned operands and leading dimensions that are multiples of 4 (gemm_tf32_takes); otherwise
// std::invalid_argument.
bool gemm_tf32_takes(int k, const float* a, int lda, const float* b, int ldb, bool trans_b);
void gemm_tf32(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc, const float* bias,
               cudaStream_t stream, GemmActivation activation = GemmActivation::None);

// ---- the engine's entry point (engine/cpu/gemm.h has the same signature) ----
// The problem's products through gemm_bf16_batched on the current stream; each
// operand row- or column-major (a transposed view) with any leading dimension. Sizes past the
// int range or another layout are a std::invalid_argument.
void run_gemm_bf16(const kernels::GemmProblemBf16& problem);

}  // namespace pa::cuda
