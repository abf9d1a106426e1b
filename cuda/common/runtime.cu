// CUDA runtime wrappers: raw cudaMalloc/cudaFree (engine/core's CachingAllocator sits on top
// of them, so tensors do not call cudaMalloc per op), copies, and the per-thread current stream.
#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "cuda/common/check.h"
#include "cuda/common/runtime.h"
#include "cuda/common/stream_workspace.h"

namespace pa::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

const DeviceCapability& current_device_capability() {
  static const std::vector<DeviceCapability> devices = [] {
    int count = 0;
    PA_CUDA_CHECK(cudaGetDeviceCount(&count));
    std::vector<DeviceCapability> result(count);
    for (int d = 0; d < count; ++d) {
      DeviceCapability& c = result[d];
      PA_CUDA_CHECK(cudaDeviceGetAttribute(&c.major, cudaDevAttrComputeCapabilityMajor, d));
      PA_CUDA_CHECK(cudaDeviceGetAttribute(&c.minor, cudaDevAttrComputeCapabilityMinor, d));
      PA_CUDA_CHECK(cudaDeviceGetAttribute(&c.shared_bytes_optin,
                                           cudaDevAttrMaxSharedMemoryPerBlockOptin, d));
      PA_CUDA_CHECK(cudaDeviceGetAttribute(&c.multiprocessors, cudaDevAttrMultiProcessorCount, d));
    }
    return result;
  }();
  int device = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  return devices.at(device);
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
  const cudaStream_t stream = launch_stream();
  PA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  PA_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void fill_bytes(void* pointer, unsigned char value, size_t bytes) {
  PA_CUDA_CHECK(cudaMemsetAsync(pointer, value, bytes, launch_stream()));
}

namespace {
thread_local void* current = nullptr;  // the legacy default stream
}  // namespace

void* create_stream(int device) {
  PA_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t stream = nullptr;
  PA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
}

void destroy_stream(void* stream, int device) {
  if (stream == nullptr) return;
  cudaSetDevice(device);
  cudaStreamDestroy(static_cast<cudaStream_t>(stream));  // never throws from a destructor path
}

void synchronize_stream(void* stream) {
  PA_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

void* current_stream() { return current; }
void set_current_stream(void* stream) { current = stream; }

StreamBuffer stream_workspace(cudaStream_t stream, size_t bytes, Workspace purpose) {
  struct Buffer {
    void* data = nullptr;
    size_t capacity = 0;
    uint64_t uses = 0;
  };
  // The default streams (the legacy one, or per-thread ones under that compile option) are keyed
  // by the host thread as well: under per-thread default streams the handle names a different
  // stream in each thread.
  const bool default_stream = stream == nullptr || stream == cudaStreamPerThread;
  const std::thread::id thread = default_stream ? std::this_thread::get_id() : std::thread::id();
  static std::mutex mutex;
  static std::map<std::tuple<int, cudaStream_t, std::thread::id, Workspace>, Buffer> buffers;
  int device = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  Buffer& buffer = buffers[{device, stream, thread, purpose}];
  bool fresh = false;
  if (bytes > buffer.capacity || buffer.data == nullptr) {
    // The old buffer is left allocated, not freed: another host thread may have been handed it
    // for a launch on this stream that is not queued yet. Growing at least twofold bounds what is
    // left behind by the final size.
    const size_t capacity = std::max(std::max<size_t>(bytes, 256), 2 * buffer.capacity);
    buffer.data = nullptr;
    PA_CUDA_CHECK(cudaMalloc(&buffer.data, capacity));
    buffer.capacity = capacity;
    fresh = true;
  }
  return {buffer.data, fresh, buffer.uses++};
}

bool stream_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  PA_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  return status != cudaStreamCaptureStatusNone;
}

}  // namespace pa::cuda
