// DType and Device helpers.
#include "engine/core/dtype.h"

#include "engine/core/error.h"

namespace pa {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
    case DType::BFloat16:
      return 2;
    case DType::Int64:
      return 8;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::BFloat16:
      return "bfloat16";
    case DType::Int64:
      return "int64";
  }
  return "?";
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string index = text.substr(5);
    if (!index.empty() && index.find_first_not_of("0123456789") == std::string::npos) {
      return Device::cuda(std::stoi(index));
    }
  }
  throw Error("parse_device", "unknown device '" + text + "'", "use cpu, cuda or cuda:N");
}

}  // namespace pa
