// CachingAllocator: keeps freed blocks in size-class free lists and hands them out again, so a
// training step that allocates the same shapes every iteration stops paying for malloc/free
// (cudaMalloc/cudaFree on a GPU: the thesis' first "future direction"), page faults and zeroing
// after the first step. One instance serves host memory, one each CUDA device; they differ only
// in their raw allocate/free functions.
//
// Stream order: a CUDA block belongs to the stream that was current when it was allocated (the
// engine queues a tensor's work on that stream). Freed, it goes back to that stream's free
// lists and is handed out again only to an allocation on the same stream, so the new owner's
// work is queued after the old owner's; no event is needed. A tensor used on another stream
// than its own must be synchronised (Stream::synchronize) before it is freed. A destroyed
// stream (its work waited for) hands its blocks to the default stream (retire_stream).
//
// Sizes are rounded up to a class: powers of two split in quarter steps (64, 80, 96, 112, 128,
// 160, ...), so at most 25% of a block is slack. Blocks larger than the cache limit bypass the
// cache. Thread-safe (one mutex). The host allocator caches up to PA_HOST_CACHE_MB (default
// 2048) MiB of free blocks; PA_HOST_CACHE_MB=0 turns caching off. Address-sanitizer builds never
// cache, so that a use after free stays visible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pa {

struct AllocatorStats {
  size_t allocated = 0;       // bytes in live blocks (rounded to their class)
  size_t peak_allocated = 0;  // the most `allocated` has been
  size_t cached = 0;          // bytes in free blocks kept for reuse
  size_t reserved() const { return allocated + cached; }  // held from the raw allocator
  int64_t hits = 0;                                       // allocations served from the cache
  int64_t misses = 0;  // allocations that went to the raw allocator
};

class CachingAllocator {
 public:
  using RawAllocate = void* (*)(size_t bytes, int device);  // nullptr when out of memory
  using RawFree = void (*)(void* pointer, int device);
  using FreeBytes = size_t (*)(int device);  // what the device still has (for error messages)
  using CurrentStream = void* (*)();         // the calling thread's stream (CUDA)

  CachingAllocator(const char* name, RawAllocate raw_allocate, RawFree raw_free, size_t cache_limit,
                   int device = -1, FreeBytes free_bytes = nullptr,
                   CurrentStream current_stream = nullptr);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` (size_class(bytes) in fact). Out of memory, even after the cache
  // is returned to the raw allocator, is a pa::Error naming the bytes requested, allocated,
  // reserved and (where known) still free on the device; so is a request beyond 2^63 - 1 bytes.
  void* allocate(size_t bytes);
  // Gives back a block from allocate(bytes), with the same `bytes`.
  void release(void* pointer, size_t bytes);
  // Returns every cached block to the raw allocator.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();  // peak_allocated = allocated
  // A stream is gone, its work finished: its free blocks join the default stream's lists, and
  // its live blocks will when freed, so that nothing is stranded and a later stream that gets
  // the same handle inherits nothing.
  void retire_stream(void* stream);
  size_t cache_limit() const { return cache_limit_; }

  static size_t size_class(size_t bytes);

 private:
  void empty_cache_locked();

  const char* name_;
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  size_t cache_limit_;
  int device_;
  FreeBytes free_bytes_;
  CurrentStream current_stream_;
  mutable std::mutex mutex_;
  // (stream, size class) -> free blocks; the stream is nullptr for host memory.
  std::map<std::pair<void*, size_t>, std::vector<void*>> free_blocks_;
  std::unordered_map<void*, void*> block_streams_;  // live CUDA block -> its stream
  AllocatorStats stats_;
};

// The allocator behind every CPU Storage (64-byte aligned blocks).
CachingAllocator& host_allocator();

}  // namespace pa
