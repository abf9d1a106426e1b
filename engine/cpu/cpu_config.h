// The CPU backend's tunables in one place, so that an autotuner can search them later, and the
// CPU features the kernels are chosen by at run time.
#pragma once

#include <cstdint>
#include <string>

namespace pa::cpu {

enum class GemmKernel { Auto, Avx2, Avx512 };
// Attention's arithmetic: Float32 tiles (fast), or Float64 tiles (inputs widened, results
// rounded back to float32; slower, for accuracy comparisons).
enum class AttentionPrecision { Float32, Float64 };

struct CpuConfig {
  // SGEMM blocking: a kc x nc block of B is packed once and stays in L2 while every MR-row
  // panel of A (MR x kc, in L1) sweeps across it. MR x NR is fixed by the micro-kernel.
  int64_t gemm_kc = 256;
  int64_t gemm_nc = 1024;
  GemmKernel gemm_kernel = GemmKernel::Auto;  // Auto: AVX-512 when the CPU has it, else AVX2
  // Below this many multiply-adds (M * N * K) a GEMM runs on one thread.
  int64_t gemm_parallel_min = 1 << 17;
  // Up to this many multiply-adds a GEMM skips packing and blocking: a plain row loop over a
  // row-major B (the tiny products of small attention heads, where packing costs more than it
  // saves). 0 turns the small path off.
  int64_t gemm_small_max = 1 << 15;
  // Below this many elements of input (rows * D, or outer * D * inner) a row-wise kernel of
  // nn_kernels.cc (sum_rows, softmax and log_softmax forward and backward, layer_norm forward and
  // backward) runs on one thread: a smaller loop does not repay waking the OpenMP team.
  int64_t rowwise_parallel_min = 1 << 16;
  // Below this many output elements an elementwise kernel (elementwise.cc) or the GEMM's bias
  // add runs on one thread.
  int64_t elementwise_parallel_min = 1 << 15;
  // Attention tiles: BQ query rows stay while BK-key blocks of K and V stream past.
  int64_t attention_block_q = 128;
  int64_t attention_block_k = 512;
  AttentionPrecision attention_precision = AttentionPrecision::Float32;
  int threads = 0;  // 0: OpenMP's default
};

// The process-wide configuration (read by every kernel; change it before running ops).
CpuConfig& cpu_config();

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};
const CpuFeatures& cpu_features();

// The micro-kernel `config` selects on this CPU; a pa::Error when it asks for one the CPU lacks.
GemmKernel resolve_gemm_kernel(const CpuConfig& config);
std::string gemm_kernel_name(GemmKernel kernel);

}  // namespace pa::cpu
