// Input checks and broadcasting helpers for the ops.
#include "engine/ops/internal.h"

#include <algorithm>
#include <sstream>

#include "engine/core/checked.h"

namespace pa::ops_internal {

std::string describe(const std::vector<Tensor>& tensors, const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i > 0) out << ", ";
    out << (i < names.size() ? names[i] : "arg" + std::to_string(i)) << " ";
    if (!tensors[i].defined()) {
      out << "undefined";
      continue;
    }
    out << shape_str(tensors[i].shape()) << " " << dtype_name(tensors[i].dtype()) << " "
        << tensors[i].device().str();
  }
  return out.str();
}

const Kernels& check_inputs(OpId op_id, const std::vector<Tensor>& tensors,
                            const std::vector<std::string>& names) {
  const std::string op = op_name(op_id);
  for (size_t i = 0; i < tensors.size(); ++i) {
    PA_CHECK(tensors[i].defined(), op, "input " << names[i] << " is undefined",
             "pass a tensor created by a factory or an op");
    PA_CHECK(tensors[i].device() == tensors[0].device(), op,
             "inputs are on different devices: " << describe(tensors, names),
             "move them to one device with .to(device)");
    PA_CHECK(tensors[i].dtype() == tensors[0].dtype(), op,
             "inputs have different dtypes: " << describe(tensors, names),
             "convert them to one dtype (ops compute in float32)");
  }
  // Indices are int64 by design (check_index); no op computes in int64.
  PA_CHECK(tensors.empty() || tensors[0].dtype() != DType::Int64, op,
           "expects float32 inputs, got " << describe(tensors, names),
           "int64 tensors hold indices; convert values to float32");
  return kernels_for(op_id, tensors.empty() ? Device::cpu() : tensors[0].device(),
                     tensors.empty() ? DType::Float32 : tensors[0].dtype());
}

void check_index(OpId op_id, const Tensor& index, const Tensor& reference) {
  const std::string op = op_name(op_id);
  PA_CHECK(index.defined() && index.dtype() == DType::Int64, op,
           "indices must be an int64 tensor, got "
               << (index.defined() ? dtype_name(index.dtype()) : std::string("undefined")),
           "build them with pa::from_indices");
  PA_CHECK(index.device() == reference.device(), op,
           "indices on " << index.device().str() << " but data on " << reference.device().str(),
           "move them to one device with .to(device)");
}

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b) {
  const size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    const int64_t sa = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const int64_t sb = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    PA_CHECK(sa == sb || sa == 1 || sb == 1, op,
             "shapes " << shape_str(a) << " and " << shape_str(b) << " do not broadcast (dim " << i
                       << ": " << sa << " vs " << sb << ")",
             "sizes must match or be 1, aligned from the right");
    out[i] = sa == 1 ? sb : sa;
  }
  if (!numel_fits(out)) {
    checked_numel(out, op,
                  "broadcasting " + shape_str(a) + " with " + shape_str(b) + " gives shape");
  }
  return out;
}

Shape broadcast_strides(const Tensor& x, const Shape& shape) {
  const size_t lead = shape.size() - x.shape().size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < x.shape().size(); ++i) {
    strides[lead + i] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  }
  return strides;
}

RowSplit split_around(const Shape& shape, int64_t dim) {
  RowSplit split{1, shape[dim], 1};
  for (int64_t d = 0; d < dim; ++d) split.outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d) split.inner *= shape[d];
  return split;
}

std::vector<int64_t> reduction_dims(const std::string& op, const std::vector<int64_t>& dims,
                                    int64_t ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(normalize_dim(op, d, ndim));
  std::sort(out.begin(), out.end());
  PA_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op,
           "a dim is repeated in the reduction dims", "name each dim once");
  return out;
}

}  // namespace pa::ops_internal
