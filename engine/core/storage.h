// Storage: one allocation that tensors view. CPU memory is 64-byte aligned (one cache line, one
// AVX-512 register); CUDA memory comes from the CUDA backend (--config=cuda builds only).
#pragma once

#include <cstddef>
#include <memory>

#include "engine/core/allocator.h"
#include "engine/core/dtype.h"

namespace pa {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// The caching allocator behind `device`'s storage: bytes allocated to live tensors, the peak,
// the bytes kept for reuse; empty_cache returns the kept blocks to malloc / the CUDA driver.
AllocatorStats memory_stats(Device device);
void empty_cache(Device device);

// Waits until the device has finished its queued work (a no-op on the CPU): for timing.
void synchronize(Device device);

// Copies `bytes` between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace pa
