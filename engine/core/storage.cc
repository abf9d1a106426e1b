// Storage allocation and cross-device copies.
#include "engine/core/storage.h"

#include <cstdlib>
#include <cstring>

#include "engine/core/allocator.h"
#include "engine/core/error.h"

#ifdef PA_WITH_CUDA
#include "cuda/common/runtime.h"
#endif

namespace pa {

namespace {

[[noreturn]] void no_cuda(const char* op) {
  throw Error(op, "this build has no CUDA backend",
              "rebuild with `bazel build --config=cuda ...` and run on a machine with a GPU");
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cpu()) {
    data_ = host_allocator().allocate(bytes);  // 64-byte aligned, cached for reuse
    return;
  }
#ifdef PA_WITH_CUDA
  data_ = cuda::device_malloc(bytes, device.index);
#else
  no_cuda("Storage");
#endif
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    host_allocator().release(data_, bytes_);
    return;
  }
#ifdef PA_WITH_CUDA
  cuda::device_free(data_, device_.index);
#endif
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef PA_WITH_CUDA
  cuda::copy(dst, dst_device.is_cuda(), src, src_device.is_cuda(), bytes);
#else
  no_cuda("copy");
#endif
}

bool cuda_available() {
#ifdef PA_WITH_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

}  // namespace pa
