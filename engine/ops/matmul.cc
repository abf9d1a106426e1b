// matmul: (M, K) @ (K, N) and batched (..., M, K) @ (..., K, N) with broadcast batch dims.
// Both go through the backend's run_gemm (dispatch.h). A GEMM that reads strided views (the
// CPU's packed SGEMM, engine/cpu/gemm.h) gets them in place: a transposed operand (matmul's
// backward, Linear's x W^T) is not copied, and each batch matrix is one product at its own
// offset. A GEMM of row-major operands (cuda/gemm's best fp32 version) gets contiguous copies,
// broadcast batch dims expanded (a single shared matrix is not), in one launch per matmul.
// Either way a batched a times a 2-D b is one GEMM over all rows. The backward is two matmuls,
// summed back over broadcast batch dims.
// bfloat16 operands go to the backend's run_gemm_bf16 (fp32 accumulation, a bf16 result) and
// are always read as views: the CUDA bf16 GEMM takes row- and column-major operands of any
// leading dimension (cuda/gemm/gemm_bf16.h), the CPU one widens them to fp32 first.
#include <atomic>
#include <type_traits>

#include "engine/core/checked.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;

namespace {
std::atomic<bool> g_allow_tf32{false};
}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

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

template <typename T>
kernels::MatrixOf<T> matrix_ref(const Tensor& x, int64_t offset) {
  return {x.data<T>() + offset, x.strides()[x.dim() - 2], x.strides()[x.dim() - 1]};
}

// The backend's GEMM for the element type: float32 or bfloat16 (its bits).
void run_products(const Kernels& k, const kernels::GemmProblem& p) { k.run_gemm(p); }
void run_products(const Kernels& k, const kernels::GemmProblemBf16& p) { k.run_gemm_bf16(p); }

// The stride s with offset(i) = i * s for every flat index i over the batch dims `batch`, given
// each dim's stride (0 where broadcast): s = 0 when every dim is broadcast or of size 1; -1 when
// no single stride walks the batch (e.g. one dim broadcast and another not).
int64_t flat_stride(const Shape& strides, const Shape& batch) {
  int64_t stride = -1, span = 1;  // span: product of the sizes of the dims after d
  for (size_t d = batch.size(); d-- > 0;) {
    if (batch[d] == 1) continue;
    if (stride < 0) {
      if (strides[d] % span != 0) return -1;
      stride = strides[d] / span;
    }
    if (strides[d] != stride * span) return -1;
    span *= batch[d];
  }
  return stride < 0 ? 0 : stride;
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

// gemm_into for a float32 GEMM of row-major, contiguous operands (the GPU's): broadcast batch
// dims are expanded, an operand holding a single matrix is shared (stride 0); one launch per
// matmul. `run` checks and runs one GemmProblem.
template <typename Run>
void gemm_rows_into(const Run& run, const Tensor& a, const Tensor& b, const Shape& batch, int64_t M,
                    int64_t K, int64_t N, const float* bias, Tensor& out) {
  const int64_t count = shape_numel(batch);
  if (b.dim() == 2) {  // (..., M, K) @ (K, N): one (count * M, K) @ (K, N) GEMM
    Shape a_full = batch;
    a_full.insert(a_full.end(), {M, K});
    const Tensor ac = contiguous(expand(a, a_full));
    const Tensor bc = contiguous(b);
    run({1,
         count * M,
         N,
         K,
         {ac.data<float>(), K, 1},
         0,
         {bc.data<float>(), N, 1},
         0,
         bias,
         out.data<float>(),
         0});
    return;
  }
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
  int64_t stride_a = 0, stride_b = 0;
  const Tensor ac = batched_operand(a, M, K, stride_a);  // (batch, M, K)
  const Tensor bc = batched_operand(b, K, N, stride_b);  // (batch, K, N)
  run({count,
       M,
       N,
       K,
       {ac.data<float>(), K, 1},
       stride_a,
       {bc.data<float>(), N, 1},
       stride_b,
       bias,
       out.data<float>(),
       M * N});
}

// out (batch..., M, N) = a (..., M, K) @ b (..., K, N) (+ bias (N) on every row, when not
// null) through the backend's GEMM for T (float: float32, uint16_t: bfloat16); a and b
// detached, `batch` their broadcast batch dims.
template <typename T>
void gemm_into(const Kernels& k, OpId op, const std::string& shapes, const Tensor& a,
               const Tensor& b, const Shape& batch, int64_t M, int64_t K, int64_t N, const T* bias,
               Tensor& out) {
  const int64_t count = shape_numel(batch);
  if (out.numel() == 0) return;
  autograd::NoGradGuard no_grad;
  const auto run = [&](const kernels::GemmOf<T>& problem) {
    PA_CHECK(k.gemm_fits(problem.count, problem.M, problem.N, problem.K), op_name(op),
             "sizes " << shapes << " (a batch of " << problem.count << ") exceed what the "
                      << k.backend << " GEMM takes",
             "split the product or the batch into smaller ones");
    kernels::GemmOf<T> with_flags = problem;
    with_flags.allow_tf32 = std::is_same_v<T, float> && allow_tf32();
    run_products(k, with_flags);
  };
  if (k.gemm_reads_views() || std::is_same_v<T, uint16_t>) {
    // Row- or column-major views are read in place (gemm_operand copies any other).
    const Tensor ap = gemm_operand(a);    // (..., M, K)
    const Tensor bp = gemm_operand(b);    // (..., K, N)
    if (b.dim() == 2 && rows_fold(ap)) {  // (..., M, K) @ (K, N): one (count * M, K) @ (K, N)
      run({1,
           count * M,
           N,
           K,
           {ap.data<T>(), K, 1},
           0,
           matrix_ref<T>(bp, 0),
           0,
           bias,
           out.data<T>(),
           0});
      return;
    }
    // One product per batch matrix, each operand at its own (broadcast) batch offset: one
    // problem of `count` products where both offsets are a multiple of the flat batch index.
    const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
    const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
    const Shape a_strides = ops_internal::broadcast_strides(
        make_view(ap, a_batch, Shape(ap.strides().begin(), ap.strides().end() - 2), 0), batch);
    const Shape b_strides = ops_internal::broadcast_strides(
        make_view(bp, b_batch, Shape(bp.strides().begin(), bp.strides().end() - 2), 0), batch);
    const int64_t stride_a = flat_stride(a_strides, batch),
                  stride_b = flat_stride(b_strides, batch);
    if (stride_a >= 0 && stride_b >= 0) {
      run({count, M, N, K, matrix_ref<T>(ap, 0), stride_a, matrix_ref<T>(bp, 0), stride_b, bias,
           out.data<T>(), M * N});
      return;
    }
    for (int64_t i = 0; i < count; ++i) {
      int64_t rest = i, a_offset = 0, b_offset = 0;
      for (size_t d = batch.size(); d-- > 0;) {
        const int64_t index = rest % batch[d];
        rest /= batch[d];
        a_offset += index * a_strides[d];
        b_offset += index * b_strides[d];
      }
      run({1, M, N, K, matrix_ref<T>(ap, a_offset), 0, matrix_ref<T>(bp, b_offset), 0, bias,
           out.data<T>() + i * M * N, 0});
    }
    return;
  }
  if constexpr (std::is_same_v<T, float>) gemm_rows_into(run, a, b, batch, M, K, N, bias, out);
}

// gemm_into in the dtype of `out` (float32 or bfloat16, the inputs' dtype).
void gemm_dtype(const Kernels& k, OpId op, const std::string& shapes, const Tensor& a,
                const Tensor& b, const Shape& batch, int64_t M, int64_t K, int64_t N,
                const Tensor& bias, Tensor& out) {
  if (out.dtype() == DType::BFloat16) {
    gemm_into<uint16_t>(k, op, shapes, a, b, batch, M, K, N,
                        bias.defined() ? bias.data<uint16_t>() : nullptr, out);
  } else {
    gemm_into<float>(k, op, shapes, a, b, batch, M, K, N,
                     bias.defined() ? bias.data<float>() : nullptr, out);
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const Kernels& k = ops_internal::check_inputs(OpId::matmul, {a, b}, {"a", "b"});
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
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  const std::string shapes = shape_str(a.shape()) + " @ " + shape_str(b.shape());
  if (!numel_fits(out_shape)) checked_numel(out_shape, "matmul", shapes + " gives shape");
  Tensor out = empty(out_shape, TensorOptions().with_device(a.device()).with_dtype(a.dtype()));
  const Tensor ap = gemm_operand(a);  // (..., M, K), strided; kept for the backward
  const Tensor bp = gemm_operand(b);  // (..., K, N), strided
  gemm_dtype(k, OpId::matmul, shapes, ap, bp, batch, M, K, N, Tensor(), out);  // (..., M, N)
  return record(out, OpId::matmul, {a, b}, [ap, bp](const Tensor& grad) {
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
  const Kernels& k = ops_internal::check_inputs(OpId::linear, inputs, names);
  PA_CHECK(x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) &&
               (!has_bias || bias.shape() == Shape{weight.size(0)}),
           "linear", "bad shapes: " << ops_internal::describe(inputs, names),
           "x (..., in), weight (out, in), bias (out)");
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape out_shape = x.shape();
  out_shape.back() = out;
  const Tensor x_rows = reshape(x.detach(), {rows, in});  // (R, in)
  // y (R, out) = x (R, in) @ W^T (in, out) + bias, the bias added by the GEMM (in its epilogue
  // on the GPU).
  const Tensor bias_c = has_bias ? contiguous(bias).detach() : Tensor();
  Tensor y = empty({rows, out}, TensorOptions().with_device(x.device()).with_dtype(x.dtype()));
  gemm_dtype(k, OpId::linear, ops_internal::describe(inputs, names), x_rows,
             transpose(weight.detach(), 0, 1), {}, rows, in, out, bias_c, y);
  return record(reshape(y, out_shape), OpId::linear, inputs,
                [x_rows, weight = weight.detach(), has_bias, rows, out,
                 x_shape = x.shape()](const Tensor& grad) {
                  autograd::NoGradGuard no_grad;
                  const Tensor g = reshape(grad, {rows, out});  // (R, out)
                  std::vector<Tensor> grads = {
                      reshape(matmul(g, weight), x_shape),          // dx (..., in)
                      matmul(transpose(g, 0, 1), x_rows)};          // dweight (out, in)
                  if (has_bias) grads.push_back(sum_to(g, {out}));  // dbias (out)
                  return grads;
                });
}

}  // namespace pa
