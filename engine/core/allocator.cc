// Size-class caching allocator (see allocator.h).
#include "engine/core/allocator.h"

#include <cstdlib>
#include <limits>
#include <string>

#include "engine/core/error.h"

namespace pa {

namespace {

constexpr size_t kMinimumBlock = 64;
// The largest request: a byte count that fits int64 (as every checked size does), so that the
// rounding below cannot wrap. No machine has this much memory; the raw allocator says so.
constexpr size_t kMaxRequest = static_cast<size_t>(std::numeric_limits<int64_t>::max());

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

size_t host_cache_limit() {
  if (kSanitized) return 0;
  const char* text = std::getenv("PA_HOST_CACHE_MB");
  if (text == nullptr || *text == '\0') return size_t{2048} << 20;
  char* end = nullptr;
  const unsigned long long megabytes = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    throw Error("host_allocator", std::string("PA_HOST_CACHE_MB='") + text + "' is not a number",
                "set it to a whole number of MiB (0 turns caching off) or unset it");
  }
  return static_cast<size_t>(megabytes) << 20;
}

// A request beyond kMaxRequest is a pa::Error from `op`, before any rounding.
void check_request(const char* op, size_t bytes) {
  PA_CHECK(bytes <= kMaxRequest, op,
           "cannot allocate " << bytes << " bytes: more than a 64-bit size holds",
           "the size was computed from a shape or flag far too large; check where it came from");
}

// aligned_alloc wants a size that is a multiple of the alignment (classes such as 80 are not).
void* host_raw_allocate(size_t bytes, int) {
  return std::aligned_alloc(kMinimumBlock,
                            (bytes + kMinimumBlock - 1) / kMinimumBlock * kMinimumBlock);
}
void host_raw_free(void* pointer, int) { std::free(pointer); }

}  // namespace

CachingAllocator::CachingAllocator(const char* name, RawAllocate raw_allocate, RawFree raw_free,
                                   size_t cache_limit, int device, FreeBytes free_bytes,
                                   CurrentStream current_stream)
    : name_(name),
      raw_allocate_(raw_allocate),
      raw_free_(raw_free),
      cache_limit_(cache_limit),
      device_(device),
      free_bytes_(free_bytes),
      current_stream_(current_stream) {}

CachingAllocator::~CachingAllocator() { empty_cache(); }

size_t CachingAllocator::size_class(size_t bytes) {
  if (bytes <= kMinimumBlock) return kMinimumBlock;
  check_request("allocator", bytes);
  size_t power = kMinimumBlock;
  while (power * 2 < bytes) power *= 2;  // power < bytes <= 2 * power
  const size_t step = power / 4;
  return power + (bytes - power + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  check_request(name_, bytes);
  const size_t rounded = size_class(bytes);
  void* const stream = current_stream_ != nullptr ? current_stream_() : nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = free_blocks_.find({stream, rounded});
  void* block = nullptr;
  if (found != free_blocks_.end() && !found->second.empty()) {
    block = found->second.back();
    found->second.pop_back();
    stats_.cached -= rounded;
    ++stats_.hits;
  } else {
    block = raw_allocate_(rounded, device_);
    if (block == nullptr && stats_.cached > 0) {  // give the cache back, then try once more
      empty_cache_locked();
      block = raw_allocate_(rounded, device_);
    }
    if (block == nullptr) {
      std::string message = "out of memory allocating " + std::to_string(bytes) + " bytes (" +
                            std::to_string(stats_.allocated) + " allocated to live tensors, " +
                            std::to_string(stats_.reserved()) + " reserved";
      if (free_bytes_ != nullptr) {
        message += ", " + std::to_string(free_bytes_(device_)) + " free on the device";
      }
      throw Error(name_, message + ")",
                  "use smaller tensors or batches, or free tensors you no longer need");
    }
    ++stats_.misses;
  }
  if (current_stream_ != nullptr) block_streams_[block] = stream;
  stats_.allocated += rounded;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return block;
}

void CachingAllocator::release(void* pointer, size_t bytes) {
  if (pointer == nullptr) return;
  const size_t rounded = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.allocated -= rounded;
  void* stream = nullptr;
  if (current_stream_ != nullptr) {
    const auto owner = block_streams_.find(pointer);
    if (owner != block_streams_.end()) {
      stream = owner->second;
      block_streams_.erase(owner);
    }
  }
  if (stats_.cached + rounded > cache_limit_) {
    raw_free_(pointer, device_);
    return;
  }
  free_blocks_[{stream, rounded}].push_back(pointer);
  stats_.cached += rounded;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  empty_cache_locked();
}

void CachingAllocator::empty_cache_locked() {
  for (auto& [size, blocks] : free_blocks_) {
    for (void* block : blocks) raw_free_(block, device_);
  }
  free_blocks_.clear();
  stats_.cached = 0;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
}

void CachingAllocator::retire_stream(void* stream) {
  if (stream == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = free_blocks_.begin(); it != free_blocks_.end();) {
    if (it->first.first != stream) {
      ++it;
      continue;
    }
    std::vector<void*>& target = free_blocks_[{nullptr, it->first.second}];
    target.insert(target.end(), it->second.begin(), it->second.end());
    it = free_blocks_.erase(it);
  }
  for (auto& [block, owner] : block_streams_) {
    if (owner == stream) owner = nullptr;
  }
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CachingAllocator& host_allocator() {
  // Never destroyed: tensors in other static objects may be freed after main returns.
  static CachingAllocator* allocator =
      new CachingAllocator("host_allocator", host_raw_allocate, host_raw_free, host_cache_limit());
  return *allocator;
}

}  // namespace pa
