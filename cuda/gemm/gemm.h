// The fp32 GEMM ladder: one launcher per version, from the naive kernel (v01) to warp-tiled
// kernels fed by cp.async pipelines (v09-v11) and an 8x16 thread tile (v12), plus a split-K pair
// (atomicAdd vs a deterministic reduction). Plain device pointers and shapes, no engine types.
// Built by //cuda/gemm:gemm (nvcc, sm_90a + sm_80 + PTX). What each version changed, why, and
// what it measured: cuda/gemm/README.md.
//
// Every launcher computes, asynchronously on `stream`, the row-major product
//   C (M, N) = alpha * A (M, K) · B (K, N) + beta * C (M, N)
// with leading dimensions (elements between rows) lda >= K, ldb >= N, ldc >= N. Any M, N, K >= 0
// works: edge tiles are masked, and the vectorised versions fall back to scalar accesses when a
// pointer or leading dimension is not 16-byte aligned. beta == 0 never reads C (BLAS
// semantics: C may hold NaN). Bad arguments throw std::runtime_error naming the launcher; a
// failed launch throws through PA_CUDA_CHECK.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string_view>

#include "engine/kernels/defs.h"

namespace pa::cuda {

using GemmLauncher = void (*)(int m, int n, int k, float alpha, const float* a, int lda,
                              const float* b, int ldb, float beta, float* c, int ldc,
                              cudaStream_t stream);
// The same with a fused epilogue: C = alpha * A·B + beta * C + bias (N), bias broadcast over
// rows (nullptr: none).
using GemmBiasLauncher = void (*)(int m, int n, int k, float alpha, const float* a, int lda,
                                  const float* b, int ldb, float beta, float* c, int ldc,
                                  const float* bias, cudaStream_t stream);

// A batch of products C_i = alpha * A_i·B_i + beta * C_i + bias, i < count, with
// A_i = a + i * stride_a (and so on for B, C; a stride of 0 shares the matrix, as broadcasting
// does). count 1 is a single product.
struct GemmBatch {
  int count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between consecutive matrices
};
using GemmBatchedLauncher = void (*)(int m, int n, int k, float alpha, const float* a, int lda,
                                     const float* b, int ldb, float beta, float* c, int ldc,
                                     const float* bias, const GemmBatch& batch,
                                     cudaStream_t stream);

void gemm_v01_naive(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                    int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_v02_coalesced(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_v03_smem_tiling(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                          int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_v04_1d_coarsening(int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc,
                            cudaStream_t stream);
void gemm_v05_2d_blocktile(int m, int n, int k, float alpha, const float* a, int lda,
                           const float* b, int ldb, float beta, float* c, int ldc,
                           cudaStream_t stream);
void gemm_v06_vectorized(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                         int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_v07_bank_conflict_free(int m, int n, int k, float alpha, const float* a, int lda,
                                 const float* b, int ldb, float beta, float* c, int ldc,
                                 cudaStream_t stream);
void gemm_v08_warptile(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_v08_warptile_bias(int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc,
                            const float* bias, cudaStream_t stream);
void gemm_v09_async_double_buffer(int m, int n, int k, float alpha, const float* a, int lda,
                                  const float* b, int ldb, float beta, float* c, int ldc,
                                  cudaStream_t stream);
void gemm_v10_async_wide_copies(int m, int n, int k, float alpha, const float* a, int lda,
                                const float* b, int ldb, float beta, float* c, int ldc,
                                cudaStream_t stream);
void gemm_v10_async_wide_copies_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                     const float* b, int ldb, float beta, float* c, int ldc,
                                     const float* bias, cudaStream_t stream);
void gemm_v11_async_b_register_a(int m, int n, int k, float alpha, const float* a, int lda,
                                 const float* b, int ldb, float beta, float* c, int ldc,
                                 cudaStream_t stream);
void gemm_v11_async_b_register_a_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                      const float* b, int ldb, float beta, float* c, int ldc,
                                      const float* bias, cudaStream_t stream);
void gemm_v11_async_b_register_a_batched(int m, int n, int k, float alpha, const float* a, int lda,
                                         const float* b, int ldb, float beta, float* c, int ldc,
                                         const float* bias, const GemmBatch& batch,
                                         cudaStream_t stream);
void gemm_v12_thread_tile_8x16(int m, int n, int k, float alpha, const float* a, int lda,
                               const float* b, int ldb, float beta, float* c, int ldc,
                               cudaStream_t stream);
void gemm_v12_thread_tile_8x16_bias(int m, int n, int k, float alpha, const float* a, int lda,
                                    const float* b, int ldb, float beta, float* c, int ldc,
                                    const float* bias, cudaStream_t stream);
void gemm_v12_thread_tile_8x16_batched(int m, int n, int k, float alpha, const float* a, int lda,
                                       const float* b, int ldb, float beta, float* c, int ldc,
                                       const float* bias, const GemmBatch& batch,
                                       cudaStream_t stream);
// Split-K: blockIdx.z takes a slice of K; the slices' partial products are summed either by
// atomicAdd into C (fast, order not deterministic) or through a workspace and a separate
// reduction kernel (bitwise reproducible). The workspace is cached inside the library per
// (device, stream) and grows on demand.
void gemm_splitk_atomic(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream);
void gemm_splitk_reduce(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                        int ldb, float beta, float* c, int ldc, cudaStream_t stream);

// The promoted version (the fastest measured, kBestVersion below) with its fused epilogue
// (a C of fewer tiles than SMs, counted in kBestVersion's tile from kGemmVersions, runs
// kSmallGridVersion; a product with K >= 1024 whose C has at most (SMs / 4) such tiles, and no
// bias, runs gemm_splitk_reduce: K spread over blocks, still deterministic):
//   C (M, N) = alpha * A·B + beta * C + bias (N), bias broadcast over rows; bias may be nullptr.
// This is what the engine's matmul uses.
void gemm_best(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
               float beta, float* c, int ldc, const float* bias, cudaStream_t stream);
// The promoted version over a batch (one launch; blockIdx.y picks the product): what the
// engine's batched matmul (attention's B*H products) uses.
void gemm_best_batched(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, const float* bias,
                       const GemmBatch& batch, cudaStream_t stream);

// The tile of C (rows, columns) one thread block computes: a launch's grid holds
// ceil(M / m) x ceil(N / n) blocks (times the batch, or split-K's slices of K).
struct GemmTile {
  int m, n;
};

struct GemmVersion {
  const char* name;  // "v05_2d_blocktile": the file is gemm_<name>.cu
  bool slow;         // v01-v03: the bench skips the largest size
  GemmTile tile;     // each numbered file static_asserts that this is its block tile
  GemmLauncher launch;
  GemmBiasLauncher launch_bias;        // nullptr: no fused bias epilogue
  GemmBatchedLauncher launch_batched;  // nullptr: no batched form
};

// The ladder in order; the test and the bench iterate over it.
inline constexpr GemmVersion kGemmVersions[] = {
    {"v01_naive", true, {32, 32}, gemm_v01_naive, nullptr, nullptr},
    {"v02_coalesced", true, {32, 32}, gemm_v02_coalesced, nullptr, nullptr},
    {"v03_smem_tiling", true, {32, 32}, gemm_v03_smem_tiling, nullptr, nullptr},
    {"v04_1d_coarsening", false, {64, 64}, gemm_v04_1d_coarsening, nullptr, nullptr},
    {"v05_2d_blocktile", false, {128, 128}, gemm_v05_2d_blocktile, nullptr, nullptr},
    {"v06_vectorized", false, {128, 128}, gemm_v06_vectorized, nullptr, nullptr},
    {"v07_bank_conflict_free", false, {128, 128}, gemm_v07_bank_conflict_free, nullptr, nullptr},
    {"v08_warptile", false, {128, 128}, gemm_v08_warptile, gemm_v08_warptile_bias, nullptr},
    {"v09_async_double_buffer", false, {128, 128}, gemm_v09_async_double_buffer, nullptr, nullptr},
    {"v10_async_wide_copies",
     false,
     {128, 128},
     gemm_v10_async_wide_copies,
     gemm_v10_async_wide_copies_bias,
     nullptr},
    {"v11_async_b_register_a",
     false,
     {128, 128},
     gemm_v11_async_b_register_a,
     gemm_v11_async_b_register_a_bias,
     gemm_v11_async_b_register_a_batched},
    {"v12_thread_tile_8x16",
     false,
     {128, 128},
     gemm_v12_thread_tile_8x16,
     gemm_v12_thread_tile_8x16_bias,
     gemm_v12_thread_tile_8x16_batched},
    {"splitk_atomic", false, {64, 64}, gemm_splitk_atomic, nullptr, nullptr},
    {"splitk_reduce", false, {64, 64}, gemm_splitk_reduce, nullptr, nullptr},
};

// The entry of kGemmVersions named `name`, or nullptr; usable at compile time.
constexpr const GemmVersion* find_gemm_version(std::string_view name) {
  for (const GemmVersion& version : kGemmVersions) {
    if (name == version.name) return &version;
  }
  return nullptr;
}

// True when kGemmVersions lists `name` with the block tile (m, n): each numbered file asserts
// it of its own kernel, so that what gemm_best counts is what the kernel launches.
constexpr bool gemm_version_has_tile(std::string_view name, int m, int n) {
  const GemmVersion* version = find_gemm_version(name);
  return version != nullptr && version->tile.m == m && version->tile.n == n;
}

// The version behind gemm_best: the fastest at 4096 and 8192 in
// results/gpu/h100/gemm_ladder.jsonl.
inline constexpr const char* kBestVersion = "v12_thread_tile_8x16";
// The version gemm_best runs when the grid has fewer tiles of C than the GPU has SMs: v12's
// 4-warp blocks then leave schedulers idle, v11's 8-warp blocks do not (the n = 1024 rows of
// results/gpu/h100/gemm_ladder.jsonl; cuda/gemm/README.md).
inline constexpr const char* kSmallGridVersion = "v11_async_b_register_a";

// ---- the engine's entry points (the CPU GEMM's signatures: engine/cpu/gemm.h) ----
using kernels::GemmProblem;
using kernels::MatrixRef;
// No: run_gemm needs row-major, contiguous operands (engine/ops copies other views first).
bool gemm_reads_views();
// Whether a problem of `count` (M, K) x (K, N) products fits the launchers' int arguments.
bool gemm_fits(int64_t count, int64_t M, int64_t N, int64_t K);
// gemm_best for one product (bias in the epilogue), gemm_best_batched for several, on the
// current stream (cuda/common/runtime.h). Throws std::invalid_argument where gemm_fits is false.
void run_gemm(const GemmProblem& problem);

}  // namespace pa::cuda
