// GPU test (tag `gpu`, --config=cuda only): the ops that have CUDA kernels, forward and
// backward on the GPU, against the Eigen reference; bad input fails with a clear pa::Error;
// tensors round-trip between host and device bit-exactly.
#include <gtest/gtest.h>

#include <memory>

#include "engine/nn/layers.h"
#include "engine/optim/optimizer.h"
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

// Bad input on the GPU gets the same pa::Error as on the CPU: mixed devices, and indices out of
// range (checked on the host before any kernel reads them).
TEST_F(CudaOps, BadInputOnTheGpuGetsClearErrors) {
  const Tensor x = ones({2, 3}).to(kGpu);
  EXPECT_THROW(add(x, ones({2, 3})), Error);  // mixed devices
  try {
    embedding(ones({4, 3}).to(kGpu), from_indices({1, 4}, {2}).to(kGpu));
    FAIL() << "embedding read row 4 of 4";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("index 4 at position 1"), std::string::npos)
        << error.what();
  }
  try {
    cross_entropy(x, from_indices({0, 3}, {2}).to(kGpu));
    FAIL() << "cross_entropy took class 3 of 3";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("target 3 at position 1"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(embedding(ones({4, 3}).to(kGpu), from_indices({1, 2}, {2})), Error);  // ids on CPU
}

// matmul through cuda/gemm's best version: 2-D, batched (one launch of the batched GEMM), a
// batched a times a 2-D b (one GEMM), sizes off every tile, transposed operands (made
// contiguous on the device), broadcast batch dims.
TEST_F(CudaOps, MatmulForwardBackward) {
  std::mt19937_64 rng(case_seed("cuda matmul"));
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{7, 13}, {13, 5}},
      {{1, 1}, {1, 1}},
      {{3, 7, 9}, {9, 11}},
      {{2, 3, 4, 6}, {2, 3, 6, 5}},
      {{33, 17}, {17, 65}},
      {{130, 257}, {257, 129}},
      // batched GEMM: a shared b (stride 0), broadcasts on both sides (expanded), a batch of
      // attention's size (one launch of 128 products)
      {{2, 3, 4, 6}, {1, 1, 6, 5}},
      {{2, 1, 4, 6}, {1, 3, 6, 5}},
      {{128, 32, 8}, {128, 8, 33}}};
  for (const auto& [sa, sb] : shapes) {
    check_op(
        "matmul " + shape_str(sa) + " @ " + shape_str(sb),
        {random_input(sa, rng), random_input(sb, rng)},
        [](const std::vector<Tensor>& t) { return std::vector<Tensor>{matmul(t[0], t[1])}; },
        [](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::matmul(a[0], a[1])};
        },
        [](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return ref::matmul_backward(a[0], a[1], g[0]);
        },
        rng, Tolerance{1e-5, 1e-4}, kGpu);
  }
  // Transposed views and a broadcast batch dim (forward: its backward needs sum on the GPU).
  const Input a = random_input({5, 9}, rng, -1, 1, false),
              b = random_input({2, 5, 7}, rng, -1, 1, false);
  const Tensor out = matmul(transpose(a.tensor.to(kGpu), 0, 1), b.tensor.to(kGpu));  // (2, 9, 7)
  const std::string message =
      compare("matmul a^T @ batched b", out, ref::matmul(ref::transpose(a.array, 0, 1), b.array),
              Tolerance{1e-5, 1e-4});
  EXPECT_TRUE(message.empty()) << message;
}

// Reductions and the row-wise ops on the GPU against the Eigen oracle, forward and backward:
// sums over leading, trailing, middle and all dims (the column and row kernels), mean, softmax
// and log-softmax along every dim of a 3-D tensor and along rows longer than a block,
// LayerNorm over one and two trailing dims, the MSE loss.
TEST_F(CudaOps, ReductionsAndRowwiseOps) {
  std::mt19937_64 rng(case_seed("cuda rowwise"));
  struct ReduceCase {
    Shape shape;
    std::vector<int64_t> dims;
    std::vector<int> ref_dims;
    bool keepdim;
  };
  const std::vector<ReduceCase> reductions = {
      {{3, 5, 7}, {}, {}, false},   {{3, 5, 7}, {0, 1}, {0, 1}, false},
      {{3, 5, 7}, {1}, {1}, true},  {{3, 5, 7}, {-1}, {2}, false},
      {{4, 1000}, {1}, {1}, false}, {{1, 33}, {1}, {1}, false}};
  for (const ReduceCase& c : reductions) {
    check_op(
        "sum " + shape_str(c.shape), {random_input(c.shape, rng)},
        [&](const std::vector<Tensor>& t) {
          return std::vector<Tensor>{sum(t[0], c.dims, c.keepdim)};
        },
        [&](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::sum(a[0], c.ref_dims, c.keepdim)};
        },
        [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return std::vector<ref::Array>{ref::sum_backward(a[0], c.ref_dims, c.keepdim, g[0])};
        },
        rng, Tolerance{1e-5, 1e-4}, kGpu);
    check_op(
        "mean " + shape_str(c.shape), {random_input(c.shape, rng)},
        [&](const std::vector<Tensor>& t) {
          return std::vector<Tensor>{mean(t[0], c.dims, c.keepdim)};
        },
        [&](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::mean(a[0], c.ref_dims, c.keepdim)};
        },
        [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return std::vector<ref::Array>{ref::mean_backward(a[0], c.ref_dims, c.keepdim, g[0])};
        },
        rng, Tolerance{1e-5, 1e-4}, kGpu);
  }
  for (const bool log : {false, true}) {
    for (const auto& [shape, dim] : std::vector<std::pair<Shape, int>>{
             {{3, 5, 7}, 0}, {{3, 5, 7}, 1}, {{3, 5, 7}, 2}, {{4, 1000}, 1}, {{6, 1}, 1}}) {
      check_op(
          std::string(log ? "log_softmax " : "softmax ") + shape_str(shape) + " dim " +
              std::to_string(dim),
          {random_input(shape, rng, -3.0, 3.0)},
          [&](const std::vector<Tensor>& t) {
            return std::vector<Tensor>{log ? log_softmax(t[0], dim) : softmax(t[0], dim)};
          },
          [&](const std::vector<ref::Array>& a) {
            return std::vector<ref::Array>{log ? ref::log_softmax(a[0], dim)
                                               : ref::softmax(a[0], dim)};
          },
          [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
            return std::vector<ref::Array>{log ? ref::log_softmax_backward(a[0], dim, g[0])
                                               : ref::softmax_backward(a[0], dim, g[0])};
          },
          rng, Tolerance{1e-5, 1e-4}, kGpu);
    }
  }
  for (const auto& [sx, sw] : std::vector<std::pair<Shape, Shape>>{
           {{4, 7, 13}, {13}}, {{4, 7, 13}, {7, 13}}, {{5, 1}, {1}}, {{3, 700}, {700}}}) {
    check_op(
        "layer_norm " + shape_str(sx),
        {random_input(sx, rng, -2.0, 2.0), random_input(sw, rng, 0.5, 1.5), random_input(sw, rng)},
        [](const std::vector<Tensor>& t) {
          return std::vector<Tensor>{layer_norm(t[0], t[1], t[2], 1e-5f)};
        },
        [](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::layer_norm(a[0], a[1], a[2], 1e-5)};
        },
        [](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return ref::layer_norm_backward(a[0], a[1], a[2], 1e-5, g[0]);
        },
        rng, Tolerance{1e-4, 1e-4}, kGpu);
  }
  check_op(
      "mse_loss", {random_input({7, 130}, rng), random_input({7, 130}, rng)},
      [](const std::vector<Tensor>& t) { return std::vector<Tensor>{mse_loss(t[0], t[1])}; },
      [](const std::vector<ref::Array>& a) {
        return std::vector<ref::Array>{ref::mse_loss(a[0], a[1])};
      },
      [](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
        return ref::mse_loss_backward(a[0], a[1], g[0]);
      },
      rng, Tolerance{1e-5, 1e-4}, kGpu);
}

// Attention on the GPU (the composition that stands in until cuda/attention/): plain, causal,
// key padding with a sequence whose keys are all hidden (its rows must come out as zeros).
TEST_F(CudaOps, AttentionForwardBackward) {
  std::mt19937_64 rng(case_seed("cuda sdpa"));
  struct Case {
    int64_t B, H, Nq, Nk, D, Dv;
    bool causal, padded;
  };
  // FlashAttention-2 kernels (head dims up to 128, each built for 32, 64, 128): lengths 1, 17,
  // 65 (one past a tile), 1000, Nq != Nk, Dv != D, causal and padded; the composition beyond.
  for (const Case& c : std::vector<Case>{{2, 3, 7, 7, 5, 5, false, false},
                                         {2, 3, 9, 9, 8, 8, true, false},
                                         {2, 2, 5, 6, 4, 3, false, true},
                                         {2, 1, 9, 9, 16, 12, true, true},
                                         {1, 2, 1, 1, 32, 32, false, false},
                                         {1, 2, 1, 1, 64, 64, true, false},
                                         {2, 2, 17, 17, 64, 64, true, true},
                                         {1, 2, 65, 130, 128, 96, false, true},
                                         {1, 1, 1000, 1000, 64, 64, true, false},
                                         {1, 1, 130, 70, 33, 128, false, false},
                                         {1, 1, 20, 20, 160, 40, true, false}}) {
    Input mask;
    mask.array.shape = {};
    if (c.padded) {
      mask = random_mask({c.B, c.Nk}, rng, 0.3);
      for (int64_t j = 0; j < c.Nk; ++j) mask.array.data[(c.B - 1) * c.Nk + j] = 1.0;
      mask.tensor = to_tensor(mask.array);
    }
    const Tensor gpu_mask = c.padded ? mask.tensor.to(kGpu) : Tensor();
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
    check_op(
        "sdpa Nq" + std::to_string(c.Nq) + (c.causal ? " causal" : "") +
            (c.padded ? " padded" : ""),
        {random_input({c.B, c.H, c.Nq, c.D}, rng, -2.0, 2.0),
         random_input({c.B, c.H, c.Nk, c.D}, rng, -2.0, 2.0),
         random_input({c.B, c.H, c.Nk, c.Dv}, rng)},
        [&](const std::vector<Tensor>& t) {
          return std::vector<Tensor>{
              scaled_dot_product_attention(t[0], t[1], t[2], c.causal, gpu_mask)};
        },
        [&](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::sdpa(a[0], a[1], a[2], c.causal, mask.array, scale)};
        },
        [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return ref::sdpa_backward(a[0], a[1], a[2], c.causal, mask.array, scale, g[0]);
        },
        rng, Tolerance{2e-5, 2e-4}, kGpu);
  }
}

// A long, ragged sequence (4097 = 64 tiles + 1 row) through the FlashAttention-2 kernels against
// the Eigen oracle, causal with a padding mask and plain. Left out of the sanitizer runs (slow).
TEST_F(CudaOps, AttentionLongSequence) {
  std::mt19937_64 rng(case_seed("cuda sdpa long"));
  const int64_t N = 4097, D = 64;
  for (const bool causal : {false, true}) {
    Input mask = random_mask({1, N}, rng, 0.1);
    const Tensor gpu_mask = mask.tensor.to(kGpu);
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    check_op(
        std::string("sdpa N4097") + (causal ? " causal padded" : " padded"),
        {random_input({1, 1, N, D}, rng, -2.0, 2.0), random_input({1, 1, N, D}, rng, -2.0, 2.0),
         random_input({1, 1, N, D}, rng)},
        [&](const std::vector<Tensor>& t) {
          return std::vector<Tensor>{
              scaled_dot_product_attention(t[0], t[1], t[2], causal, gpu_mask)};
        },
        [&](const std::vector<ref::Array>& a) {
          return std::vector<ref::Array>{ref::sdpa(a[0], a[1], a[2], causal, mask.array, scale)};
        },
        [&](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
          return ref::sdpa_backward(a[0], a[1], a[2], causal, mask.array, scale, g[0]);
        },
        rng, Tolerance{2e-5, 2e-4}, kGpu);
  }
}

// A contiguous view that starts 8 bytes into its storage (not on the 16-byte boundary the
// kernels' vector loads need) gives the same attention, forward and backward, as an aligned copy.
TEST_F(CudaOps, AttentionOfAMisalignedView) {
  const int64_t N = 70, D = 64;
  Generator generator(5);
  const Tensor flat = randn({2 + N * D}, generator).to(kGpu);
  const Tensor view = reshape(slice(flat, 0, 2, 2 + N * D), {1, 1, N, D});  // offset: 2 floats
  ASSERT_TRUE(view.is_contiguous());
  std::vector<std::vector<float>> results;
  for (const Tensor& base : {view, contiguous_copy(view)}) {
    Tensor q = base.detach();
    q.set_requires_grad(true);
    const Tensor out = scaled_dot_product_attention(q, base, base, true);
    sum(mul(out, out)).backward();
    results.push_back(out.to_vector());
    results.push_back(q.grad().to_vector());
  }
  EXPECT_EQ(results[0], results[2]);
  EXPECT_EQ(results[1], results[3]);
}

// No N x N buffer: attention forward and backward at N = 16384 (an N x N float matrix would be
// 1 GiB) keep the allocator's peak near the size of q, k, v, out and their gradients.
TEST_F(CudaOps, AttentionMemoryIsLinearInN) {
  const int64_t N = 16384, D = 64;
  const TensorOptions on_gpu = TensorOptions().with_device(kGpu);
  Generator generator(11);
  Tensor q = randn({1, 1, N, D}, generator).to(kGpu), k = randn({1, 1, N, D}, generator).to(kGpu),
         v = randn({1, 1, N, D}, generator).to(kGpu);
  for (Tensor* t : {&q, &k, &v}) t->set_requires_grad(true);
  synchronize(kGpu);
  reset_peak_memory(kGpu);
  const size_t base = memory_stats(kGpu).allocated;
  {
    const Tensor out = scaled_dot_product_attention(q, k, v, true);
    out.backward(ones(out.shape(), on_gpu));
    synchronize(kGpu);
  }
  const size_t peak = memory_stats(kGpu).peak_allocated;
  const size_t matrix = size_t(N) * D * sizeof(float);  // 4 MiB
  EXPECT_LT(peak - std::min(peak, base), 12 * matrix)
      << "attention at N = " << N << " allocated " << (peak - base) << " bytes beyond its inputs";
  EXPECT_TRUE(std::isfinite(q.grad().to_vector()[0]));
}

// The optimizers on the GPU follow the CPU step for step: the same model, data and updates on
// both devices give the same losses and parameters (to float32 rounding), gradient clipping
// included.
TEST_F(CudaOps, OptimizersMatchTheCpu) {
  for (const bool use_adam : {true, false}) {
    std::vector<std::vector<float>> losses(2), weights(2);
    for (int device = 0; device < 2; ++device) {
      const Device where = device == 0 ? Device::cpu() : kGpu;
      Generator generator(3);
      nn::Linear linear(9, 4, true, generator);
      linear.to(where);
      const Tensor x = randn({16, 9}, generator).to(where), y = randn({16, 4}, generator).to(where);
      std::unique_ptr<optim::Optimizer> optimizer;
      if (use_adam) {
        optim::AdamOptions options;
        options.lr = 0.05f;
        options.weight_decay = 0.01f;
        optimizer = std::make_unique<optim::AdamW>(linear.parameters(), options);
      } else {
        optim::SGDOptions options;
        options.lr = 0.05f;
        options.momentum = 0.9f;
        optimizer = std::make_unique<optim::SGD>(linear.parameters(), options);
      }
      for (int step = 0; step < 6; ++step) {
        optimizer->zero_grad();
        const Tensor loss = mse_loss(linear.forward(x), y);
        loss.backward();
        optim::clip_grad_norm(linear.parameters(), 0.5);
        optimizer->step();
        losses[device].push_back(loss.item());
      }
      weights[device] = linear.weight.to(Device::cpu()).to_vector();
    }
    for (size_t i = 0; i < losses[0].size(); ++i) {
      EXPECT_NEAR(losses[1][i], losses[0][i], 1e-5 * (1 + std::abs(losses[0][i])))
          << (use_adam ? "AdamW" : "SGD") << " step " << i;
    }
    for (size_t i = 0; i < weights[0].size(); ++i) {
      EXPECT_NEAR(weights[1][i], weights[0][i], 1e-5) << (use_adam ? "AdamW" : "SGD");
    }
  }
}

// Views on the GPU: contiguous() of permuted and sliced tensors runs the strided copy kernel;
// slice's and concat's backward write through strided views on the device.
TEST_F(CudaOps, ViewsCopyOnTheDevice) {
  std::mt19937_64 rng(case_seed("cuda views"));
  const Input x = random_input({3, 4, 5, 6}, rng, -1, 1, false);
  const Tensor gpu = x.tensor.to(kGpu);
  for (const auto& view : std::vector<std::function<Tensor(const Tensor&)>>{
           [](const Tensor& t) {
             return permute(t, {3, 1, 0, 2});
           },
           [](const Tensor& t) { return slice(slice(t, 3, 1, 5), 0, 1, 3); },
           [](const Tensor& t) {
             return expand(slice(t, 1, 0, 1), {3, 4, 5, 6});
           }}) {
    EXPECT_EQ(contiguous(view(gpu)).to(Device::cpu()).to_vector(),
              contiguous(view(x.tensor)).to_vector());
  }
  check_op(
      "slice", {random_input({4, 9}, rng)},
      [](const std::vector<Tensor>& t) { return std::vector<Tensor>{slice(t[0], 1, 2, 7)}; },
      [](const std::vector<ref::Array>& a) {
        return std::vector<ref::Array>{ref::slice(a[0], 1, 2, 7)};
      },
      [](const std::vector<ref::Array>& a, const std::vector<ref::Array>& g) {
        return std::vector<ref::Array>{ref::slice_backward(g[0], a[0].shape, 1, 2)};
      },
      rng, Tolerance{1e-6, 1e-6}, kGpu);
  const Tensor joined = concat({gpu, gpu}, 2);  // (3, 4, 10, 6)
  EXPECT_EQ(joined.to(Device::cpu()).to_vector(), concat({x.tensor, x.tensor}, 2).to_vector());
}

// Streams: a forward and backward queued on two non-blocking streams give the default stream's
// results bit for bit; the caching allocator hands a block freed on one stream only to that
// stream again; a stream is a CUDA thing.
TEST_F(CudaOps, StreamsRunOpsAndKeepTheirBlocks) {
  std::mt19937_64 rng(case_seed("cuda streams"));
  const Tensor a = random_input({70, 33}, rng, -1, 1, false).tensor.to(kGpu);
  const Tensor b = random_input({33, 129}, rng, -1, 1, false).tensor.to(kGpu);
  const auto run = [&](std::vector<float>& out, std::vector<float>& grad) {
    Tensor w = b.detach();
    w.set_requires_grad(true);
    const Tensor y =
        layer_norm(softmax(matmul(a, w), -1), ones({129}).to(kGpu), zeros({129}).to(kGpu), 1e-5f);
    sum(mul(y, y)).backward();
    out = y.to_vector();  // a copy on the current stream: finished when it returns
    grad = w.grad().to_vector();
  };
  std::vector<float> want_out, want_grad;
  run(want_out, want_grad);
  const Stream first = Stream::create(kGpu), second = Stream::create(kGpu);
  for (const Stream& stream : {first, second}) {
    std::vector<float> out, grad;
    {
      StreamGuard guard(stream);
      run(out, grad);
    }
    stream.synchronize();
    EXPECT_EQ(out, want_out);
    EXPECT_EQ(grad, want_grad);
  }

  const int64_t n = 1234567;  // a size class no other test uses
  {
    StreamGuard guard(first);
    empty({n}, TensorOptions().with_device(kGpu));  // allocated and freed on `first`
  }
  const AllocatorStats before = memory_stats(kGpu);
  {
    StreamGuard guard(second);
    empty({n}, TensorOptions().with_device(kGpu));
  }
  EXPECT_EQ(memory_stats(kGpu).misses, before.misses + 1) << "second reused first's block";
  {
    StreamGuard guard(first);
    empty({n}, TensorOptions().with_device(kGpu));
  }
  EXPECT_EQ(memory_stats(kGpu).hits, before.hits + 1) << "first did not get its block back";
  first.synchronize();
  second.synchronize();
  EXPECT_THROW(Stream::create(Device::cpu()), Error);
}

// The CUDA caching allocator: a freed block is reused (no cudaMalloc), the statistics follow,
// empty_cache gives blocks back.
TEST_F(CudaOps, CachingAllocatorReusesAndReports) {
  empty_cache(kGpu);
  const AllocatorStats start = memory_stats(kGpu);
  { const Tensor t = empty({1000, 1000}, TensorOptions().with_device(kGpu)); }
  const AllocatorStats after_first = memory_stats(kGpu);
  EXPECT_EQ(after_first.allocated, start.allocated);
  EXPECT_GE(after_first.cached, 4000000u);
  EXPECT_GE(after_first.peak_allocated, start.allocated + 4000000u);
  { const Tensor t = empty({1000, 1000}, TensorOptions().with_device(kGpu)); }
  EXPECT_EQ(memory_stats(kGpu).hits, after_first.hits + 1);
  EXPECT_EQ(memory_stats(kGpu).misses, after_first.misses);
  empty_cache(kGpu);
  EXPECT_EQ(memory_stats(kGpu).cached, 0u);
}

// Running out of memory is a pa::Error with the sizes (compute-sanitizer reports the failed
// cudaMalloc as an API error, so tools/gpu_tests.sh leaves this case out of its memcheck run).
TEST_F(CudaOps, OutOfMemoryIsAnError) {
  try {
    const Tensor huge = empty({int64_t{1} << 40}, TensorOptions().with_device(kGpu));  // 4 TiB
    FAIL() << "a 4 TiB tensor should not fit";
  } catch (const Error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("4398046511104 bytes"), std::string::npos) << what;
    EXPECT_NE(what.find("free on the device"), std::string::npos) << what;
  }
  // The device is still usable after running out of memory.
  EXPECT_EQ(ones({3}).to(kGpu).to(Device::cpu()).to_vector(), std::vector<float>({1, 1, 1}));
}

}  // namespace
}  // namespace pa::testing
