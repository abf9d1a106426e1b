// The CUDA kernel table, registered at start-up; linked only in --config=cuda builds
// (engine/BUILD), so no op file needs an #ifdef. Each assignment below only compiles when the
// cuda:: kernel's signature is the cpu:: kernel's.
#include "cuda/attention/flash_attention.h"
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_bf16.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/rowwise.h"
#include "engine/ops/dispatch.h"

namespace pa {
namespace {

Kernels cuda_kernels() {
  Kernels k;
  k.backend = "cuda";
#define PA_CUDA_KERNEL(name) k.name = &::pa::cuda::name;
  PA_FOR_EACH_KERNEL(PA_CUDA_KERNEL)
#undef PA_CUDA_KERNEL
  return k;
}

const Kernels kCuda = cuda_kernels();
const bool kCudaRegistered = register_kernels(DeviceType::CUDA, &kCuda);

}  // namespace
}  // namespace pa
