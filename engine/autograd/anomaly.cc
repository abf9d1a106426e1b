// Tracing a non-finite value back through the graph (see anomaly.h).
#include "engine/autograd/anomaly.h"

#include <cmath>
#include <sstream>

#include "engine/autograd/node.h"

namespace pa::autograd {

bool all_finite(const Tensor& tensor) {
  if (!tensor.defined() || tensor.dtype() != DType::Float32) return true;
  for (float value : tensor.to(Device::cpu()).to_vector()) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

std::string trace_non_finite(const Tensor& root, const std::map<const void*, std::string>& names) {
  if (all_finite(root)) return "";
  Tensor current = root;
  // Each pass moves one op towards the leaves, so the walk ends; the bound guards a cycle that
  // cannot occur in a well-formed graph.
  for (int depth = 0; depth < 1'000'000; ++depth) {
    std::ostringstream text;
    if (current.is_leaf()) {
      auto name = names.find(current.storage().get());
      if (name != names.end()) {
        text << "parameter '" << name->second << "' " << shape_str(current.shape())
             << " holds non-finite values";
      } else {
        text << "an input tensor " << shape_str(current.shape()) << " holds non-finite values";
      }
      return text.str();
    }
    const Node& node = *current.grad_fn();
    const Tensor* next = nullptr;
    for (const Tensor& input : node.inputs()) {
      if (input.defined() && !all_finite(input)) {
        next = &input;
        break;
      }
    }
    if (next == nullptr) {
      text << "op '" << node.name() << "' (output " << shape_str(current.shape())
           << ") made non-finite values from finite inputs";
      return text.str();
    }
    current = *next;
  }
  return "a graph too deep to trace";
}

}  // namespace pa::autograd
