// matmul: (M, K) @ (K, N) and batched (..., M, K) @ (..., K, N) with broadcast batch dims.
// Each batch slice is one CPU gemm; the backward is two matmuls, summed back over broadcast
// batch dims.
#include "engine/cpu/gemm.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops_internal::check_inputs("matmul", {a, b}, {"a", "b"});
  PA_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul",
           "needs 2-D or batched operands, got " << ops_internal::describe({a, b}, {"a", "b"}),
           "reshape vectors to (1, K) or (K, 1)");
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  PA_CHECK(b.size(-2) == K, "matmul",
           "inner dims differ: a " << shape_str(a.shape()) << " vs b " << shape_str(b.shape()),
           "a's last dim must equal b's second-to-last dim; transpose one of them?");
  if (!a.device().is_cpu()) ops_internal::no_cuda_kernel("matmul", {a, b});
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = ops_internal::broadcast_shapes("matmul", a_batch, b_batch);
  // Batch strides (in matrices) of each operand, 0 on broadcast dims.
  const Tensor ap = contiguous(a).detach();  // (..., M, K)
  const Tensor bp = contiguous(b).detach();  // (..., K, N)
  const Shape a_strides = ops_internal::broadcast_strides(
      make_view(ap, a_batch, contiguous_strides(a_batch), 0), batch);
  const Shape b_strides = ops_internal::broadcast_strides(
      make_view(bp, b_batch, contiguous_strides(b_batch), 0), batch);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape);  // (..., M, N)
  const int64_t count = shape_numel(batch);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i;
    int64_t a_matrix = 0;
    int64_t b_matrix = 0;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t index = rest % batch[d];
      rest /= batch[d];
      a_matrix += index * a_strides[d];
      b_matrix += index * b_strides[d];
    }
    cpu::gemm(M, N, K, ap.data<float>() + a_matrix * M * K, K, bp.data<float>() + b_matrix * K * N,
              N, out.data<float>() + i * M * N, N, false);
  }
  return record(out, "matmul", {a, b}, [ap, bp](const Tensor& grad) {
    const Tensor grad_a = matmul(grad, transpose(bp, -1, -2));  // (..., M, K)
    const Tensor grad_b = matmul(transpose(ap, -1, -2), grad);  // (..., K, N)
    return std::vector<Tensor>{sum_to(grad_a, ap.shape()), sum_to(grad_b, bp.shape())};
  });
}

}  // namespace pa
