// Helpers shared by the op implementations in this folder (not part of the public API).
#pragma once

#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/op_list.h"

namespace pa::ops_internal {

// "a (3, 4) float32 cpu, b (4,) float32 cuda:0" for error messages.
std::string describe(const std::vector<Tensor>& tensors, const std::vector<std::string>& names);

// Every tensor defined, on one device and of one dtype (pa::Error naming the op otherwise);
// returns the op's kernels for that device and dtype (dispatch.h: NotImplemented when there
// are none). The one entry of every op.
const Kernels& check_inputs(OpId op, const std::vector<Tensor>& tensors,
                            const std::vector<std::string>& names);
// `index` must be int64 and on the device of `reference`.
void check_index(OpId op, const Tensor& index, const Tensor& reference);

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b);
// Strides that read `x` as if it had `shape` (0 on broadcast dims).
Shape broadcast_strides(const Tensor& x, const Shape& shape);

// A contiguous shape around one dim: (outer, D, inner), the layout the row kernels take.
struct RowSplit {
  int64_t outer, D, inner;
};
RowSplit split_around(const Shape& shape, int64_t dim);

// Normalised, sorted, de-duplicated reduction dims (empty -> all dims).
std::vector<int64_t> reduction_dims(const std::string& op, const std::vector<int64_t>& dims,
                                    int64_t ndim);

}  // namespace pa::ops_internal
