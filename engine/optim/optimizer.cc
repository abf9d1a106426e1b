// Optimizers and gradient clipping (see optimizer.h); the update loops are engine/cpu kernels.
#include "engine/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "engine/cpu/optim_kernels.h"

#ifdef PA_WITH_CUDA
#include "cuda/common/runtime.h"
#include "cuda/kernels/optim.h"
#include "cuda/kernels/rowwise.h"
#endif

namespace pa::optim {

namespace {

std::string format_double(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

double parse_double(const std::map<std::string, std::string>& scalars, const std::string& key,
                    const std::string& op) {
  auto found = scalars.find(key);
  PA_CHECK(found != scalars.end(), op, "optimizer state lacks '" << key << "'",
           "load a state saved by the same optimizer kind");
  try {
    size_t used = 0;
    const double value = std::stod(found->second, &used);
    if (used == found->second.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(op, "optimizer state '" + key + "' = '" + found->second + "' is not a number",
              "the checkpoint may be corrupt; re-save it");
}

std::string buffer_key(size_t index, const std::string& buffer) {
  return "state." + std::to_string(index) + "." + buffer;
}

}  // namespace

// ---- Optimizer ----

Optimizer::Optimizer(std::string name, std::vector<Tensor> parameters, double lr)
    : name_(std::move(name)), parameters_(std::move(parameters)), lr_(lr) {
  PA_CHECK(!parameters_.empty(), "optim::" + name_, "no parameters to optimise",
           "pass module.parameters()");
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& parameter = parameters_[i];
    PA_CHECK(parameter.defined() && parameter.is_leaf() && parameter.requires_grad() &&
                 parameter.dtype() == DType::Float32,
             "optim::" + name_,
             "parameter " << i << " is not a float32 leaf that requires grad"
                          << (parameter.defined() ? " " + shape_str(parameter.shape()) : ""),
             "pass module.parameters(), or leaves made with set_requires_grad(true)");
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  PA_CHECK(std::isfinite(lr) && lr >= 0.0, "optim::" + name_, "learning rate " << lr,
           "use a finite, non-negative learning rate");
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (Tensor& parameter : parameters_) parameter.zero_grad();
}

bool Optimizer::on_gpu(size_t index) const { return !parameters_[index].device().is_cpu(); }

float* Optimizer::checked_param(size_t index) const {
  const Tensor& parameter = parameters_[index];
#ifndef PA_WITH_CUDA
  PA_CHECK(parameter.device().is_cpu(), "optim::" + name_,
           "parameter " << index << " " << shape_str(parameter.shape()) << " is on "
                        << parameter.device().str() << " in a build without CUDA",
           "rebuild with --config=cuda, or keep the model on the CPU");
#endif
  PA_CHECK(parameter.is_contiguous(), "optim::" + name_,
           "parameter " << index << " " << shape_str(parameter.shape()) << " is not contiguous",
           "register parameters through nn::Module, which keeps them contiguous");
  return parameter.data<float>();
}

float* Optimizer::checked_grad(size_t index) const {
  const Tensor grad = parameters_[index].grad();
  if (!grad.defined()) return nullptr;
  PA_CHECK(grad.is_contiguous() && grad.device() == parameters_[index].device(), "optim::" + name_,
           "gradient of parameter " << index << " is not contiguous on the parameter's device",
           "gradients from backward() always are; do not replace .grad by hand");
  return grad.data<float>();
}

std::map<std::string, std::string> Optimizer::state_scalars() const {
  return {{"optimizer", name_}, {"lr", format_double(lr_)}};
}

double Optimizer::checked_saved_lr(const std::map<std::string, std::string>& scalars) const {
  const std::string op = "optim::" + name_ + "::load_state";
  auto kind = scalars.find("optimizer");
  PA_CHECK(kind != scalars.end() && kind->second == name_, op,
           "the state is for optimizer '"
               << (kind == scalars.end() ? std::string("(none)") : kind->second) << "', this is '"
               << name_ << "'",
           "resume with the optimizer that saved the state");
  const double lr = parse_double(scalars, "lr", op);
  PA_CHECK(std::isfinite(lr) && lr >= 0.0, op, "saved learning rate " << lr,
           "the checkpoint may be corrupt; re-save it");
  return lr;
}

void Optimizer::load_buffer(const std::map<std::string, Tensor>& tensors, const std::string& key,
                            size_t index, Tensor& buffer) const {
  const std::string op = "optim::" + name_ + "::load_state";
  auto found = tensors.find(key);
  PA_CHECK(found != tensors.end(), op, "optimizer state lacks tensor '" << key << "'",
           "load a state saved by the same optimizer over the same parameters");
  const Tensor& value = found->second;
  const Shape& expected = parameters_[index].shape();
  PA_CHECK(value.shape() == expected && value.dtype() == DType::Float32, op,
           "tensor '" << key << "' is " << shape_str(value.shape()) << " "
                      << dtype_name(value.dtype()) << ", parameter " << index << " is "
                      << shape_str(expected) << " float32",
           "the state was saved for a different model");
  buffer = copy_to_device(value, parameters_[index].device());
}

// ---- SGD ----

SGD::SGD(std::vector<Tensor> parameters, const SGDOptions& options)
    : Optimizer("SGD", std::move(parameters), options.lr), options_(options) {
  PA_CHECK(options.momentum >= 0.0f && options.weight_decay >= 0.0f, "optim::SGD",
           "momentum " << options.momentum << ", weight_decay " << options.weight_decay,
           "both must be non-negative");
  PA_CHECK(!options.nesterov || (options.momentum > 0.0f && options.dampening == 0.0f),
           "optim::SGD",
           "nesterov with momentum " << options.momentum << " and dampening " << options.dampening,
           "Nesterov momentum requires momentum > 0 and dampening 0 (as in PyTorch)");
  momentum_buffers_.resize(this->parameters().size());
}

void SGD::step() {
  for (size_t i = 0; i < parameters().size(); ++i) {
    float* grad = checked_grad(i);
    if (grad == nullptr) continue;
    const bool first = !momentum_buffers_[i].defined();
    if (first && options_.momentum != 0.0f) {
      momentum_buffers_[i] =
          zeros(parameters()[i].shape(), TensorOptions().with_device(parameters()[i].device()));
    }
    float* buffer = options_.momentum != 0.0f ? momentum_buffers_[i].data<float>() : nullptr;
    if (on_gpu(i)) {
#ifdef PA_WITH_CUDA
      const cuda::SgdHyper hyper{static_cast<float>(lr()), options_.momentum, options_.dampening,
                                 options_.weight_decay,    options_.nesterov, first};
      cuda::sgd_step(checked_param(i), grad, buffer, parameters()[i].numel(), hyper);
#endif
      continue;
    }
    cpu::SgdHyper hyper{static_cast<float>(lr()), options_.momentum, options_.dampening,
                        options_.weight_decay,    options_.nesterov, first};
    cpu::sgd_step(checked_param(i), grad, buffer, parameters()[i].numel(), hyper);
  }
}

std::map<std::string, Tensor> SGD::state_tensors() const {
  std::map<std::string, Tensor> state;
  for (size_t i = 0; i < momentum_buffers_.size(); ++i) {
    if (momentum_buffers_[i].defined())
      state[buffer_key(i, "momentum_buffer")] = momentum_buffers_[i];
  }
  return state;
}

void SGD::load_state(const std::map<std::string, Tensor>& tensors,
                     const std::map<std::string, std::string>& scalars) {
  const double lr = checked_saved_lr(scalars);
  std::vector<Tensor> buffers(parameters().size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    const std::string key = buffer_key(i, "momentum_buffer");
    if (tensors.count(key) != 0) load_buffer(tensors, key, i, buffers[i]);
  }
  momentum_buffers_ = buffers;
  set_lr(lr);
}

// ---- Adam / AdamW ----

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options, bool decoupled)
    : Optimizer(decoupled ? "AdamW" : "Adam", std::move(parameters), options.lr),
      options_(options),
      decoupled_(decoupled) {
  PA_CHECK(options.beta1 >= 0.0f && options.beta1 < 1.0f && options.beta2 >= 0.0f &&
               options.beta2 < 1.0f && options.eps >= 0.0f && options.weight_decay >= 0.0f,
           "optim::" + name(),
           "betas (" << options.beta1 << ", " << options.beta2 << "), eps " << options.eps
                     << ", weight_decay " << options.weight_decay,
           "betas must lie in [0, 1); eps and weight_decay must be non-negative");
  const size_t count = this->parameters().size();
  steps_.assign(count, 0);
  exp_avg_.resize(count);
  exp_avg_sq_.resize(count);
}

void Adam::step() {
  for (size_t i = 0; i < parameters().size(); ++i) {
    float* grad = checked_grad(i);
    if (grad == nullptr) continue;
    if (!exp_avg_[i].defined()) {
      const TensorOptions options = TensorOptions().with_device(parameters()[i].device());
      exp_avg_[i] = zeros(parameters()[i].shape(), options);
      exp_avg_sq_[i] = zeros(parameters()[i].shape(), options);
    }
    ++steps_[i];
    if (on_gpu(i)) {
#ifdef PA_WITH_CUDA
      const cuda::AdamHyper hyper{
          static_cast<float>(lr()), options_.beta1, options_.beta2, options_.eps,
          options_.weight_decay,    decoupled_,     steps_[i]};
      cuda::adam_step(checked_param(i), grad, exp_avg_[i].data<float>(),
                      exp_avg_sq_[i].data<float>(), parameters()[i].numel(), hyper);
#endif
      continue;
    }
    cpu::AdamHyper hyper{static_cast<float>(lr()), options_.beta1, options_.beta2, options_.eps,
                         options_.weight_decay,    decoupled_,     steps_[i]};
    cpu::adam_step(checked_param(i), grad, exp_avg_[i].data<float>(), exp_avg_sq_[i].data<float>(),
                   parameters()[i].numel(), hyper);
  }
}

std::map<std::string, Tensor> Adam::state_tensors() const {
  std::map<std::string, Tensor> state;
  for (size_t i = 0; i < exp_avg_.size(); ++i) {
    if (!exp_avg_[i].defined()) continue;
    state[buffer_key(i, "exp_avg")] = exp_avg_[i];
    state[buffer_key(i, "exp_avg_sq")] = exp_avg_sq_[i];
  }
  return state;
}

std::map<std::string, std::string> Adam::state_scalars() const {
  std::map<std::string, std::string> scalars = Optimizer::state_scalars();
  for (size_t i = 0; i < steps_.size(); ++i) {
    scalars["state." + std::to_string(i) + ".step"] = std::to_string(steps_[i]);
  }
  return scalars;
}

void Adam::load_state(const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& scalars) {
  const double lr = checked_saved_lr(scalars);
  const std::string op = "optim::" + name() + "::load_state";
  std::vector<int64_t> steps(parameters().size());
  std::vector<Tensor> exp_avg(parameters().size()), exp_avg_sq(parameters().size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string key = "state." + std::to_string(i) + ".step";
    const double step = parse_double(scalars, key, op);
    PA_CHECK(step >= 0 && step == std::floor(step), op, "'" << key << "' = " << step,
             "step counts are non-negative integers; the checkpoint may be corrupt");
    steps[i] = static_cast<int64_t>(step);
    if (steps[i] == 0) continue;
    load_buffer(tensors, buffer_key(i, "exp_avg"), i, exp_avg[i]);
    load_buffer(tensors, buffer_key(i, "exp_avg_sq"), i, exp_avg_sq[i]);
  }
  steps_ = steps;
  exp_avg_ = exp_avg;
  exp_avg_sq_ = exp_avg_sq;
  set_lr(lr);
}

AdamW::AdamW(std::vector<Tensor> parameters, AdamOptions options)
    : Adam(std::move(parameters), options, true) {}

// ---- clipping ----

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  PA_CHECK(max_norm > 0.0, "optim::clip_grad_norm", "max_norm = " << max_norm,
           "pass a positive norm bound such as 1.0");
  double total = 0.0;
  std::vector<Tensor> grads;
#ifdef PA_WITH_CUDA
  // CUDA gradients add their squares into one device double per device, read back once.
  std::vector<std::pair<Device, Tensor>> device_totals;  // (device, [workspace..., total])
#endif
  for (const Tensor& parameter : parameters) {
    const Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    PA_CHECK(grad.is_contiguous(), "optim::clip_grad_norm",
             "gradient " << shape_str(grad.shape()) << " is not contiguous",
             "gradients from backward() always are; do not replace .grad by hand");
    if (grad.device().is_cpu()) {
      total += cpu::sum_of_squares(grad.data<float>(), grad.numel());
    } else {
#ifdef PA_WITH_CUDA
      constexpr int64_t kPartials = cuda::kMaxSquaredErrorPartials;
      auto slot = std::find_if(device_totals.begin(), device_totals.end(),
                               [&](const auto& entry) { return entry.first == grad.device(); });
      const bool first = slot == device_totals.end();
      if (first) {
        device_totals.emplace_back(
            grad.device(),
            empty({kPartials + 1},
                  TensorOptions().with_dtype(DType::Float64).with_device(grad.device())));
        slot = device_totals.end() - 1;
      }
      double* buffer = slot->second.data<double>();  // the partials (at most), then the total
      cuda::squared_error_sum(grad.data<float>(), nullptr, grad.numel(), buffer, buffer + kPartials,
                              !first, nullptr, 1.0);
#endif
    }
    grads.push_back(grad);
  }
#ifdef PA_WITH_CUDA
  for (const auto& [device, buffer] : device_totals) {
    double device_total = 0.0;  // synchronises
    cuda::copy(&device_total, false, buffer.data<double>() + cuda::kMaxSquaredErrorPartials, true,
               sizeof(double));
    total += device_total;
  }
#endif
  const double norm = std::sqrt(total);
  if (!std::isfinite(norm)) return norm;
  const double factor = max_norm / (norm + 1e-6);
  if (factor < 1.0) {
    for (Tensor& grad : grads) {
      if (grad.device().is_cpu()) {
        cpu::scale_in_place(grad.data<float>(), grad.numel(), static_cast<float>(factor));
      } else {
#ifdef PA_WITH_CUDA
        cuda::scale_in_place(grad.data<float>(), grad.numel(), static_cast<float>(factor));
#endif
      }
    }
  }
  return norm;
}

}  // namespace pa::optim
