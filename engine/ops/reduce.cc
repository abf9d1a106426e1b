// Reductions: sum, mean, max, var and sum_to (the adjoint of broadcasting).
#include <limits>

#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;
using ops_internal::check_inputs;
using ops_internal::reduction_dims;

namespace {

// The shape `x` reduces to over `dims`, with size-1 entries kept when keepdim.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool reduced = next < dims.size() && dims[next] == d;
    if (reduced) ++next;
    if (!reduced) out.push_back(shape[d]);
    if (reduced && keepdim) out.push_back(1);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  const Kernels& k = check_inputs(OpId::sum, {x}, {"x"});
  const std::vector<int64_t> dims = reduction_dims("sum", dims_in, x.dim());
  // Move the reduced dims last, so each output element sums one contiguous row.
  std::vector<int64_t> order;
  int64_t rows = 1;
  int64_t row_length = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      order.push_back(d);
      rows *= x.shape()[d];
    }
  }
  for (int64_t d : dims) {
    order.push_back(d);
    row_length *= x.shape()[d];
  }
  const Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
  Tensor out = empty(out_shape, TensorOptions().with_device(x.device()));
  // Leading dims of a contiguous tensor (a bias gradient): sum the rows, no transposed copy.
  const bool leading = !dims.empty() && dims.back() == static_cast<int64_t>(dims.size()) - 1;
  if (leading && x.is_contiguous() && rows > 1) {
    k.sum_columns(x.data<const float>(), out.data<float>(), row_length, rows);
  } else {
    Tensor packed;
    {
      autograd::NoGradGuard no_grad;
      packed = contiguous(permute(x, order));
    }
    k.sum_rows(packed.data<float>(), out.data<float>(), rows, row_length);
  }
  return record(out, OpId::sum, {x}, [input_shape = x.shape(), dims](const Tensor& grad) {
    const Tensor kept = reshape(grad, reduced_shape(input_shape, dims, true));
    return std::vector<Tensor>{contiguous(expand(kept, input_shape))};
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_inputs(OpId::mean, {x}, {"x"});
  int64_t count = 1;
  for (int64_t d : reduction_dims("mean", dims_in, x.dim())) count *= x.shape()[d];
  const float scale =
      count > 0 ? 1.0f / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN();
  return mul(sum(x, dims_in, keepdim), scale);
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  const Kernels& k = check_inputs(OpId::max, {x}, {"x"});
  const TensorOptions options = TensorOptions().with_device(x.device());
  const int64_t d = normalize_dim("max", dim, x.dim());
  PA_CHECK(x.shape()[d] > 0, "max", "dim " << d << " of " << shape_str(x.shape()) << " is empty",
           "max needs at least one element along the dim");
  const auto [outer, D, inner] = ops_internal::split_around(x.shape(), d);
  const Tensor packed = contiguous(x).detach();
  const Shape out_shape = reduced_shape(x.shape(), {d}, keepdim);
  Tensor values = empty(out_shape, options);
  Tensor indices = empty(out_shape, TensorOptions(options).with_dtype(DType::Int64));
  k.max_along(packed.data<float>(), values.data<float>(), indices.data<int64_t>(), outer, D, inner);
  return record(values, OpId::max, {x},
                [&k, indices, input_shape = x.shape(), outer = outer, D = D, inner = inner,
                 options](const Tensor& grad_in) {
                  const Tensor grad = contiguous(grad_in);
                  Tensor dx = empty(input_shape, options);
                  k.max_along_backward(grad.data<float>(), indices.data<int64_t>(),
                                       dx.data<float>(), outer, D, inner);
                  return std::vector<Tensor>{dx};
                });
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims_in, int64_t correction, bool keepdim) {
  check_inputs(OpId::var, {x}, {"x"});
  int64_t count = 1;
  for (int64_t d : reduction_dims("var", dims_in, x.dim())) count *= x.shape()[d];
  PA_CHECK(correction >= 0, "var", "correction " << correction, "use 0 (biased) or 1 (unbiased)");
  const Tensor centered = sub(x, mean(x, dims_in, true));
  const Tensor squares = sum(mul(centered, centered), dims_in, keepdim);
  const float divisor = static_cast<float>(count - correction);
  return mul(squares, divisor > 0 ? 1.0f / divisor : std::numeric_limits<float>::quiet_NaN());
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  // A bfloat16 gradient (of a bf16 matmul's broadcast batch) is summed in float32, rounded once.
  if (x.dtype() == DType::BFloat16) {
    return to_dtype(sum_to(to_dtype(x, DType::Float32), shape), DType::BFloat16);
  }
  PA_CHECK(x.shape().size() >= shape.size(), "sum_to",
           "cannot sum " << shape_str(x.shape()) << " down to " << shape_str(shape),
           "the target must have no more dims");
  const size_t lead = x.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    if (d < lead) {
      dims.push_back(static_cast<int64_t>(d));
      continue;
    }
    const int64_t target = shape[d - lead];
    PA_CHECK(target == x.shape()[d] || target == 1, "sum_to",
             "cannot sum " << shape_str(x.shape()) << " down to " << shape_str(shape),
             "the target's dims must match or be 1");
    if (target == 1 && x.shape()[d] != 1) dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return reshape(x, shape);
  return reshape(sum(x, dims, true), shape);
}

}  // namespace pa
