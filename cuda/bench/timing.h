// Shared by the GPU benchmarks: inputs from a hash of the index, and CUDA-event timing (one
// warm-up, then the median of repeats chosen to fill a time budget, L2 flushed before each).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "cuda/common/check.h"

namespace pa::cuda::bench {

constexpr double kTimeBudgetMs = 500.0;  // per measurement, after the warm-up
constexpr int kMinRepeats = 5;
constexpr size_t kFlushBytes = size_t{256} << 20;  // written before each repeat: flushes L2

// Uniform in [-1, 1) from a hash of the index: fast for 8192^2 inputs and never zero-heavy.
inline void fill_uniform(std::vector<float>& values, uint64_t seed) {
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    values[i] = static_cast<float>(x >> 40) * (2.0f / 16777216.0f) - 1.0f;
  }
}

// `flush` is a device buffer of kFlushBytes.
class Timer {
 public:
  Timer(cudaStream_t stream, void* flush) : stream_(stream), flush_(flush) {
    PA_CUDA_CHECK(cudaEventCreate(&start_));
    PA_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  // Median milliseconds of `run` over repeats chosen from a warm-up run; repeats is set.
  double median_ms(const std::function<void()>& run, int max_repeats, int* repeats) {
    const float warm = once(run, 0);
    *repeats = std::clamp(static_cast<int>(kTimeBudgetMs / std::max(warm, 1e-3f)), kMinRepeats,
                          max_repeats);
    std::vector<float> times;
    for (int r = 0; r < *repeats; ++r) times.push_back(once(run, r + 1));
    std::sort(times.begin(), times.end());
    const size_t mid = times.size() / 2;
    return times.size() % 2 ? times[mid] : 0.5 * (times[mid - 1] + times[mid]);
  }

 private:
  float once(const std::function<void()>& run, int repeat) {
    PA_CUDA_CHECK(cudaMemsetAsync(flush_, repeat & 0xff, kFlushBytes, stream_));  // flush L2
    PA_CUDA_CHECK(cudaEventRecord(start_, stream_));
    run();
    PA_CUDA_CHECK(cudaEventRecord(stop_, stream_));
    PA_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    PA_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }
  cudaStream_t stream_;
  void* flush_;
  cudaEvent_t start_, stop_;
};

}  // namespace pa::cuda::bench
