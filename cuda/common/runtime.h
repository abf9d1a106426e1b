// CUDA runtime wrappers the engine's storage uses: device memory and copies. Plain pointers;
// nothing here knows the engine. Errors throw std::runtime_error with the CUDA error string.
#pragma once

#include <cstddef>

namespace pa::cuda {

int device_count();  // 0 when no GPU or no driver

// What kernels choose by: the current device's compute capability, opt-in shared memory per
// block and multiprocessor count, read from the driver once per device (cheap enough for every
// launch).
struct DeviceCapability {
  int major, minor;
  int shared_bytes_optin;  // the most dynamic shared memory a block can ask for
  int multiprocessors;     // SMs: a persistent grid's size
};
const DeviceCapability& current_device_capability();
void* device_malloc(size_t bytes, int device);
// cudaMalloc that returns nullptr when the device is out of memory (any other error throws).
void* try_device_malloc(size_t bytes, int device);
// Free memory on the device (cudaMemGetInfo), for out-of-memory messages.
size_t device_free_bytes(int device);
void device_free(void* pointer, int device);
// Waits for every kernel queued on `device` (cudaDeviceSynchronize), checked.
void synchronize(int device);
// Copies between host (false) and device (true) memory, ordered on the current stream and
// finished when it returns (the stream is synchronised).
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);

// Sets `bytes` bytes of device memory to `value`, queued on the current stream.
void fill_bytes(void* pointer, unsigned char value, size_t bytes);

// Streams, as opaque handles (a cudaStream_t; nullptr is the legacy default stream). Each
// thread has a current stream, the default one unless set: every engine kernel, GEMM and copy
// is queued on the calling thread's current stream.
void* create_stream(int device);                // a non-blocking stream on `device`
void destroy_stream(void* stream, int device);  // queued work still finishes
void synchronize_stream(void* stream);
void* current_stream();
void set_current_stream(void* stream);

}  // namespace pa::cuda
