// Module bookkeeping: registration, recursive names, modes, device moves and state dicts.
#include "engine/nn/module.h"

#include <set>
#include <sstream>

#include "engine/ops/ops.h"

namespace pa::nn {

namespace {

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  if (name.empty()) return prefix;
  return prefix + "." + name;
}

void check_name(const std::string& owner, const std::string& name) {
  PA_CHECK(!name.empty(), "nn::Module", owner << ": a parameter or buffer needs a non-empty name",
           "pass a name such as \"weight\"");
  PA_CHECK(name.find('.') == std::string::npos, "nn::Module",
           owner << ": name '" << name << "' contains a '.'",
           "dots separate module levels; register a child module instead");
}

// Points `impl` at a copy of its data on `device` (contiguous), keeping the handle.
void move_in_place(const Tensor& tensor, Device device) {
  const Tensor moved = copy_to_device(tensor, device);
  TensorImpl& impl = *tensor.impl();
  impl.storage = moved.storage();
  impl.strides = moved.strides();
  impl.offset = 0;
}

}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name(type_name_, name);
  PA_CHECK(value.defined(), "nn::Module", type_name_ << ": parameter '" << name << "' is undefined",
           "create it with a factory (zeros, randn, ...)");
  Tensor leaf = value.is_contiguous() ? value.detach() : contiguous_copy(value);
  leaf.set_requires_grad(true);
  parameters_.emplace_back(name, leaf);
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(type_name_, name);
  Tensor buffer = value.is_contiguous() ? value.detach() : contiguous_copy(value);
  buffers_.emplace_back(name, buffer);
  return buffer;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  PA_CHECK(module != nullptr, "nn::Module", type_name_ << ": child '" << name << "' is null",
           "construct the child module before registering it");
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool parameters, NamedTensors& out) const {
  for (const auto& [name, tensor] : parameters ? parameters_ : buffers_) {
    out.emplace_back(join(prefix, name), tensor);
  }
  for (const auto& [name, child] : children_) child->collect(join(prefix, name), parameters, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (const auto& entry : named_parameters()) out.push_back(entry.second);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t count = 0;
  for (const Tensor& parameter : parameters()) count += parameter.numel();
  return count;
}

void Module::train(bool training) {
  training_ = training;
  for (auto& child : children_) child.second->train(training);
}

void Module::to(Device device) {
  NamedTensors all = named_parameters();
  for (auto& entry : named_buffers()) all.push_back(entry);
  for (auto& [name, tensor] : all) {
    if (tensor.device() == device) continue;
    move_in_place(tensor, device);
    if (tensor.impl()->grad) move_in_place(Tensor(tensor.impl()->grad), device);
  }
}

void Module::zero_grad() {
  for (Tensor& parameter : parameters()) parameter.zero_grad();
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : named_parameters()) state[name] = tensor.detach();
  for (const auto& [name, tensor] : named_buffers()) state[name] = tensor.detach();
  return state;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  NamedTensors own = named_parameters();
  for (auto& entry : named_buffers()) own.push_back(entry);
  std::ostringstream problems;
  std::set<std::string> own_names;
  int count = 0;
  for (const auto& [name, tensor] : own) {
    own_names.insert(name);
    auto found = state.find(name);
    if (found == state.end()) {
      if (strict) problems << "\n  missing: " << name << " " << shape_str(tensor.shape()), ++count;
      continue;
    }
    const Tensor& value = found->second;
    if (!value.defined() || value.shape() != tensor.shape() || value.dtype() != tensor.dtype()) {
      problems << "\n  mismatched: " << name << " expects " << shape_str(tensor.shape()) << " "
               << dtype_name(tensor.dtype()) << ", got "
               << (value.defined() ? shape_str(value.shape()) + " " + dtype_name(value.dtype())
                                   : std::string("an undefined tensor"));
      ++count;
    }
  }
  if (strict) {
    for (const auto& [name, value] : state) {
      if (own_names.count(name) == 0) problems << "\n  unexpected: " << name, ++count;
    }
  }
  PA_CHECK(count == 0, "nn::load_state_dict",
           type_name_ << ": " << count << " problem(s) with the state dict:" << problems.str(),
           "names are dotted paths as named_parameters() lists them (PyTorch's names); pass "
           "strict=false to load a subset");
  for (const auto& [name, tensor] : own) {
    auto found = state.find(name);
    if (found == state.end()) continue;
    const Tensor source = contiguous_copy(found->second);
    const size_t element = dtype_size(tensor.dtype());
    copy_bytes(static_cast<char*>(tensor.storage()->data()) + tensor.offset() * element,
               tensor.device(), source.storage()->data(), source.device(),
               static_cast<size_t>(tensor.numel()) * element);
  }
}

void Module::describe_into(const std::string& name, int depth, std::string& out) const {
  out += std::string(2 * depth, ' ') + (name.empty() ? "" : name + ": ") + type_name_;
  for (const auto& [parameter_name, tensor] : parameters_) {
    out += " " + parameter_name + shape_str(tensor.shape());
  }
  out += "\n";
  for (const auto& [child_name, child] : children_)
    child->describe_into(child_name, depth + 1, out);
}

std::string Module::describe() const {
  std::string out;
  describe_into("", 0, out);
  return out;
}

}  // namespace pa::nn
