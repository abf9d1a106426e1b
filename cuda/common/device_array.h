// DeviceArray<T>: an owning array in device memory (cudaMalloc / cudaFree) with host copies in
// and out, for the GPU tests and benchmarks that work on raw pointers; and bf16 rounding,
// widening and pointer views for their inputs. Host code; copies are synchronous.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda/common/check.h"

namespace pa::cuda {

template <typename T>
struct DeviceArray {
  explicit DeviceArray(size_t count) : count(count) {
    PA_CUDA_CHECK(cudaMalloc(&data, std::max<size_t>(count, 1) * sizeof(T)));
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { cudaFree(data); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  void upload(const std::vector<T>& host) {
    PA_CUDA_CHECK(cudaMemcpy(data, host.data(), count * sizeof(T), cudaMemcpyHostToDevice));
  }
  // Waits for the device (a failed kernel shows here), then copies the array back.
  std::vector<T> download() const {
    PA_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> host(count);
    PA_CUDA_CHECK(cudaMemcpy(host.data(), data, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

  size_t count;
  T* data = nullptr;
};

// The bf16 bits of x, rounded to nearest even (x finite).
inline uint16_t to_bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// The float value of bf16 bits.
inline float from_bf16_bits(uint16_t bits) {
  const uint32_t u = uint32_t{bits} << 16;
  float x;
  std::memcpy(&x, &u, sizeof(x));
  return x;
}

// Device bf16 bits (DeviceArray<uint16_t> data) as the kernels' bf16 pointer type.
inline __nv_bfloat16* as_bf16(uint16_t* bits) { return reinterpret_cast<__nv_bfloat16*>(bits); }

}  // namespace pa::cuda
