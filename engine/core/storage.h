// Storage: one allocation that tensors view. CPU memory is 64-byte aligned (one cache line, one
// AVX-512 register); CUDA memory comes from the CUDA backend (--config=cuda builds only).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

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
void reset_peak_memory(Device device);  // the peak starts again from what is allocated now

// Waits until the device has finished its queued work (a no-op on the CPU): for timing.
void synchronize(Device device);

// A CUDA stream (non-blocking: no implicit ordering with the legacy default stream), shared by
// its copies and destroyed with the last one (queued work still finishes). Every op queues its
// kernels, GEMMs and copies on the calling thread's current stream: the legacy default stream,
// unless a StreamGuard is alive. The caching allocator keeps each stream's blocks apart
// (allocator.h); a tensor that work on another stream read must outlive that work, e.g. by
// synchronize() before it is freed.
class Stream {
 public:
  static Stream create(Device device);  // a CUDA device; a pa::Error without CUDA
  Device device() const { return device_; }
  void* handle() const { return handle_.get(); }  // the cudaStream_t
  void synchronize() const;                       // waits for the stream's queued work

 private:
  Stream(Device device, std::shared_ptr<void> handle)
      : device_(device), handle_(std::move(handle)) {}
  Device device_;
  std::shared_ptr<void> handle_;
};

// Makes `stream` the calling thread's current stream while it lives, then restores the one
// before.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream stream_;
  void* previous_;
};

// Copies `bytes` between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace pa
