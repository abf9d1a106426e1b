// Optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW with PyTorch's bias
// correction, global-norm gradient clipping, and state save/restore for checkpoints.
//
// An optimizer holds the parameter handles it was given (Module::parameters()); the modules
// update those handles in place, so the optimizer stays valid across to(device) and
// load_state_dict. Parameters without a gradient are skipped by step(), as in PyTorch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace pa::optim {

class Optimizer {
 public:
  Optimizer(std::string name, std::vector<Tensor> parameters, double lr);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  void zero_grad();  // drops every parameter's gradient

  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<Tensor>& parameters() const { return parameters_; }
  const std::string& name() const { return name_; }

  // Everything step() depends on besides the parameters: per-parameter buffers by key
  // ("state.<index>.<buffer>") and scalars (lr, step counts) as strings. load_state restores
  // both and checks names, shapes and the optimizer kind, with a pa::Error naming the entry.
  virtual std::map<std::string, Tensor> state_tensors() const = 0;
  virtual std::map<std::string, std::string> state_scalars() const;
  virtual void load_state(const std::map<std::string, Tensor>& tensors,
                          const std::map<std::string, std::string>& scalars) = 0;

 protected:
  // The gradient of parameter i as a contiguous CPU float array, or nullptr when it has none.
  // Throws a pa::Error for CUDA parameters (their kernels come with the CUDA backend).
  float* checked_grad(size_t index) const;
  bool on_gpu(size_t index) const;  // parameter `index` lives on a CUDA device
  float* checked_param(size_t index) const;
  // Checks the optimizer kind in `scalars` and returns the saved lr (set it once all else fits).
  double checked_saved_lr(const std::map<std::string, std::string>& scalars) const;
  // Copies tensors[key] into `buffer` (parameter `index`'s shape) or throws naming `key`.
  void load_buffer(const std::map<std::string, Tensor>& tensors, const std::string& key,
                   size_t index, Tensor& buffer) const;

 private:
  std::string name_;
  std::vector<Tensor> parameters_;
  double lr_;
};

struct SGDOptions {
  double lr = 0.01;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, const SGDOptions& options);
  void step() override;
  std::map<std::string, Tensor> state_tensors() const override;
  void load_state(const std::map<std::string, Tensor>& tensors,
                  const std::map<std::string, std::string>& scalars) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined until the parameter's first step
};

struct AdamOptions {
  double lr = 1e-3;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // Adam: L2 added to the gradient; AdamW: decoupled decay
};

// Adam (decoupled = false) and AdamW (decoupled = true; PyTorch's default weight_decay 1e-2).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, const AdamOptions& options, bool decoupled = false);
  void step() override;
  std::map<std::string, Tensor> state_tensors() const override;
  std::map<std::string, std::string> state_scalars() const override;
  void load_state(const std::map<std::string, Tensor>& tensors,
                  const std::map<std::string, std::string>& scalars) override;
  int64_t step_count(size_t index) const { return steps_.at(index); }

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<int64_t> steps_;  // per parameter, as PyTorch keeps them
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, AdamOptions options = with_default_decay());
  static AdamOptions with_default_decay() {
    AdamOptions options;
    options.weight_decay = 1e-2f;
    return options;
  }
};

// Scales all gradients so that their global L2 norm is at most max_norm (when it is larger:
// factor max_norm / (norm + 1e-6), as PyTorch's clip_grad_norm_). Returns the norm before
// clipping. Parameters without gradients are ignored; a non-finite norm is returned unchanged
// and the gradients are left alone, so the caller can skip the step.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace pa::optim
