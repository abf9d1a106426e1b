// The kernel tables: the CPU float32 table here, the CUDA one in dispatch_cuda.cc (registered
// from there in --config=cuda builds), looked up by kernels_for.
#include "engine/ops/dispatch.h"

#include <stdexcept>
#include <string>

#include "engine/core/error.h"

namespace pa {
namespace {

constexpr int kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA
constexpr int kDTypes = 4;       // DType::Float32 .. DType::Int64

Kernels cpu_float32() {
  Kernels k;
  k.backend = "cpu float32";
#define PA_CPU_KERNEL(name) k.name = &::pa::cpu::name;
  PA_FOR_EACH_KERNEL(PA_CPU_KERNEL)
#undef PA_CPU_KERNEL
  return k;
}

// The tables, in a function-local static so that a lookup from another file's static
// initialiser finds them ready; the CPU table is in place before the first lookup.
const Kernels*& slot(DeviceType type, DType dtype) {
  static const Kernels kCpuFloat32 = cpu_float32();
  static const Kernels* tables[kDeviceTypes][kDTypes] = {};
  static const bool cpu_registered = [] {
    tables[static_cast<int>(DeviceType::CPU)][static_cast<int>(DType::Float32)] = &kCpuFloat32;
    return true;
  }();
  static_cast<void>(cpu_registered);
  return tables[static_cast<int>(type)][static_cast<int>(dtype)];
}

std::string backend_name(DeviceType type) { return type == DeviceType::CPU ? "cpu" : "cuda"; }

}  // namespace

bool register_kernels(DeviceType type, DType dtype, const Kernels* kernels) {
#define PA_CHECK_FILLED(name)                                                                 \
  if (kernels->name == nullptr) {                                                             \
    throw std::logic_error(std::string("register_kernels: ") + kernels->backend +             \
                           " leaves kernel " #name " empty; every backend fills every slot"); \
  }
  PA_FOR_EACH_KERNEL(PA_CHECK_FILLED)
#undef PA_CHECK_FILLED
  slot(type, dtype) = kernels;
  return true;
}

const Kernels* find_kernels(DeviceType type, DType dtype) { return slot(type, dtype); }

const Kernels& kernels_for(OpId op, Device device, DType dtype) {
  const unsigned wanted = device.is_cpu() ? kCpuOnly : kCudaOnly;
  const Kernels* kernels = find_kernels(device.type, dtype);
  if (kernels != nullptr && (op_backends(op) & wanted) != 0) return *kernels;
  std::string why;
  if ((op_backends(op) & wanted) == 0) {
    why = "the op list (engine/ops/op_list.h) does not put it on " + backend_name(device.type);
  } else if (device.is_cuda() && find_kernels(DeviceType::CUDA, DType::Float32) == nullptr) {
    why = "this build has no CUDA backend (build with --config=cuda)";
  } else {
    why = "no " + backend_name(device.type) + " kernels take " + dtype_name(dtype);
  }
  throw NotImplemented(
      op_name(op), "no kernel for " + dtype_name(dtype) + " on " + device.str() + ": " + why,
      "ops compute in float32 on the CPU and on CUDA: create the inputs as float32, "
      "or move them to a device whose backend runs the op");
}

}  // namespace pa
