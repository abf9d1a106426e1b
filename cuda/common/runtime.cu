// CUDA runtime wrappers: raw cudaMalloc/cudaFree (engine/core's CachingAllocator sits on top
// of them, so tensors do not call cudaMalloc per op) and synchronous copies.
#include "cuda/common/check.h"
#include "cuda/common/runtime.h"

namespace pa::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

void* device_malloc(size_t bytes, int device) {
  PA_CUDA_CHECK(cudaSetDevice(device));
  void* pointer = nullptr;
  PA_CUDA_CHECK(cudaMalloc(&pointer, bytes == 0 ? 256 : bytes));
  return pointer;
}

void* try_device_malloc(size_t bytes, int device) {
  PA_CUDA_CHECK(cudaSetDevice(device));
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes == 0 ? 256 : bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: running out of memory is not a sticky error
    return nullptr;
  }
  PA_CUDA_CHECK(status);
  return pointer;
}

size_t device_free_bytes(int device) {
  size_t free = 0, total = 0;
  if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return free;
}

void device_free(void* pointer, int device) {
  if (pointer == nullptr) return;
  cudaSetDevice(device);
  cudaFree(pointer);  // never throws from a destructor path
}

void synchronize(int device) {
  PA_CUDA_CHECK(cudaSetDevice(device));
  PA_CUDA_CHECK(cudaDeviceSynchronize());
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  const cudaMemcpyKind kind =
      dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                    : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  PA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

}  // namespace pa::cuda
