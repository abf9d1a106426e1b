// Hopper's tensor memory accelerator (TMA, sm_90): bulk copies of a 2-D box of a global matrix
// into shared memory, described by a tensor map (tensor_map.h) and completed on an mbarrier
// (mbarrier.cuh) that counts the bytes landed. Device code only; sm_90 and later.
//
// One thread announces the bytes a stage expects (expect_bytes, which is also that thread's
// arrival) and issues the copies; the consumers wait on the barrier's phase (mbarrier::wait).
// Box elements outside the matrix are filled with zeros and still count towards the bytes.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace pa::cuda::tma {

// Makes freshly initialised mbarriers visible to the copy engine (after mbarrier::init, before
// the block-wide barrier that precedes their first use).
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

// This thread's arrival at `bar`, announcing `bytes` more bytes to land before its phase
// completes.
__device__ __forceinline__ void expect_bytes(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}

// The box of `map` whose first element is (column x, row y) into shared memory at `destination`
// (1024-aligned for the 128-byte swizzle), counted on `bar`.
__device__ __forceinline__ void load_2d(unsigned destination, const CUtensorMap* map, int x, int y,
                                        unsigned bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, "
      "{%2, %3}], [%4];\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar)
      : "memory");
}

// The same for a three-dimensional map (a batch of matrices): the box at (column x, row y) of
// matrix z.
__device__ __forceinline__ void load_3d(unsigned destination, const CUtensorMap* map, int x, int y,
                                        int z, unsigned bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, "
      "{%2, %3, %4}], [%5];\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(bar)
      : "memory");
}

// Multicast (thread-block clusters): the box lands at `destination` in every CTA of the cluster
// whose rank is set in `mask`, and each counts its bytes on its own barrier at address `bar`.
__device__ __forceinline__ void load_2d_multicast(unsigned destination, const CUtensorMap* map,
                                                  int x, int y, unsigned bar, uint16_t mask) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      ".multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar), "h"(mask)
      : "memory");
}
__device__ __forceinline__ void load_3d_multicast(unsigned destination, const CUtensorMap* map,
                                                  int x, int y, int z, unsigned bar,
                                                  uint16_t mask) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      ".multicast::cluster [%0], [%1, {%2, %3, %4}], [%5], %6;\n" ::"r"(destination),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(z), "r"(bar), "h"(mask)
      : "memory");
}

}  // namespace pa::cuda::tma
