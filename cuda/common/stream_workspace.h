// Scratch device memory for kernels that need it between launches or between the kernels of one
// call (split-K partial sums, stream-K partial sums and flags, a transposed operand): one
// grow-only buffer per (device, stream, purpose), kept for the life of the process. Launches on
// one stream run in order, so they can share a buffer; two streams or two purposes never do.
// Kept rather than taken from the stream-ordered pool per call: with the pool's default release
// threshold (0) its memory goes back at every synchronisation and is mapped again by the next
// allocation, which cost the first stream-K timing 4-68 us a call (cuda/gemm/README.md, v18).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace pa::cuda {

enum class Workspace { SplitK, StreamK, Transpose };

struct StreamBuffer {
  void* data;    // at least the bytes asked for
  bool fresh;    // allocated by this call: its contents are undefined
  uint64_t use;  // how many times this (device, stream, purpose) was asked for before
};

// The buffer of `purpose` on `stream` (the current device), grown to `bytes` when smaller.
// Growing frees the old buffer with cudaFree, which waits for the device, so no queued kernel
// still reads it; a stream being captured into a CUDA graph must not grow one (callers check
// stream_capturing first and fall back).
StreamBuffer stream_workspace(cudaStream_t stream, size_t bytes, Workspace purpose);

// Whether `stream` is being captured into a CUDA graph.
bool stream_capturing(cudaStream_t stream);

}  // namespace pa::cuda
