// Shape and view ops: transpose, permute, reshape, slice, expand (views sharing storage) and
// concat, split, stack, contiguous, to_device.
#include <algorithm>
#include <numeric>

#include "engine/core/checked.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;

namespace {

void check_defined(const char* op, const Tensor& x) {
  PA_CHECK(x.defined(), op, "input is undefined", "pass a tensor created by a factory or an op");
}

// Copies src into dst (same shape; dst may be a strided view), on either device.
void copy_into(const char* op, const Tensor& dst, const Tensor& src) {
  PA_CHECK(dst.device() == src.device(), op,
           "tensors on " << dst.device().str() << " and " << src.device().str(),
           "move them to one device first");
  copy_into_view(dst, src);
}

}  // namespace

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  check_defined("transpose", x);
  const int64_t d0 = normalize_dim("transpose", dim0, x.dim());
  const int64_t d1 = normalize_dim("transpose", dim1, x.dim());
  Shape shape = x.shape();
  Shape strides = x.strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  Tensor out = make_view(x, shape, strides, x.offset());
  return record(out, OpId::transpose, {x}, [d0, d1](const Tensor& grad) {
    return std::vector<Tensor>{transpose(grad, d0, d1)};
  });
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined("permute", x);
  PA_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute",
           dims.size() << " dims given for a tensor " << shape_str(x.shape()),
           "give one entry per dim, a permutation of 0.." << x.dim() - 1);
  std::vector<int64_t> order(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  Shape shape(dims.size());
  Shape strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    order[i] = normalize_dim("permute", dims[i], x.dim());
    PA_CHECK(inverse[order[i]] == -1, "permute", "dim " << order[i] << " appears twice",
             "give a permutation of 0.." << x.dim() - 1);
    inverse[order[i]] = static_cast<int64_t>(i);
    shape[i] = x.shape()[order[i]];
    strides[i] = x.strides()[order[i]];
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  return record(out, OpId::permute, {x}, [inverse](const Tensor& grad) {
    return std::vector<Tensor>{permute(grad, inverse)};
  });
}

Tensor reshape(const Tensor& x, const Shape& requested) {
  check_defined("reshape", x);
  Shape shape = requested;
  Shape known_sizes = requested;  // the -1 counted as 1
  int64_t inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      PA_CHECK(inferred < 0, "reshape", "more than one -1 in " << shape_str(requested),
               "at most one size may be inferred");
      inferred = static_cast<int64_t>(i);
      known_sizes[i] = 1;
    } else {
      PA_CHECK(shape[i] >= 0, "reshape", "negative size in " << shape_str(requested),
               "sizes must be >= 0 or a single -1");
    }
  }
  const int64_t known = checked_numel(known_sizes, "reshape", "the target shape without its -1");
  if (inferred >= 0) {
    PA_CHECK(known != 0 && x.numel() % known == 0, "reshape",
             "cannot infer -1 in " << shape_str(requested) << " for " << x.numel() << " elements "
                                   << shape_str(x.shape()),
             "the known sizes must divide the element count");
    shape[inferred] = x.numel() / known;
  }
  PA_CHECK(shape_numel(shape) == x.numel(), "reshape",
           "cannot view " << shape_str(x.shape()) << " (" << x.numel() << " elements) as "
                          << shape_str(shape) << " (" << shape_numel(shape) << " elements)",
           "the element count must stay the same");
  const Tensor source = x.is_contiguous() ? x : contiguous_copy(x);
  Tensor out = make_view(source, shape, contiguous_strides(shape), source.offset());
  return record(out, OpId::reshape, {x}, [input_shape = x.shape()](const Tensor& grad) {
    return std::vector<Tensor>{reshape(grad, input_shape)};
  });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  check_defined("slice", x);
  const int64_t d = normalize_dim("slice", dim, x.dim());
  const int64_t size = x.shape()[d];
  auto clamp = [size](int64_t i) { return std::clamp(i < 0 ? i + size : i, int64_t{0}, size); };
  const int64_t begin = clamp(start);
  const int64_t stop = std::max(begin, clamp(end));
  Shape shape = x.shape();
  shape[d] = stop - begin;
  Tensor out = make_view(x, shape, x.strides(), x.offset() + begin * x.strides()[d]);
  return record(out, OpId::slice, {x}, [input_shape = x.shape(), d, begin](const Tensor& grad) {
    Tensor full_grad = zeros(input_shape, TensorOptions().with_device(grad.device()));
    Shape region = input_shape;
    region[d] = grad.shape()[d];
    const Tensor window =
        make_view(full_grad, region, full_grad.strides(), begin * full_grad.strides()[d]);
    copy_into("slice", window, grad);
    return std::vector<Tensor>{full_grad};
  });
}

Tensor expand(const Tensor& x, const Shape& requested) {
  check_defined("expand", x);
  PA_CHECK(requested.size() >= x.shape().size(), "expand",
           "cannot expand " << shape_str(x.shape()) << " to fewer dims " << shape_str(requested),
           "the target needs at least as many dims");
  const size_t lead = requested.size() - x.shape().size();
  Shape shape = requested;
  Shape strides(requested.size(), 0);
  for (size_t i = 0; i < requested.size(); ++i) {
    if (i < lead) {
      PA_CHECK(requested[i] >= 0, "expand", "new leading dim " << i << " is " << requested[i],
               "-1 is only allowed for existing dims");
      continue;
    }
    const int64_t have = x.shape()[i - lead];
    PA_CHECK(requested[i] >= -1, "expand",
             "size " << requested[i] << " at dim " << i << " in " << shape_str(requested),
             "sizes must be >= 0, or -1 to keep a dim");
    if (requested[i] == -1) shape[i] = have;
    PA_CHECK(have == shape[i] || have == 1, "expand",
             "cannot expand " << shape_str(x.shape()) << " to " << shape_str(requested),
             "only size-1 dims can grow");
    strides[i] = have == shape[i] ? x.strides()[i - lead] : 0;
  }
  if (!numel_fits(shape)) {
    checked_numel(shape, "expand", "expanding " + shape_str(x.shape()) + " gives shape");
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  return record(out, OpId::expand, {x}, [input_shape = x.shape()](const Tensor& grad) {
    return std::vector<Tensor>{sum_to(grad, input_shape)};
  });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  PA_CHECK(!xs.empty(), "concat", "no tensors given", "pass at least one tensor");
  std::vector<std::string> names;
  for (size_t i = 0; i < xs.size(); ++i) names.push_back("xs[" + std::to_string(i) + "]");
  ops_internal::check_inputs(OpId::concat, xs, names);
  const int64_t d = normalize_dim("concat", dim, xs[0].dim());
  Shape shape = xs[0].shape();
  shape[d] = 0;
  for (const Tensor& x : xs) {
    bool same = x.dim() == xs[0].dim();
    for (int64_t i = 0; same && i < x.dim(); ++i) {
      same = i == d || x.shape()[i] == xs[0].shape()[i];
    }
    PA_CHECK(same, "concat",
             "shapes differ outside dim " << d << ": " << ops_internal::describe(xs, names),
             "all sizes except the concat dim must match");
    shape[d] += x.shape()[d];
  }
  Tensor out = empty(shape, TensorOptions().with_device(xs[0].device()));
  std::vector<int64_t> sizes;
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    Shape region = shape;
    region[d] = x.shape()[d];
    copy_into("concat", make_view(out, region, out.strides(), offset * out.strides()[d]), x);
    offset += x.shape()[d];
    sizes.push_back(x.shape()[d]);
  }
  return record(out, OpId::concat, xs,
                [sizes, d](const Tensor& grad) { return split(grad, sizes, d); });
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check_defined("split", x);
  const int64_t d = normalize_dim("split", dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    PA_CHECK(s >= 0, "split", "negative piece size " << s, "sizes must be >= 0");
    total += s;
  }
  PA_CHECK(total == x.shape()[d], "split",
           "piece sizes sum to " << total << " but dim " << d << " of " << shape_str(x.shape())
                                 << " is " << x.shape()[d],
           "the sizes must add up to the dim's size");
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(slice(x, d, start, start + s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, int64_t chunk, int64_t dim) {
  check_defined("split", x);
  PA_CHECK(chunk > 0, "split", "chunk size " << chunk, "use a positive chunk size");
  const int64_t size = x.shape()[normalize_dim("split", dim, x.dim())];
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < size; start += chunk)
    sizes.push_back(std::min(chunk, size - start));
  return split(x, sizes, dim);
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  PA_CHECK(!xs.empty(), "stack", "no tensors given", "pass at least one tensor");
  const int64_t d = normalize_dim("stack", dim, xs[0].dim() + 1);
  std::vector<Tensor> expanded;
  for (const Tensor& x : xs) {
    check_defined("stack", x);
    PA_CHECK(x.shape() == xs[0].shape(), "stack",
             "shapes differ: " << shape_str(xs[0].shape()) << " vs " << shape_str(x.shape()),
             "stacked tensors must all have one shape");
    Shape shape = x.shape();
    shape.insert(shape.begin() + d, 1);
    expanded.push_back(reshape(x, shape));
  }
  return concat(expanded, d);
}

Tensor contiguous(const Tensor& x) {
  check_defined("contiguous", x);
  if (x.is_contiguous()) return x;
  return record(contiguous_copy(x), OpId::contiguous, {x},
                [](const Tensor& grad) { return std::vector<Tensor>{grad}; });
}

Tensor to_device(const Tensor& x, Device device) {
  check_defined("to", x);
  if (x.device() == device) return x;
  Tensor out = copy_to_device(x, device);
  return record(out, OpId::to, {x}, [source = x.device()](const Tensor& grad) {
    return std::vector<Tensor>{to_device(grad, source)};
  });
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  check_defined("to_dtype", x);
  if (x.dtype() == dtype) return x;
  const Kernels& k = ops_internal::check_inputs(OpId::to_dtype, {x}, {"x"});
  PA_CHECK(dtype == DType::Float32 || dtype == DType::BFloat16, "to_dtype",
           "cannot convert " << ops_internal::describe({x}, {"x"}) << " to " << dtype_name(dtype),
           "to_dtype converts between float32 and bfloat16");
  const Tensor xc = contiguous(x.detach());
  Tensor out = empty(x.shape(), TensorOptions().with_device(x.device()).with_dtype(dtype));
  if (dtype == DType::BFloat16) {
    k.float_to_bf16(xc.data<float>(), out.data<uint16_t>(), out.numel());
  } else {
    k.bf16_to_float(xc.data<uint16_t>(), out.data<float>(), out.numel());
  }
  return record(out, OpId::to_dtype, {x}, [source = x.dtype()](const Tensor& grad) {
    return std::vector<Tensor>{to_dtype(grad, source)};
  });
}

// ---- Tensor member sugar ----
Tensor Tensor::contiguous() const { return pa::contiguous(*this); }
Tensor Tensor::to(Device device) const { return to_device(*this, device); }
Tensor Tensor::to(DType dtype) const { return to_dtype(*this, dtype); }
Tensor Tensor::reshape(const Shape& shape) const { return pa::reshape(*this, shape); }
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  return pa::transpose(*this, dim0, dim1);
}
Tensor Tensor::sum() const { return pa::sum(*this); }
Tensor Tensor::mean() const { return pa::mean(*this); }

}  // namespace pa
