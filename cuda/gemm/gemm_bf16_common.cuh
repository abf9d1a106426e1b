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
#include "cuda/gemm/gemm_bf16.h"
#include "engine/kernels/defs.h"

namespace pa::cuda::bf16_gemm {

// How a launcher names itself in errors: `name`, followed by the layout ("gemm_bf16 (A^T x B)")
// when `with_layout`. Built only when an error is thrown, so a launch allocates nothing.
struct Caller {
  Caller(const char* launcher, bool layout = false) : name(launcher), with_layout(layout) {}
  const char* name;
  bool with_layout;
  std::string describe(bool trans_a, bool trans_b) const {
    std::string text = name;
    if (with_layout) {
      text += std::string(" (") + (trans_a ? "A^T" : "A") + " x " + (trans_b ? "B^T" : "B") + ")";
    }
    return text;
  }
};

// The checks every rung makes; false when there is nothing to compute (m or n is 0). trans_a: A is
// stored (k, m), so lda must cover m; trans_b: B is stored (n, k), so ldb must cover k.
inline bool check_arguments(Caller caller, int m, int n, int k, const void* a, int lda,
                            const void* b, int ldb, const void* c, int ldc, bool trans_a = false,
                            bool trans_b = false) {
  const auto fail = [&](const char* what) {
    throw std::invalid_argument(caller.describe(trans_a, trans_b) + ": " + what);
  };
  if (m < 0 || n < 0 || k < 0) fail("negative size");
  if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n) {
    fail("a leading dimension is shorter than its row");
  }
  if (m == 0 || n == 0) return false;
  if ((k > 0 && (a == nullptr || b == nullptr)) || c == nullptr) fail("missing operand pointer");
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

// The start every Hopper rung's entry point shares (row-major A and B, fp32 C): the checks, sm_90,
// and v13's kernel for a layout the copy engine cannot read. True when the rung should launch its
// own kernel; false when there is nothing to do or v13 has done it.
inline bool hopper_rung_launches(const char* name, int m, int n, int k, float alpha,
                                 const __nv_bfloat16* a, int lda, const __nv_bfloat16* b, int ldb,
                                 float beta, float* c, int ldc, const float* bias,
                                 cudaStream_t stream) {
  if (!check_arguments(name, m, n, k, a, lda, b, ldb, c, ldc)) return false;
  require_hopper(name);
  if (!tma_layout(k, a, lda, b, ldb)) {
    gemm_v13_bf16_mma(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
    return false;
  }
  return true;
}

// What a rung writes: C (fp32 or bf16, `Out`) = act(alpha * acc + beta * C + bias[col]), act
// the identity or GELU (tanh form); bias (n) of C's type, or null.
template <typename Out>
struct Epilogue {
  float alpha, beta;
  Out* c;
  int ldc;
  const Out* bias;
  bool gelu;
};

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename Out>
__device__ __forceinline__ Out narrow(float x);
template <>
__device__ __forceinline__ float narrow<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 narrow<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Whether adjacent even/odd columns of C can go out as one store (float2, or bf16 pair): ldc
// even and C aligned to the pair.
template <typename Out>
__device__ __forceinline__ bool pairs_aligned(const Epilogue<Out>& e) {
  return e.ldc % 2 == 0 && reinterpret_cast<uintptr_t>(e.c) % (2 * sizeof(Out)) == 0;
}

// Two adjacent values of C as one store (float2 or a bf16 pair); `out` aligned to the pair.
template <typename Out>
__device__ __forceinline__ void store_two(Out* out, float v0, float v1) {
  if constexpr (sizeof(Out) == 4) {
    *reinterpret_cast<float2*>(out) = make_float2(v0, v1);
  } else {
    *reinterpret_cast<__nv_bfloat162*>(out) = __floats2bfloat162_rn(v0, v1);
  }
}

// Writes C[row, col] (and C[row, col + 1] when col + 1 < n) from the accumulators v0, v1; col
// is even. `pairs`: pairs_aligned(e).
template <typename Out>
__device__ __forceinline__ void store_pair(const Epilogue<Out>& e, bool pairs, int row, int col,
                                           int n, float v0, float v1) {
  const bool two = col + 1 < n;
  Out* out = e.c + int64_t(row) * e.ldc + col;
  v0 *= e.alpha;
  v1 *= e.alpha;
  if (e.beta != 0.0f) {
    v0 += e.beta * widen(out[0]);
    if (two) v1 += e.beta * widen(out[1]);
  }
  if (e.bias != nullptr) {
    v0 += widen(e.bias[col]);
    if (two) v1 += widen(e.bias[col + 1]);
  }
  if (e.gelu) {
    v0 = kernels::unary_value(kernels::UnaryKind::GeluTanh, v0, 0.0f);
    v1 = kernels::unary_value(kernels::UnaryKind::GeluTanh, v1, 0.0f);
  }
  if (two && pairs) return store_two(out, v0, v1);
  out[0] = narrow<Out>(v0);
  if (two) out[1] = narrow<Out>(v1);
}

// The epilogue for a warpgroup's 64 x N accumulators in the wgmma layout (wgmma.cuh), C's tile
// at (row0, col0): warp w of the warpgroup holds rows 16 w + g and 16 w + g + 8 (g = lane / 4);
// lane 4 g + t holds columns 8 j + 2 t and + 1 of each 8-column slice j. Each pair goes out as
// one store where C allows: the four lanes of a row then write one whole 32-byte sector of fp32,
// where single floats touched every sector twice (Nsight Compute at 8192 x 2304 x 768: half the
// epilogue's sectors were excess).
// The common case, a tile wholly inside C with aligned pairs, no beta and no GELU, takes a short
// branch-free sequence (two stores per 8-column slice): the general one below tests every pair
// for bounds, beta, bias and GELU, and unrolled over 64 x 256 accumulators its code no longer
// fits the instruction cache (Nsight Compute, v15 at 8192 x 768 x 768: half of the cycles between
// a warp's instructions spent waiting for an instruction fetch).
template <int N, typename Out>
__device__ __forceinline__ void store_accumulators(const float (&acc)[N / 2], int row0, int col0,
                                                   int m, int n, const Epilogue<Out>& e) {
  const int lane = threadIdx.x % 32, warp = (threadIdx.x / 32) % 4;
  const int g = lane / 4, t = lane % 4;
  const bool pairs = pairs_aligned(e);
  if (pairs && row0 + 64 <= m && col0 + N <= n && e.beta == 0.0f && !e.gelu) {
    Out* out = e.c + int64_t(row0 + 16 * warp + g) * e.ldc + col0 + 2 * t;
    const int64_t eight_rows = 8 * int64_t(e.ldc);
    const Out* bias = e.bias == nullptr ? nullptr : e.bias + col0 + 2 * t;
    if (bias == nullptr) {
#pragma unroll
      for (int j = 0; j < N / 8; ++j) {
        store_two(out + 8 * j, acc[4 * j] * e.alpha, acc[4 * j + 1] * e.alpha);
        store_two(out + 8 * j + eight_rows, acc[4 * j + 2] * e.alpha, acc[4 * j + 3] * e.alpha);
      }
    } else {
#pragma unroll
      for (int j = 0; j < N / 8; ++j) {
        const float b0 = widen(bias[8 * j]), b1 = widen(bias[8 * j + 1]);
        store_two(out + 8 * j, acc[4 * j] * e.alpha + b0, acc[4 * j + 1] * e.alpha + b1);
        store_two(out + 8 * j + eight_rows, acc[4 * j + 2] * e.alpha + b0,
                  acc[4 * j + 3] * e.alpha + b1);
      }
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < N / 8; ++j) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int row = row0 + 16 * warp + g + 8 * half, col = col0 + 8 * j + 2 * t;
      if (row >= m || col >= n) continue;
      store_pair(e, pairs, row, col, n, acc[4 * j + 2 * half], acc[4 * j + 2 * half + 1]);
    }
  }
}

// v13's mma.sync GEMM in any layout (gemm_v13_bf16_mma.cu): op(A) op(B) into the epilogue, on
// any GPU from sm_80; the fallback of gemm_bf16 where the copy engine cannot read the operands.
// Arguments already checked.
template <typename Out>
void mma_sync_gemm(bool trans_a, bool trans_b, int m, int n, int k, const __nv_bfloat16* a, int lda,
                   const __nv_bfloat16* b, int ldb, const Epilogue<Out>& e, cudaStream_t stream);

}  // namespace pa::cuda::bf16_gemm
