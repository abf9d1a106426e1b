// Helpers shared by the op implementations in this folder (not part of the public API).
#pragma once

#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace pa::ops_internal {

// "a (3, 4) float32 cpu, b (4,) float32 cuda:0" for error messages.
std::string describe(const std::vector<Tensor>& tensors, const std::vector<std::string>& names);

// Every tensor defined, float32 and on one device; throws pa::Error naming the op otherwise.
void check_inputs(const std::string& op, const std::vector<Tensor>& tensors,
                  const std::vector<std::string>& names);
// Like check_inputs, but `index` must be int64 (and on the same device).
void check_index(const std::string& op, const Tensor& index, const Tensor& reference);

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b);
// Strides that read `x` as if it had `shape` (0 on broadcast dims).
Shape broadcast_strides(const Tensor& x, const Shape& shape);

// Throws the error of an op reached with CUDA tensors in a build without CUDA.
[[noreturn]] void no_cuda_kernel(const std::string& op, const std::vector<Tensor>& tensors);
// Calls no_cuda_kernel when a tensor is on a GPU and the build has no CUDA; nothing otherwise.
void check_backend(const std::string& op, const std::vector<Tensor>& tensors);

// The kernel of one name for the device: cuda::name on the GPU, cpu::name on the CPU (the
// CUDA kernels mirror engine/cpu's signatures). Without CUDA only the CPU one exists; ops call
// check_backend first (`on_gpu` is still evaluated, so the flag is used in either build).
#ifdef PA_WITH_CUDA
#define PA_KERNEL(on_gpu, name) ((on_gpu) ? ::pa::cuda::name : ::pa::cpu::name)
#else
#define PA_KERNEL(on_gpu, name) (static_cast<void>(on_gpu), ::pa::cpu::name)
#endif

// Normalised, sorted, de-duplicated reduction dims (empty -> all dims).
std::vector<int64_t> reduction_dims(const std::string& op, const std::vector<int64_t>& dims,
                                    int64_t ndim);

}  // namespace pa::ops_internal
