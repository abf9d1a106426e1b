// Module: the base of every layer. A module owns named parameters (trainable leaves), buffers
// (state that is saved but not trained) and child modules; names are dotted paths
// ("layers.0.self_attn.in_proj_weight"), in registration order, so that state dicts use
// PyTorch's names and load in either direction.
//
// Parameters are tensor handles shared with the optimizer: to(device) and load_state_dict
// update them in place (same TensorImpl), so an optimizer built before either still points at
// the live parameters.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace pa::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // x -> y. Modules that take more inputs (masks) add overloads; this one uses their defaults.
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  const std::string& type_name() const { return type_name_; }

  // Recursive, dotted names, registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  int64_t num_parameters() const;  // total element count

  // Train mode (the default) turns dropout on; eval mode turns it off. Recursive.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer (and any gradient) to `device`, in place.
  void to(Device device);
  // Drops every parameter's gradient.
  void zero_grad();

  // Parameters and buffers by dotted name, detached (they alias the module's storage).
  std::map<std::string, Tensor> state_dict() const;
  // Copies values into the existing parameters and buffers (any source device). With `strict`,
  // missing and unexpected names are errors; a shape or dtype mismatch always is. All problems
  // are reported in one pa::Error (op "nn::load_state_dict") before anything is copied.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // One line per module, indented by depth, with parameter shapes.
  std::string describe() const;

 protected:
  // Registers a trainable leaf (sets requires_grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  // Registers a child. An empty name lends the child's names to this module without a prefix
  // (TransformerEncoderLayer keeps PyTorch's `linear1`/`linear2` names this way while its
  // feed-forward block is its own FeedForward module).
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, bool parameters, NamedTensors& out) const;
  void describe_into(const std::string& name, int depth, std::string& out) const;

  std::string type_name_;
  bool training_ = true;
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace pa::nn
