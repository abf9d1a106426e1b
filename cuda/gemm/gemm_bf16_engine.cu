// The engine's bf16 GEMM (engine/cpu/gemm.h's run_gemm_bf16 signature): the problem's products
// through gemm_bf16_batched, operands read in place as row-major or transposed views.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "cuda/common/runtime.h"
#include "cuda/gemm/gemm_bf16.h"

namespace pa::cuda {
namespace {

// A (rows, cols) operand as gemm_bf16 takes it: row-major with leading dimension ld, or
// (transposed) the transpose of a (cols, rows) row-major matrix.
struct Operand {
  bool transposed;
  int ld;
};

Operand operand(const kernels::MatrixRefBf16& x, int64_t rows, int64_t cols, const char* name) {
  const auto fits = [](int64_t v) { return v >= 0 && v <= INT_MAX; };
  if (x.col_stride == 1 && (x.row_stride >= cols || rows == 1)) {
    const int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : x.row_stride;
    if (fits(ld)) return {false, static_cast<int>(ld)};
  } else if (x.row_stride == 1 && (x.col_stride >= rows || cols == 1)) {
    const int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : x.col_stride;
    if (fits(ld)) return {true, static_cast<int>(ld)};
  }
  throw std::invalid_argument(std::string("run_gemm_bf16: operand ") + name + " (" +
                              std::to_string(rows) + " x " + std::to_string(cols) + ", strides " +
                              std::to_string(x.row_stride) + ", " + std::to_string(x.col_stride) +
                              ") is neither row- nor column-major within the int range");
}

}  // namespace

void run_gemm_bf16(const kernels::GemmProblemBf16& p) {
  if (p.M > INT_MAX || p.N > INT_MAX || p.K > INT_MAX) {
    throw std::invalid_argument("run_gemm_bf16: sizes exceed the int range");
  }
  const Operand a = operand(p.a, p.M, p.K, "a"), b = operand(p.b, p.K, p.N, "b");
  const int M = static_cast<int>(p.M), N = static_cast<int>(p.N), K = static_cast<int>(p.K);
  const auto stream = static_cast<cudaStream_t>(current_stream());
  const auto* bias = reinterpret_cast<const __nv_bfloat16*>(p.bias);
  if (p.count > INT_MAX) throw std::invalid_argument("run_gemm_bf16: batch exceeds the int range");
  gemm_bf16_batched(a.transposed, b.transposed, M, N, K, 1.0f,
                    reinterpret_cast<const __nv_bfloat16*>(p.a.data), a.ld, p.stride_a,
                    reinterpret_cast<const __nv_bfloat16*>(p.b.data), b.ld, p.stride_b, 0.0f,
                    reinterpret_cast<__nv_bfloat16*>(p.c), N, p.stride_c, static_cast<int>(p.count),
                    bias, stream);
}

}  // namespace pa::cuda
