// Shared by the bf16 rungs: argument checks (all of them), and for the Hopper rungs (v14, v15) when
// the copy engine can read the operands and the epilogue that writes a warpgroup's wgmma
// accumulators to C.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/common/runtime.h"
#include "cuda/common/tensor_map.h"

namespace pa::cuda::bf16_gemm {

// The checks every rung makes; false when there is nothing to compute (m or n is 0). trans_a: A is
// stored (k, m), so lda must cover m; trans_b: B is stored (n, k), so ldb must cover k.
inline bool check_arguments(const std::string& name, int m, int n, int k, const void* a, int lda,
                            const void* b, int ldb, const float* c, int ldc, bool trans_a = false,
                            bool trans_b = false) {
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument(name + ": negative size");
  if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n) {
    throw std::invalid_argument(name + ": a leading dimension is shorter than its row");
  }
  if (m == 0 || n == 0) return false;
  if ((k > 0 && (a == nullptr || b == nullptr)) || c == nullptr) {
    throw std::invalid_argument(name + ": missing operand pointer");
  }
  return true;
}

// The Hopper rungs read A and B through tensor maps: both need 16-byte aligned starts and row
// pitches (lda, ldb multiples of 8), and k > 0. Other layouts go to v13 (which checks each
// element).
inline bool tma_layout(int k, const void* a, int lda, const void* b, int ldb) {
  return k > 0 && tensor_map_compatible(a, lda) && tensor_map_compatible(b, ldb);
}

inline void require_hopper(const std::string& name) {
  const DeviceCapability& device = current_device_capability();
  if (device.major != 9 || device.minor != 0) {
    throw std::invalid_argument(name +
                                ": needs an sm_90 GPU (wgmma and the tensor memory "
                                "accelerator); this one is sm_" +
                                std::to_string(device.major) + std::to_string(device.minor) +
                                ": use gemm_v13_bf16_mma");
  }
}

// C[row0.., col0..] = alpha * acc + beta * C (+ bias[col]) for a warpgroup's 64 x N accumulators
// in the wgmma layout (wgmma.cuh): warp w of the warpgroup holds rows 16 w + g and 16 w + g + 8
// (g = lane / 4); lane 4 g + t holds columns 8 j + 2 t and + 1 of each 8-column slice j. Each
// pair goes out as one 8-byte store where C allows (ldc even, C 8-byte aligned): the four lanes
// of a row then write one whole 32-byte sector, where single floats touched every sector twice
// (Nsight Compute at 8192 x 2304 x 768: half the epilogue's sectors were excess).
template <int N>
__device__ __forceinline__ void store_accumulators(const float (&acc)[N / 2], int row0, int col0,
                                                   int m, int n, float alpha, float beta, float* c,
                                                   int ldc, const float* bias) {
  const int lane = threadIdx.x % 32, warp = (threadIdx.x / 32) % 4;
  const int g = lane / 4, t = lane % 4;
  const bool pairs = ldc % 2 == 0 && reinterpret_cast<uintptr_t>(c) % 8 == 0;
#pragma unroll
  for (int j = 0; j < N / 8; ++j) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = row0 + 16 * warp + g + 8 * half, col = col0 + 8 * j + 2 * t;
      if (row >= m || col >= n) continue;
      float* out = c + int64_t(row) * ldc + col;
      float v0 = alpha * acc[4 * j + 2 * half], v1 = alpha * acc[4 * j + 2 * half + 1];
      if (pairs && col + 1 < n) {
        if (beta != 0.0f) {
          const float2 old = *reinterpret_cast<const float2*>(out);
          v0 += beta * old.x;
          v1 += beta * old.y;
        }
        if (bias != nullptr) {
          v0 += bias[col];
          v1 += bias[col + 1];
        }
        *reinterpret_cast<float2*>(out) = make_float2(v0, v1);
        continue;
      }
      if (beta != 0.0f) v0 += beta * out[0];
      if (bias != nullptr) v0 += bias[col];
      out[0] = v0;
      if (col + 1 < n) {
        if (beta != 0.0f) v1 += beta * out[1];
        if (bias != nullptr) v1 += bias[col + 1];
        out[1] = v1;
      }
    }
  }
}

}  // namespace pa::cuda::bf16_gemm
