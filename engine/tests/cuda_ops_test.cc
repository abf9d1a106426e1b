// GPU test (tag `gpu`, --config=cuda only): the ops that have CUDA kernels, forward and
// backward on the GPU, against the Eigen reference; ops without a CUDA kernel yet must fail
// with a clear pa::Error; tensors round-trip between host and device bit-exactly.
#include <gtest/gtest.h>

#include "engine/tests/oracle_check.h"

namespace pa::testing {
namespace {

const Device kGpu = Device::cuda(0);

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU visible";
  }
};

TEST_F(CudaOps, RoundTripIsExact) {
  std::mt19937_64 rng(case_seed("roundtrip"));
  const Input x = random_input({37, 129}, rng, -1.0, 1.0, false);
  const Tensor on_gpu = x.tensor.to(kGpu);
  EXPECT_TRUE(on_gpu.device().is_cuda());
  EXPECT_EQ(on_gpu.to(Device::cpu()).to_vector(), x.tensor.to_vector());
  // A non-contiguous view copies correctly too.
  EXPECT_EQ(transpose(on_gpu, 0, 1).contiguous().to_vector(),
            transpose(x.tensor, 0, 1).contiguous().to_vector());
}

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> engine;
  std::function<ref::Array(const ref::Array&)> reference;
  std::function<ref::Array(const ref::Array&, const ref::Array&)> backward;
  double low, high;
};

TEST_F(CudaOps, UnaryForwardBackward) {
  const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, ref::neg, ref::neg_backward, -2, 2},
      {"pow", [](const Tensor& x) { return pow(x, 2.5f); },
       [](const ref::Array& x) { return ref::pow_scalar(x, 2.5); },
       [](const ref::Array& x, const ref::Array& g) { return ref::pow_scalar_backward(x, 2.5, g); },
       0.5, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, ref::exp, ref::exp_backward, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, ref::log, ref::log_backward, 0.1, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, ref::sqrt, ref::sqrt_backward, 0.1, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, ref::tanh, ref::tanh_backward, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, ref::sigmoid, ref::sigmoid_backward,
       -4, 4},
      {"relu", [](const Tensor& x) { return relu(x); }, ref::relu, ref::relu_backward, -2, 2},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApproximation::Tanh); },
       ref::gelu_tanh, ref::gelu_tanh_backward, -4, 4},
      {"gelu_erf", [](const Tensor& x) { return gelu(x, GeluApproximation::Erf); }, ref::gelu_erf,
       ref::gelu_erf_backward, -4, 4},
  };
  // Sizes around the float4 path: tails of 1..3, a single element, empty, a large odd size.
  const std::vector<Shape> shapes = {{7, 13}, {1}, {0, 5}, {4, 4}, {3, 1001}, {1 << 20}};
  for (const UnaryCase& c : cases) {
    std::mt19937_64 rng(case_seed("cuda " + c.name));
    for (const Shape& shape : shapes) {
      check_op(
          c.name + " " + shape_str(shape), {random_input(shape, rng, c.low, c.high)},
          [&](const std::vector<Tensor>& t) { return std::vector<Tensor>{c.engine(t[0])}; },
          [&](const std::vector<ref::Array>& a) {
            return std::vector<ref::Array>{c.reference(a[0])};
          },
          [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
            return std::vector<ref::Array>{c.backward(a[0], g[0])};
          },
          rng, Tolerance{1e-5, 1e-4}, kGpu);
    }
  }
}

TEST_F(CudaOps, BinaryForwardBackwardSameShape) {
  std::mt19937_64 rng(case_seed("cuda binary"));
  using Binary = Tensor (*)(const Tensor&, const Tensor&);
  using RefBinary = ref::Array (*)(const ref::Array&, const ref::Array&);
  using RefBackward =
      std::vector<ref::Array> (*)(const ref::Array&, const ref::Array&, const ref::Array&);
  const std::vector<std::tuple<std::string, Binary, RefBinary, RefBackward>> cases = {
      {"add", static_cast<Binary>(add), ref::add, ref::add_backward},
      {"sub", static_cast<Binary>(sub), ref::sub, ref::sub_backward},
      {"mul", static_cast<Binary>(mul), ref::mul, ref::mul_backward},
      {"div", static_cast<Binary>(div), ref::div, ref::div_backward}};
  for (const auto& [name, engine, reference, backward] : cases) {
    for (const Shape& shape : std::vector<Shape>{{7, 13}, {1}, {0, 3}, {3, 5, 1001}}) {
      check_op(
          name + " " + shape_str(shape),
          {random_input(shape, rng), random_input(shape, rng, 0.5, 2.0)},
          [engine = engine](const std::vector<Tensor>& t) {
            return std::vector<Tensor>{engine(t[0], t[1])};
          },
          [reference = reference](const std::vector<ref::Array>& a) {
            return std::vector<ref::Array>{reference(a[0], a[1])};
          },
          [backward = backward](const std::vector<ref::Array>& a,
                                const std::vector<ref::Array>& g) {
            return backward(a[0], a[1], g[0]);
          },
          rng, Tolerance{1e-5, 1e-4}, kGpu);
    }
  }
}

TEST_F(CudaOps, BinaryBroadcastForward) {
  std::mt19937_64 rng(case_seed("cuda broadcast"));
  for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
           {{3, 1, 5}, {4, 5}}, {{5, 1}, {1, 6}}, {{}, {2, 3}}, {{2, 3, 33}, {1, 3, 1}}}) {
    const Input a = random_input(sa, rng, -1, 1, false);
    const Input b = random_input(sb, rng, 0.5, 2.0, false);
    const Tensor out = div(a.tensor.to(kGpu), b.tensor.to(kGpu));
    const std::string message = compare("div " + shape_str(sa) + " / " + shape_str(sb), out,
                                        ref::div(a.array, b.array), Tolerance{1e-6, 1e-6});
    EXPECT_TRUE(message.empty()) << message;
  }
}

TEST_F(CudaOps, OpsWithoutKernelsSayHowToProceed) {
  const Tensor x = ones({2, 3}).to(kGpu);
  try {
    matmul(x, transpose(x, 0, 1));
    FAIL() << "matmul on the GPU should not silently run";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no CUDA kernel yet"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("(2, 3)"), std::string::npos);
  }
  EXPECT_THROW(add(x, ones({2, 3})), Error);  // mixed devices
}

}  // namespace
}  // namespace pa::testing
