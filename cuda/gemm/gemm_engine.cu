// The engine's entry points into the GEMM (the CPU GEMM's signatures, engine/cpu/gemm.h):
// gemm_best for one product, gemm_best_batched for several, on the current stream. Operands
// must be row-major and contiguous (engine/ops copies other views first).
#include <climits>
#include <stdexcept>

#include "cuda/common/runtime.h"
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_bf16.h"

namespace pa::cuda {

bool gemm_reads_views() { return false; }

bool gemm_fits(int64_t count, int64_t M, int64_t N, int64_t K) {
  return count <= INT_MAX && M <= INT_MAX && N <= INT_MAX && K <= INT_MAX;
}

void run_gemm(const GemmProblem& p) {
  if (!gemm_fits(p.count, p.M, p.N, p.K))
    throw std::invalid_argument("run_gemm: sizes exceed the int range");
  if (p.a.col_stride != 1 || p.b.col_stride != 1) {
    throw std::invalid_argument("run_gemm: operands must be row-major (unit column stride)");
  }
  const int M = static_cast<int>(p.M), N = static_cast<int>(p.N), K = static_cast<int>(p.K);
  const auto stream = static_cast<cudaStream_t>(current_stream());
  const int lda = static_cast<int>(p.a.row_stride), ldb = static_cast<int>(p.b.row_stride);
  // TF32 where allowed and the tensor-core path takes the layout (every product alike: the batch
  // strides keep each matrix 16-byte aligned when they are multiples of 4).
  if (p.allow_tf32 && gemm_tf32_takes(K, p.a.data, lda, p.b.data, ldb, false) &&
      (p.count == 1 || (p.stride_a % 4 == 0 && p.stride_b % 4 == 0))) {
    for (int64_t t = 0; t < p.count; ++t) {
      gemm_tf32(false, M, N, K, 1.0f, p.a.data + t * p.stride_a, lda, p.b.data + t * p.stride_b,
                ldb, 0.0f, p.c + t * p.stride_c, N, p.bias, stream);
    }
    return;
  }
  if (p.count == 1) {
    gemm_best(M, N, K, 1.0f, p.a.data, static_cast<int>(p.a.row_stride), p.b.data,
              static_cast<int>(p.b.row_stride), 0.0f, p.c, N, p.bias, stream);
    return;
  }
  GemmBatch batch;
  batch.count = static_cast<int>(p.count);
  batch.stride_a = p.stride_a;
  batch.stride_b = p.stride_b;
  batch.stride_c = p.stride_c;
  gemm_best_batched(M, N, K, 1.0f, p.a.data, static_cast<int>(p.a.row_stride), p.b.data,
                    static_cast<int>(p.b.row_stride), 0.0f, p.c, N, p.bias, batch, stream);
}

}  // namespace pa::cuda
