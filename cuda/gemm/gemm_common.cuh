// Pieces every version of the GEMM ladder shares: argument checks, the alpha/beta epilogue,
// alignment tests and the batched launch loop. Device-side helpers
// only; included by the gemm_*.cu files.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/gemm/gemm.h"

namespace pa::cuda::gemm_internal {

__host__ __device__ constexpr int ceil_div(int value, int divisor) {
  return (value + divisor - 1) / divisor;
}

// Throws for negative sizes, leading dimensions shorter than a row or missing pointers; returns
// false when C is empty (nothing to launch).
inline bool check_arguments(const char* name, int m, int n, int k, const float* a, int lda,
                            const float* b, int ldb, const float* c, int ldc) {
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error(std::string("pa::cuda::") + name + ": " + what +
                             " (M=" + std::to_string(m) + ", N=" + std::to_string(n) +
                             ", K=" + std::to_string(k) + ", lda=" + std::to_string(lda) +
                             ", ldb=" + std::to_string(ldb) + ", ldc=" + std::to_string(ldc) + ")");
  };
  if (m < 0 || n < 0 || k < 0) fail("negative size");
  if (lda < k || ldb < n || ldc < n) fail("leading dimension shorter than a row");
  if (m == 0 || n == 0) return false;
  if (c == nullptr) fail("C is null");
  if (k > 0 && (a == nullptr || b == nullptr)) fail("A or B is null");
  return true;
}

inline bool is_aligned16(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer) % 16 == 0;
}

// A matrix can be read (or written) as float4 along its rows.
inline bool rows_vectorizable(const float* pointer, int leading_dimension) {
  return is_aligned16(pointer) && leading_dimension % 4 == 0;
}

// alpha * acc + beta * C, never reading C when beta == 0.
__device__ __forceinline__ float epilogue(float acc, float alpha, float beta, const float* c) {
  return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

// Four consecutive elements of row `row` of a (rows, cols) matrix from column `col`, zeros
// outside it. kVector: the matrix and its leading dimension are 16-byte aligned and col % 4 == 0,
// so a tile that lies inside the matrix takes one float4 load; edges take the scalar path.
template <bool kVector>
__device__ __forceinline__ float4 load4(const float* matrix, int ld, int row, int col, int rows,
                                        int cols) {
  float4 value = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (row >= rows) return value;
  const float* p = matrix + int64_t{row} * ld + col;
  if (kVector && col + 3 < cols) return *reinterpret_cast<const float4*>(p);
  if (col < cols) value.x = p[0];
  if (col + 1 < cols) value.y = p[1];
  if (col + 2 < cols) value.z = p[2];
  if (col + 3 < cols) value.w = p[3];
  return value;
}

// Writes C[row][col..col+3] = alpha * acc + beta * C (+ bias[col..col+3] when bias is not null),
// masked to the (m, n) matrix. kVector: C and ldc are 16-byte aligned and col % 4 == 0.
template <bool kVector>
__device__ __forceinline__ void store4(float* c, int ldc, int row, int col, int m, int n,
                                       float4 acc, float alpha, float beta, const float* bias) {
  if (row >= m) return;
  float* p = c + int64_t{row} * ldc + col;  // C (M, N)
  const float values[4] = {acc.x, acc.y, acc.z, acc.w};
  if (kVector && col + 3 < n) {
    float out[4];
    const float4 old =
        beta == 0.0f ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : *reinterpret_cast<const float4*>(p);
    const float olds[4] = {old.x, old.y, old.z, old.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      out[j] = alpha * values[j] + beta * olds[j];
      if (bias != nullptr) out[j] += bias[col + j];
    }
    *reinterpret_cast<float4*>(p) = make_float4(out[0], out[1], out[2], out[3]);
    return;
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    if (col + j < n) {
      float out = epilogue(values[j], alpha, beta, p + j);
      if (bias != nullptr) out += bias[col + j];
      p[j] = out;
    }
  }
}

// cp.async wrappers (cuda/common/async_copy.cuh), under the names the versions use.
using async_copy::copy_async_16;
using async_copy::copy_async_4;
using async_copy::copy_async_commit;
using async_copy::copy_async_wait;
using async_copy::shared_address;

// ---- batched launches ----

// Throws for a negative batch count (the launcher's name in the message).
inline void check_batch(const char* name, const GemmBatch& batch) {
  if (batch.count < 0) {
    throw std::runtime_error(std::string("pa::cuda::") + name + ": negative batch count " +
                             std::to_string(batch.count));
  }
}

// A and B can be read as float4 along their rows in every matrix of the batch.
inline bool batch_vectorizable(const float* a, int lda, const float* b, int ldb,
                               const GemmBatch& batch) {
  return rows_vectorizable(a, lda) && rows_vectorizable(b, ldb) &&
         (batch.count <= 1 || (batch.stride_a % 4 == 0 && batch.stride_b % 4 == 0));
}

// Calls launch(grid, a, b, c) once per 65535 matrices of the batch (gridDim.y's limit): grid is
// (blocks, matrices in this launch), a, b, c point at its first matrix; checks each launch.
template <typename Launch>
void launch_batched(int blocks, const float* a, const float* b, float* c, const GemmBatch& batch,
                    Launch launch) {
  constexpr int kMaxGridY = 65535;
  for (int first = 0; first < batch.count; first += kMaxGridY) {
    const dim3 grid(blocks, std::min(batch.count - first, kMaxGridY));
    launch(grid, a + first * batch.stride_a, b + first * batch.stride_b,
           c + first * batch.stride_c);
    PA_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace pa::cuda::gemm_internal
