// Element types and devices. Every op computes in float32 today; float64 and bfloat16 exist
// so that storage, files (safetensors) and later kernels can use them; int64 holds indices
// (class targets, embedding ids).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pa {

enum class DType { Float32, Float64, BFloat16, Int64 };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);  // "float32", ...

enum class DeviceType { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& other) const { return type == other.type && index == other.index; }
  bool operator!=(const Device& other) const { return !(*this == other); }
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:1"; throws pa::Error otherwise.
Device parse_device(const std::string& text);

// Whether this build has the CUDA backend (--config=cuda) and a GPU is visible.
bool cuda_available();

}  // namespace pa
