// cp.async (sm_80 and later): global -> shared copies that bypass registers, with zero fill,
// grouped and waited on. Device-side helpers shared by the GEMM ladder (v09-v12) and the
// attention kernels.
#pragma once

#include <cuda_runtime.h>

namespace pa::cuda::async_copy {

__device__ __forceinline__ unsigned shared_address(const void* pointer) {
  return static_cast<unsigned>(__cvta_generic_to_shared(pointer));
}

// Copies `source_bytes` (0 or 4) bytes and zero-fills the rest of the 4-byte destination.
__device__ __forceinline__ void copy_async_4(float* destination, const float* source,
                                             int source_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(shared_address(destination)),
               "l"(source), "r"(source_bytes));
}

// Copies `source_bytes` (0 to 16) bytes and zero-fills the rest of the 16-byte destination.
__device__ __forceinline__ void copy_async_16(float* destination, const float* source,
                                              int source_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(destination)),
               "l"(source), "r"(source_bytes));
}

// Any element type: copies `source_bytes` (0 or 16) bytes to the shared-memory address
// `destination` (shared_address) and zero-fills the rest of the 16 bytes.
__device__ __forceinline__ void copy_async_16(unsigned destination, const void* source,
                                              int source_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(destination), "l"(source),
               "r"(source_bytes));
}

// All 16 bytes; destination is a shared-memory address (shared_address).
__device__ __forceinline__ void copy_async_16(unsigned destination, const float* source) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(destination), "l"(source));
}

// Closes the group of copies issued since the last commit.
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;\n"); }

// Waits until at most kPending committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void copy_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace pa::cuda::async_copy
