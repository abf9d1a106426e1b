// matmul: (M, K) @ (K, N) and batched (..., M, K) @ (..., K, N) with broadcast batch dims.
// Operands go to the packed SGEMM (engine/cpu/gemm.h) as strided views: a transposed operand
// (matmul's backward, Linear's x W^T) is read in place, not copied. A batched a times a 2-D b is
// one GEMM over all rows. The backward is two matmuls, summed back over broadcast batch dims.
// On CUDA: cuda/gemm's best fp32 version (row-major operands, so views are made contiguous
// first; broadcast batch dims are expanded, a single shared matrix is not), one launch per
// matmul: a batched a times a 2-D b folds into one GEMM, other batches run as one batched GEMM.
#include <limits>

#include "engine/core/checked.h"
#include "engine/cpu/gemm.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

#ifdef PA_WITH_CUDA
#include "cuda/common/runtime.h"
#include "cuda/gemm/gemm.h"
#endif

namespace pa {

using autograd::record;

namespace {

// x itself when its last two dims are row- or column-major (unit stride in one of them), else a
// contiguous copy: what sgemm can read.
Tensor gemm_operand(const Tensor& x) {
  const int64_t rows = x.size(-2), cols = x.size(-1);
  const int64_t row_stride = x.strides()[x.dim() - 2], col_stride = x.strides()[x.dim() - 1];
  const bool row_major = col_stride == 1 && (row_stride >= cols || rows == 1);
  const bool col_major = row_stride == 1 && (col_stride >= rows || cols == 1);
  return row_major || col_major ? x.detach() : contiguous(x).detach();
}

cpu::MatrixRef matrix_ref(const Tensor& x, int64_t offset) {
  return {x.data<float>() + offset, x.strides()[x.dim() - 2], x.strides()[x.dim() - 1]};
}

// a (..., M, K) whose batch and row dims can be folded into one row dim of a GEMM.
bool rows_fold(const Tensor& a) {
  const int64_t K = a.size(-1);
  if (a.strides()[a.dim() - 1] != 1) return false;
  int64_t expected = K;
  for (int64_t d = a.dim() - 2; d >= 0; --d) {
    if (a.size(d) != 1 && a.strides()[d] != expected) return false;
    expected *= a.size(d);
  }
  return true;
}

#ifdef PA_WITH_CUDA
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// out (M, N) = a (M, K) @ b (K, N) (+ bias (N) in the epilogue, when not null) through gemm_best
// on the current stream; a and b contiguous. `shapes` names the operands in the range error.
void gemm_cuda(const char* op, const std::string& shapes, const Tensor& a, const Tensor& b,
               const float* bias, int64_t M, int64_t K, int64_t N, Tensor& out) {
  PA_CHECK(M <= kIntMax && K <= kIntMax && N <= kIntMax, op,
           "sizes " << shapes << " exceed the CUDA GEMM's int range",
           "split the product into smaller ones");
  cuda::gemm_best(static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f,
                  a.data<float>(), static_cast<int>(K), b.data<float>(), static_cast<int>(N), 0.0f,
                  out.data<float>(), static_cast<int>(N), bias,
                  static_cast<cudaStream_t>(cuda::current_stream()));
}

// out (batch..., M, N) = a @ b on the GPU.
void matmul_cuda(const Tensor& a, const Tensor& b, const Shape& batch, int64_t M, int64_t K,
                 int64_t N, Tensor& out) {
  const int64_t count = shape_numel(batch);
  const std::string shapes = shape_str(a.shape()) + " @ " + shape_str(b.shape());
  autograd::NoGradGuard no_grad;
  if (b.dim() == 2) {  // (..., M, K) @ (K, N): one (count * M, K) @ (K, N) GEMM
    Shape a_full = batch;
    a_full.push_back(M);
    a_full.push_back(K);
    gemm_cuda("matmul", shapes, contiguous(expand(a, a_full)), contiguous(b), nullptr, count * M, K,
              N, out);
    return;
  }
  // Batched: one launch for every product. An operand whose own batch dims hold a single
  // matrix is shared (stride 0); any other is expanded to the full batch and made contiguous.
  const auto batched_operand = [&](const Tensor& t, int64_t rows, int64_t cols, int64_t& stride) {
    if (shape_numel(Shape(t.shape().begin(), t.shape().end() - 2)) == 1) {
      stride = 0;
      return contiguous(t);
    }
    Shape full = batch;
    full.insert(full.end(), {rows, cols});
    stride = rows * cols;
    return contiguous(expand(t, full));
  };
  PA_CHECK(count <= kIntMax && M <= kIntMax && K <= kIntMax && N <= kIntMax, "matmul",
           "sizes " << shapes << " (a batch of " << count << ") exceed the CUDA GEMM's int range",
           "split the batch");
  cuda::GemmBatch gemm_batch;
  gemm_batch.count = static_cast<int>(count);
  gemm_batch.stride_c = M * N;
  const Tensor ac = batched_operand(a, M, K, gemm_batch.stride_a);  // (batch, M, K)
  const Tensor bc = batched_operand(b, K, N, gemm_batch.stride_b);  // (batch, K, N)
  cuda::gemm_best_batched(static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f,
                          ac.data<float>(), static_cast<int>(K), bc.data<float>(),
                          static_cast<int>(N), 0.0f, out.data<float>(), static_cast<int>(N),
                          nullptr, gemm_batch, static_cast<cudaStream_t>(cuda::current_stream()));
}
#endif

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops_internal::check_inputs("matmul", {a, b}, {"a", "b"});
  PA_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul",
           "needs 2-D or batched operands, got " << ops_internal::describe({a, b}, {"a", "b"}),
           "reshape vectors to (1, K) or (K, 1)");
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  PA_CHECK(b.size(-2) == K, "matmul",
           "inner dims differ: a " << shape_str(a.shape()) << " vs b " << shape_str(b.shape()),
           "a's last dim must equal b's second-to-last dim; transpose one of them?");
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = ops_internal::broadcast_shapes("matmul", a_batch, b_batch);
  const Tensor ap = gemm_operand(a);  // (..., M, K), strided
  const Tensor bp = gemm_operand(b);  // (..., K, N), strided
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  if (!numel_fits(out_shape)) {
    checked_numel(out_shape, "matmul",
                  shape_str(a.shape()) + " @ " + shape_str(b.shape()) + " gives shape");
  }
  Tensor out = empty(out_shape, TensorOptions().with_device(a.device()));  // (..., M, N)
  const int64_t count = shape_numel(batch);
  if (!a.device().is_cpu()) {
#ifdef PA_WITH_CUDA
    if (out.numel() > 0) matmul_cuda(a.detach(), b.detach(), batch, M, K, N, out);
#else
    ops_internal::no_cuda_kernel("matmul", {a, b});
#endif
  } else if (b.dim() == 2 && rows_fold(ap)) {
    // (..., M, K) @ (K, N): one (count * M, K) @ (K, N) GEMM.
    cpu::sgemm(count * M, N, K, {ap.data<float>(), K, 1}, matrix_ref(bp, 0), out.data<float>(), N,
               false);
  } else {
    // Batch strides (in elements) of each operand, 0 on broadcast dims.
    const Shape a_strides = ops_internal::broadcast_strides(
        make_view(ap, a_batch, Shape(ap.strides().begin(), ap.strides().end() - 2), 0), batch);
    const Shape b_strides = ops_internal::broadcast_strides(
        make_view(bp, b_batch, Shape(bp.strides().begin(), bp.strides().end() - 2), 0), batch);
    for (int64_t i = 0; i < count; ++i) {
      int64_t rest = i, a_offset = 0, b_offset = 0;
      for (size_t d = batch.size(); d-- > 0;) {
        const int64_t index = rest % batch[d];
        rest /= batch[d];
        a_offset += index * a_strides[d];
        b_offset += index * b_strides[d];
      }
      cpu::sgemm(M, N, K, matrix_ref(ap, a_offset), matrix_ref(bp, b_offset),
                 out.data<float>() + i * M * N, N, false);
    }
  }
  return record(out, "matmul", {a, b}, [ap, bp](const Tensor& grad) {
    const Tensor grad_a = matmul(grad, transpose(bp, -1, -2));  // (..., M, K)
    if (bp.dim() == 2 && ap.dim() > 2) {
      // b was shared by every batch matrix: its gradient is one GEMM over all rows,
      // (K, count * M) @ (count * M, N).
      const int64_t K = ap.size(-1), N = grad.size(-1);
      const Tensor a_rows = reshape(contiguous(ap), {-1, K});       // (count * M, K)
      const Tensor grad_rows = reshape(contiguous(grad), {-1, N});  // (count * M, N)
      return std::vector<Tensor>{sum_to(grad_a, ap.shape()),
                                 matmul(transpose(a_rows, 0, 1), grad_rows)};
    }
    const Tensor grad_b = matmul(transpose(ap, -1, -2), grad);  // (..., K, N)
    return std::vector<Tensor>{sum_to(grad_a, ap.shape()), sum_to(grad_b, bp.shape())};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const bool has_bias = bias.defined();
  const std::vector<Tensor> inputs =
      has_bias ? std::vector<Tensor>{x, weight, bias} : std::vector<Tensor>{x, weight};
  const std::vector<std::string> names = {"x", "weight", "bias"};
  ops_internal::check_inputs("linear", inputs, names);
  PA_CHECK(x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) &&
               (!has_bias || bias.shape() == Shape{weight.size(0)}),
           "linear", "bad shapes: " << ops_internal::describe(inputs, names),
           "x (..., in), weight (out, in), bias (out)");
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape out_shape = x.shape();
  out_shape.back() = out;
  const Tensor x_rows = reshape(x.detach(), {rows, in});  // (R, in)
  Tensor y;                                               // (R, out)
  if (x.device().is_cpu()) {
    autograd::NoGradGuard no_grad;
    y = matmul(x_rows, transpose(weight.detach(), 0, 1));
    if (has_bias) y = add(y, bias.detach());
  } else {
#ifdef PA_WITH_CUDA
    autograd::NoGradGuard no_grad;
    const Tensor c = has_bias ? contiguous(bias.detach()) : Tensor();
    y = empty({rows, out}, TensorOptions().with_device(x.device()));
    gemm_cuda("linear", ops_internal::describe(inputs, names), contiguous(x_rows),
              contiguous(transpose(weight.detach(), 0, 1)), has_bias ? c.data<float>() : nullptr,
              rows, in, out, y);  // (R, in) @ (in, out)
#else
    ops_internal::no_cuda_kernel("linear", inputs);
#endif
  }
  return record(reshape(y, out_shape), "linear", inputs,
                [x_rows, weight = weight.detach(), has_bias, rows, out,
                 x_shape = x.shape()](const Tensor& grad) {
                  autograd::NoGradGuard no_grad;
                  const Tensor g = reshape(grad, {rows, out});  // (R, out)
                  std::vector<Tensor> grads = {
                      reshape(matmul(g, weight), x_shape),     // dx (..., in)
                      matmul(transpose(g, 0, 1), x_rows)};     // dweight (out, in)
                  if (has_bias) grads.push_back(sum(g, {0}));  // dbias (out)
                  return grads;
                });
}

}  // namespace pa
