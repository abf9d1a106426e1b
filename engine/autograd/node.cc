// Grad mode, graph recording and the backward pass (reverse topological order).
#include "engine/autograd/node.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/ops/ops.h"

namespace pa::autograd {

namespace {
thread_local bool grad_mode = true;
}  // namespace

bool grad_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

Node::~Node() {
  // Moves the grad_fn of every input that dies with its consumer into `pending`, so that each
  // node is destroyed from this loop after its own inputs were unlinked (recursion depth 1).
  std::vector<std::shared_ptr<Node>> pending;
  auto unlink_inputs = [&pending](std::vector<Tensor>& inputs) {
    for (Tensor& input : inputs) {
      TensorImpl* impl = input.impl();
      if (impl != nullptr && input.impl_ptr().use_count() == 1 && impl->grad_fn != nullptr &&
          impl->grad_fn.use_count() == 1) {
        pending.push_back(std::move(impl->grad_fn));
      }
    }
  };
  unlink_inputs(inputs_);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    unlink_inputs(node->inputs_);
  }
}

std::vector<Tensor> Node::apply(const Tensor& grad_out) const {
  PA_CHECK(backward_ != nullptr, "backward",
           "the graph through '" << name_ << "' was already freed by an earlier backward",
           "pass retain_graph=true to the first backward() if you need to call it twice");
  return backward_(grad_out);
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

Tensor record(Tensor output, OpId op, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return output;
  TensorImpl* impl = output.impl();
  impl->requires_grad = true;
  impl->grad_fn = std::make_shared<Node>(op_name(op), std::move(inputs), std::move(backward));
  return output;
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  PA_CHECK(root.requires_grad(), "backward",
           "tensor " << shape_str(root.shape()) << " does not require grad",
           "set requires_grad on a leaf that it depends on, outside a NoGradGuard");
  Tensor seed = gradient;
  if (!seed.defined()) {
    PA_CHECK(root.numel() == 1, "backward",
             "backward() of a non-scalar tensor " << shape_str(root.shape())
                                                  << " needs a gradient argument",
             "reduce to a scalar (sum/mean) or pass a gradient of the same shape");
    seed = ones(root.shape(), TensorOptions().with_device(root.device()));
  }
  PA_CHECK(seed.shape() == root.shape(), "backward",
           "gradient " << shape_str(seed.shape()) << " does not match tensor "
                       << shape_str(root.shape()),
           "pass a gradient with the tensor's shape");

  // Reverse topological order by iterative depth-first search from the root.
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> visited;
  std::vector<std::pair<TensorImpl*, size_t>> stack = {{root.impl(), 0}};
  visited.insert(root.impl());
  while (!stack.empty()) {
    auto& [impl, next_input] = stack.back();
    const Node* node = impl->grad_fn.get();
    if (node != nullptr && next_input < node->inputs().size()) {
      TensorImpl* input = node->inputs()[next_input++].impl();
      if (input != nullptr && input->requires_grad && visited.insert(input).second) {
        stack.push_back({input, 0});
      }
      continue;
    }
    order.push_back(impl);
    stack.pop_back();
  }

  NoGradGuard no_grad;
  std::unordered_map<TensorImpl*, Tensor> grads = {{root.impl(), seed}};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* impl = *it;
    auto found = grads.find(impl);
    if (found == grads.end()) continue;
    const Tensor grad = found->second;
    if (impl->grad_fn == nullptr) {
      // A leaf: accumulate into .grad.
      impl->grad =
          impl->grad ? add(Tensor(impl->grad), grad).impl_ptr() : contiguous_copy(grad).impl_ptr();
      continue;
    }
    const Node& node = *impl->grad_fn;
    std::vector<Tensor> input_grads = node.apply(grad);
    for (size_t i = 0; i < node.inputs().size(); ++i) {
      const Tensor& input = node.inputs()[i];
      if (!input.defined() || !input.requires_grad() || i >= input_grads.size() ||
          !input_grads[i].defined()) {
        continue;
      }
      PA_CHECK(input_grads[i].shape() == input.shape(), "backward",
               "'" << node.name() << "' produced a gradient " << shape_str(input_grads[i].shape())
                   << " for input " << i << " of shape " << shape_str(input.shape()),
               "this is an engine bug: please report it");
      auto slot = grads.find(input.impl());
      if (slot == grads.end()) {
        grads.emplace(input.impl(), input_grads[i]);
      } else {
        slot->second = add(slot->second, input_grads[i]);
      }
    }
    grads.erase(impl);
    if (!retain_graph) impl->grad_fn->release();
  }
}

}  // namespace pa::autograd

namespace pa {
void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::run_backward(*this, gradient, retain_graph);
}
}  // namespace pa
