// The op sweep: every op in engine/ops/op_list.h, forward and backward, against the Eigen
// double reference on random inputs, with awkward shapes (not multiples of 8/16/32), size-1
// dims, broadcasting and empty tensors where legal. The Eigen reference's own backward is
// checked against finite differences in reference/eigen/reference_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "engine/cpu/cpu_config.h"
#include "engine/tests/oracle_check.h"

namespace pa::testing {
namespace {

using Arrays = std::vector<ref::Array>;
using Tensors = std::vector<Tensor>;

std::set<std::string>& swept_ops() {
  static std::set<std::string> names;
  return names;
}

// SWEEP(op) { ... } defines the sweep test of `op` (an OpId name) and registers it for the
// coverage check; the test fails unless the op ran a case on the sweep device and skipped none,
// where the op list says that backend must run it.
#define SWEEP(op)                                              \
  void sweep_##op(std::mt19937_64& rng);                       \
  TEST(OpSweep, op) {                                          \
    std::mt19937_64 rng(case_seed(#op));                       \
    sweep_tally() = {};                                        \
    sweep_##op(rng);                                           \
    expect_swept(OpId::op, sweep_tally());                     \
  }                                                            \
  const bool registered_##op = swept_ops().insert(#op).second; \
  void sweep_##op(std::mt19937_64& rng)

TEST(OpSweep, CoversEveryOp) {
  std::vector<std::string> missing;
#define PA_CHECK_SWEPT(op, backends) \
  if (!swept_ops().count(#op)) missing.push_back(#op);
  PA_FOR_EACH_OP(PA_CHECK_SWEPT)
#undef PA_CHECK_SWEPT
  EXPECT_TRUE(missing.empty()) << "ops without a sweep case: " << ::testing::PrintToString(missing);
}

// ---- elementwise binary: same shape, broadcast, size-1, 0-d and empty ----
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{7, 13}, {7, 13}}, {{3, 1, 5}, {4, 5}}, {{1}, {2, 3}},           {{5, 1}, {1, 6}},
    {{0, 3}, {3}},      {{}, {2, 3}},        {{2, 3, 33}, {1, 3, 1}}, {{3, 5, 1001}, {3, 5, 1001}}};

template <typename Engine, typename Ref, typename RefBackward>
void sweep_binary(const std::string& name, std::mt19937_64& rng, Engine engine, Ref reference,
                  RefBackward backward, double b_low = -1.0, double b_high = 1.0) {
  for (const auto& [sa, sb] : kBinaryShapes) {
    check_op(
        name + " " + shape_str(sa) + " " + shape_str(sb),
        {random_input(sa, rng), random_input(sb, rng, b_low, b_high)},
        [&](const Tensors& t) { return Tensors{engine(t[0], t[1])}; },
        [&](const Arrays& a) { return Arrays{reference(a[0], a[1])}; },
        [&](const Arrays& a, const Arrays& g) { return backward(a[0], a[1], g[0]); }, rng);
  }
}

SWEEP(add) {
  sweep_binary(
      "add", rng, [](const Tensor& a, const Tensor& b) { return pa::add(a, b); }, ref::add,
      ref::add_backward);
}
SWEEP(sub) {
  sweep_binary(
      "sub", rng, [](const Tensor& a, const Tensor& b) { return pa::sub(a, b); }, ref::sub,
      ref::sub_backward);
}
SWEEP(mul) {
  sweep_binary(
      "mul", rng, [](const Tensor& a, const Tensor& b) { return pa::mul(a, b); }, ref::mul,
      ref::mul_backward);
}
SWEEP(div) {
  sweep_binary(
      "div", rng, [](const Tensor& a, const Tensor& b) { return pa::div(a, b); }, ref::div,
      ref::div_backward, 0.5, 2.0);
}

// ---- elementwise unary ----
// Awkward sizes, 0-d and empty; on the GPU also the float4 path's aligned size and its tails
// (4 x 4, 3 x 1001).
const std::vector<Shape> kUnaryShapes = {{7, 13}, {1}, {2, 3, 37}, {0, 4}, {}, {4, 4}, {3, 1001}};

template <typename Engine, typename Ref, typename RefBackward>
void sweep_unary(const std::string& name, std::mt19937_64& rng, Engine engine, Ref reference,
                 RefBackward backward, double low = -2.0, double high = 2.0) {
  for (const Shape& shape : kUnaryShapes) {
    check_op(
        name + " " + shape_str(shape), {random_input(shape, rng, low, high)},
        [&](const Tensors& t) { return Tensors{engine(t[0])}; },
        [&](const Arrays& a) { return Arrays{reference(a[0])}; },
        [&](const Arrays& a, const Arrays& g) { return Arrays{backward(a[0], g[0])}; }, rng);
  }
}

SWEEP(neg) {
  sweep_unary(
      "neg", rng, [](const Tensor& x) { return pa::neg(x); }, ref::neg, ref::neg_backward);
}
SWEEP(pow) {
  for (double exponent : {2.0, 3.0, 0.5, -1.5}) {
    sweep_unary(
        "pow " + std::to_string(exponent), rng,
        [exponent](const Tensor& x) { return pa::pow(x, static_cast<float>(exponent)); },
        [exponent](const ref::Array& x) { return ref::pow_scalar(x, exponent); },
        [exponent](const ref::Array& x, const ref::Array& g) {
          return ref::pow_scalar_backward(x, exponent, g);
        },
        0.5, 2.0);
  }
}
SWEEP(exp) {
  sweep_unary(
      "exp", rng, [](const Tensor& x) { return pa::exp(x); }, ref::exp, ref::exp_backward);
}
SWEEP(log) {
  sweep_unary(
      "log", rng, [](const Tensor& x) { return pa::log(x); }, ref::log, ref::log_backward, 0.1,
      3.0);
}
SWEEP(sqrt) {
  sweep_unary(
      "sqrt", rng, [](const Tensor& x) { return pa::sqrt(x); }, ref::sqrt, ref::sqrt_backward, 0.1,
      3.0);
}
SWEEP(tanh) {
  sweep_unary(
      "tanh", rng, [](const Tensor& x) { return pa::tanh(x); }, ref::tanh, ref::tanh_backward);
}
SWEEP(sigmoid) {
  sweep_unary(
      "sigmoid", rng, [](const Tensor& x) { return pa::sigmoid(x); }, ref::sigmoid,
      ref::sigmoid_backward);
}
SWEEP(relu) {
  sweep_unary(
      "relu", rng, [](const Tensor& x) { return pa::relu(x); }, ref::relu, ref::relu_backward);
}
SWEEP(gelu_tanh) {
  sweep_unary(
      "gelu_tanh", rng, [](const Tensor& x) { return pa::gelu(x, GeluApproximation::Tanh); },
      ref::gelu_tanh, ref::gelu_tanh_backward, -4.0, 4.0);
}
SWEEP(gelu_erf) {
  sweep_unary(
      "gelu_erf", rng, [](const Tensor& x) { return pa::gelu(x, GeluApproximation::Erf); },
      ref::gelu_erf, ref::gelu_erf_backward, -4.0, 4.0);
}

SWEEP(bias_gelu) {
  // Rows of C = 1, 7 (tail only), 8, 37 (vectors and a tail); leading dims of 0, 1 and 2.
  const std::vector<Shape> shapes = {{5, 1}, {3, 7}, {4, 8}, {2, 3, 37}, {37}, {0, 8}};
  for (const Shape& shape : shapes) {
    check_op(
        "bias_gelu " + shape_str(shape),
        {random_input(shape, rng, -4.0, 4.0), random_input({shape.back()}, rng, -1.0, 1.0)},
        [](const Tensors& t) { return Tensors{pa::bias_gelu(t[0], t[1])}; },
        [](const Arrays& a) { return Arrays{ref::bias_gelu(a[0], a[1])}; },
        [](const Arrays& a, const Arrays& g) { return ref::bias_gelu_backward(a[0], a[1], g[0]); },
        rng);
  }
}

// ---- matmul ----
SWEEP(matmul) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{7, 13}, {13, 5}},
      {{1, 1}, {1, 1}},
      {{3, 7, 9}, {9, 11}},
      {{2, 1, 4, 6}, {3, 6, 5}},
      {{4, 0}, {0, 3}},
      {{0, 5}, {5, 2}},
      {{33, 17}, {17, 65}},
      // sizes off every GPU tile; batched products (one launch of the batched GEMM on the GPU):
      // equal batches, a shared b (stride 0), broadcasts on both sides, attention's batch size
      {{130, 257}, {257, 129}},
      {{2, 3, 4, 6}, {2, 3, 6, 5}},
      {{2, 3, 4, 6}, {1, 1, 6, 5}},
      {{2, 1, 4, 6}, {1, 3, 6, 5}},
      {{128, 32, 8}, {128, 8, 33}}};
  for (const auto& [sa, sb] : shapes) {
    check_op(
        "matmul " + shape_str(sa) + " @ " + shape_str(sb),
        {random_input(sa, rng), random_input(sb, rng)},
        [](const Tensors& t) { return Tensors{pa::matmul(t[0], t[1])}; },
        [](const Arrays& a) { return Arrays{ref::matmul(a[0], a[1])}; },
        [](const Arrays& a, const Arrays& g) { return ref::matmul_backward(a[0], a[1], g[0]); },
        rng);
  }
  // A transposed (non-contiguous) operand a^T, alone and times a batched b (the transposed
  // view read in place on the CPU, copied on the GPU in fp32, read in place by the bf16 GEMM;
  // b's gradient summed over the batch), in float32 and bfloat16.
  struct TransposedCase {
    Shape a, b;
    DType dtype;
  };
  for (const TransposedCase& c :
       std::vector<TransposedCase>{{{9, 7}, {9, 5}, DType::Float32},
                                   {{5, 9}, {2, 5, 7}, DType::Float32},
                                   {{9, 7}, {9, 5}, DType::BFloat16},
                                   {{16, 24}, {16, 40}, DType::BFloat16}}) {
    const bool bf16 = c.dtype == DType::BFloat16;
    check_op(
        std::string("matmul ") + (bf16 ? "bf16 " : "") + "a^T " + shape_str(c.a) + " @ " +
            shape_str(c.b),
        {random_input(c.a, rng), random_input(c.b, rng)},
        [](const Tensors& t) { return Tensors{pa::matmul(pa::transpose(t[0], 0, 1), t[1])}; },
        [](const Arrays& a) { return Arrays{ref::matmul(ref::transpose(a[0], 0, 1), a[1])}; },
        [](const Arrays& a, const Arrays& g) {
          Arrays grads = ref::matmul_backward(ref::transpose(a[0], 0, 1), a[1], g[0]);
          grads[0] = ref::transpose(grads[0], 0, 1);
          return grads;
        },
        rng, bf16 ? kBf16GemmTolerance : Tolerance{}, Device::cpu(), c.dtype);
  }
  // bfloat16 (kBf16GemmTolerance): M = 1, K = 1, K = 0, sizes off every tile, multiples of 8
  // (on an sm_90 GPU the copy engine's v15, in every layout: the backward's products read
  // transposed views), folded rows, batches, broadcast batches (their gradient summed in fp32).
  const std::vector<std::pair<Shape, Shape>> bf16_shapes = {{{7, 13}, {13, 5}},
                                                            {{1, 1}, {1, 1}},
                                                            {{1, 9}, {9, 3}},
                                                            {{5, 1}, {1, 7}},
                                                            {{4, 0}, {0, 3}},
                                                            {{130, 257}, {257, 129}},
                                                            {{64, 128}, {128, 72}},
                                                            {{3, 7, 16}, {16, 24}},
                                                            {{2, 3, 8, 16}, {2, 3, 16, 8}},
                                                            {{2, 1, 4, 6}, {1, 3, 6, 5}}};
  for (const auto& [sa, sb] : bf16_shapes) {
    // A broadcast batch's gradient sums products that were each rounded to bf16 (as a bf16
    // batched matmul does in PyTorch): each rounding is 2^-9 of its own product, which may be
    // larger than the sum, so up to (batch) such errors add (atol 1e-2 at |values| <= 1).
    const bool broadcast = sa.size() == 4 && sa[1] != sb[1];
    check_op(
        "matmul bf16 " + shape_str(sa) + " @ " + shape_str(sb),
        {random_input(sa, rng), random_input(sb, rng)},
        [](const Tensors& t) { return Tensors{pa::matmul(t[0], t[1])}; },
        [](const Arrays& a) { return Arrays{ref::matmul(a[0], a[1])}; },
        [](const Arrays& a, const Arrays& g) { return ref::matmul_backward(a[0], a[1], g[0]); },
        rng, broadcast ? Tolerance{1e-2, 1.0 / 256} : kBf16GemmTolerance, Device::cpu(),
        DType::BFloat16);
  }
}

SWEEP(linear) {
  // x (..., in) with 0, 1 and 2 leading dims, empty rows, sizes off every GEMM tile (130 rows,
  // 129 outputs), a transposed (non-contiguous) x; with and without a bias.
  struct LinearCase {
    Shape x;
    int64_t out;
  };
  const std::vector<LinearCase> cases = {{{7, 13}, 5}, {{13}, 5},   {{2, 3, 4}, 6},
                                         {{0, 5}, 3},  {{1, 1}, 1}, {{130, 33}, 129}};
  for (const LinearCase& c : cases) {
    const int64_t in = c.x.back();
    check_op(
        "linear " + shape_str(c.x) + " -> " + std::to_string(c.out),
        {random_input(c.x, rng), random_input({c.out, in}, rng), random_input({c.out}, rng)},
        [](const Tensors& t) { return Tensors{pa::linear(t[0], t[1], t[2])}; },
        [](const Arrays& a) { return Arrays{ref::linear(a[0], a[1], a[2])}; },
        [](const Arrays& a, const Arrays& g) {
          return ref::linear_backward(a[0], a[1], a[2], g[0]);
        },
        rng);
  }
  const ref::Array zero_bias{{4}, std::vector<double>(4, 0.0)};
  check_op(
      "linear transposed x, no bias", {random_input({6, 3, 2}, rng), random_input({4, 6}, rng)},
      [](const Tensors& t) { return Tensors{pa::linear(pa::transpose(t[0], 0, 2), t[1])}; },
      [&](const Arrays& a) {
        return Arrays{ref::linear(ref::transpose(a[0], 0, 2), a[1], zero_bias)};
      },
      [&](const Arrays& a, const Arrays& g) {
        Arrays grads = ref::linear_backward(ref::transpose(a[0], 0, 2), a[1], zero_bias, g[0]);
        return Arrays{ref::transpose(grads[0], 0, 2), grads[1]};
      },
      rng);
  // bfloat16: the bias added before the one rounding; x W^T reads W transposed in place.
  const std::vector<LinearCase> bf16_cases = {{{7, 13}, 5},    {{1, 1}, 1},      {{2, 3, 4}, 6},
                                              {{0, 5}, 3},     {{130, 33}, 129}, {{64, 96}, 128},
                                              {{4, 8, 64}, 40}};
  for (const LinearCase& c : bf16_cases) {
    const int64_t in = c.x.back();
    check_op(
        "linear bf16 " + shape_str(c.x) + " -> " + std::to_string(c.out),
        {random_input(c.x, rng), random_input({c.out, in}, rng), random_input({c.out}, rng)},
        [](const Tensors& t) { return Tensors{pa::linear(t[0], t[1], t[2])}; },
        [](const Arrays& a) { return Arrays{ref::linear(a[0], a[1], a[2])}; },
        [](const Arrays& a, const Arrays& g) {
          return ref::linear_backward(a[0], a[1], a[2], g[0]);
        },
        rng, kBf16GemmTolerance, Device::cpu(), DType::BFloat16);
  }
}

// float32 -> bfloat16 is exact against the reference's own rounding (ties to even, overflow to
// infinity); bfloat16 -> float32 is exact. The gradient goes back converted.
SWEEP(to_dtype) {
  const Tolerance exact{0.0, 0.0};
  for (const Shape& shape : std::vector<Shape>{{7, 13}, {}, {0, 3}, {3, 1001}}) {
    check_op(
        "to_dtype float32 -> bfloat16 " + shape_str(shape), {random_input(shape, rng, -3.0, 3.0)},
        [](const Tensors& t) { return Tensors{pa::to_dtype(t[0], DType::BFloat16)}; },
        [](const Arrays& a) { return Arrays{ref::round_bf16(a[0])}; },
        [](const Arrays&, const Arrays& g) { return g; }, rng, exact);
    check_op(
        "to_dtype bfloat16 -> float32 " + shape_str(shape), {random_input(shape, rng, -3.0, 3.0)},
        [](const Tensors& t) { return Tensors{pa::to_dtype(t[0], DType::Float32)}; },
        [](const Arrays& a) { return Arrays{a[0]}; },
        [](const Arrays&, const Arrays& g) { return Arrays{ref::round_bf16(g[0])}; }, rng, exact,
        Device::cpu(), DType::BFloat16);
  }
  // A transposed (non-contiguous) input, and values past bf16's range (to infinity).
  check_op(
      "to_dtype float32 -> bfloat16 transposed", {random_input({5, 9}, rng, -1e38, 1e38)},
      [](const Tensors& t) {
        return Tensors{pa::to_dtype(
            pa::mul(pa::transpose(t[0], 0, 1),
                    pa::full({9, 5}, 4.0f, TensorOptions().with_device(t[0].device()))),
            DType::BFloat16)};
      },
      [](const Arrays& a) {
        return Arrays{ref::round_bf16(ref::mul(ref::transpose(a[0], 0, 1),
                                               ref::Array{{9, 5}, std::vector<double>(45, 4.0)}))};
      },
      nullptr, rng, exact);
}

// ---- shape ops ----
SWEEP(transpose) {
  for (auto [d0, d1] : std::vector<std::pair<int, int>>{{0, 2}, {-1, -2}, {1, 1}}) {
    check_op(
        "transpose " + std::to_string(d0) + "," + std::to_string(d1),
        {random_input({3, 5, 7}, rng)},
        [d0 = d0, d1 = d1](const Tensors& t) { return Tensors{pa::transpose(t[0], d0, d1)}; },
        [d0 = d0, d1 = d1](const Arrays& a) {
          return Arrays{ref::transpose(a[0], (d0 + 3) % 3, (d1 + 3) % 3)};
        },
        [d0 = d0, d1 = d1](const Arrays&, const Arrays& g) {
          return Arrays{ref::transpose_backward(g[0], (d0 + 3) % 3, (d1 + 3) % 3)};
        },
        rng);
  }
}

SWEEP(permute) {
  const std::vector<int> dims = {3, 0, 2, 1};
  check_op(
      "permute", {random_input({2, 3, 5, 7}, rng)},
      [](const Tensors& t) {
        return Tensors{pa::permute(t[0], {3, 0, 2, 1})};
      },
      [&](const Arrays& a) { return Arrays{ref::permute(a[0], dims)}; },
      [&](const Arrays&, const Arrays& g) { return Arrays{ref::permute_backward(g[0], dims)}; },
      rng);
}

SWEEP(reshape) {
  check_op(
      "reshape contiguous", {random_input({6, 35}, rng)},
      [](const Tensors& t) {
        return Tensors{pa::reshape(t[0], {3, -1, 7})};
      },
      [](const Arrays& a) {
        return Arrays{ref::reshape(a[0], {3, 10, 7})};
      },
      [](const Arrays&, const Arrays& g) {
        return Arrays{ref::reshape_backward(g[0], {6, 35})};
      },
      rng);
  check_op(
      "reshape of a transposed view", {random_input({5, 6}, rng)},
      [](const Tensors& t) { return Tensors{pa::reshape(pa::transpose(t[0], 0, 1), {30})}; },
      [](const Arrays& a) { return Arrays{ref::reshape(ref::transpose(a[0], 0, 1), {30})}; },
      [](const Arrays&, const Arrays& g) {
        return Arrays{ref::transpose(ref::reshape_backward(g[0], {6, 5}), 0, 1)};
      },
      rng);
}

SWEEP(slice) {
  struct Case {
    int dim;
    int64_t start, end, ref_start, ref_end;
  };
  for (const Case& c : {Case{1, 2, 11, 2, 11}, Case{0, -3, 100, 4, 7}, Case{1, 5, 5, 5, 5}}) {
    check_op(
        "slice", {random_input({7, 13}, rng)},
        [c](const Tensors& t) { return Tensors{pa::slice(t[0], c.dim, c.start, c.end)}; },
        [c](const Arrays& a) { return Arrays{ref::slice(a[0], c.dim, c.ref_start, c.ref_end)}; },
        [c](const Arrays&, const Arrays& g) {
          return Arrays{ref::slice_backward(g[0], {7, 13}, c.dim, c.ref_start)};
        },
        rng);
  }
}

SWEEP(expand) {
  check_op(
      "expand", {random_input({3, 1, 5}, rng)},
      [](const Tensors& t) {
        return Tensors{pa::expand(t[0], {2, 3, 4, -1})};
      },
      [](const Arrays& a) {
        return Arrays{ref::expand(a[0], {2, 3, 4, 5})};
      },
      [](const Arrays&, const Arrays& g) {
        return Arrays{ref::expand_backward(g[0], {3, 1, 5})};
      },
      rng);
}

// contiguous: copies of a permuted view and of a sliced one (the strided copy kernel), and a
// contiguous tensor returned as is; the gradient passes through.
SWEEP(contiguous) {
  const std::vector<int> dims = {2, 0, 1};
  check_op(
      "contiguous of a permuted view", {random_input({3, 5, 7}, rng)},
      [](const Tensors& t) {
        return Tensors{pa::contiguous(pa::permute(t[0], {2, 0, 1}))};
      },
      [&](const Arrays& a) { return Arrays{ref::permute(a[0], dims)}; },
      [&](const Arrays&, const Arrays& g) { return Arrays{ref::permute_backward(g[0], dims)}; },
      rng);
  check_op(
      "contiguous of a sliced view", {random_input({4, 9}, rng)},
      [](const Tensors& t) { return Tensors{pa::contiguous(pa::slice(t[0], 1, 2, 7))}; },
      [](const Arrays& a) { return Arrays{ref::slice(a[0], 1, 2, 7)}; },
      [](const Arrays&, const Arrays& g) {
        return Arrays{ref::slice_backward(g[0], {4, 9}, 1, 2)};
      },
      rng);
  check_op(
      "contiguous of a contiguous tensor", {random_input({0, 3}, rng)},
      [](const Tensors& t) { return Tensors{pa::contiguous(t[0])}; },
      [](const Arrays& a) { return Arrays{a[0]}; },
      [](const Arrays&, const Arrays& g) { return Arrays{g[0]}; }, rng);
}

// to: a round trip through the host (on the CPU sweep both moves are no-ops); the gradient
// comes back to the sweep device.
SWEEP(to) {
  for (const Shape& shape : {Shape{7, 13}, Shape{}, Shape{0, 4}}) {
    check_op(
        "to the host and back " + shape_str(shape), {random_input(shape, rng)},
        [](const Tensors& t) { return Tensors{t[0].to(Device::cpu()).to(t[0].device())}; },
        [](const Arrays& a) { return Arrays{a[0]}; },
        [](const Arrays&, const Arrays& g) { return Arrays{g[0]}; }, rng);
  }
}

SWEEP(concat) {
  check_op(
      "concat dim 1",
      {random_input({2, 3}, rng), random_input({2, 5}, rng), random_input({2, 1}, rng)},
      [](const Tensors& t) { return Tensors{pa::concat(t, 1)}; },
      [](const Arrays& a) { return Arrays{ref::concat(a, 1)}; },
      [](const Arrays&, const Arrays& g) {
        return ref::concat_backward({{2, 3}, {2, 5}, {2, 1}}, 1, g[0]);
      },
      rng);
  check_op(
      "concat with an empty piece", {random_input({0, 3}, rng), random_input({4, 3}, rng)},
      [](const Tensors& t) { return Tensors{pa::concat(t, -2)}; },
      [](const Arrays& a) { return Arrays{ref::concat(a, 0)}; },
      [](const Arrays&, const Arrays& g) {
        return ref::concat_backward({{0, 3}, {4, 3}}, 0, g[0]);
      },
      rng);
}

SWEEP(split) {
  check_op(
      "split sizes", {random_input({7, 13}, rng)},
      [](const Tensors& t) {
        return pa::split(t[0], std::vector<int64_t>{3, 4, 6}, 1);
      },
      [](const Arrays& a) {
        return ref::split(a[0], {3, 4, 6}, 1);
      },
      [](const Arrays&, const Arrays& g) { return Arrays{ref::split_backward(g, 1)}; }, rng);
  check_op(
      "split chunks", {random_input({7, 4}, rng)},
      [](const Tensors& t) { return pa::split(t[0], int64_t{3}, 0); },
      [](const Arrays& a) {
        return ref::split(a[0], {3, 3, 1}, 0);
      },
      [](const Arrays&, const Arrays& g) { return Arrays{ref::split_backward(g, 0)}; }, rng);
}

SWEEP(stack) {
  for (int dim : {0, 1, 2}) {
    check_op(
        "stack dim " + std::to_string(dim),
        {random_input({3, 5}, rng), random_input({3, 5}, rng), random_input({3, 5}, rng)},
        [dim](const Tensors& t) { return Tensors{pa::stack(t, dim)}; },
        [dim](const Arrays& a) { return Arrays{ref::stack(a, dim)}; },
        [dim](const Arrays&, const Arrays& g) { return ref::stack_backward(3, dim, g[0]); }, rng);
  }
}

// ---- reductions ----
struct ReduceCase {
  Shape shape;
  std::vector<int64_t> dims;  // engine dims (may be negative)
  std::vector<int> ref_dims;  // normalised
  bool keepdim;
};
const std::vector<ReduceCase> kReduceCases = {
    {{3, 5, 7}, {}, {}, false},   {{3, 5, 7}, {1}, {1}, true}, {{3, 5, 7}, {0, -1}, {0, 2}, false},
    {{0, 4}, {0}, {0}, false},    {{1, 33}, {1}, {1}, false},  {{4, 1000}, {1}, {1}, false},
    {{3, 5, 7}, {-1}, {2}, false}};

SWEEP(sum) {
  for (const ReduceCase& c : kReduceCases) {
    check_op(
        "sum " + shape_str(c.shape), {random_input(c.shape, rng)},
        [&](const Tensors& t) { return Tensors{pa::sum(t[0], c.dims, c.keepdim)}; },
        [&](const Arrays& a) { return Arrays{ref::sum(a[0], c.ref_dims, c.keepdim)}; },
        [&](const Arrays& a, const Arrays& g) {
          return Arrays{ref::sum_backward(a[0], c.ref_dims, c.keepdim, g[0])};
        },
        rng);
  }
}

SWEEP(mean) {
  for (const ReduceCase& c : kReduceCases) {
    if (c.shape == Shape{0, 4}) continue;  // the mean of nothing is NaN on both sides
    check_op(
        "mean " + shape_str(c.shape), {random_input(c.shape, rng)},
        [&](const Tensors& t) { return Tensors{pa::mean(t[0], c.dims, c.keepdim)}; },
        [&](const Arrays& a) { return Arrays{ref::mean(a[0], c.ref_dims, c.keepdim)}; },
        [&](const Arrays& a, const Arrays& g) {
          return Arrays{ref::mean_backward(a[0], c.ref_dims, c.keepdim, g[0])};
        },
        rng);
  }
}

SWEEP(max) {
  for (auto [dim, keepdim] :
       std::vector<std::pair<int, bool>>{{1, false}, {-1, true}, {0, false}}) {
    const int ref_dim = (dim + 3) % 3;
    check_op(
        "max dim " + std::to_string(dim), {random_input({4, 7, 5}, rng)},
        [dim = dim, keepdim = keepdim](const Tensors& t) {
          return Tensors{pa::max(t[0], dim, keepdim)};
        },
        [ref_dim, keepdim = keepdim](const Arrays& a) {
          return Arrays{ref::max(a[0], ref_dim, keepdim)};
        },
        [ref_dim, keepdim = keepdim](const Arrays& a, const Arrays& g) {
          return Arrays{ref::max_backward(a[0], ref_dim, keepdim, g[0])};
        },
        rng);
  }
}

SWEEP(var) {
  struct Case {
    std::vector<int64_t> dims;
    std::vector<int> ref_dims;
    int64_t correction;
    bool keepdim;
  };
  for (const Case& c :
       {Case{{1}, {1}, 1, false}, Case{{}, {}, 0, false}, Case{{0}, {0}, 1, true}}) {
    check_op(
        "var", {random_input({5, 7}, rng)},
        [&](const Tensors& t) { return Tensors{pa::var(t[0], c.dims, c.correction, c.keepdim)}; },
        [&](const Arrays& a) {
          return Arrays{ref::var(a[0], c.ref_dims, c.correction, c.keepdim)};
        },
        [&](const Arrays& a, const Arrays& g) {
          return Arrays{ref::var_backward(a[0], c.ref_dims, c.correction, c.keepdim, g[0])};
        },
        rng);
  }
}

// ---- softmax family, layer norm, losses ----
SWEEP(softmax) {
  for (int dim : {1, -1, 0}) {
    const int ref_dim = (dim + 3) % 3;
    check_op(
        "softmax dim " + std::to_string(dim), {random_input({3, 5, 7}, rng, -3.0, 3.0)},
        [dim](const Tensors& t) { return Tensors{pa::softmax(t[0], dim)}; },
        [ref_dim](const Arrays& a) { return Arrays{ref::softmax(a[0], ref_dim)}; },
        [ref_dim](const Arrays& a, const Arrays& g) {
          return Arrays{ref::softmax_backward(a[0], ref_dim, g[0])};
        },
        rng);
  }
  // Rows longer than a vector (the vectorised last-dim path, with a tail) and of length 1.
  // Rows longer than a GPU block (1000) too.
  for (const Shape& shape : {Shape{4, 37}, Shape{3, 1}, Shape{2, 64}, Shape{4, 1000}}) {
    check_op(
        "softmax last dim of " + shape_str(shape), {random_input(shape, rng, -3.0, 3.0)},
        [](const Tensors& t) { return Tensors{pa::softmax(t[0], -1)}; },
        [](const Arrays& a) { return Arrays{ref::softmax(a[0], 1)}; },
        [](const Arrays& a, const Arrays& g) {
          return Arrays{ref::softmax_backward(a[0], 1, g[0])};
        },
        rng);
  }
}

SWEEP(log_softmax) {
  for (int dim : {1, -1}) {
    const int ref_dim = (dim + 3) % 3;
    check_op(
        "log_softmax dim " + std::to_string(dim), {random_input({3, 5, 7}, rng, -3.0, 3.0)},
        [dim](const Tensors& t) { return Tensors{pa::log_softmax(t[0], dim)}; },
        [ref_dim](const Arrays& a) { return Arrays{ref::log_softmax(a[0], ref_dim)}; },
        [ref_dim](const Arrays& a, const Arrays& g) {
          return Arrays{ref::log_softmax_backward(a[0], ref_dim, g[0])};
        },
        rng);
  }
  // Rows longer than a vector (the vectorised last-dim path, with a tail) and of length 1.
  for (const Shape& shape : {Shape{4, 37}, Shape{3, 1}, Shape{2, 64}, Shape{4, 1000}}) {
    check_op(
        "log_softmax last dim of " + shape_str(shape), {random_input(shape, rng, -3.0, 3.0)},
        [](const Tensors& t) { return Tensors{pa::log_softmax(t[0], -1)}; },
        [](const Arrays& a) { return Arrays{ref::log_softmax(a[0], 1)}; },
        [](const Arrays& a, const Arrays& g) {
          return Arrays{ref::log_softmax_backward(a[0], 1, g[0])};
        },
        rng);
  }
}

SWEEP(layer_norm) {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{4, 7, 13}, {13}}, {{4, 7, 13}, {7, 13}},
                                                       {{5, 1}, {1}},      {{3, 65}, {65}},
                                                       {{2, 8}, {8}},      {{3, 700}, {700}}};
  for (const auto& [sx, sw] : shapes) {
    check_op(
        "layer_norm " + shape_str(sx) + " over " + shape_str(sw),
        {random_input(sx, rng, -2.0, 2.0), random_input(sw, rng, 0.5, 1.5), random_input(sw, rng)},
        [](const Tensors& t) { return Tensors{pa::layer_norm(t[0], t[1], t[2], 1e-5f)}; },
        [](const Arrays& a) { return Arrays{ref::layer_norm(a[0], a[1], a[2], 1e-5)}; },
        [](const Arrays& a, const Arrays& g) {
          return ref::layer_norm_backward(a[0], a[1], a[2], 1e-5, g[0]);
        },
        rng, Tolerance{1e-4, 1e-4});
  }
}

SWEEP(rms_norm) {
  // One and two normalised dims, rows of 1, a row longer than a GPU block, and an empty batch.
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{4, 7, 13}, {13}}, {{4, 7, 13}, {7, 13}}, {{5, 1}, {1}}, {{3, 700}, {700}}, {{0, 8}, {8}}};
  for (const auto& [sx, sw] : shapes) {
    check_op(
        "rms_norm " + shape_str(sx) + " over " + shape_str(sw),
        {random_input(sx, rng, -2.0, 2.0), random_input(sw, rng, 0.5, 1.5)},
        [](const Tensors& t) { return Tensors{pa::rms_norm(t[0], t[1], 1e-6f)}; },
        [](const Arrays& a) { return Arrays{ref::rms_norm(a[0], a[1], 1e-6)}; },
        [](const Arrays& a, const Arrays& g) {
          return ref::rms_norm_backward(a[0], a[1], 1e-6, g[0]);
        },
        rng, Tolerance{1e-4, 1e-4});
  }
}

SWEEP(mse_loss) {
  // One GPU block of partials and several (7 x 130).
  for (const Shape& shape : {Shape{7, 13}, Shape{7, 130}, Shape{1}}) {
    check_op(
        "mse_loss " + shape_str(shape), {random_input(shape, rng), random_input(shape, rng)},
        [](const Tensors& t) { return Tensors{pa::mse_loss(t[0], t[1])}; },
        [](const Arrays& a) { return Arrays{ref::mse_loss(a[0], a[1])}; },
        [](const Arrays& a, const Arrays& g) { return ref::mse_loss_backward(a[0], a[1], g[0]); },
        rng);
  }
}

SWEEP(cross_entropy) {
  for (auto [N, C] : std::vector<std::pair<int64_t, int64_t>>{{9, 7}, {1, 1}, {33, 65}}) {
    std::uniform_int_distribution<int64_t> label(0, C - 1);
    std::vector<int64_t> targets(N);
    for (int64_t& t : targets) t = label(rng);
    const Tensor target_tensor = from_indices(targets, {N});
    check_op(
        "cross_entropy (" + std::to_string(N) + ", " + std::to_string(C) + ")",
        {random_input({N, C}, rng, -3.0, 3.0)},
        [&](const Tensors& t) {
          return Tensors{pa::cross_entropy(t[0], target_tensor.to(t[0].device()))};
        },
        [&](const Arrays& a) { return Arrays{ref::cross_entropy(a[0], targets)}; },
        [&](const Arrays& a, const Arrays& g) {
          return Arrays{ref::cross_entropy_backward(a[0], targets, g[0])};
        },
        rng);
  }
}

// ---- dropout, embedding, masking ----
SWEEP(dropout) {
  const float p = 0.3f;
  Generator generator(case_seed("dropout generator"));
  const Input x = random_input({20, 31}, rng);
  Tensor out;
  check_op(
      "dropout", {x},
      [&](const Tensors& t) {
        out = pa::dropout(t[0], p, true, generator);
        return Tensors{out};
      },
      [&](const Arrays& a) {
        // The kept positions are the engine's random draw: read them off its output
        // (inputs are never exactly zero).
        ref::Array mask = to_array(out.detach());
        for (double& m : mask.data) m = m != 0.0 ? 1.0 : 0.0;
        return Arrays{ref::dropout(a[0], mask, p)};
      },
      [&](const Arrays&, const Arrays& g) {
        ref::Array mask = to_array(out.detach());
        for (double& m : mask.data) m = m != 0.0 ? 1.0 : 0.0;
        return Arrays{ref::dropout_backward(mask, p, g[0])};
      },
      rng);
  // About p of the elements are dropped; the same seed drops the same ones; eval is identity.
  const std::vector<float> values = out.to_vector();
  const double dropped =
      std::count(values.begin(), values.end(), 0.0f) / static_cast<double>(values.size());
  EXPECT_NEAR(dropped, p, 0.06);
  Generator again(case_seed("dropout generator"));
  EXPECT_EQ(pa::dropout(x.tensor, p, true, again).to_vector(), values);
  EXPECT_EQ(pa::dropout(x.tensor, p, false).to_vector(), x.tensor.to_vector());
}

SWEEP(embedding) {
  const std::vector<int64_t> ids = {3, 0, 10, 3, 7, 7, 1, 3, 0, 9, 2, 10};
  const Tensor indices = from_indices(ids, {3, 4});
  check_op(
      "embedding", {random_input({11, 5}, rng)},
      [&](const Tensors& t) { return Tensors{pa::embedding(t[0], indices.to(t[0].device()))}; },
      [&](const Arrays& a) {
        return Arrays{ref::embedding(a[0], ids, {3, 4})};
      },
      [&](const Arrays&, const Arrays& g) {
        return Arrays{ref::embedding_backward({11, 5}, ids, g[0])};
      },
      rng);
}

SWEEP(masked_fill) {
  for (const auto& [sx, sm] :
       std::vector<std::pair<Shape, Shape>>{{{4, 7}, {1, 7}}, {{3, 5}, {3, 5}}}) {
    check_op(
        "masked_fill " + shape_str(sm), {random_input(sx, rng), random_mask(sm, rng)},
        [](const Tensors& t) { return Tensors{pa::masked_fill(t[0], t[1], -7.5f)}; },
        [](const Arrays& a) { return Arrays{ref::masked_fill(a[0], a[1], -7.5)}; },
        [](const Arrays& a, const Arrays& g) {
          return Arrays{ref::masked_fill_backward(a[0], a[1], g[0])};
        },
        rng);
  }
}

SWEEP(where) {
  check_op(
      "where broadcast",
      {random_mask({4, 1}, rng, 0.5), random_input({4, 7}, rng), random_input({7}, rng)},
      [](const Tensors& t) { return Tensors{pa::where(t[0], t[1], t[2])}; },
      [](const Arrays& a) { return Arrays{ref::where(a[0], a[1], a[2])}; },
      [](const Arrays& a, const Arrays& g) { return ref::where_backward(a[0], a[1], a[2], g[0]); },
      rng);
}

// ---- attention ----
SWEEP(scaled_dot_product_attention) {
  struct Case {
    int64_t B, H, Nq, Nk, D, Dv;
    bool causal;
    bool padded;
    bool large = false;  // run with the default tiles only (slow with tiny CPU tiles)
  };
  const std::vector<Case> cases = {{2, 3, 7, 7, 5, 5, false, false},
                                   {2, 3, 7, 7, 5, 5, true, false},
                                   {2, 2, 5, 6, 4, 3, false, true},
                                   {1, 1, 1, 1, 1, 1, true, false},
                                   {2, 1, 9, 9, 33, 17, true, true},
                                   // Past one 64 x 64 tile: online softmax across key blocks,
                                   // causal block skipping, ragged last blocks.
                                   {1, 2, 130, 130, 16, 16, true, true},
                                   {2, 1, 70, 150, 8, 12, false, true},
                                   {1, 1, 65, 65, 64, 64, true, false},
                                   // The GPU kernels' head dims (built for 32, 64 and 128), one
                                   // past a tile, Dv != D, a long causal row, and a head dim
                                   // past the fused kernels (the composition on the GPU).
                                   {1, 2, 1, 1, 32, 32, false, false},
                                   {2, 2, 17, 17, 64, 64, true, true},
                                   {1, 2, 65, 130, 128, 96, false, true, true},
                                   {1, 1, 1000, 1000, 64, 64, true, false, true},
                                   {1, 1, 130, 70, 33, 128, false, false, true},
                                   {1, 1, 20, 20, 160, 40, true, false}};
  // Every case three times: the default tiles, tiny ones (many blocks per row), and tiny ones in
  // float64, which must then agree with the double reference to within the rounding of float32
  // inputs and outputs (a tolerance the float32 tiles fail, at up to 4e-7).
  const pa::cpu::CpuConfig saved = pa::cpu::cpu_config();
  using pa::cpu::AttentionPrecision;
  struct Setting {
    int64_t block;
    AttentionPrecision precision;
    Tolerance tolerance;
  };
  for (const Setting& setting : {Setting{0, AttentionPrecision::Float32, Tolerance{2e-5, 2e-4}},
                                 Setting{5, AttentionPrecision::Float32, Tolerance{2e-5, 2e-4}},
                                 Setting{5, AttentionPrecision::Float64, Tolerance{3e-8, 3e-7}}}) {
    // The tiles and the precision are the CPU kernel's tunables; on the GPU sweep only the
    // float32 settings apply.
    if (setting.precision == AttentionPrecision::Float64 && sweep_device().is_cuda()) continue;
    const int64_t block = setting.block;
    pa::cpu::cpu_config().attention_block_q = block > 0 ? block : saved.attention_block_q;
    pa::cpu::cpu_config().attention_block_k = block > 0 ? block + 2 : saved.attention_block_k;
    pa::cpu::cpu_config().attention_precision = setting.precision;
    for (const Case& c : cases) {
      if (c.large && block > 0) continue;
      std::vector<Input> inputs = {random_input({c.B, c.H, c.Nq, c.D}, rng, -2.0, 2.0),
                                   random_input({c.B, c.H, c.Nk, c.D}, rng, -2.0, 2.0),
                                   random_input({c.B, c.H, c.Nk, c.Dv}, rng)};
      Input mask;
      mask.array.shape = {};
      if (c.padded) {
        mask = random_mask({c.B, c.Nk}, rng, 0.3);
        // Hide every key of the last sequence: its rows must come out as zeros.
        for (int64_t j = 0; j < c.Nk; ++j) mask.array.data[(c.B - 1) * c.Nk + j] = 1.0;
        mask.tensor = to_tensor(mask.array);
      }
      const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
      check_op(
          "sdpa B" + std::to_string(c.B) + " Nq" + std::to_string(c.Nq) + " Nk" +
              std::to_string(c.Nk) + (c.causal ? " causal" : "") + (c.padded ? " padded" : "") +
              (setting.precision == AttentionPrecision::Float64 ? " float64" : ""),
          inputs,
          [&](const Tensors& t) {  // the mask follows q to its device
            const Tensor padding =
                mask.tensor.defined() ? mask.tensor.to(t[0].device()) : mask.tensor;
            return Tensors{pa::scaled_dot_product_attention(t[0], t[1], t[2], c.causal, padding)};
          },
          [&](const Arrays& a) {
            return Arrays{ref::sdpa(a[0], a[1], a[2], c.causal, mask.array, scale)};
          },
          [&](const Arrays& a, const Arrays& g) {
            return ref::sdpa_backward(a[0], a[1], a[2], c.causal, mask.array, scale, g[0]);
          },
          rng, setting.tolerance);
    }
  }
  pa::cpu::cpu_config() = saved;
}

}  // namespace
}  // namespace pa::testing
