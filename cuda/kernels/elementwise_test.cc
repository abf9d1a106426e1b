// GPU test (tag `gpu`, --config=cuda only) of the raw elementwise kernels: outputs are poisoned
// with NaN before each launch and every element must be written, for sizes around the float4
// path and for misaligned pointers (which take the scalar path).
#include "cuda/kernels/elementwise.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda/common/check.h"
#include "cuda/common/runtime.h"

namespace pa::cuda {
namespace {

class ElementwiseKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (device_count() == 0) GTEST_SKIP() << "no GPU visible";
  }
};

TEST_F(ElementwiseKernels, EveryElementWrittenAtAnyAlignment) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.5f, 2.0f);
  for (int64_t n : {1, 3, 4, 5, 1023, 4097}) {
    for (int64_t misalign : {0, 1, 3}) {
      std::vector<float> host(n);
      for (float& v : host) v = uniform(rng);
      const size_t bytes = (n + misalign) * sizeof(float);
      float* x = static_cast<float*>(device_malloc(bytes, 0));
      float* y = static_cast<float*>(device_malloc(bytes, 0));
      copy(x + misalign, true, host.data(), false, n * sizeof(float));
      PA_CUDA_CHECK(cudaMemset(y, 0xff, bytes));  // 0xffffffff is a NaN
      unary_forward(UnaryKind::Sqrt, x + misalign, y + misalign, n, 0.0f);
      PA_CUDA_CHECK(cudaDeviceSynchronize());
      std::vector<float> out(n);
      copy(out.data(), false, y + misalign, true, n * sizeof(float));
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(out[i], std::sqrt(host[i]), 1e-6f * std::sqrt(host[i]))
            << "n=" << n << " misalign=" << misalign << " element " << i;
      }
      device_free(x, 0);
      device_free(y, 0);
    }
  }
}

TEST_F(ElementwiseKernels, BroadcastWritesEveryElement) {
  const int64_t shape[3] = {3, 4, 5};
  const int64_t a_strides[3] = {5, 0, 1};  // a (3, 1, 5)
  const int64_t b_strides[3] = {0, 1, 0};  // b (4, 1)
  std::vector<float> a(15), b(4);
  for (int i = 0; i < 15; ++i) a[i] = 1.0f + i;
  for (int i = 0; i < 4; ++i) b[i] = 0.5f * (i + 1);
  float* da = static_cast<float*>(device_malloc(15 * sizeof(float), 0));
  float* db = static_cast<float*>(device_malloc(4 * sizeof(float), 0));
  float* dout = static_cast<float*>(device_malloc(60 * sizeof(float), 0));
  copy(da, true, a.data(), false, 15 * sizeof(float));
  copy(db, true, b.data(), false, 4 * sizeof(float));
  PA_CUDA_CHECK(cudaMemset(dout, 0xff, 60 * sizeof(float)));
  binary_forward(BinaryKind::Mul, da, a_strides, db, b_strides, dout, shape, 3);
  PA_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> out(60);
  copy(out.data(), false, dout, true, 60 * sizeof(float));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      for (int k = 0; k < 5; ++k) {
        EXPECT_EQ(out[(i * 4 + j) * 5 + k], a[i * 5 + k] * b[j]);
      }
    }
  }
  device_free(da, 0);
  device_free(db, 0);
  device_free(dout, 0);
}

}  // namespace
}  // namespace pa::cuda
