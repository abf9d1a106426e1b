// Layer tests: names (PyTorch's), state dicts and their errors, modes, initialisation, and
// Conv2d / MaxPool2d / Linear / MultiHeadAttention against direct loops written here. The
// Transformer blocks are also checked against recorded PyTorch cases (//reference:golden_test).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "engine/nn/transformer.h"
#include "engine/tests/test_util.h"

namespace pa::nn {
namespace {

using ::pa::testing::ThrowsPaError;

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> names;
  for (const auto& entry : named) names.push_back(entry.first);
  return names;
}

void expect_near(const std::vector<float>& actual, const std::vector<double>& expected,
                 double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tolerance * (1.0 + std::abs(expected[i]))) << "at " << i;
  }
}

TransformerConfig small_config() {
  TransformerConfig config;
  config.d_model = 8;
  config.nhead = 2;
  config.dim_feedforward = 12;
  return config;
}

// ---- names and state dicts ----

TEST(Module, TransformerLayerUsesPyTorchNames) {
  Generator generator(1);
  TransformerEncoderLayer layer(small_config(), generator);
  EXPECT_EQ(names_of(layer.named_parameters()),
            (std::vector<std::string>{
                "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}));
  EXPECT_EQ(layer.self_attn->in_proj_weight.shape(), Shape({24, 8}));
  EXPECT_EQ(layer.feed_forward->linear1->weight.shape(), Shape({12, 8}));
  // 4 E^2 + 4 E (attention) + 2 E F + F + E (feed-forward) + 4 E (norms).
  EXPECT_EQ(layer.num_parameters(), 4 * 64 + 4 * 8 + 2 * 8 * 12 + 12 + 8 + 4 * 8);
}

TEST(Module, EncoderAndDenoisingNames) {
  Generator generator(2);
  DenoisingTransformer model(small_config(), 2, generator);
  const std::vector<std::string> names = names_of(model.named_parameters());
  ASSERT_EQ(names.size(), 2u * 12u + 2u);
  EXPECT_EQ(names.front(), "encoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(names[12], "encoder.layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(names.back(), "head.bias");
  // The layers are initialised independently.
  EXPECT_NE(model.encoder->layer(0).self_attn->in_proj_weight.to_vector(),
            model.encoder->layer(1).self_attn->in_proj_weight.to_vector());
}

TEST(Module, StateDictRoundTripSharesNothingWithTheSource) {
  Generator generator(3);
  auto source = mlp({3, 5, 2}, Activation::ReLU, generator);
  auto target = mlp({3, 5, 2}, Activation::ReLU, generator);
  EXPECT_EQ(names_of(source->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  const Tensor target_weight = target->parameters()[0];  // a handle held across the load
  target->load_state_dict(source->state_dict());
  EXPECT_EQ(target_weight.to_vector(), source->parameters()[0].to_vector());
  EXPECT_TRUE(target_weight.requires_grad());
  // Loading copied values: changing the source afterwards leaves the target alone.
  source->parameters()[0].data<float>()[0] += 1.0f;
  EXPECT_NE(target_weight.to_vector(), source->parameters()[0].to_vector());
}

TEST(Module, LoadStateDictReportsEveryProblemByName) {
  Generator generator(4);
  Linear linear(3, 2, true, generator);
  std::map<std::string, Tensor> state = linear.state_dict();
  state.erase("bias");
  state["weight"] = zeros({2, 4});
  state["extra"] = zeros({1});
  EXPECT_TRUE(ThrowsPaError([&] { linear.load_state_dict(state); },
                            {"nn::load_state_dict", "missing: bias", "mismatched: weight", "(2, 3)",
                             "(2, 4)", "unexpected: extra", "Hint:"}));
  // Nothing was copied by the failed load.
  EXPECT_NE(linear.weight.to_vector(), std::vector<float>(6, 0.0f));
  // Non-strict: missing and unexpected names are allowed, shapes still checked.
  state["weight"] = zeros({2, 3});
  linear.load_state_dict(state, false);
  EXPECT_EQ(linear.weight.to_vector(), std::vector<float>(6, 0.0f));
  state["weight"] = zeros({3, 2});
  EXPECT_TRUE(ThrowsPaError([&] { linear.load_state_dict(state, false); },
                            {"mismatched: weight", "(3, 2)"}));
  state["weight"] = from_indices({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(ThrowsPaError([&] { linear.load_state_dict(state, false); }, {"int64"}));
}

// A module with a buffer: saved and loaded with the parameters, never trained.
class RunningScale : public Module {
 public:
  RunningScale() : Module("RunningScale") {
    scale = register_parameter("scale", ones({3}));
    count = register_buffer("count", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return x * scale; }
  Tensor scale, count;
};

TEST(Module, BuffersAreStateButNotParameters) {
  Sequential model({std::make_shared<RunningScale>()});
  EXPECT_EQ(names_of(model.named_parameters()), std::vector<std::string>{"0.scale"});
  EXPECT_EQ(names_of(model.named_buffers()), std::vector<std::string>{"0.count"});
  EXPECT_FALSE(model.named_buffers()[0].second.requires_grad());
  auto state = model.state_dict();
  ASSERT_EQ(state.size(), 2u);
  state["0.count"] = full({1}, 7.0f);
  model.load_state_dict(state);
  EXPECT_EQ(model.named_buffers()[0].second.item(), 7.0f);
  state.erase("0.count");
  EXPECT_TRUE(ThrowsPaError([&] { model.load_state_dict(state); }, {"missing: 0.count"}));
}

TEST(Module, TrainEvalIsRecursiveAndControlsDropout) {
  Generator generator(5);
  Sequential model({std::make_shared<Linear>(4, 4, true, generator),
                    std::make_shared<Dropout>(0.5f, generator)});
  const Tensor x = ones({64, 4});
  EXPECT_TRUE(model[1].is_training());
  const std::vector<float> train_out = model(x).to_vector();
  const int zeros_in_train = static_cast<int>(std::count(train_out.begin(), train_out.end(), 0.0f));
  EXPECT_GT(zeros_in_train, 64);  // about half of 256
  model.eval();
  EXPECT_FALSE(model[1].is_training());
  const Tensor eval_out = model(x);
  const Tensor linear_out = model[0](x);
  EXPECT_EQ(eval_out.to_vector(), linear_out.to_vector());
}

TEST(Module, ToCpuKeepsHandlesAndZeroGradDropsGradients) {
  Generator generator(6);
  Linear linear(3, 2, true, generator);
  const Tensor weight = linear.weight;
  linear(ones({4, 3})).sum().backward();
  ASSERT_TRUE(weight.grad().defined());
  linear.to(Device::cpu());
  EXPECT_EQ(weight.impl(), linear.weight.impl());
  linear.zero_grad();
  EXPECT_FALSE(weight.grad().defined());
}

TEST(Module, ToCudaAndBackKeepsValuesAndHandles) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU (or a CPU-only build)";
  Generator generator(17);
  TransformerEncoderLayer layer(small_config(), generator);
  const auto before = layer.state_dict();
  std::map<std::string, std::vector<float>> values;
  for (const auto& [name, tensor] : before) values[name] = tensor.to_vector();
  const Tensor weight = layer.norm1->weight;
  layer.to(Device::cuda());
  EXPECT_TRUE(weight.device().is_cuda());
  for (const auto& [name, tensor] : layer.named_parameters()) {
    EXPECT_TRUE(tensor.device().is_cuda()) << name;
    EXPECT_TRUE(tensor.requires_grad()) << name;
  }
  layer.to(Device::cpu());
  for (const auto& [name, tensor] : layer.state_dict()) {
    EXPECT_EQ(tensor.to_vector(), values[name]) << name;
  }
  EXPECT_EQ(weight.impl(), layer.norm1->weight.impl());
}

TEST(Module, DescribeListsShapes) {
  Generator generator(7);
  TransformerEncoderLayer layer(small_config(), generator);
  const std::string text = layer.describe();
  EXPECT_NE(text.find("self_attn: MultiHeadAttention in_proj_weight(24, 8)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("linear1: Linear weight(12, 8)"), std::string::npos) << text;
}

// ---- initialisation and Linear ----

// RMSNorm: PyTorch's parameter name, weight 1 at init, each row of the output with mean square
// 1 / (1 + eps / mean(x^2)), computed here with a direct loop; bad arguments are clear errors.
TEST(RMSNorm, NormalisesRowsByTheirRootMeanSquare) {
  RMSNorm norm({5}, 1e-6f);
  EXPECT_EQ(names_of(norm.named_parameters()), (std::vector<std::string>{"weight"}));
  const std::vector<float> values = {1, -2, 3, 0.5f, 4, 0, 0, 0, 0, 2};
  const Tensor y = norm.forward(from_vector(values, {2, 5}));
  std::vector<double> expected;
  for (int r = 0; r < 2; ++r) {
    double mean_square = 0.0;
    for (int i = 0; i < 5; ++i) mean_square += values[r * 5 + i] * values[r * 5 + i] / 5.0;
    for (int i = 0; i < 5; ++i)
      expected.push_back(values[r * 5 + i] / std::sqrt(mean_square + 1e-6));
  }
  expect_near(y.to_vector(), expected, 1e-6);
  EXPECT_TRUE(ThrowsPaError([] { RMSNorm({}); }, {"nn::RMSNorm", "empty"}));
  EXPECT_TRUE(ThrowsPaError([] { RMSNorm({4}, -1.0f); }, {"nn::RMSNorm", "eps"}));
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        norm.forward(zeros({2, 4}));
      },
      {"pa::rms_norm", "(2, 4)", "(5)", "Hint:"}));
}

TEST(Linear, HeInitialisationStatistics) {
  Generator generator(8);
  Linear linear(512, 256, true, generator);
  const std::vector<float> w = linear.weight.to_vector();
  double sum = 0, sum_sq = 0;
  for (float v : w) sum += v, sum_sq += static_cast<double>(v) * v;
  const double mean = sum / w.size();
  const double std = std::sqrt(sum_sq / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(std, std::sqrt(2.0 / 512.0), 0.02 * std::sqrt(2.0 / 512.0));
  EXPECT_EQ(linear.bias.to_vector(), std::vector<float>(256, 0.0f));
}

TEST(Linear, MatchesDirectLoopsOnBatchedAndVectorInputs) {
  Generator generator(9);
  Linear linear(5, 3, true, generator);
  linear.load_state_dict({{"weight", linear.weight}, {"bias", randn({3}, generator)}});
  const Tensor x = randn({2, 4, 5}, generator);  // (B, S, in)
  const std::vector<float> w = linear.weight.to_vector(), b = linear.bias.to_vector();
  const std::vector<float> xv = x.to_vector();
  std::vector<double> expected;
  for (int row = 0; row < 8; ++row) {
    for (int o = 0; o < 3; ++o) {
      double acc = b[o];
      for (int i = 0; i < 5; ++i) acc += static_cast<double>(xv[row * 5 + i]) * w[o * 5 + i];
      expected.push_back(acc);
    }
  }
  const Tensor y = linear(x);
  EXPECT_EQ(y.shape(), Shape({2, 4, 3}));
  expect_near(y.to_vector(), expected, 1e-5);
  const Tensor single = linear(slice(reshape(x, {8, 5}), 0, 0, 1).reshape({5}));
  EXPECT_EQ(single.shape(), Shape({3}));
  expect_near(single.to_vector(), {expected[0], expected[1], expected[2]}, 1e-5);
}

TEST(Linear, BadInputs) {
  Generator generator(10);
  Linear linear(5, 3, true, generator);
  EXPECT_TRUE(ThrowsPaError([&] { linear(ones({2, 4})); }, {"nn::Linear", "(2, 4)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { Linear(0, 3); }, {"nn::Linear", "in_features", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { mlp({4}); }, {"nn::mlp", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { parse_activation("swish"); }, {"swish", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { Dropout(1.0f); }, {"nn::Dropout", "Hint:"}));
}

// ---- Conv2d and MaxPool2d against direct loops ----

struct ConvCase {
  int64_t N, C, H, W, O, k, stride, padding;
};

std::vector<double> direct_conv(const ConvCase& c, const std::vector<float>& x,
                                const std::vector<float>& w, const std::vector<float>& b,
                                int64_t H_out, int64_t W_out) {
  std::vector<double> y;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t o = 0; o < c.O; ++o)
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double acc = b[o];
          for (int64_t ch = 0; ch < c.C; ++ch)
            for (int64_t u = 0; u < c.k; ++u)
              for (int64_t v = 0; v < c.k; ++v) {
                const int64_t r = i * c.stride + u - c.padding, s = j * c.stride + v - c.padding;
                if (r < 0 || r >= c.H || s < 0 || s >= c.W) continue;
                acc += static_cast<double>(x[((n * c.C + ch) * c.H + r) * c.W + s]) *
                       w[((o * c.C + ch) * c.k + u) * c.k + v];
              }
          y.push_back(acc);
        }
  return y;
}

TEST(Conv2d, MatchesDirectConvolution) {
  for (const ConvCase& c : {ConvCase{2, 3, 7, 5, 4, 3, 1, 1}, ConvCase{1, 2, 9, 8, 3, 3, 2, 0},
                            ConvCase{2, 1, 6, 7, 2, 2, 3, 1}, ConvCase{1, 1, 1, 1, 1, 1, 1, 0}}) {
    Generator generator(11);
    Conv2d conv(c.C, c.O, c.k, c.stride, c.padding, true, generator);
    conv.load_state_dict({{"weight", conv.weight}, {"bias", randn({c.O}, generator)}});
    const Tensor x = randn({c.N, c.C, c.H, c.W}, generator);
    const int64_t H_out = (c.H + 2 * c.padding - c.k) / c.stride + 1;
    const int64_t W_out = (c.W + 2 * c.padding - c.k) / c.stride + 1;
    const Tensor y = conv(x);
    ASSERT_EQ(y.shape(), Shape({c.N, c.O, H_out, W_out}));
    expect_near(
        y.to_vector(),
        direct_conv(c, x.to_vector(), conv.weight.to_vector(), conv.bias.to_vector(), H_out, W_out),
        1e-5);
  }
}

TEST(Conv2d, WeightGradientMatchesFiniteDifferences) {
  Generator generator(12);
  const ConvCase c{1, 2, 5, 6, 2, 3, 2, 1};
  Conv2d conv(c.C, c.O, c.k, c.stride, c.padding, true, generator);
  const Tensor x = randn({c.N, c.C, c.H, c.W}, generator);
  const Tensor probe = randn({1, 2, 3, 3}, generator);  // (N, O, H_out, W_out)
  (conv(x) * probe).sum().backward();
  const std::vector<float> grad = conv.weight.grad().to_vector();
  const std::vector<float> xv = x.to_vector(), pv = probe.to_vector(), bv = conv.bias.to_vector();
  std::vector<float> w = conv.weight.to_vector();
  auto loss = [&](const std::vector<float>& weights) {
    const std::vector<double> y = direct_conv(c, xv, weights, bv, 3, 3);
    double total = 0;
    for (size_t i = 0; i < y.size(); ++i) total += y[i] * pv[i];
    return total;
  };
  for (size_t i = 0; i < w.size(); i += 5) {
    std::vector<float> plus = w, minus = w;
    plus[i] += 1e-2f;
    minus[i] -= 1e-2f;
    const double numeric = (loss(plus) - loss(minus)) / (plus[i] - minus[i]);
    EXPECT_NEAR(grad[i], numeric, 1e-3 * (1 + std::abs(numeric))) << "weight " << i;
  }
}

TEST(MaxPool2d, MatchesDirectPooling) {
  struct PoolCase {
    int64_t N, C, H, W, k, stride, padding;
  };
  for (const PoolCase& c : {PoolCase{2, 3, 6, 6, 2, 2, 0}, PoolCase{1, 2, 7, 5, 3, 2, 1},
                            PoolCase{1, 1, 5, 5, 3, 1, 0}}) {
    Generator generator(13);
    const Tensor x = randn({c.N, c.C, c.H, c.W}, generator);
    const std::vector<float> xv = x.to_vector();
    const int64_t H_out = (c.H + 2 * c.padding - c.k) / c.stride + 1;
    const int64_t W_out = (c.W + 2 * c.padding - c.k) / c.stride + 1;
    std::vector<double> expected;
    for (int64_t nc = 0; nc < c.N * c.C; ++nc)
      for (int64_t i = 0; i < H_out; ++i)
        for (int64_t j = 0; j < W_out; ++j) {
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t u = 0; u < c.k; ++u)
            for (int64_t v = 0; v < c.k; ++v) {
              const int64_t r = i * c.stride + u - c.padding, s = j * c.stride + v - c.padding;
              if (r >= 0 && r < c.H && s >= 0 && s < c.W) {
                best = std::max<double>(best, xv[(nc * c.H + r) * c.W + s]);
              }
            }
          expected.push_back(best);
        }
    MaxPool2d pool(c.k, c.stride, c.padding);
    const Tensor y = pool(x);
    ASSERT_EQ(y.shape(), Shape({c.N, c.C, H_out, W_out}));
    expect_near(y.to_vector(), expected, 0.0);
  }
}

TEST(Conv2d, BadInputs) {
  Conv2d conv(3, 4, 3);
  EXPECT_TRUE(ThrowsPaError([&] { conv(ones({1, 2, 5, 5})); }, {"nn::Conv2d", "(1, 2, 5, 5)"}));
  EXPECT_TRUE(ThrowsPaError([&] { conv(ones({3, 5, 5})); }, {"nn::Conv2d", "(3, 5, 5)"}));
  EXPECT_TRUE(ThrowsPaError([&] { conv(ones({1, 3, 2, 2})); }, {"kernel 3", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { MaxPool2d(2, 2, 2); }, {"nn::MaxPool2d", "padding"}));
}

// ---- Flatten, Embedding ----

TEST(Flatten, Shapes) {
  EXPECT_EQ(Flatten()(ones({2, 3, 4, 5})).shape(), Shape({2, 60}));
  EXPECT_EQ(Flatten(0)(ones({2, 3, 4})).shape(), Shape({24}));
  EXPECT_EQ(Flatten(1, 2)(ones({2, 3, 4, 5})).shape(), Shape({2, 12, 5}));
  EXPECT_TRUE(ThrowsPaError([] { Flatten(2, 1)(ones({2, 3, 4})); }, {"nn::Flatten", "Hint:"}));
}

TEST(Embedding, LooksUpRows) {
  Generator generator(14);
  Embedding table(5, 3, generator);
  const Tensor out = table(from_indices({4, 0, 4}, {3}));
  const std::vector<float> w = table.weight.to_vector(), y = out.to_vector();
  EXPECT_EQ(out.shape(), Shape({3, 3}));
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(y[e], w[12 + e]);
    EXPECT_EQ(y[3 + e], w[e]);
  }
}

// ---- MultiHeadAttention against direct loops (masks included) ----

TEST(MultiHeadAttention, MatchesDirectComputationWithMasks) {
  const int64_t B = 2, S = 5, E = 6, H = 3, D = 2;
  for (bool causal : {false, true}) {
    Generator generator(15);
    MultiHeadAttention attention(E, H, true, generator);
    attention.load_state_dict({{"in_proj_weight", attention.in_proj_weight},
                               {"in_proj_bias", randn({3 * E}, generator)},
                               {"out_proj.weight", attention.out_proj->weight},
                               {"out_proj.bias", randn({E}, generator)}});
    const Tensor x = randn({B, S, E}, generator);
    // Batch 0 pads its last two keys, batch 1 none.
    const Tensor mask = from_vector({0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {B, S});
    const std::vector<float> xv = x.to_vector(), w = attention.in_proj_weight.to_vector(),
                             bias = attention.in_proj_bias.to_vector(),
                             wo = attention.out_proj->weight.to_vector(),
                             bo = attention.out_proj->bias.to_vector(), mv = mask.to_vector();
    std::vector<double> expected;
    for (int64_t b = 0; b < B; ++b) {
      // qkv[s][j] = sum_e x[b,s,e] W[j,e] + bias[j]
      std::vector<std::vector<double>> qkv(S, std::vector<double>(3 * E));
      for (int64_t s = 0; s < S; ++s)
        for (int64_t j = 0; j < 3 * E; ++j) {
          double acc = bias[j];
          for (int64_t e = 0; e < E; ++e) acc += xv[(b * S + s) * E + e] * w[j * E + e];
          qkv[s][j] = acc;
        }
      std::vector<std::vector<double>> merged(S, std::vector<double>(E, 0.0));
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < S; ++i) {
          std::vector<double> scores(S, -INFINITY);
          double top = -INFINITY;
          for (int64_t j = 0; j < S; ++j) {
            if ((causal && j > i) || mv[b * S + j] != 0.0f) continue;
            double dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += qkv[i][h * D + d] * qkv[j][E + h * D + d];
            scores[j] = dot / std::sqrt(static_cast<double>(D));
            top = std::max(top, scores[j]);
          }
          double total = 0;
          for (double& s : scores) total += (s = std::isinf(s) ? 0.0 : std::exp(s - top));
          for (int64_t j = 0; j < S; ++j)
            for (int64_t d = 0; d < D; ++d)
              merged[i][h * D + d] += scores[j] / total * qkv[j][2 * E + h * D + d];
        }
      for (int64_t s = 0; s < S; ++s)
        for (int64_t o = 0; o < E; ++o) {
          double acc = bo[o];
          for (int64_t e = 0; e < E; ++e) acc += merged[s][e] * wo[o * E + e];
          expected.push_back(acc);
        }
    }
    expect_near(attention.forward(x, mask, causal).to_vector(), expected, 1e-5);
  }
}

TEST(MultiHeadAttention, BadInputs) {
  EXPECT_TRUE(ThrowsPaError([] { MultiHeadAttention(10, 3); }, {"embed_dim 10", "num_heads 3"}));
  MultiHeadAttention attention(8, 2);
  EXPECT_TRUE(ThrowsPaError([&] { attention(ones({2, 3, 6})); }, {"(2, 3, 6)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        attention.forward(ones({2, 3, 8}), ones({3, 2}), false);
      },
      {"key_padding_mask", "(3, 2)", "Hint:"}));
}

// ---- the Transformer layer: structure of post-norm vs pre-norm ----

TEST(TransformerEncoderLayer, PostNormOutputIsNormalisedPreNormIsNot) {
  Generator generator(16);
  TransformerConfig config = small_config();
  TransformerEncoderLayer post(config, generator);
  const Tensor x = randn({2, 4, 8}, generator) * 3.0f;
  // Post-norm ends in LayerNorm (weight 1, bias 0 at init): each row has mean 0, variance 1.
  const std::vector<float> y = post(x).to_vector();
  for (int row = 0; row < 8; ++row) {
    double mean = 0, sq = 0;
    for (int e = 0; e < 8; ++e) mean += y[row * 8 + e] / 8.0;
    for (int e = 0; e < 8; ++e) sq += std::pow(y[row * 8 + e] - mean, 2) / 8.0;
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(sq, 1.0, 1e-3);
  }
  config.norm_first = true;
  TransformerEncoderLayer pre(config, generator);
  const std::vector<float> z = pre(x).to_vector();
  double mean = 0;
  for (int e = 0; e < 8; ++e) mean += z[e] / 8.0;
  EXPECT_GT(std::abs(mean) + std::abs(z[0] - x.to_vector()[0]), 0.0);
  // Pre-norm keeps the residual path: with zeroed attention and FFN outputs it is the identity.
  auto state = pre.state_dict();
  state["self_attn.out_proj.weight"] = zeros({8, 8});
  state["linear2.weight"] = zeros({8, 12});
  pre.load_state_dict(state);
  EXPECT_EQ(pre(x).to_vector(), x.to_vector());
}

}  // namespace
}  // namespace pa::nn
