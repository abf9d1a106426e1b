// PA_CUDA_CHECK: turn a failing CUDA runtime call (or a failed kernel launch) into an exception
// naming the call, file and line; launch_stream(): the stream every kernel is queued on.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda/common/runtime.h"

namespace pa::cuda {

// The stream kernels launch on: the calling thread's current stream (runtime.h).
inline cudaStream_t launch_stream() { return static_cast<cudaStream_t>(current_stream()); }

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" +
                             cudaGetErrorString(status) + ") in " + call + " at " + file + ":" +
                             std::to_string(line));
  }
}

}  // namespace pa::cuda

#define PA_CUDA_CHECK(call) ::pa::cuda::check((call), #call, __FILE__, __LINE__)
#define PA_CUDA_CHECK_LAUNCH() PA_CUDA_CHECK(cudaGetLastError())
