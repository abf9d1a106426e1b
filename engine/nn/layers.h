// The basic layers: Linear, activations, Dropout, LayerNorm, Embedding, Flatten, Sequential, an
// MLP builder, Conv2d and MaxPool2d. Every forward is a composition of engine ops, so autograd
// differentiates it; no layer has a hand-written backward.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/nn/module.h"
#include "engine/ops/ops.h"

namespace pa::nn {

// y = x W^T + b with weight (out, in) and bias (out), PyTorch's layout. x (..., in) -> (..., out).
// Initialisation (the thesis' He/Kaiming normal): W ~ N(0, sqrt(2 / in)), b = 0.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true,
         Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  Tensor weight, bias;  // (out, in), (out) or undefined

 private:
  int64_t in_features_, out_features_;
};

enum class Activation { ReLU, GELU, GELUTanh, Tanh, Sigmoid };
// "relu", "gelu" (exact erf, PyTorch's default), "gelu_tanh", "tanh", "sigmoid".
Activation parse_activation(const std::string& name);
std::string activation_name(Activation activation);
Tensor apply_activation(Activation activation, const Tensor& x);

// An activation as a module (ReLU, GELU, ...), for Sequential.
class ActivationModule : public Module {
 public:
  explicit ActivationModule(Activation activation);
  Tensor forward(const Tensor& x) override { return apply_activation(activation_, x); }

 private:
  Activation activation_;
};
std::shared_ptr<ActivationModule> ReLU();
std::shared_ptr<ActivationModule> GELU();
std::shared_ptr<ActivationModule> Tanh();
std::shared_ptr<ActivationModule> Sigmoid();

// Zeroes elements with probability p in train mode (scaling the rest by 1/(1-p)); identity in
// eval mode. Draws from `generator` (the process-wide one by default; it must outlive the layer).
class Dropout : public Module {
 public:
  explicit Dropout(float p, Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  float p() const { return p_; }

 private:
  float p_;
  Generator* generator_;
};

// Normalises over the trailing `normalized_shape` dims; weight = 1, bias = 0 initially.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  float eps_;
};

// RMSNorm over the trailing normalized_shape dims: x / sqrt(mean(x^2) + eps) * weight, weight
// initialised to ones (PyTorch's nn.RMSNorm with elementwise_affine, parameter "weight").
class RMSNorm : public Module {
 public:
  explicit RMSNorm(Shape normalized_shape, float eps = 1e-6f);
  Tensor forward(const Tensor& x) override;
  Tensor weight;

 private:
  float eps_;
};

// Looks up rows of weight (num_embeddings, dim), initialised N(0, 1) as PyTorch does.
// forward takes int64 indices of any shape S and returns S + (dim).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& generator = default_generator());
  Tensor forward(const Tensor& indices) override;
  Tensor weight;
};

// Flattens dims [start_dim, end_dim] into one (default: all but the batch dim).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& x) override;

 private:
  int64_t start_dim_, end_dim_;
};

// Runs its children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  Sequential& append(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return children().size(); }
  Module& operator[](size_t index) const;
};

// Linear(sizes[0] -> sizes[1]), activation, ..., Linear(sizes[n-2] -> sizes[n-1]): an activation
// between every pair of linears, none after the last. Needs at least two sizes.
std::shared_ptr<Sequential> mlp(const std::vector<int64_t>& sizes,
                                Activation activation = Activation::ReLU,
                                Generator& generator = default_generator());

// 2-D convolution over x (N, C_in, H, W) -> (N, C_out, H_out, W_out), weight
// (C_out, C_in, kH, kW), bias (C_out); He-initialised. Computed as im2col (window extraction
// with slice/stack, zero padding with concat) followed by one batched matmul.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
         int64_t padding = 0, bool bias = true, Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  int64_t in_channels_, out_channels_, kernel_size_, stride_, padding_;
};

// Max over kernel_size x kernel_size windows of x (N, C, H, W); stride defaults to kernel_size;
// padding (at most half the kernel, as PyTorch requires) counts as -infinity.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;

 private:
  int64_t kernel_size_, stride_, padding_;
};

}  // namespace pa::nn
