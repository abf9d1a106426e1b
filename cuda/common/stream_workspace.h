// Scratch device memory for kernels that need it between launches or between the kernels of one
// call (split-K partial sums, stream-K partial sums and flags, a transposed operand): one
// grow-only buffer per (device, stream, purpose), kept for the life of the process. Launches on
// one stream run in order, so they can share a buffer; two streams or two purposes never do (the
// default streams are told apart by host thread too). A stream destroyed while its kernels still
// run must not be replaced by a new one under the same handle that uses these buffers at once:
// the handle is the key.
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

// The buffer of `purpose` on `stream` (the current device), grown to `bytes` when smaller (at
// least doubling; the old one is left allocated, since another host thread may hold it for a
// launch not yet queued). cudaMalloc is not allowed while a stream is captured into a CUDA graph:
// callers check stream_capturing first and fall back.
StreamBuffer stream_workspace(cudaStream_t stream, size_t bytes, Workspace purpose);

// Whether `stream` is being captured into a CUDA graph.
bool stream_capturing(cudaStream_t stream);

}  // namespace pa::cuda
