// CPU tunables and features (see cpu_config.h).
#include "engine/cpu/cpu_config.h"

#include <stdexcept>

namespace pa::cpu {

CpuConfig& cpu_config() {
  static CpuConfig config;
  return config;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    __builtin_cpu_init();
    CpuFeatures f;
    f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    return f;
  }();
  return features;
}

GemmKernel resolve_gemm_kernel(const CpuConfig& config) {
  const CpuFeatures& features = cpu_features();
  switch (config.gemm_kernel) {
    case GemmKernel::Auto:
      return features.avx512f ? GemmKernel::Avx512 : GemmKernel::Avx2;
    case GemmKernel::Avx512:
      if (!features.avx512f) {
        throw std::invalid_argument(
            "cpu::gemm: the AVX-512 kernel was asked for on a CPU without "
            "AVX-512F (use GemmKernel::Auto or Avx2)");
      }
      return GemmKernel::Avx512;
    case GemmKernel::Avx2:
      return GemmKernel::Avx2;
  }
  return GemmKernel::Avx2;
}

std::string gemm_kernel_name(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Auto:
      return "auto";
    case GemmKernel::Avx2:
      return "avx2 6x16";
    case GemmKernel::Avx512:
      return "avx512 12x32";
  }
  return "?";
}

}  // namespace pa::cpu
