// The engine's entry points into the GEMM (the CPU GEMM's signatures, engine/cpu/gemm.h):
// gemm_best for one product, gemm_best_batched for several, on the current stream. Operands
// must be row-major and contiguous (engine/ops copies other views first).
#include <climits>
#include <stdexcept>

#include "cuda/common/runtime.h"
#include "cuda/gemm/gemm.h"

namespace pa::cuda {

bool gemm_reads_views() { return false; }

bool gemm_fits(const GemmProblem& p) {
  return p.count <= INT_MAX && p.M <= INT_MAX && p.N <= INT_MAX && p.K <= INT_MAX;
}

void run_gemm(const GemmProblem& p) {
  if (!gemm_fits(p)) throw std::invalid_argument("run_gemm: sizes exceed the int range");
  if (p.a.col_stride != 1 || p.b.col_stride != 1) {
    throw std::invalid_argument("run_gemm: operands must be row-major (unit column stride)");
  }
  const int M = static_cast<int>(p.M), N = static_cast<int>(p.N), K = static_cast<int>(p.K);
  const auto stream = static_cast<cudaStream_t>(current_stream());
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
