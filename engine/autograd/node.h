// Autograd graph nodes. Every differentiable op that runs while grad mode is on attaches one
// Node to its output: the node keeps the op's inputs (the graph edges) and a backward closure
// that maps the output's gradient to one gradient per input. Saved tensors live inside the
// closure as detached tensors, so a node never keeps its own output alive (no cycles), and
// release() frees them after a backward without retain_graph.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/ops/op_list.h"

namespace pa::autograd {

// grad_out -> one gradient per input (undefined where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

class Node {
 public:
  Node(std::string name, std::vector<Tensor> inputs, BackwardFn backward)
      : name_(std::move(name)), inputs_(std::move(inputs)), backward_(std::move(backward)) {}
  // Frees the part of the graph that only this node keeps alive, iteratively: the implicit
  // destructor recursed once per node and overflowed the stack on long chains.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Tensor>& inputs() const { return inputs_; }
  bool released() const { return !backward_; }
  std::vector<Tensor> apply(const Tensor& grad_out) const;
  void release() { backward_ = nullptr; }

 private:
  std::string name_;
  std::vector<Tensor> inputs_;
  BackwardFn backward_;
};

// Grad mode: on by default; NoGradGuard turns it off for its scope (this thread only).
bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any input requires grad: the op must record a node.
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `output` require grad with a node named after `op` over `inputs`, if
// needs_grad(inputs). Returns `output` for chaining. Only ops in the op list
// (engine/ops/op_list.h) can record: the list names every node a graph can hold.
Tensor record(Tensor output, OpId op, std::vector<Tensor> inputs, BackwardFn backward);

// Runs backward from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph);

}  // namespace pa::autograd
