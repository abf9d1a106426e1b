// Block-level synchronisation for warp-specialised kernels (sm_90): shared-memory mbarriers
// (arrive counts and phases: a producer announces a full buffer, consumers announce an empty
// one), named barriers over a subset of the block's warps, and setmaxnreg (moving registers
// between the warpgroups of a block). Device-side helpers of the attention kernels.
#pragma once

#include <cuda_runtime.h>

namespace pa::cuda::mbarrier {

// An mbarrier at shared address `bar` (8-byte aligned) whose phase completes after `count`
// arrivals. Before any use by other threads: a __syncthreads.
__device__ __forceinline__ void init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// One arrival, releasing this thread's earlier memory accesses to the threads that wait.
__device__ __forceinline__ void arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Waits until the phase with parity `parity` (0 for the first, 1 for the second, ...) completed,
// acquiring what the arriving threads released (those of this CTA, or of a peer CTA through
// arrive_cluster below).
__device__ __forceinline__ void wait(unsigned bar, unsigned parity) {
  unsigned done = 0;
  while (done == 0) {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.acquire.cta.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  }
}

// Thread-block clusters (sm_90). One arrival at the barrier at shared address `bar` of the CTA
// of rank `rank` in this cluster (this CTA's own rank included), with the default semantics,
// release at CTA scope, as CUTLASS's cluster barrier arrives. What it orders is this thread's
// completed wgmma reads of a stage before the peer's copy engine overwrites it; a release at
// cluster scope is a memory fence that also waits for this thread's outstanding global stores
// (Nsight Compute on v17 at 4096: membar stalls, and the other warps of the warpgroup waiting
// for that one at the next wgmma).
__device__ __forceinline__ void arrive_cluster(unsigned bar, unsigned rank) {
  asm volatile(
      "{\n.reg .b32 remote;\nmapa.shared::cluster.u32 remote, %0, %1;\n"
      "mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n" ::"r"(bar),
      "r"(rank)
      : "memory");
}
// This CTA's rank in its cluster.
__device__ __forceinline__ unsigned cluster_rank() {
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(rank));
  return rank;
}
// Every thread of every CTA of the cluster: the cluster-wide __syncthreads.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
}

// Named barrier `id` (1-15; 0 is __syncthreads): waits for `threads` threads (a multiple of 32).
__device__ __forceinline__ void named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// This warpgroup gives registers back down to kRegs per thread, or takes more up to kRegs (a
// multiple of 8 in [24, 256]); all four warps of the warpgroup execute it. ptxas allocates the
// code after it within that count only when the kernel's entry count is known
// (__launch_bounds__ with a minimum of blocks per SM).
template <int kRegs>
__device__ __forceinline__ void release_registers() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void claim_registers() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}

}  // namespace pa::cuda::mbarrier
