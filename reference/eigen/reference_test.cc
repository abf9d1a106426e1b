// Tests of the Eigen reference (the oracle): every backward function is checked against central
// finite differences of its forward, on random inputs with awkward shapes (size-1 dims,
// broadcasting, sizes such as 7 and 13), through the loss L = sum(out * W) with a fixed random
// W. A few exact-value tests pin the forwards down as well.
#include "reference/eigen/reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ref {
namespace {

constexpr double kEps = 1e-6;        // finite-difference step
constexpr double kTolerance = 1e-6;  // on |analytic - numeric| / max(1, |numeric|)

// Uniform in [lo, hi]; the defaults [-1, 1] hit exact zero with probability zero.
Array random_array(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Array x{shape, std::vector<double>(numel(shape))};
  for (double& value : x.data) value = dist(rng);
  return x;
}

// Uniform in [0.5, 1.5], for log, sqrt, fractional powers and denominators.
Array positive_array(const Shape& shape, uint64_t seed) {
  return random_array(shape, seed, 0.5, 1.5);
}

// Random 0/1 values, for masks.
Array random_mask(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  Array mask{shape, std::vector<double>(numel(shape))};
  for (double& value : mask.data) value = coin(rng) ? 1.0 : 0.0;
  return mask;
}

using MultiForward = std::function<std::vector<Array>(const std::vector<Array>& inputs)>;
using MultiBackward = std::function<std::vector<Array>(const std::vector<Array>& inputs,
                                                       const std::vector<Array>& grad_outs)>;
using Forward = std::function<Array(const std::vector<Array>& inputs)>;
using Backward =
    std::function<std::vector<Array>(const std::vector<Array>& inputs, const Array& grad_out)>;

// Checks that backward(inputs, W) is the gradient of L = sum_k sum(forward(inputs)[k] * W[k])
// with respect to every input, by central differences. Reports the worst element per input.
void check_multi_output_gradients(const std::vector<Array>& inputs, const MultiForward& forward,
                                  const MultiBackward& backward, uint64_t seed) {
  const std::vector<Array> outputs = forward(inputs);
  std::vector<Array> weights;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    weights.push_back(random_array(outputs[k].shape, seed * 1000 + 17 * k + 1));
  }
  auto loss = [&](const std::vector<Array>& xs) {
    const std::vector<Array> outs = forward(xs);
    double total = 0.0;
    for (std::size_t k = 0; k < outs.size(); ++k) {
      for (std::size_t j = 0; j < outs[k].data.size(); ++j) {
        total += outs[k].data[j] * weights[k].data[j];
      }
    }
    return total;
  };
  const std::vector<Array> grads = backward(inputs, weights);
  ASSERT_EQ(grads.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(grads[i].shape, inputs[i].shape) << "gradient " << i << " has the wrong shape";
    ASSERT_EQ(grads[i].data.size(), inputs[i].data.size());
    double worst_error = 0.0, worst_analytic = 0.0, worst_numeric = 0.0;
    std::size_t worst_index = 0;
    for (std::size_t j = 0; j < inputs[i].data.size(); ++j) {
      std::vector<Array> shifted = inputs;
      shifted[i].data[j] = inputs[i].data[j] + kEps;
      const double plus = loss(shifted);
      shifted[i].data[j] = inputs[i].data[j] - kEps;
      const double minus = loss(shifted);
      const double numeric = (plus - minus) / (2.0 * kEps);
      const double error = std::abs(grads[i].data[j] - numeric) / std::max(1.0, std::abs(numeric));
      if (error >= worst_error) {
        worst_error = error;
        worst_index = j;
        worst_analytic = grads[i].data[j];
        worst_numeric = numeric;
      }
    }
    EXPECT_LE(worst_error, kTolerance)
        << "input " << i << " of shape " << shape_string(inputs[i].shape) << ", worst element "
        << worst_index << ": analytic " << worst_analytic << ", numeric " << worst_numeric;
  }
}

// The single-output form of check_multi_output_gradients.
void check_gradients(const std::vector<Array>& inputs, const Forward& forward,
                     const Backward& backward, uint64_t seed) {
  check_multi_output_gradients(
      inputs, [&](const std::vector<Array>& xs) { return std::vector<Array>{forward(xs)}; },
      [&](const std::vector<Array>& xs, const std::vector<Array>& gs) {
        return backward(xs, gs[0]);
      },
      seed);
}

using UnaryForward = Array (*)(const Array&);
using UnaryBackward = Array (*)(const Array&, const Array&);

void check_unary(UnaryForward forward, UnaryBackward backward, bool positive, uint64_t seed) {
  for (const Shape& shape : {Shape{3, 7}, Shape{1, 13}, Shape{}}) {
    SCOPED_TRACE("shape " + shape_string(shape));
    seed += 1;
    const Array x = positive ? positive_array(shape, seed) : random_array(shape, seed);
    check_gradients(
        {x}, [&](const std::vector<Array>& xs) { return forward(xs[0]); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return std::vector<Array>{backward(xs[0], g)};
        },
        seed);
  }
}

using BinaryForward = Array (*)(const Array&, const Array&);
using BinaryBackward = std::vector<Array> (*)(const Array&, const Array&, const Array&);

void check_binary(BinaryForward forward, BinaryBackward backward, bool positive_b, uint64_t seed) {
  const std::vector<std::pair<Shape, Shape>> shape_pairs = {
      {{3, 1, 5}, {4, 5}}, {{13, 7}, {7}}, {{2, 3}, {}}, {{1}, {2, 3}}, {{2, 1, 3}, {1, 4, 1}}};
  for (const auto& [shape_a, shape_b] : shape_pairs) {
    SCOPED_TRACE("shapes " + shape_string(shape_a) + " and " + shape_string(shape_b));
    seed += 2;
    const Array a = random_array(shape_a, seed);
    const Array b =
        positive_b ? positive_array(shape_b, seed + 1) : random_array(shape_b, seed + 1);
    check_gradients(
        {a, b}, [&](const std::vector<Array>& xs) { return forward(xs[0], xs[1]); },
        [&](const std::vector<Array>& xs, const Array& g) { return backward(xs[0], xs[1], g); },
        seed);
  }
}

std::vector<Array> only(const Array& grad) { return {grad}; }

// ---- elementwise ----

TEST(BinaryGradient, Add) { check_binary(add, add_backward, false, 100); }
TEST(BinaryGradient, Sub) { check_binary(sub, sub_backward, false, 200); }
TEST(BinaryGradient, Mul) { check_binary(mul, mul_backward, false, 300); }
TEST(BinaryGradient, Div) { check_binary(div, div_backward, true, 400); }

TEST(UnaryGradient, Neg) { check_unary(neg, neg_backward, false, 500); }
TEST(UnaryGradient, Exp) { check_unary(exp, exp_backward, false, 510); }
TEST(UnaryGradient, Log) { check_unary(log, log_backward, true, 520); }
TEST(UnaryGradient, Sqrt) { check_unary(sqrt, sqrt_backward, true, 530); }
TEST(UnaryGradient, Tanh) { check_unary(tanh, tanh_backward, false, 540); }
TEST(UnaryGradient, Sigmoid) { check_unary(sigmoid, sigmoid_backward, false, 550); }
TEST(UnaryGradient, Relu) { check_unary(relu, relu_backward, false, 560); }
TEST(UnaryGradient, GeluTanh) { check_unary(gelu_tanh, gelu_tanh_backward, false, 570); }
TEST(UnaryGradient, GeluErf) { check_unary(gelu_erf, gelu_erf_backward, false, 580); }

TEST(UnaryGradient, PowScalar) {
  uint64_t seed = 600;
  for (double exponent : {2.0, 3.0, -1.0, 0.5, 2.5, 0.0}) {
    SCOPED_TRACE("exponent " + std::to_string(exponent));
    for (bool positive : {true, false}) {
      seed += 1;
      // Fractional exponents need positive bases.
      if (!positive && exponent != std::floor(exponent)) continue;
      const Array x = positive ? positive_array({3, 7}, seed) : random_array({3, 7}, seed);
      check_gradients(
          {x}, [&](const std::vector<Array>& xs) { return pow_scalar(xs[0], exponent); },
          [&](const std::vector<Array>& xs, const Array& g) {
            return only(pow_scalar_backward(xs[0], exponent, g));
          },
          seed);
    }
  }
}

// ---- matmul ----

TEST(MatmulGradient, BroadcastBatches) {
  const std::vector<std::pair<Shape, Shape>> shape_pairs = {
      {{4, 3}, {3, 5}}, {{2, 3, 7, 4}, {4, 5}},   {{3, 1, 2, 5}, {4, 5, 3}},
      {{1, 1}, {1, 1}}, {{2, 7, 13}, {1, 13, 1}}, {{1, 13}, {2, 13, 7}}};
  uint64_t seed = 700;
  for (const auto& [shape_a, shape_b] : shape_pairs) {
    SCOPED_TRACE("shapes " + shape_string(shape_a) + " @ " + shape_string(shape_b));
    seed += 2;
    check_gradients(
        {random_array(shape_a, seed), random_array(shape_b, seed + 1)},
        [](const std::vector<Array>& xs) { return matmul(xs[0], xs[1]); },
        [](const std::vector<Array>& xs, const Array& g) {
          return matmul_backward(xs[0], xs[1], g);
        },
        seed);
  }
}

// ---- shape ops ----

TEST(ShapeGradient, Transpose) {
  const std::vector<std::pair<Shape, std::pair<int, int>>> cases = {
      {{2, 3, 4}, {0, 2}}, {{1, 7, 3}, {1, 2}}, {{5, 1}, {0, 1}}, {{2, 3}, {1, 1}}};
  uint64_t seed = 800;
  for (const auto& item : cases) {
    const Shape& shape = item.first;
    const int dim0 = item.second.first, dim1 = item.second.second;
    SCOPED_TRACE("shape " + shape_string(shape));
    ++seed;
    check_gradients(
        {random_array(shape, seed)},
        [&](const std::vector<Array>& xs) { return transpose(xs[0], dim0, dim1); },
        [&](const std::vector<Array>&, const Array& g) {
          return only(transpose_backward(g, dim0, dim1));
        },
        seed);
  }
}

TEST(ShapeGradient, Permute) {
  const std::vector<std::pair<Shape, std::vector<int>>> cases = {
      {{2, 3, 4, 5}, {2, 0, 3, 1}}, {{1, 7, 3}, {2, 1, 0}}, {{13}, {0}}, {{2, 3}, {1, 0}}};
  uint64_t seed = 820;
  for (const auto& item : cases) {
    const Shape& shape = item.first;
    const std::vector<int>& dims = item.second;
    SCOPED_TRACE("shape " + shape_string(shape));
    ++seed;
    check_gradients(
        {random_array(shape, seed)},
        [&](const std::vector<Array>& xs) { return permute(xs[0], dims); },
        [&](const std::vector<Array>&, const Array& g) { return only(permute_backward(g, dims)); },
        seed);
  }
}

TEST(ShapeGradient, Reshape) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4}, {4, 6}}, {{}, {1, 1}}, {{7, 13}, {91}}, {{1, 5}, {5, 1, 1}}};
  uint64_t seed = 840;
  for (const auto& item : cases) {
    const Shape &from = item.first, &to = item.second;
    SCOPED_TRACE("shape " + shape_string(from) + " to " + shape_string(to));
    ++seed;
    check_gradients(
        {random_array(from, seed)},
        [&](const std::vector<Array>& xs) { return reshape(xs[0], to); },
        [&](const std::vector<Array>&, const Array& g) { return only(reshape_backward(g, from)); },
        seed);
  }
}

TEST(ShapeGradient, Slice) {
  struct Case {
    Shape shape;
    int dim;
    int64_t start, end;
  };
  const std::vector<Case> cases = {
      {{4, 7, 3}, 1, 2, 6}, {{4, 7, 3}, 0, 0, 1}, {{4, 7, 3}, 2, 1, 3}, {{13}, 0, 5, 13}};
  uint64_t seed = 860;
  for (const Case& c : cases) {
    SCOPED_TRACE("shape " + shape_string(c.shape) + " dim " + std::to_string(c.dim));
    ++seed;
    check_gradients(
        {random_array(c.shape, seed)},
        [&](const std::vector<Array>& xs) { return slice(xs[0], c.dim, c.start, c.end); },
        [&](const std::vector<Array>&, const Array& g) {
          return only(slice_backward(g, c.shape, c.dim, c.start));
        },
        seed);
  }
}

TEST(ShapeGradient, Concat) {
  const std::vector<std::pair<std::vector<Shape>, int>> cases = {
      {{{2, 3, 4}, {2, 1, 4}, {2, 5, 4}}, 1},
      {{{1, 7}, {3, 7}}, 0},
      {{{2, 3, 1}, {2, 3, 7}}, 2},
      {{{13}}, 0}};
  uint64_t seed = 880;
  for (const auto& item : cases) {
    const std::vector<Shape>& shapes = item.first;
    const int dim = item.second;
    SCOPED_TRACE("dim " + std::to_string(dim));
    std::vector<Array> inputs;
    for (const Shape& shape : shapes) inputs.push_back(random_array(shape, ++seed));
    check_gradients(
        inputs, [&](const std::vector<Array>& xs) { return concat(xs, dim); },
        [&](const std::vector<Array>&, const Array& g) { return concat_backward(shapes, dim, g); },
        seed);
  }
}

TEST(ShapeGradient, Stack) {
  uint64_t seed = 900;
  for (int dim : {0, 1, 2}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    std::vector<Array> inputs;
    for (int i = 0; i < 3; ++i) inputs.push_back(random_array({2, 7}, ++seed));
    check_gradients(
        inputs, [&](const std::vector<Array>& xs) { return stack(xs, dim); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return stack_backward(static_cast<int>(xs.size()), dim, g);
        },
        seed);
  }
}

TEST(ShapeGradient, Split) {
  const std::vector<std::tuple<Shape, std::vector<int64_t>, int>> cases = {
      {{3, 13}, {5, 1, 7}, 1}, {{4, 2, 3}, {1, 3}, 0}, {{2, 3, 7}, {7}, 2}};
  uint64_t seed = 920;
  for (const auto& item : cases) {
    const Shape& shape = std::get<0>(item);
    const std::vector<int64_t>& sizes = std::get<1>(item);
    const int dim = std::get<2>(item);
    SCOPED_TRACE("shape " + shape_string(shape) + " dim " + std::to_string(dim));
    ++seed;
    check_multi_output_gradients(
        {random_array(shape, seed)},
        [&](const std::vector<Array>& xs) { return split(xs[0], sizes, dim); },
        [&](const std::vector<Array>&, const std::vector<Array>& gs) {
          return only(split_backward(gs, dim));
        },
        seed);
  }
}

TEST(ShapeGradient, Expand) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 1, 5}, {2, 3, 4, 5}}, {{}, {2, 3}}, {{7}, {13, 7}}, {{1, 1}, {1, 1}}};
  uint64_t seed = 940;
  for (const auto& item : cases) {
    const Shape &from = item.first, &to = item.second;
    SCOPED_TRACE("shape " + shape_string(from) + " to " + shape_string(to));
    ++seed;
    check_gradients(
        {random_array(from, seed)}, [&](const std::vector<Array>& xs) { return expand(xs[0], to); },
        [&](const std::vector<Array>&, const Array& g) { return only(expand_backward(g, from)); },
        seed);
  }
}

// ---- reductions ----

const std::vector<std::vector<int>> kReductionDims = {{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}};

TEST(ReductionGradient, Sum) {
  uint64_t seed = 1000;
  for (const std::vector<int>& dims : kReductionDims) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dims " + shape_string(Shape(dims.begin(), dims.end())) + " keepdim " +
                   std::to_string(keepdim));
      ++seed;
      check_gradients(
          {random_array({3, 1, 5}, seed)},
          [&](const std::vector<Array>& xs) { return sum(xs[0], dims, keepdim); },
          [&](const std::vector<Array>& xs, const Array& g) {
            return only(sum_backward(xs[0], dims, keepdim, g));
          },
          seed);
    }
  }
}

TEST(ReductionGradient, Mean) {
  uint64_t seed = 1100;
  for (const std::vector<int>& dims : kReductionDims) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dims " + shape_string(Shape(dims.begin(), dims.end())) + " keepdim " +
                   std::to_string(keepdim));
      ++seed;
      check_gradients(
          {random_array({2, 7, 3}, seed)},
          [&](const std::vector<Array>& xs) { return mean(xs[0], dims, keepdim); },
          [&](const std::vector<Array>& xs, const Array& g) {
            return only(mean_backward(xs[0], dims, keepdim, g));
          },
          seed);
    }
  }
}

TEST(ReductionGradient, Max) {
  uint64_t seed = 1200;
  for (const Shape& shape : {Shape{3, 7, 2}, Shape{3, 1, 5}}) {
    for (int dim : {0, 1, 2}) {
      for (bool keepdim : {false, true}) {
        SCOPED_TRACE("shape " + shape_string(shape) + " dim " + std::to_string(dim) + " keepdim " +
                     std::to_string(keepdim));
        ++seed;
        check_gradients(
            {random_array(shape, seed)},
            [&](const std::vector<Array>& xs) { return max(xs[0], dim, keepdim); },
            [&](const std::vector<Array>& xs, const Array& g) {
              return only(max_backward(xs[0], dim, keepdim, g));
            },
            seed);
      }
    }
  }
}

TEST(ReductionGradient, Var) {
  uint64_t seed = 1300;
  for (const std::vector<int>& dims : kReductionDims) {
    for (int64_t correction : {0, 1}) {
      // Dim 1 has size 1: a group of one element with correction 1 divides by zero.
      if (dims == std::vector<int>{1} && correction == 1) continue;
      for (bool keepdim : {false, true}) {
        SCOPED_TRACE("dims " + shape_string(Shape(dims.begin(), dims.end())) + " correction " +
                     std::to_string(correction) + " keepdim " + std::to_string(keepdim));
        ++seed;
        check_gradients(
            {random_array({3, 1, 5}, seed)},
            [&](const std::vector<Array>& xs) { return var(xs[0], dims, correction, keepdim); },
            [&](const std::vector<Array>& xs, const Array& g) {
              return only(var_backward(xs[0], dims, correction, keepdim, g));
            },
            seed);
      }
    }
  }
}

// ---- normalisation, softmax, losses ----

TEST(SoftmaxGradient, Softmax) {
  uint64_t seed = 1400;
  for (const Shape& shape : {Shape{2, 3, 7}, Shape{13, 1}}) {
    for (int dim = 0; dim < static_cast<int>(shape.size()); ++dim) {
      SCOPED_TRACE("shape " + shape_string(shape) + " dim " + std::to_string(dim));
      ++seed;
      check_gradients(
          {random_array(shape, seed, -3.0, 3.0)},
          [&](const std::vector<Array>& xs) { return softmax(xs[0], dim); },
          [&](const std::vector<Array>& xs, const Array& g) {
            return only(softmax_backward(xs[0], dim, g));
          },
          seed);
    }
  }
}

TEST(SoftmaxGradient, LogSoftmax) {
  uint64_t seed = 1500;
  for (const Shape& shape : {Shape{2, 3, 7}, Shape{13, 1}}) {
    for (int dim = 0; dim < static_cast<int>(shape.size()); ++dim) {
      SCOPED_TRACE("shape " + shape_string(shape) + " dim " + std::to_string(dim));
      ++seed;
      check_gradients(
          {random_array(shape, seed, -3.0, 3.0)},
          [&](const std::vector<Array>& xs) { return log_softmax(xs[0], dim); },
          [&](const std::vector<Array>& xs, const Array& g) {
            return only(log_softmax_backward(xs[0], dim, g));
          },
          seed);
    }
  }
}

TEST(NormGradient, LayerNorm) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 7}, {7}}, {{2, 3, 7}, {3, 7}}, {{5, 13}, {13}}, {{1, 2}, {1, 2}}};
  uint64_t seed = 1600;
  const double eps = 1e-5;
  for (const auto& [x_shape, norm_shape] : cases) {
    SCOPED_TRACE("x " + shape_string(x_shape) + " gamma " + shape_string(norm_shape));
    seed += 3;
    check_gradients(
        {random_array(x_shape, seed), random_array(norm_shape, seed + 1),
         random_array(norm_shape, seed + 2)},
        [&](const std::vector<Array>& xs) { return layer_norm(xs[0], xs[1], xs[2], eps); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return layer_norm_backward(xs[0], xs[1], xs[2], eps, g);
        },
        seed);
  }
}

TEST(NormGradient, RmsNorm) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 7}, {7}}, {{2, 3, 7}, {3, 7}}, {{5, 13}, {13}}, {{1, 2}, {1, 2}}};
  uint64_t seed = 1650;
  const double eps = 1e-6;
  for (const auto& [x_shape, norm_shape] : cases) {
    SCOPED_TRACE("x " + shape_string(x_shape) + " gamma " + shape_string(norm_shape));
    seed += 2;
    check_gradients(
        {random_array(x_shape, seed), random_array(norm_shape, seed + 1)},
        [&](const std::vector<Array>& xs) { return rms_norm(xs[0], xs[1], eps); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return rms_norm_backward(xs[0], xs[1], eps, g);
        },
        seed);
  }
}

TEST(LossGradient, MseLoss) {
  uint64_t seed = 1700;
  for (const Shape& shape : {Shape{3, 1, 5}, Shape{13}, Shape{}}) {
    SCOPED_TRACE("shape " + shape_string(shape));
    seed += 2;
    check_gradients(
        {random_array(shape, seed), random_array(shape, seed + 1)},
        [](const std::vector<Array>& xs) { return mse_loss(xs[0], xs[1]); },
        [](const std::vector<Array>& xs, const Array& g) {
          return mse_loss_backward(xs[0], xs[1], g);
        },
        seed);
  }
}

TEST(LossGradient, CrossEntropy) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{5, 7}, {0, 6, 3, 3, 1}}, {{1, 13}, {12}}, {{3, 1}, {0, 0, 0}}};
  uint64_t seed = 1800;
  for (const auto& item : cases) {
    const Shape& shape = item.first;
    const std::vector<int64_t>& targets = item.second;
    SCOPED_TRACE("logits " + shape_string(shape));
    ++seed;
    check_gradients(
        {random_array(shape, seed, -3.0, 3.0)},
        [&](const std::vector<Array>& xs) { return cross_entropy(xs[0], targets); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return only(cross_entropy_backward(xs[0], targets, g));
        },
        seed);
  }
}

// ---- dropout, embedding, masked_fill, where ----

TEST(MiscGradient, Dropout) {
  uint64_t seed = 1900;
  for (double p : {0.0, 0.3, 0.9}) {
    SCOPED_TRACE("p " + std::to_string(p));
    seed += 2;
    const Array mask = random_mask({3, 7}, seed + 1);
    check_gradients(
        {random_array({3, 7}, seed)},
        [&](const std::vector<Array>& xs) { return dropout(xs[0], mask, p); },
        [&](const std::vector<Array>&, const Array& g) {
          return only(dropout_backward(mask, p, g));
        },
        seed);
  }
}

TEST(MiscGradient, Embedding) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3}, {4, 0, 4, 6, 1, 4}}, {{}, {2}}, {{7}, {0, 1, 2, 3, 4, 5, 6}}};
  const Shape weight_shape = {7, 5};
  uint64_t seed = 2000;
  for (const auto& item : cases) {
    const auto& indices_shape = item.first;
    const auto& indices = item.second;
    SCOPED_TRACE("indices " + shape_string(indices_shape));
    ++seed;
    check_gradients(
        {random_array(weight_shape, seed)},
        [&](const std::vector<Array>& xs) { return embedding(xs[0], indices, indices_shape); },
        [&](const std::vector<Array>&, const Array& g) {
          return only(embedding_backward(weight_shape, indices, g));
        },
        seed);
  }
}

TEST(MiscGradient, MaskedFill) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 1, 5}, {4, 5}}, {{2, 3, 4}, {3, 1}}, {{7}, {7}}, {{2, 3}, {}}};
  uint64_t seed = 2100;
  for (const auto& [x_shape, mask_shape] : cases) {
    SCOPED_TRACE("x " + shape_string(x_shape) + " mask " + shape_string(mask_shape));
    seed += 2;
    const Array mask = random_mask(mask_shape, seed + 1);
    check_gradients(
        {random_array(x_shape, seed)},
        [&](const std::vector<Array>& xs) { return masked_fill(xs[0], mask, -0.25); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return only(masked_fill_backward(xs[0], mask, g));
        },
        seed);
  }
}

TEST(MiscGradient, Where) {
  const std::vector<std::tuple<Shape, Shape, Shape>> cases = {
      {{3, 1, 5}, {4, 5}, {1}}, {{7}, {13, 7}, {13, 1}}, {{2, 3}, {2, 3}, {}}};
  uint64_t seed = 2200;
  for (const auto& [cond_shape, a_shape, b_shape] : cases) {
    SCOPED_TRACE("condition " + shape_string(cond_shape) + " a " + shape_string(a_shape) + " b " +
                 shape_string(b_shape));
    seed += 3;
    const Array condition = random_mask(cond_shape, seed + 2);
    check_gradients(
        {random_array(a_shape, seed), random_array(b_shape, seed + 1)},
        [&](const std::vector<Array>& xs) { return where(condition, xs[0], xs[1]); },
        [&](const std::vector<Array>& xs, const Array& g) {
          return where_backward(condition, xs[0], xs[1], g);
        },
        seed);
  }
}

// ---- scaled dot-product attention ----

TEST(AttentionGradient, Sdpa) {
  const int64_t b = 2, h = 3, nq = 5, nk = 7, d = 4, dv = 3;
  // Batch 0 pads keys 0 and 5; batch 1 pads every key, so all its rows are fully masked.
  Array padding{{b, nk}, std::vector<double>(b * nk, 0.0)};
  padding.data[0] = padding.data[5] = 1.0;
  for (int64_t j = 0; j < nk; ++j) padding.data[nk + j] = 1.0;
  const Array no_padding{};
  uint64_t seed = 2300;
  for (bool causal : {false, true}) {
    for (const Array* mask : std::vector<const Array*>{&no_padding, &padding}) {
      for (double scale : {0.5, 0.7}) {
        SCOPED_TRACE("causal " + std::to_string(causal) + " padding " +
                     std::to_string(!mask->data.empty()) + " scale " + std::to_string(scale));
        seed += 3;
        check_gradients(
            {random_array({b, h, nq, d}, seed, -2.0, 2.0),
             random_array({b, h, nk, d}, seed + 1, -2.0, 2.0),
             random_array({b, h, nk, dv}, seed + 2)},
            [&](const std::vector<Array>& xs) {
              return sdpa(xs[0], xs[1], xs[2], causal, *mask, scale);
            },
            [&](const std::vector<Array>& xs, const Array& g) {
              return sdpa_backward(xs[0], xs[1], xs[2], causal, *mask, scale, g);
            },
            seed);
      }
    }
  }
}

TEST(AttentionGradient, SingleKeyAndQuery) {
  check_gradients(
      {random_array({1, 1, 1, 13}, 2400), random_array({1, 1, 1, 13}, 2401),
       random_array({1, 1, 1, 7}, 2402)},
      [](const std::vector<Array>& xs) { return sdpa(xs[0], xs[1], xs[2], true, {}, 0.3); },
      [](const std::vector<Array>& xs, const Array& g) {
        return sdpa_backward(xs[0], xs[1], xs[2], true, {}, 0.3, g);
      },
      2400);
}

// ---- exact values ----

TEST(Exact, Matmul4x4) {
  Array a{{4, 4}, {}};
  for (int i = 1; i <= 16; ++i) a.data.push_back(i);
  Array b{{4, 4}, {}};
  for (int row = 1; row <= 4; ++row) b.data.insert(b.data.end(), 4, row);
  const Array c = matmul(a, b);
  ASSERT_EQ(c.shape, (Shape{4, 4}));
  const double expected_rows[4] = {30, 70, 110, 150};
  for (int row = 0; row < 4; ++row) {
    for (int col = 0; col < 4; ++col) EXPECT_EQ(c.data[row * 4 + col], expected_rows[row]);
  }
}

TEST(Exact, SoftmaxRowsSumToOne) {
  const Array y = softmax(random_array({4, 13}, 2500, -5.0, 5.0), 1);
  for (int row = 0; row < 4; ++row) {
    double total = 0.0;
    for (int col = 0; col < 13; ++col) total += y.data[row * 13 + col];
    EXPECT_NEAR(total, 1.0, 1e-14);
  }
}

TEST(Exact, SdpaCausalFirstRowIsFirstValue) {
  const Array q = random_array({2, 2, 6, 4}, 2600);
  const Array k = random_array({2, 2, 6, 4}, 2601);
  const Array v = random_array({2, 2, 6, 3}, 2602);
  const Array out = sdpa(q, k, v, true, {}, 0.5);  // (2, 2, 6, 3)
  for (int bh = 0; bh < 4; ++bh) {
    for (int e = 0; e < 3; ++e) EXPECT_DOUBLE_EQ(out.data[bh * 6 * 3 + e], v.data[bh * 6 * 3 + e]);
  }
}

TEST(Exact, SdpaFullyMaskedRowIsZeroWithZeroGradient) {
  const Array q = random_array({1, 1, 3, 4}, 2700);
  const Array k = random_array({1, 1, 3, 4}, 2701);
  const Array v = random_array({1, 1, 3, 2}, 2702);
  const Array padding{{1, 3}, {1.0, 0.0, 0.0}};  // causal query 0 sees only key 0: masked
  const Array out = sdpa(q, k, v, true, padding, 0.5);
  EXPECT_EQ(out.data[0], 0.0);
  EXPECT_EQ(out.data[1], 0.0);
  const Array grad_out{{1, 1, 3, 2}, {1.0, 1.0, 0.0, 0.0, 0.0, 0.0}};  // only row 0 has gradient
  const std::vector<Array> grads = sdpa_backward(q, k, v, true, padding, 0.5, grad_out);
  for (const Array& grad : grads) {
    for (double value : grad.data) EXPECT_EQ(value, 0.0);
  }
}

TEST(Exact, ReluGradientAtZeroIsZero) {
  const Array grad = relu_backward(Array{{3}, {-1.0, 0.0, 2.0}}, Array{{3}, {5.0, 5.0, 5.0}});
  EXPECT_EQ(grad.data, (std::vector<double>{0.0, 0.0, 5.0}));
}

TEST(Exact, MaxGradientGoesToFirstMaximum) {
  const Array x{{2, 3}, {1.0, 4.0, 4.0, 2.0, 2.0, -1.0}};
  const Array y = max(x, 1, false);
  EXPECT_EQ(y.data, (std::vector<double>{4.0, 2.0}));
  const Array grad = max_backward(x, 1, false, Array{{2}, {1.0, 1.0}});
  EXPECT_EQ(grad.data, (std::vector<double>{0.0, 1.0, 0.0, 1.0, 0.0, 0.0}));
}

TEST(Exact, VarCorrection) {
  const Array x{{4}, {1.0, 2.0, 3.0, 4.0}};
  EXPECT_DOUBLE_EQ(var(x, {}, 0, false).data[0], 1.25);
  EXPECT_DOUBLE_EQ(var(x, {}, 1, false).data[0], 5.0 / 3.0);
  EXPECT_EQ(var(x, {}, 1, true).shape, (Shape{1}));
  EXPECT_EQ(var(x, {}, 1, false).shape, (Shape{}));
}

TEST(Exact, CrossEntropyOfUniformLogitsIsLogC) {
  const Array logits{{3, 7}, std::vector<double>(21, 0.25)};
  const Array loss = cross_entropy(logits, {0, 3, 6});
  EXPECT_EQ(loss.shape, (Shape{}));
  EXPECT_NEAR(loss.data[0], std::log(7.0), 1e-14);
}

TEST(Exact, ShapesAndBroadcasting) {
  EXPECT_EQ(numel({}), 1);
  EXPECT_EQ(numel({3, 0, 2}), 0);
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 5}), (Shape{3, 4, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}), (Shape{2, 3}));
  EXPECT_THROW(broadcast_shapes({3}, {4}), std::invalid_argument);
  const Array summed = sum_to(Array{{2, 3}, {1, 2, 3, 4, 5, 6}}, {1, 3});
  EXPECT_EQ(summed.data, (std::vector<double>{5, 7, 9}));
  const Array added = add(Array{{2, 1}, {10, 20}}, Array{{3}, {1, 2, 3}});
  EXPECT_EQ(added.shape, (Shape{2, 3}));
  EXPECT_EQ(added.data, (std::vector<double>{11, 12, 13, 21, 22, 23}));
}

}  // namespace
TEST(Reference, RoundBf16TiesToEvenAndOverflows) {
  // Near 1 a bfloat16 steps by 2^-7: 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7; 1 + 3 2^-8
  // a tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  const double step = std::ldexp(1.0, -8);
  const Array x{{6}, {1.0 + step, 1.0 + 3 * step, -(1.0 + 1.1 * step), 0.1, 3.4e38, 0.0}};
  const Array r = round_bf16(x);
  EXPECT_EQ(r.data[0], 1.0);
  EXPECT_EQ(r.data[1], 1.0 + 4 * step);
  EXPECT_EQ(r.data[2], -(1.0 + 2 * step));
  EXPECT_EQ(r.data[3], 0.10009765625);  // 0x3DCD: 205 / 2048
  EXPECT_TRUE(std::isinf(r.data[4]));   // past (2 - 2^-7) 2^127
  EXPECT_EQ(r.data[5], 0.0);
}

}  // namespace ref
