// The kernel tables: the CPU table here, the CUDA one in dispatch_cuda.cc (registered from there
// in --config=cuda builds), looked up by kernels_for.
#include "engine/ops/dispatch.h"

#include <stdexcept>
#include <string>

#include "engine/core/error.h"

namespace pa {
namespace {

constexpr int kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA

Kernels cpu_kernels() {
  Kernels k;
  k.backend = "cpu";
#define PA_CPU_KERNEL(name) k.name = &::pa::cpu::name;
  PA_FOR_EACH_KERNEL(PA_CPU_KERNEL)
#undef PA_CPU_KERNEL
  return k;
}

// The tables, in a function-local static so that a lookup from another file's static
// initialiser finds them ready; the CPU table is in place before the first lookup.
const Kernels*& slot(DeviceType type) {
  static const Kernels kCpu = cpu_kernels();
  static const Kernels* tables[kDeviceTypes] = {};
  static const bool cpu_registered = [] {
    tables[static_cast<int>(DeviceType::CPU)] = &kCpu;
    return true;
  }();
  static_cast<void>(cpu_registered);
  return tables[static_cast<int>(type)];
}

bool takes_dtype(OpId op, DType dtype) {
  return dtype == DType::Float32 || (dtype == DType::BFloat16 && op_takes_bf16(op));
}

std::string backend_name(DeviceType type) { return type == DeviceType::CPU ? "cpu" : "cuda"; }

}  // namespace

bool register_kernels(DeviceType type, const Kernels* kernels) {
#define PA_CHECK_FILLED(name)                                                                 \
  if (kernels->name == nullptr) {                                                             \
    throw std::logic_error(std::string("register_kernels: ") + kernels->backend +             \
                           " leaves kernel " #name " empty; every backend fills every slot"); \
  }
  PA_FOR_EACH_KERNEL(PA_CHECK_FILLED)
#undef PA_CHECK_FILLED
  slot(type) = kernels;
  return true;
}

const Kernels* find_kernels(DeviceType type) { return slot(type); }

const Kernels& kernels_for(OpId op, Device device, DType dtype) {
  const unsigned wanted = device.is_cpu() ? kCpuOnly : kCudaOnly;
  const Kernels* kernels = find_kernels(device.type);
  const bool on_backend = (op_backends(op) & wanted) != 0;
  if (kernels != nullptr && on_backend && takes_dtype(op, dtype)) return *kernels;
  std::string why;
  if (!on_backend) {
    why = "the op list (engine/ops/op_list.h) does not put it on " + backend_name(device.type);
  } else if (kernels == nullptr) {
    why = "this build has no CUDA backend (build with --config=cuda)";
  } else {
    why = std::string("it takes float32") + (op_takes_bf16(op) ? " and bfloat16" : "") +
          " (engine/ops/op_list.h)";
  }
  throw NotImplemented(
      op_name(op), "no kernel for " + dtype_name(dtype) + " on " + device.str() + ": " + why,
      dtype == DType::Float32    ? "move the inputs to a device whose backend runs the op"
      : dtype == DType::BFloat16 ? "convert the inputs first: pa::to_dtype(x, DType::Float32)"
                                 : "create the inputs as float32");
}

}  // namespace pa
