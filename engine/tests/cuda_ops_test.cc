// GPU test (tag `gpu`, --config=cuda only): what the op sweep (ops_sweep_test with
// PA_SWEEP_DEVICE=cuda, which runs every op case on the GPU) cannot express: tensors round-trip
// between host and device bit-exactly; bad input fails with a clear pa::Error on the device;
// attention at lengths too slow for the CPU sweep, on misaligned views and in linear memory; the
// optimizers against the CPU; strided copies; streams, the caching allocator and running out of
// memory; float32 matmul and linear in TF32 when allowed.
#include <gtest/gtest.h>

#include <memory>

#include "cuda/common/runtime.h"
#include "engine/nn/layers.h"
#include "engine/optim/optimizer.h"
#include "engine/tests/oracle_check.h"

namespace pa::testing {
namespace {

const Device kGpu = Device::cuda(0);
using Arrays = std::vector<ref::Array>;
using Tensors = std::vector<Tensor>;

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU visible";
  }
};

// pa::set_allow_tf32(true): float32 matmul and linear (forward and backward) read their operands
// as tf32 on an sm_90 GPU. Against the Eigen oracle with a TF32 tolerance (each product off by at
// most 2^-9 of |a b|: at K <= 130 and |values| <= 1 the sums stay within 2e-2, typically 1e-3);
// the result must differ from the fp32 path's (the tensor cores ran) and, with the flag off
// again, match it bit for bit.
TEST_F(CudaOps, MatmulAndLinearInTf32WhenAllowed) {
  const cuda::DeviceCapability& device = cuda::current_device_capability();
  if (device.major != 9 || device.minor != 0) GTEST_SKIP() << "TF32 GEMM needs an sm_90 GPU";
  std::mt19937_64 rng(case_seed("tf32"));
  const Input a = random_input({96, 128}, rng), b = random_input({128, 72}, rng);
  const Tensor fp32 = matmul(a.tensor.detach().to(kGpu), b.tensor.detach().to(kGpu));
  set_allow_tf32(true);
  const Tolerance tf32{2e-2, 1e-2};
  check_op(
      "matmul tf32", {a, b}, [](const Tensors& t) { return Tensors{matmul(t[0], t[1])}; },
      [](const Arrays& x) { return Arrays{ref::matmul(x[0], x[1])}; },
      [](const Arrays& x, const Arrays& g) { return ref::matmul_backward(x[0], x[1], g[0]); }, rng,
      tf32, kGpu);
  check_op(
      "linear tf32",
      {random_input({4, 33, 64}, rng), random_input({130, 64}, rng), random_input({130}, rng)},
      [](const Tensors& t) { return Tensors{linear(t[0], t[1], t[2])}; },
      [](const Arrays& x) { return Arrays{ref::linear(x[0], x[1], x[2])}; },
      [](const Arrays& x, const Arrays& g) { return ref::linear_backward(x[0], x[1], x[2], g[0]); },
      rng, tf32, kGpu);
  const Tensor tf32_out = matmul(a.tensor.detach().to(kGpu), b.tensor.detach().to(kGpu));
  set_allow_tf32(false);
  const Tensor fp32_again = matmul(a.tensor.detach().to(kGpu), b.tensor.detach().to(kGpu));
  const std::vector<float> x = fp32.to(Device::cpu()).to_vector(),
                           y = tf32_out.to(Device::cpu()).to_vector();
  double differ = 0.0;
  for (size_t i = 0; i < x.size(); ++i) differ = std::max(differ, double(std::abs(x[i] - y[i])));
  EXPECT_GT(differ, 1e-6) << "TF32 gave the fp32 result: did the tensor-core path run?";
  EXPECT_EQ(fp32_again.to(Device::cpu()).to_vector(), x);
}

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

// Views on the GPU: contiguous() of permuted, sliced and expanded tensors runs the strided copy
// kernel, bit for bit the host's copy; concat writes through strided views on the device.
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
