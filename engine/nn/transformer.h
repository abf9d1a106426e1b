// The Transformer blocks: MultiHeadAttention, FeedForward, TransformerEncoderLayer and
// TransformerEncoder, compositions of engine ops (no hand-written backward). Parameter names
// and layouts are PyTorch's (nn.MultiheadAttention, nn.TransformerEncoderLayer,
// nn.TransformerEncoder with batch_first=True), so state dicts load in either direction.
#pragma once

#include <memory>
#include <string>

#include "engine/nn/layers.h"

namespace pa::nn {

// Self-attention over x (B, S, E) with H heads of D = E / H.
// The thesis' fused input projection: one (E, 3E) matrix maps x to [Q | K | V]. It is stored as
// PyTorch stores it, in_proj_weight (3E, E) = that matrix transposed, with in_proj_bias (3E);
// out_proj is a Linear(E, E). Q, K, V are split into heads (B, H, S, D), attended with
// scaled_dot_product_attention (one fused op), and the heads are concatenated back to (B, S, E).
// Attention-probability dropout is not applied (the attention op is fused); dropout belongs to
// the layer around it.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, bool bias = true,
                     Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override { return forward(x, Tensor(), false); }
  // key_padding_mask (B, S) float, 1 = ignore that key; undefined for none. causal hides keys
  // after the query. A query whose keys are all hidden outputs zeros (PyTorch gives NaN).
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask, bool causal);
  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  Tensor in_proj_weight, in_proj_bias;  // (3E, E), (3E)
  std::shared_ptr<Linear> out_proj;

 private:
  int64_t embed_dim_, num_heads_;
};

// Linear(E -> F) -> activation -> dropout -> Linear(F -> E); names linear1, linear2.
class FeedForward : public Module {
 public:
  FeedForward(int64_t d_model, int64_t dim_feedforward, Activation activation = Activation::ReLU,
              float dropout = 0.0f, Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Linear> linear1, linear2;

 private:
  Activation activation_;
  std::shared_ptr<Dropout> dropout_;
};

struct TransformerConfig {
  int64_t d_model = 64;
  int64_t nhead = 4;
  int64_t dim_feedforward = 256;
  Activation activation = Activation::ReLU;
  bool norm_first = false;  // false: post-norm (the notes); true: pre-norm
  float layer_norm_eps = 1e-5f;
  float dropout = 0.0f;
  bool causal = false;  // the default attention mask of forward(x)
};

// Post-norm (the notes):  Y = LN1(X + MHA(X)),  Z = LN2(Y + FFN(Y)).
// Pre-norm (norm_first):  Y = X + MHA(LN1(X)),  Z = Y + FFN(LN2(Y)).
// Dropout (p = config.dropout) follows the attention output and each FFN linear, as in PyTorch.
// Names: self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerConfig& config,
                                   Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  // x (B, S, E); key_padding_mask (B, S) float, 1 = padded key, or undefined.
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask);
  const TransformerConfig& config() const { return config_; }
  std::shared_ptr<MultiHeadAttention> self_attn;
  std::shared_ptr<FeedForward> feed_forward;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  TransformerConfig config_;
  std::shared_ptr<Dropout> dropout1_, dropout2_;
};

// N layers applied in order; names layers.0.*, layers.1.*, ...
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerConfig& config, int64_t num_layers,
                     Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask);
  TransformerEncoderLayer& layer(size_t index) const { return *layers_.at(index); }
  size_t num_layers() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
};

// The sine-denoising model of the thesis experiments: a TransformerEncoder working directly on
// the signal x (B, S, E), followed by a Linear(E, E) head. Names encoder.layers.N.*, head.*.
class DenoisingTransformer : public Module {
 public:
  DenoisingTransformer(const TransformerConfig& config, int64_t num_layers,
                       Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<TransformerEncoder> encoder;
  std::shared_ptr<Linear> head;
};

}  // namespace pa::nn
