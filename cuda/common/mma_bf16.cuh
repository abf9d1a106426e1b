// Device helpers of the bf16 tensor-core attention kernels (flash_attention_bf16.cu, the forward,
// and flash_attention_bf16_backward.cu): ldmatrix, mma.sync m16n8k16 (bf16 in, fp32 out), bf16
// packing, exp2 on the MUFU, a cp.async tile loader and a vector fp32 reduction into global memory.
//
// Fragment layouts of mma.sync.m16n8k16 (bf16 in, fp32 out), lane = 4 g + t:
//   A (16 x 16, row-major): a0 = (row g, cols 2t, 2t+1), a1 = row g + 8, a2 = a0 cols + 8,
//                           a3 = a1 cols + 8; each register holds two bf16, lower column low.
//   B (16 x 8, "col"):      b0 = (k 2t, 2t+1; column g), b1 = k + 8.
//   C (16 x 8, fp32):       c0, c1 = (row g, cols 2t, 2t+1), c2, c3 = row g + 8.
// ldmatrix.x4: lane l gives the address of row l % 8 of 8 x 8 matrix l / 8; each lane gets from
// matrix i the pair (row l / 4, cols 2 (l % 4), +1), or with .trans the pair (rows 2 (l % 4), +1;
// col l / 4). So a row-major matrix whose rows are the mma's M (or N) index loads as A (or B)
// fragments without .trans, and one whose rows are the K index loads with .trans.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/common/async_copy.cuh"

namespace pa::cuda::mma_bf16 {

__device__ __forceinline__ void ldmatrix_x4(unsigned r[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned r[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// c += a b for one 16 x 8 x 16 step.
__device__ __forceinline__ void mma(float c[4], const unsigned a[4], unsigned b0, unsigned b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x with one MUFU instruction, flushing denormal results to zero: probabilities that small
// are below anything a bf16 P can hold next to the row's largest entry (1, or 2^8 with the
// forward's lazy rescaling).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Two floats rounded to bf16 in one register, `low` in the lower half.
__device__ __forceinline__ unsigned pack_bf16(float low, float high) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);
  return *reinterpret_cast<const unsigned*>(&pair);
}

// The bf16 A fragment of one 16-wide k-step from the fp32 C fragments of the two 8-column
// n-tiles it spans (`c`: those 8 floats, n-tile 2 kk then 2 kk + 1): the C layout of two n-tiles
// is the A layout of one k-step, so P (and dS) feed the next mma straight from the accumulators.
__device__ __forceinline__ void c_to_a_fragment(const float* c, unsigned (&a)[4]) {
  a[0] = pack_bf16(c[0], c[1]);  // row g, columns 2 t, 2 t + 1
  a[1] = pack_bf16(c[2], c[3]);  // row g + 8
  a[2] = pack_bf16(c[4], c[5]);  // row g, columns + 8
  a[3] = pack_bf16(c[6], c[7]);  // row g + 8, columns + 8
}

// Rows [r0, r0 + kTileRows) of a (rows, kD) row-major bf16 matrix into a shared tile of row
// stride kStride elements through cp.async by kThreads threads, rows past the end zero-filled;
// queued, not waited for.
template <int kD, int kStride, int kTileRows, int kThreads>
__device__ __forceinline__ void load_tile_async(__nv_bfloat16* tile, const __nv_bfloat16* matrix,
                                                int64_t r0, int64_t rows) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row
  static_assert(kTileRows * kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kTileRows * kChunks / kThreads; ++i) {
    const int e = threadIdx.x + i * kThreads;
    const int r = e / kChunks, c = (e % kChunks) * 8;
    const bool inside = r0 + r < rows;
    async_copy::copy_async_16(async_copy::shared_address(tile + r * kStride + c),
                              inside ? matrix + (r0 + r) * kD + c : matrix, inside ? 16 : 0);
  }
}

// address[0] += low, address[1] += high in global memory, atomically per element (8-byte aligned
// address): one vector reduction on sm_90, two scalar ones before.
__device__ __forceinline__ void reduce_add_pair(float* address, float low, float high) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(address), "f"(low), "f"(high)
               : "memory");
#else
  atomicAdd(address, low);
  atomicAdd(address + 1, high);
#endif
}

}  // namespace pa::cuda::mma_bf16
