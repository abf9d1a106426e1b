// Storage allocation and cross-device copies.
#include "engine/core/storage.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "engine/core/allocator.h"
#include "engine/core/error.h"

#ifdef PA_WITH_CUDA
#include "cuda/common/runtime.h"
#endif

namespace pa {

namespace {

#ifdef PA_WITH_CUDA
void* cuda_raw_allocate(size_t bytes, int device) { return cuda::try_device_malloc(bytes, device); }
void cuda_raw_free(void* pointer, int device) { cuda::device_free(pointer, device); }

// One caching allocator per CUDA device. The cache is unbounded, as PyTorch's: on out of memory
// it is returned to the driver and the allocation tried once more.
CachingAllocator& device_allocator(int device) {
  constexpr int kMaxDevices = 16;
  if (device < 0 || device >= kMaxDevices) {
    throw Error("Storage", "CUDA device index " + std::to_string(device) + " out of range",
                "use a device index the machine has (cuda:0 ...)");
  }
  static CachingAllocator* allocators[kMaxDevices] = {};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (allocators[device] == nullptr) {  // never destroyed: tensors may outlive main
    allocators[device] =
        new CachingAllocator("cuda_allocator", cuda_raw_allocate, cuda_raw_free, SIZE_MAX, device,
                             cuda::device_free_bytes, cuda::current_stream);
  }
  return *allocators[device];
}
#endif

#ifndef PA_WITH_CUDA
[[noreturn]] void no_cuda(const char* op) {
  throw Error(op, "this build has no CUDA backend",
              "rebuild with `bazel build --config=cuda ...` and run on a machine with a GPU");
}
#endif

// The caching allocator behind `device`'s storage (host memory is 64-byte aligned); `op` names
// the caller in a build without CUDA.
CachingAllocator& allocator_for(Device device, const char* op) {
  if (device.is_cpu()) return host_allocator();
#ifdef PA_WITH_CUDA
  (void)op;
  return device_allocator(device.index);
#else
  no_cuda(op);
#endif
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  data_ = allocator_for(device, "Storage").allocate(bytes);
#ifdef PA_WITH_CUDA
  // PA_CUDA_POISON=1 (the GPU tests): every new CUDA storage starts as all-ones bytes (NaN as
  // float32, -1 as int64), so an op that leaves part of its output unwritten shows up.
  static const bool poison = [] {
    const char* text = std::getenv("PA_CUDA_POISON");
    return text != nullptr && *text != '\0' && std::string(text) != "0";
  }();
  if (poison && bytes > 0 && device.is_cuda()) cuda::fill_bytes(data_, 0xFF, bytes);
#endif
}

Storage::~Storage() { allocator_for(device_, "Storage").release(data_, bytes_); }

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

AllocatorStats memory_stats(Device device) { return allocator_for(device, "memory_stats").stats(); }

void empty_cache(Device device) { allocator_for(device, "empty_cache").empty_cache(); }

void reset_peak_memory(Device device) { allocator_for(device, "reset_peak_memory").reset_peak(); }

void synchronize(Device device) {
  if (device.is_cpu()) return;
#ifdef PA_WITH_CUDA
  cuda::synchronize(device.index);
#else
  no_cuda("synchronize");
#endif
}

Stream Stream::create(Device device) {
  PA_CHECK(device.is_cuda(), "Stream", "streams live on CUDA devices, got " << device.str(),
           "create it with Stream::create(Device::cuda(0))");
#ifdef PA_WITH_CUDA
  const int index = device.index;
  device_allocator(index);  // checks the device index
  // The last copy waits for the stream's work, hands its blocks to the default stream, then
  // destroys it: a new stream that gets the same handle inherits no block in use.
  return Stream(device, std::shared_ptr<void>(cuda::create_stream(index), [index](void* stream) {
                  try {
                    cuda::synchronize_stream(stream);
                  } catch (...) {  // a deleter must not throw; the CUDA error stays sticky
                  }
                  device_allocator(index).retire_stream(stream);
                  cuda::destroy_stream(stream, index);
                }));
#else
  no_cuda("Stream");
#endif
}

void Stream::synchronize() const {
#ifdef PA_WITH_CUDA
  cuda::synchronize_stream(handle());
#endif
}

#ifdef PA_WITH_CUDA
StreamGuard::StreamGuard(const Stream& stream)
    : stream_(stream), previous_(cuda::current_stream()) {
  cuda::set_current_stream(stream.handle());
}
StreamGuard::~StreamGuard() { cuda::set_current_stream(previous_); }
#else
StreamGuard::StreamGuard(const Stream& stream) : stream_(stream), previous_(nullptr) {}
StreamGuard::~StreamGuard() = default;
#endif

bool cuda_available() {
#ifdef PA_WITH_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

}  // namespace pa
