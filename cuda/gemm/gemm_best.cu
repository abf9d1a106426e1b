// gemm_best: the promoted version of the ladder (gemm.h's kBestVersion, looked up in
// kGemmVersions at compile time, launchers and tile shape) with its fused bias epilogue;
// kSmallGridVersion for grids of fewer tiles than SMs, and the deterministic split-K for long-K
// products with few output tiles; what the engine's matmul calls.
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_common.cuh"

namespace pa::cuda {
namespace {

// A pointer (a launcher slot, an entry of kGemmVersions) is set: a function parameter, so that
// the compiler cannot fold the comparison of a known address into a warning.
template <typename Pointer>
constexpr bool filled(Pointer pointer) {
  return pointer != nullptr;
}

constexpr const GemmVersion* kBestEntry = find_gemm_version(kBestVersion);
constexpr const GemmVersion* kSmallEntry = find_gemm_version(kSmallGridVersion);
static_assert(filled(kBestEntry) && filled(kSmallEntry),
              "kBestVersion and kSmallGridVersion must name versions of kGemmVersions");
constexpr GemmBiasLauncher kBest = kBestEntry->launch_bias;
constexpr GemmBatchedLauncher kBestBatched = kBestEntry->launch_batched;
constexpr GemmBiasLauncher kSmall = kSmallEntry->launch_bias;
constexpr GemmBatchedLauncher kSmallBatched = kSmallEntry->launch_batched;
static_assert(filled(kBest) && filled(kSmall),
              "kBestVersion and kSmallGridVersion must have a bias epilogue");
static_assert(filled(kBestBatched) && filled(kSmallBatched),
              "kBestVersion and kSmallGridVersion must have a batched form");
// The dispatch below counts C in kBestVersion's tiles: how many blocks its grid would hold.
constexpr GemmTile kBestTile = kBestEntry->tile;

int multiprocessors() { return current_device_capability().multiprocessors; }

int64_t tiles_of(int m, int n) {  // kBestTile tiles of C (M, N)
  return int64_t{gemm_internal::ceil_div(m, kBestTile.m)} * gemm_internal::ceil_div(n, kBestTile.n);
}

// gemm_best hands products with K at least this long and few tiles of C to split-K.
constexpr int kSplitMinK = 1024;

}  // namespace

void gemm_best(int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
               float beta, float* c, int ldc, const float* bias, cudaStream_t stream) {
  if (!gemm_internal::check_arguments("gemm_best", m, n, k, a, lda, b, ldb, c, ldc)) return;
  // A long K over a C of a few tiles (a weight gradient: (E, B*S) @ (B*S, F)) would leave most
  // SMs idle and walk K serially: the deterministic split-K spreads K over blocks.
  const int64_t tiles = tiles_of(m, n);
  if (bias == nullptr && k >= kSplitMinK && tiles * 4 <= multiprocessors()) {
    gemm_splitk_reduce(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
    return;
  }
  (tiles < multiprocessors() ? kSmall : kBest)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias,
                                               stream);
}

void gemm_best_batched(int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                       int ldb, float beta, float* c, int ldc, const float* bias,
                       const GemmBatch& batch, cudaStream_t stream) {
  if (batch.count == 0) return;
  const bool small = tiles_of(m, n) * batch.count < multiprocessors();
  (small ? kSmallBatched : kBestBatched)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, batch,
                                         stream);
}

}  // namespace pa::cuda
