// Transformer blocks as compositions of engine ops (see transformer.h).
#include "engine/nn/transformer.h"

#include <cmath>

namespace pa::nn {

// ---- MultiHeadAttention ----

MultiHeadAttention::MultiHeadAttention(int64_t embed_dim, int64_t num_heads, bool bias,
                                       Generator& generator)
    : Module("MultiHeadAttention"), embed_dim_(embed_dim), num_heads_(num_heads) {
  PA_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "nn::MultiHeadAttention",
           "embed_dim " << embed_dim << " is not a positive multiple of num_heads " << num_heads,
           "pick num_heads dividing embed_dim (head dim D = embed_dim / num_heads)");
  // Xavier-uniform over the fused (3E, E) matrix, as PyTorch initialises in_proj_weight.
  const float bound = std::sqrt(6.0f / static_cast<float>(embed_dim + 3 * embed_dim));
  in_proj_weight = register_parameter(
      "in_proj_weight", (rand({3 * embed_dim, embed_dim}, generator) * 2.0f - 1.0f) * bound);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  out_proj =
      register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias, generator));
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Tensor& key_padding_mask, bool causal) {
  PA_CHECK(x.dim() == 3 && x.size(2) == embed_dim_, "nn::MultiHeadAttention",
           "expects x (B, S, " << embed_dim_ << "), got " << shape_str(x.shape()),
           "inputs are batch-first (B, S, E) with E = embed_dim");
  const int64_t B = x.size(0), S = x.size(1), E = embed_dim_, H = num_heads_, D = E / H;
  PA_CHECK(!key_padding_mask.defined() || key_padding_mask.shape() == Shape({B, S}),
           "nn::MultiHeadAttention",
           "key_padding_mask " << shape_str(key_padding_mask.shape()) << " for x "
                               << shape_str(x.shape()),
           "the mask is (B, S): 1 where a key is padding");
  const Tensor qkv = linear(x, in_proj_weight, in_proj_bias);  // (B, S, 3E)
  const std::vector<Tensor> q_k_v = split(qkv, E, 2);          // 3 x (B, S, E)
  auto heads = [&](const Tensor& t) {                          // (B, S, E) -> (B, H, S, D)
    return permute(reshape(t, {B, S, H, D}), {0, 2, 1, 3});
  };
  const Tensor attended =
      scaled_dot_product_attention(heads(q_k_v[0]), heads(q_k_v[1]), heads(q_k_v[2]), causal,
                                   key_padding_mask);  // (B, H, S, D)
  const Tensor merged = reshape(permute(attended, {0, 2, 1, 3}), {B, S, E});
  return out_proj->forward(merged);  // (B, S, E)
}

// ---- FeedForward ----

FeedForward::FeedForward(int64_t d_model, int64_t dim_feedforward, Activation activation,
                         float dropout, Generator& generator)
    : Module("FeedForward"), activation_(activation) {
  linear1 = register_module("linear1",
                            std::make_shared<Linear>(d_model, dim_feedforward, true, generator));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout, generator));
  linear2 = register_module("linear2",
                            std::make_shared<Linear>(dim_feedforward, d_model, true, generator));
}

Tensor FeedForward::forward(const Tensor& x) {
  Tensor hidden;  // (..., dim_feedforward)
  if (activation_ == Activation::GELUTanh && linear1->bias.defined() && x.dim() >= 2) {
    // Linear without its bias add, then the fused bias + GELU: one pass over the hidden layer.
    hidden = bias_gelu(matmul(x, transpose(linear1->weight, 0, 1)), linear1->bias);
  } else {
    hidden = apply_activation(activation_, linear1->forward(x));
  }
  return linear2->forward(dropout_->forward(hidden));
}

// ---- TransformerEncoderLayer ----

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerConfig& config,
                                                 Generator& generator)
    : Module("TransformerEncoderLayer"), config_(config) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(
                                               config.d_model, config.nhead, true, generator));
  // Registered without a prefix: its linears keep PyTorch's names linear1 / linear2.
  feed_forward = register_module(
      "", std::make_shared<FeedForward>(config.d_model, config.dim_feedforward, config.activation,
                                        config.dropout, generator));
  norm1 = register_module(
      "norm1", std::make_shared<LayerNorm>(Shape{config.d_model}, config.layer_norm_eps));
  norm2 = register_module(
      "norm2", std::make_shared<LayerNorm>(Shape{config.d_model}, config.layer_norm_eps));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(config.dropout, generator));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(config.dropout, generator));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& key_padding_mask) {
  auto attention = [&](const Tensor& input) {
    return dropout1_->forward(self_attn->forward(input, key_padding_mask, config_.causal));
  };
  auto feed = [&](const Tensor& input) { return dropout2_->forward(feed_forward->forward(input)); };
  if (config_.norm_first) {
    const Tensor y = x + attention(norm1->forward(x));  // (B, S, E)
    return y + feed(norm2->forward(y));
  }
  const Tensor y = norm1->forward(x + attention(x));  // (B, S, E)
  return norm2->forward(y + feed(y));
}

// ---- TransformerEncoder ----

TransformerEncoder::TransformerEncoder(const TransformerConfig& config, int64_t num_layers,
                                       Generator& generator)
    : Module("TransformerEncoder") {
  PA_CHECK(num_layers > 0, "nn::TransformerEncoder", "num_layers = " << num_layers,
           "use at least one layer");
  for (int64_t i = 0; i < num_layers; ++i) {
    layers_.push_back(
        register_module("layers." + std::to_string(i),
                        std::make_shared<TransformerEncoderLayer>(config, generator)));
  }
}

Tensor TransformerEncoder::forward(const Tensor& x, const Tensor& key_padding_mask) {
  Tensor y = x;
  for (const auto& layer : layers_) y = layer->forward(y, key_padding_mask);
  return y;
}

// ---- DenoisingTransformer ----

DenoisingTransformer::DenoisingTransformer(const TransformerConfig& config, int64_t num_layers,
                                           Generator& generator)
    : Module("DenoisingTransformer") {
  encoder = register_module("encoder",
                            std::make_shared<TransformerEncoder>(config, num_layers, generator));
  head = register_module("head",
                         std::make_shared<Linear>(config.d_model, config.d_model, true, generator));
}

Tensor DenoisingTransformer::forward(const Tensor& x) { return head->forward(encoder->forward(x)); }

}  // namespace pa::nn
