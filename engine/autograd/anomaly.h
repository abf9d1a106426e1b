// Where a non-finite value came from. When a loss turns NaN or Inf, the graph that produced it
// still holds every op's inputs: walking it back from the loss, always into the first input
// that is itself non-finite, ends either at a leaf (a parameter or a data tensor that already
// held NaN/Inf) or at the first op that made NaN/Inf out of finite inputs (an overflowing exp,
// a division by zero, a log of a negative number).
#pragma once

#include <map>
#include <string>

#include "engine/core/tensor.h"

namespace pa::autograd {

// True when every element is finite. Copies to the host; float32 only (other dtypes: true).
bool all_finite(const Tensor& tensor);

// A one-line description of where `root`'s first non-finite value came from: "op 'softmax'
// (output (4, 8)) made non-finite values from finite inputs", "parameter 'layers.0.linear1.
// weight' (32, 64) holds non-finite values", or "an input tensor (32, 16) holds non-finite
// values". `names` maps parameters (by storage) to their names. "" when `root` is finite.
std::string trace_non_finite(const Tensor& root, const std::map<const void*, std::string>& names);

}  // namespace pa::autograd
