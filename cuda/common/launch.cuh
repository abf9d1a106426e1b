// launch_grid: queues a kernel that takes one parameter struct on launch_stream() over a
// (blocks_x, blocks_y) grid with dynamic shared memory, first raising the kernel's opt-in
// shared-memory limit when this launch needs more than any before it (raise_shared_limit). An
// empty grid launches nothing. Checked.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "cuda/common/check.h"

namespace pa::cuda {

// Raises kKernel's opt-in dynamic shared-memory limit to `shared_bytes` on the current device
// when it is below (above 48 KB a kernel gets dynamic shared memory only after
// cudaFuncSetAttribute; the attribute is per device). Checked.
template <auto kKernel>
void raise_shared_limit(size_t shared_bytes) {
  // The limit set so far on each device (a race sets it twice, harmlessly).
  constexpr int kMaxDevices = 64;
  static std::atomic<size_t> raised[kMaxDevices] = {};
  int device = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  std::atomic<size_t>& limit = raised[device % kMaxDevices];
  if (shared_bytes > limit.load() || device >= kMaxDevices) {
    PA_CUDA_CHECK(cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(shared_bytes)));
    limit.store(shared_bytes);
  }
}

template <auto kKernel, class Params>
void launch_grid(int64_t blocks_x, int64_t blocks_y, int threads, size_t shared_bytes,
                 const Params& params) {
  raise_shared_limit<kKernel>(shared_bytes);
  if (blocks_x == 0 || blocks_y == 0) return;
  kKernel<<<dim3(static_cast<unsigned>(blocks_x), static_cast<unsigned>(blocks_y)), threads,
            shared_bytes, launch_stream()>>>(params);
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda
