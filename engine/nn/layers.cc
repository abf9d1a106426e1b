// Basic layers as compositions of engine ops (see layers.h).
#include "engine/nn/layers.h"

#include <cmath>
#include <limits>

namespace pa::nn {

namespace {

// He/Kaiming normal: N(0, sqrt(2 / fan_in)).
Tensor he_normal(const Shape& shape, int64_t fan_in, Generator& generator) {
  const float std = std::sqrt(2.0f / static_cast<float>(fan_in));
  return randn(shape, generator) * std;
}

void check_positive(const std::string& op, const std::string& what, int64_t value) {
  PA_CHECK(value > 0, op, what << " must be positive, got " << value, "pass a size of at least 1");
}

// Pads dim `dim` of x with `before` and `after` entries of `value` (no-op for zeros).
Tensor pad_dim(const Tensor& x, int64_t dim, int64_t before, int64_t after, float value) {
  if (before == 0 && after == 0) return x;
  std::vector<Tensor> parts;
  Shape shape = x.shape();
  if (before > 0) {
    shape[dim] = before;
    parts.push_back(full(shape, value, TensorOptions().with_device(x.device())));
  }
  parts.push_back(x);
  if (after > 0) {
    shape[dim] = after;
    parts.push_back(full(shape, value, TensorOptions().with_device(x.device())));
  }
  return concat(parts, dim);
}

// Every k x k window of x (N, C, H, W) at `stride`, padded by `padding` with `pad_value`:
// (N, C, k*k, H_out, W_out), windows in row-major (kernel row, kernel column) order.
Tensor extract_windows(const std::string& op, const Tensor& x, int64_t k, int64_t stride,
                       int64_t padding, float pad_value) {
  PA_CHECK(x.dim() == 4, op, "expects x (N, C, H, W), got " << shape_str(x.shape()),
           "add a batch dim with reshape({1, C, H, W})");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t H_out = (H + 2 * padding - k) / stride + 1;
  const int64_t W_out = (W + 2 * padding - k) / stride + 1;
  PA_CHECK(H + 2 * padding >= k && W + 2 * padding >= k, op,
           "kernel " << k << " is larger than the padded input " << shape_str(x.shape())
                     << " with padding " << padding,
           "use a smaller kernel or more padding");
  // Rows/columns the strided slices below read: the last window starts at (out - 1) * stride,
  // and the reshape trick reads whole stride groups, so pad up to (k - 1) + out * stride.
  const int64_t rows = (k - 1) + H_out * stride, cols = (k - 1) + W_out * stride;
  const Tensor padded =
      pad_dim(pad_dim(x, 2, padding, std::max<int64_t>(0, rows - H - padding), pad_value), 3,
              padding, std::max<int64_t>(0, cols - W - padding), pad_value);
  std::vector<Tensor> windows;
  for (int64_t i = 0; i < k; ++i) {
    // (N, C, H_out, W_padded): rows i, i + stride, ...
    Tensor band = slice(padded, 2, i, i + H_out * stride);
    if (stride > 1) {
      band = slice(reshape(band, {N, C, H_out, stride, padded.size(3)}), 3, 0, 1);
      band = reshape(band, {N, C, H_out, padded.size(3)});
    }
    for (int64_t j = 0; j < k; ++j) {
      Tensor window = slice(band, 3, j, j + W_out * stride);  // (N, C, H_out, W_out * stride)
      if (stride > 1) {
        window = slice(reshape(window, {N, C, H_out, W_out, stride}), 4, 0, 1);
        window = reshape(window, {N, C, H_out, W_out});
      }
      windows.push_back(window);
    }
  }
  return stack(windows, 2);  // (N, C, k*k, H_out, W_out)
}

}  // namespace

// ---- Linear ----

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator& generator)
    : Module("Linear"), in_features_(in_features), out_features_(out_features) {
  check_positive("nn::Linear", "in_features", in_features);
  check_positive("nn::Linear", "out_features", out_features);
  weight =
      register_parameter("weight", he_normal({out_features, in_features}, in_features, generator));
  if (has_bias) bias = register_parameter("bias", zeros({out_features}));
}

Tensor Linear::forward(const Tensor& x) {
  PA_CHECK(x.dim() >= 1 && x.size(-1) == in_features_, "nn::Linear",
           "expects x (..., " << in_features_ << "), got " << shape_str(x.shape()),
           "the last dim of the input must equal in_features");
  return linear(x, weight, bias);  // (..., out); on CUDA the bias rides in the GEMM epilogue
}

// ---- activations ----

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::ReLU;
  if (name == "gelu") return Activation::GELU;
  if (name == "gelu_tanh") return Activation::GELUTanh;
  if (name == "tanh") return Activation::Tanh;
  if (name == "sigmoid") return Activation::Sigmoid;
  throw Error("nn::parse_activation", "unknown activation '" + name + "'",
              "use relu, gelu, gelu_tanh, tanh or sigmoid");
}

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::ReLU:
      return "relu";
    case Activation::GELU:
      return "gelu";
    case Activation::GELUTanh:
      return "gelu_tanh";
    case Activation::Tanh:
      return "tanh";
    case Activation::Sigmoid:
      return "sigmoid";
  }
  return "?";
}

Tensor apply_activation(Activation activation, const Tensor& x) {
  switch (activation) {
    case Activation::ReLU:
      return relu(x);
    case Activation::GELU:
      return gelu(x, GeluApproximation::Erf);
    case Activation::GELUTanh:
      return gelu(x, GeluApproximation::Tanh);
    case Activation::Tanh:
      return tanh(x);
    case Activation::Sigmoid:
      return sigmoid(x);
  }
  return x;
}

ActivationModule::ActivationModule(Activation activation)
    : Module(activation == Activation::ReLU       ? "ReLU"
             : activation == Activation::GELU     ? "GELU"
             : activation == Activation::GELUTanh ? "GELU(tanh)"
             : activation == Activation::Tanh     ? "Tanh"
                                                  : "Sigmoid"),
      activation_(activation) {}

std::shared_ptr<ActivationModule> ReLU() {
  return std::make_shared<ActivationModule>(Activation::ReLU);
}
std::shared_ptr<ActivationModule> GELU() {
  return std::make_shared<ActivationModule>(Activation::GELU);
}
std::shared_ptr<ActivationModule> Tanh() {
  return std::make_shared<ActivationModule>(Activation::Tanh);
}
std::shared_ptr<ActivationModule> Sigmoid() {
  return std::make_shared<ActivationModule>(Activation::Sigmoid);
}

// ---- Dropout ----

Dropout::Dropout(float p, Generator& generator) : Module("Dropout"), p_(p), generator_(&generator) {
  PA_CHECK(p >= 0.0f && p < 1.0f, "nn::Dropout", "p = " << p << " is outside [0, 1)",
           "pass a drop probability such as 0.1");
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), *generator_); }

// ---- LayerNorm ----

LayerNorm::LayerNorm(Shape normalized_shape, float eps) : Module("LayerNorm"), eps_(eps) {
  PA_CHECK(!normalized_shape.empty(), "nn::LayerNorm", "normalized_shape is empty",
           "pass the trailing dims to normalise over, e.g. {d_model}");
  for (int64_t size : normalized_shape) check_positive("nn::LayerNorm", "normalized_shape", size);
  weight = register_parameter("weight", ones(normalized_shape));
  bias = register_parameter("bias", zeros(normalized_shape));
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps_); }

RMSNorm::RMSNorm(Shape normalized_shape, float eps) : Module("RMSNorm"), eps_(eps) {
  PA_CHECK(!normalized_shape.empty(), "nn::RMSNorm", "normalized_shape is empty",
           "pass the trailing dims to normalise over, e.g. {d_model}");
  for (int64_t size : normalized_shape) check_positive("nn::RMSNorm", "normalized_shape", size);
  PA_CHECK(eps >= 0.0f && std::isfinite(eps), "nn::RMSNorm", "eps = " << eps,
           "eps is a small positive number added to the mean square, e.g. 1e-6");
  weight = register_parameter("weight", ones(normalized_shape));
}

Tensor RMSNorm::forward(const Tensor& x) { return rms_norm(x, weight, eps_); }

// ---- Embedding ----

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Generator& generator)
    : Module("Embedding") {
  check_positive("nn::Embedding", "num_embeddings", num_embeddings);
  check_positive("nn::Embedding", "dim", dim);
  weight = register_parameter("weight", randn({num_embeddings, dim}, generator));
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices); }

// ---- Flatten ----

Flatten::Flatten(int64_t start_dim, int64_t end_dim)
    : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}

Tensor Flatten::forward(const Tensor& x) {
  const int64_t ndim = std::max<int64_t>(x.dim(), 1);
  const int64_t start = normalize_dim("nn::Flatten", start_dim_, ndim);
  const int64_t end = normalize_dim("nn::Flatten", end_dim_, ndim);
  PA_CHECK(start <= end, "nn::Flatten",
           "start_dim " << start_dim_ << " is after end_dim " << end_dim_ << " for x "
                        << shape_str(x.shape()),
           "pass start_dim <= end_dim");
  if (x.dim() == 0) return reshape(x, {1});
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= x.size(d);
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

// ---- Sequential and the MLP builder ----

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) : Module("Sequential") {
  for (const auto& module : modules) append(module);
}

Sequential& Sequential::append(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& child : children()) y = child.second->forward(y);
  return y;
}

Module& Sequential::operator[](size_t index) const {
  PA_CHECK(index < children().size(), "nn::Sequential",
           "index " << index << " with " << children().size() << " modules",
           "index from 0 to size() - 1");
  return *children()[index].second;
}

std::shared_ptr<Sequential> mlp(const std::vector<int64_t>& sizes, Activation activation,
                                Generator& generator) {
  PA_CHECK(sizes.size() >= 2, "nn::mlp", "needs at least two layer sizes, got " << sizes.size(),
           "pass {inputs, hidden..., outputs}, e.g. {8, 64, 1}");
  auto model = std::make_shared<Sequential>();
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->append(std::make_shared<Linear>(sizes[i], sizes[i + 1], true, generator));
    if (i + 2 < sizes.size()) model->append(std::make_shared<ActivationModule>(activation));
  }
  return model;
}

// ---- Conv2d and MaxPool2d ----

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
               int64_t padding, bool has_bias, Generator& generator)
    : Module("Conv2d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding) {
  check_positive("nn::Conv2d", "in_channels", in_channels);
  check_positive("nn::Conv2d", "out_channels", out_channels);
  check_positive("nn::Conv2d", "kernel_size", kernel_size);
  check_positive("nn::Conv2d", "stride", stride);
  PA_CHECK(padding >= 0, "nn::Conv2d", "padding " << padding << " is negative",
           "pass padding >= 0");
  const int64_t fan_in = in_channels * kernel_size * kernel_size;
  weight = register_parameter(
      "weight",
      he_normal({out_channels, in_channels, kernel_size, kernel_size}, fan_in, generator));
  if (has_bias) bias = register_parameter("bias", zeros({out_channels}));
}

Tensor Conv2d::forward(const Tensor& x) {
  PA_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "nn::Conv2d",
           "expects x (N, " << in_channels_ << ", H, W), got " << shape_str(x.shape()),
           "the channel dim (1) must equal in_channels");
  const Tensor windows = extract_windows("nn::Conv2d", x, kernel_size_, stride_, padding_, 0.0f);
  const int64_t N = x.size(0), H_out = windows.size(3), W_out = windows.size(4);
  const int64_t patch = in_channels_ * kernel_size_ * kernel_size_;
  const Tensor columns = reshape(windows, {N, patch, H_out * W_out});   // im2col
  Tensor y = matmul(reshape(weight, {out_channels_, patch}), columns);  // (N, O, L)
  if (bias.defined()) y = y + reshape(bias, {1, out_channels_, 1});
  return reshape(y, {N, out_channels_, H_out, W_out});
}

MaxPool2d::MaxPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : Module("MaxPool2d"),
      kernel_size_(kernel_size),
      stride_(stride == 0 ? kernel_size : stride),
      padding_(padding) {
  check_positive("nn::MaxPool2d", "kernel_size", kernel_size);
  check_positive("nn::MaxPool2d", "stride", stride_);
  PA_CHECK(padding >= 0 && 2 * padding <= kernel_size, "nn::MaxPool2d",
           "padding " << padding << " with kernel " << kernel_size,
           "padding must be between 0 and half the kernel size");
}

Tensor MaxPool2d::forward(const Tensor& x) {
  const Tensor windows = extract_windows("nn::MaxPool2d", x, kernel_size_, stride_, padding_,
                                         -std::numeric_limits<float>::infinity());
  return max(windows, 2);  // (N, C, H_out, W_out)
}

}  // namespace pa::nn
