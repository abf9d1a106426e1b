// The warp-specialised persistent Hopper kernel behind v15 and v16 (gemm_bf16.h), in two tile
// shapes (Tiles below), and its launcher. One producer issues the copies; two consumer
// warpgroups only multiply.
// - No block-wide barrier after the start: per stage, `full` (the copy engine's bytes have landed)
//   and `empty` (both consumers are done reading it) hand the ring of stages back and forth, so
//   loads for the next tiles run while the consumers compute and while they write C.
// - A consumer keeps one wgmma group in flight: it issues k tile t's products, then waits for
//   t - 1's and frees that stage, so the tensor cores never wait for the release.
// - Persistent: the blocks walk the output tiles in a grouped order (16 tiles down M, then the
//   next column of tiles), so the tiles in flight at once share rows of A and columns of B in L2,
//   and no block waits for a launch.
// - Stream-K (v18; the kSplit instantiation, 128 x 256 tiles): the partial last wave's k tiles
//   shared by all the blocks, partial sums handed on through a workspace (stream_k_schedule.h says
//   who computes what; stream_k_fixup below hands the sums on).
// Each consumer holds a 64 x kBlockN accumulator tile (kBlockN / 2 fp32 registers a thread).
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mbarrier.cuh"
#include "cuda/common/runtime.h"
#include "cuda/common/stream_workspace.h"
#include "cuda/common/tensor_map.h"
#include "cuda/common/tma.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/stream_k_schedule.h"

namespace pa::cuda::warp_specialized {

constexpr int kBlockM = 128, kBlockK = 64, kConsumers = 2;
constexpr int kGroupM = 16;                         // tiles down M before the next tile column
constexpr int kTileA = kBlockM * kBlockK * 2;       // bytes of a stage's A box
constexpr int kChunkB = kBlockK * 128;              // one 64-column B box (MN-major B)
constexpr int kConsumerThreads = 128 * kConsumers;  // warpgroups 0 and 1; the producer follows

// The two tile shapes, by kBlockN.
// 256 (v15): a 128 x 256 x 64 block step, 2^21 multiply-adds from 48 KB of shared memory; four
// stages take 192 KB, one block per SM. The producer is a whole warpgroup so that it can hand
// registers to the consumers (setmaxnreg: 40 for it, 232 for each consumer thread, which holds
// 128 accumulators).
// 128 (v16): a 128 x 128 x 64 step, 2^20 multiply-adds from 32 KB; three stages take 96 KB, so two
// blocks share an SM and one block's epilogue runs under the other's products. The producer is
// a single warp and no registers move: 288 threads, two blocks, up to 112 registers each.
template <int kBlockN>
struct Tiles;
template <>
struct Tiles<256> {
  static constexpr int kStages = 4, kBlocksPerSm = 1, kProducerThreads = 128;
  static constexpr int kProducerRegs = 40, kConsumerRegs = 232;  // setmaxnreg
  static_assert(kProducerThreads * kProducerRegs + kConsumerThreads * kConsumerRegs <= 65536);
};
template <>
struct Tiles<128> {
  static constexpr int kStages = 3, kBlocksPerSm = 2, kProducerThreads = 32;
  static constexpr int kProducerRegs = 0, kConsumerRegs = 0;  // no setmaxnreg
};

template <int kBlockN>
struct Layout {
  static constexpr int kStages = Tiles<kBlockN>::kStages;
  static constexpr int kThreads = kConsumerThreads + Tiles<kBlockN>::kProducerThreads;
  static constexpr int kTileB = kBlockK * kBlockN * 2;  // bytes of a stage's B boxes
  static constexpr int kSharedBytes = 1024 + kStages * (kTileA + kTileB) + 2 * 8 * kStages;
};

// Where a block works: product z of the batch, tile row tm and tile column tn.
struct TilePosition {
  int z, tm, tn;
};

// The tile of cluster rank `rank` in unit `unit` (kCluster tiles stacked down M): the units of a
// product in a grouped order (kGroupM unit rows, then the next column), product after product.
template <int kCluster>
__device__ __forceinline__ TilePosition unit_tile(int unit, int units_m, int tiles_n, int rank) {
  const int per_product = units_m * tiles_n;
  const int z = unit / per_product, within_product = unit - z * per_product;
  const int group = within_product / (kGroupM * tiles_n), first = group * kGroupM;
  const int rows = min(kGroupM, units_m - first);
  const int within = within_product - group * kGroupM * tiles_n;
  return {z, (first + within % rows) * kCluster + rank, within / rows};
}

// A batch of products (gemm_bf16_batched): `count` of them; A's tensor map holds a_batches
// matrices (1: one A shared by every product, read with 2-D copies), B's b_batches; product z
// writes C at c + z stride_c.
struct Batch {
  int count, a_batches, b_batches;
  int64_t stride_c;
};

// Which kernels can split the tail: v15's tiles without clusters. Those that do are their own
// instantiation (kSplit): the fixup's code, inlined after the main loop, pushed the 128-wide
// kernel (96 registers a thread at most) into spills and the 256-wide one into a small stack
// frame, even where no tile is split; v15 and v16 stay as they were.
template <int kBlockN, int kCluster>
constexpr bool kCanSplit = kBlockN == 256 && kCluster == 1;

// One box of an operand for product z: a 3-D copy from matrix z of a batched map, or a 2-D copy
// from a single matrix; `multicast` (a mask of cluster ranks, 0: this CTA only) sends it to the
// same address in each of those CTAs.
__device__ __forceinline__ void load_box(unsigned destination, const CUtensorMap* map, int x, int y,
                                         int z, int batches, unsigned bar, uint16_t multicast = 0) {
  if (multicast != 0) {
    if (batches > 1) {
      tma::load_3d_multicast(destination, map, x, y, z, bar, multicast);
    } else {
      tma::load_2d_multicast(destination, map, x, y, bar, multicast);
    }
  } else if (batches > 1) {
    tma::load_3d(destination, map, x, y, z, bar);
  } else {
    tma::load_2d(destination, map, x, y, bar);
  }
}

// The end of a stream-K piece for consumer warpgroup `consumer` of block `block`: a piece that
// does not reach the end of its tile stores its partial sums in the block's slot (coalesced: the
// 128 threads' float4s side by side) and raises the flag (a barrier over the warpgroup, then one
// release at GPU scope), and returns false: nothing to write. The tile's last piece waits for
// the flag of each earlier block whose range reached into the tile, adds that block's slot, and
// returns true: acc holds the whole sum, to be written to C.
template <int kBlockN>
__device__ __forceinline__ bool stream_k_fixup(float (&acc)[kBlockN / 2], const Work& work,
                                               int units, int block, int k_tiles, const StreamK& sk,
                                               int consumer) {
  constexpr int kSlot = 64 * kBlockN;  // floats of one warpgroup's accumulators
  const int thread = threadIdx.x % 128;
  // Named barrier 1 or 2 over the warpgroup's 128 threads (a constant id each: a run-time id makes
  // ptxas reserve all 16).
  const auto sync_warpgroup = [&] {
    if (consumer == 0) {
      mbarrier::named_sync(1, 128);
    } else {
      mbarrier::named_sync(2, 128);
    }
  };
  const auto slot = [&](int b) {
    return reinterpret_cast<float4*>(sk.partials + (int64_t(b) * kConsumers + consumer) * kSlot) +
           thread;
  };
  const auto flag = [&](int b) { return sk.flags + b * kConsumers + consumer; };
  if (work.k_end < k_tiles) {
    float4* out = slot(block);
#pragma unroll
    for (int q = 0; q < kBlockN / 8; ++q) {
      __stcg(out + 128 * q,
             make_float4(acc[4 * q], acc[4 * q + 1], acc[4 * q + 2], acc[4 * q + 3]));
    }
    sync_warpgroup();  // every thread's partial sums are written
    if (thread == 0) {
      asm volatile("fence.acq_rel.gpu;\nst.relaxed.gpu.global.b32 [%0], %1;\n" ::"l"(flag(block)),
                   "r"(sk.epoch)
                   : "memory");
    }
    return false;
  }
  // The earlier blocks whose ranges end inside this tile (k tiles first .. first + k_tiles of
  // the stream-K range).
  const int64_t first = int64_t(work.unit - (units - sk.units)) * k_tiles;
  for (int b = block - 1; stream_k_contributes(b, k_tiles, sk, first); --b) {
    if (thread == 0) {
      unsigned raised = 0;
      do {
        asm volatile("ld.acquire.gpu.global.b32 %0, [%1];\n"
                     : "=r"(raised)
                     : "l"(flag(b))
                     : "memory");
      } while (raised != sk.epoch);
    }
    sync_warpgroup();  // thread 0 saw the flag: the slot is complete
    const float4* in = slot(b);
#pragma unroll
    for (int q = 0; q < kBlockN / 8; ++q) {
      const float4 v = __ldcg(in + 128 * q);
      acc[4 * q] += v.x;
      acc[4 * q + 1] += v.y;
      acc[4 * q + 2] += v.z;
      acc[4 * q + 3] += v.w;
    }
  }
  return true;
}

// kTransA: A is given as A^T, (k, m) row-major (MN-major for wgmma, read in two 64-row boxes);
// otherwise (m, k) row-major (K-major, one box). kTransB: B is given as B^T, (n, k) row-major
// (K-major, one kBlockN-row box); otherwise (k, n) row-major (MN-major, kBlockN / 64 boxes of 64
// columns). The bytes per stage are the same either way.
// In: __nv_bfloat16, or float read as tf32 (then A and B K-major: !kTransA, kTransB; 256-wide
// tiles only). A k tile is 128 bytes of each row either way: 64 bf16 or 32 fp32, four wgmma
// steps of 32 bytes.
// kCluster (v17): 1, or 2 CTAs of a thread-block cluster on vertically adjacent tiles (same B
// columns): each CTA's producer loads its own A and half of the shared B, multicast into both
// CTAs, so each B byte leaves L2 once per pair. A stage is then refilled only when the consumers
// of both CTAs are done with it: each consumer warpgroup's first thread arrives on the `empty`
// barrier of every CTA of the cluster.
template <int kBlockN, int kCluster, typename In, bool kTransA, bool kTransB, typename Out,
          bool kSplit = false>
__global__ void __launch_bounds__(Layout<kBlockN>::kThreads, Tiles<kBlockN>::kBlocksPerSm)
    gemm_warp_specialized_kernel(const __grid_constant__ CUtensorMap map_a,
                                 const __grid_constant__ CUtensorMap map_b, int m, int n, int k,
                                 const bf16_gemm::Epilogue<Out> epilogue, const Batch batch,
                                 const StreamK stream_k) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using L = Layout<kBlockN>;
  using T = Tiles<kBlockN>;
  constexpr int kStages = L::kStages;
  constexpr bool kTf32 = std::is_same_v<In, float>;
  static_assert(!kSplit || kCanSplit<kBlockN, kCluster>, "only v15's tiles split the tail");
  static_assert(!kTf32 || (!kTransA && kTransB && kBlockN == 256),
                "tf32 operands must both be K-major, in 256-wide tiles");
  constexpr bool kMoveRegisters = T::kConsumerRegs > 0;
  constexpr int kTileK = 128 / int(sizeof(In));  // k values per tile
  extern __shared__ unsigned char shared[];
  const unsigned tiles_a = (async_copy::shared_address(shared) + 1023) & ~1023u;
  const unsigned tiles_b = tiles_a + kStages * kTileA;
  const unsigned full = tiles_b + kStages * L::kTileB, empty = full + 8 * kStages;
  const int warpgroup = threadIdx.x / 128;
  // The blocks (clusters of kCluster blocks) walk units of kCluster tiles stacked down M: unit
  // row um holds tile rows kCluster um + rank.
  const int tiles_m = (m + kBlockM - 1) / kBlockM, tiles_n = (n + kBlockN - 1) / kBlockN;
  const int units_m = (tiles_m + kCluster - 1) / kCluster;
  const int units = units_m * tiles_n * batch.count;
  const int k_tiles = (k + kTileK - 1) / kTileK;
  const int rank = kCluster > 1 ? int(mbarrier::cluster_rank()) : 0;
  const int first_unit = blockIdx.x / kCluster, unit_step = gridDim.x / kCluster;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbarrier::init(full + 8 * s, 1);
      mbarrier::init(empty + 8 * s, kCluster > 1 ? kConsumers * kCluster : kConsumerThreads);
    }
    tma::fence_barrier_init();
  }
  if constexpr (kCluster > 1) {
    mbarrier::cluster_sync();  // the peer's barriers are initialised before any copy lands
  } else {
    __syncthreads();
  }
  // Both roles count k steps over all of this block's tiles: step i uses stage i % kStages, the
  // (i / kStages)-th fill of it.

  if (warpgroup == kConsumers) {  // the producer: one thread issues every copy
    if constexpr (kMoveRegisters) mbarrier::release_registers<T::kProducerRegs>();
    if (threadIdx.x == kConsumerThreads) {
      constexpr uint16_t kEveryRank = (1u << kCluster) - 1;
      constexpr uint16_t kMulticast = kCluster > 1 ? kEveryRank : 0;
      int i = 0;
      Work work;
      for (int j = 0; work_item<kSplit>(j, first_unit, unit_step, units, k_tiles, stream_k, work);
           ++j) {
        const auto [z, tm, tn] = unit_tile<kCluster>(work.unit, units_m, tiles_n, rank);
        for (int t = work.k_begin; t < work.k_end; ++t, ++i) {
          const int s = i % kStages;
          // Wait for the consumers (of every CTA of the cluster) to free fill i - kStages.
          if (i >= kStages) mbarrier::wait(empty + 8 * s, ((i / kStages) + 1) & 1);
          tma::expect_bytes(full + 8 * s, kTileA + L::kTileB);
          if constexpr (kTransA) {
#pragma unroll
            for (int h = 0; h < kBlockM / 64; ++h) {
              load_box(tiles_a + s * kTileA + h * kChunkB, &map_a, tm * kBlockM + 64 * h,
                       t * kTileK, z, batch.a_batches, full + 8 * s);
            }
          } else {
            load_box(tiles_a + s * kTileA, &map_a, t * kTileK, tm * kBlockM, z, batch.a_batches,
                     full + 8 * s);
          }
          // This CTA's share of B: all of it, or (cluster) its 1 / kCluster, sent to every CTA.
          if constexpr (kTransB) {
            constexpr int kRows = kBlockN / kCluster;  // rows of B^T, 128 bytes each
            load_box(tiles_b + s * L::kTileB + rank * kRows * 128, &map_b, t * kTileK,
                     tn * kBlockN + rank * kRows, z, batch.b_batches, full + 8 * s, kMulticast);
          } else {
            constexpr int kChunks = kBlockN / 64 / kCluster;
#pragma unroll
            for (int q = rank * kChunks; q < (rank + 1) * kChunks; ++q) {
              load_box(tiles_b + s * L::kTileB + q * kChunkB, &map_b, tn * kBlockN + 64 * q,
                       t * kTileK, z, batch.b_batches, full + 8 * s, kMulticast);
            }
          }
        }
      }
    }
  } else {
    if constexpr (kMoveRegisters) mbarrier::claim_registers<T::kConsumerRegs>();
    const int consumer = warpgroup;
    // Frees a stage: every consumer thread (one block), or the warpgroup's first thread once its
    // products are done, at every CTA of the cluster.
    const auto release = [&](int s) {
      if constexpr (kCluster > 1) {
        if (threadIdx.x % 128 == 0) {
#pragma unroll
          for (int r = 0; r < kCluster; ++r) mbarrier::arrive_cluster(empty + 8 * s, r);
        }
      } else {
        mbarrier::arrive(empty + 8 * s);
      }
    };
    int i = 0;
    Work work;
    for (int j = 0; work_item<kSplit>(j, first_unit, unit_step, units, k_tiles, stream_k, work);
         ++j) {
      const auto [z, tm, tn] = unit_tile<kCluster>(work.unit, units_m, tiles_n, rank);
      float acc[kBlockN / 2];
#pragma unroll
      for (int e = 0; e < kBlockN / 2; ++e) acc[e] = 0.0f;
      for (int t = work.k_begin; t < work.k_end; ++t, ++i) {
        const int s = i % kStages;
        mbarrier::wait(full + 8 * s, (i / kStages) & 1);
        const unsigned a_tile = tiles_a + s * kTileA + consumer * 64 * 128;
        const unsigned b_tile = tiles_b + s * L::kTileB;
        wgmma::fence_operands(acc);
        wgmma::fence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          // K-major: the k-th step (16 bf16 or 8 tf32) 32 k bytes into the rows; MN-major (bf16
          // only): 16 rows (2048 bytes) on, 64-element chunks kChunkB apart.
          const uint64_t a = kTransA ? wgmma::make_descriptor(a_tile + 2048 * kk, kChunkB, 1024)
                                     : wgmma::make_descriptor(a_tile + 32 * kk, 16, 1024);
          const uint64_t b = kTransB ? wgmma::make_descriptor(b_tile + 32 * kk, 16, 1024)
                                     : wgmma::make_descriptor(b_tile + 2048 * kk, kChunkB, 1024);
          if constexpr (kTf32) {
            wgmma::mma_ss_tf32_n256(acc, a, b, 1);
          } else {
            wgmma::mma_ss<kBlockN, kTransA ? 1 : 0, kTransB ? 0 : 1>(acc, a, b, 1);
          }
        }
        wgmma::commit();
        wgmma::wait<1>();  // step i - 1's products are done: its stage can be refilled
        wgmma::fence_operands(acc);
        if (t > work.k_begin) release((i - 1) % kStages);
      }
      wgmma::wait<0>();
      wgmma::fence_operands(acc);
      if (work.k_end > work.k_begin) release((i - 1) % kStages);
      if constexpr (kSplit) {
        if (work.k_end < k_tiles || work.k_begin > 0) {
          // A stream-K piece: hand the partial sums on, or (the tile's last piece) add the
          // others'.
          if (!stream_k_fixup<kBlockN>(acc, work, units, first_unit, k_tiles, stream_k, consumer)) {
            continue;
          }
        }
      }
      bf16_gemm::Epilogue<Out> out = epilogue;
      out.c += z * batch.stride_c;
      bf16_gemm::store_accumulators<kBlockN>(acc, tm * kBlockM + consumer * 64, tn * kBlockN, m, n,
                                             out);
    }
  }
  // No CTA leaves while a peer may still copy into its shared memory or arrive on its barriers.
  if constexpr (kCluster > 1) mbarrier::cluster_sync();
#endif
}

// The stream-K workspace of a launch: the partial-sum slots for `capacity` blocks (or `workers`,
// when more) and their flags, in the stream's kept buffer (stream_workspace.h), so that launches
// on one stream share it in order. The flags carry each launch's number on that buffer (its
// epoch), so no launch needs them cleared (only a new buffer, and once in 2^32 launches), and a
// flag left by an earlier or failed launch never passes for this one's. A launch being captured
// into a CUDA graph gets no stream-K (units 0): a replay would find the flags of the previous
// replay already carrying its epoch.
inline StreamK stream_k_workspace(cudaStream_t stream, int units, int workers, int capacity,
                                  size_t slot_floats, int flags_per_worker) {
  if (stream_capturing(stream)) return {};
  const int blocks = std::max(workers, capacity);
  const size_t slot_bytes = size_t(blocks) * slot_floats * sizeof(float);
  const size_t flag_bytes = size_t(blocks) * flags_per_worker * sizeof(unsigned);
  const StreamBuffer buffer = stream_workspace(stream, slot_bytes + flag_bytes, Workspace::StreamK);
  char* base = static_cast<char*>(buffer.data);
  const unsigned epoch = unsigned(buffer.use % 0xffffffffu) + 1;  // 1 .. 2^32 - 1
  if (buffer.fresh || epoch == 1) {
    PA_CUDA_CHECK(cudaMemsetAsync(base + slot_bytes, 0, flag_bytes, stream));
  }
  return {units, workers, reinterpret_cast<float*>(base),
          reinterpret_cast<unsigned*>(base + slot_bytes), epoch};
}

// The batch of a launch: `count` products, operands and results `stride_*` elements apart (0: one
// A or B shared by every product).
struct BatchStrides {
  int64_t count = 1, a = 0, b = 0, c = 0;
};

// A launch of `blocks` blocks in clusters of `cluster` (cudaLaunchKernelEx's configuration).
struct ClusterLaunch {
  ClusterLaunch(int cluster, int blocks, int threads, size_t shared_bytes, cudaStream_t stream) {
    attribute.id = cudaLaunchAttributeClusterDimension;
    attribute.val.clusterDim.x = cluster;
    attribute.val.clusterDim.y = attribute.val.clusterDim.z = 1;
    config.gridDim = dim3(blocks);
    config.blockDim = dim3(threads);
    config.dynamicSmemBytes = shared_bytes;
    config.stream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
  }
  ClusterLaunch(const ClusterLaunch&) = delete;
  ClusterLaunch& operator=(const ClusterLaunch&) = delete;
  cudaLaunchAttribute attribute{};
  cudaLaunchConfig_t config{};
};

// How many clusters of kCluster blocks of kKernel the current device keeps resident at once (the
// occupancy calculator, asked once per device); a kernel that cannot fit one is an error.
template <auto kKernel, int kCluster>
int resident_clusters(int threads, size_t shared_bytes) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> known[kMaxDevices] = {};
  int device = 0;
  PA_CUDA_CHECK(cudaGetDevice(&device));
  if (device < kMaxDevices && known[device].load() > 0) return known[device].load();
  int clusters = 0;
  if constexpr (kCluster > 1) {
    const ClusterLaunch launch(kCluster, kCluster, threads, shared_bytes, nullptr);
    PA_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, kKernel, &launch.config));
  } else {
    PA_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&clusters, kKernel, threads, shared_bytes));
    clusters *= current_device_capability().multiprocessors;
  }
  if (clusters < 1) {
    throw std::runtime_error("gemm_bf16: the warp-specialised kernel (" + std::to_string(threads) +
                             " threads, " + std::to_string(shared_bytes) +
                             " bytes of shared memory) does not fit on an SM of this GPU");
  }
  if (device < kMaxDevices) known[device].store(clusters);
  return clusters;
}

// Launches the kernel in kBlockN-wide tiles over every tile of the batch, in clusters of kCluster
// blocks: as many as the SMs keep resident, or one per unit of kCluster tiles when there are
// fewer.
template <int kBlockN, bool kTransA, bool kTransB, typename Out, typename In = __nv_bfloat16,
          int kCluster = 1>
void launch(int m, int n, int k, const In* a, int lda, const In* b, int ldb,
            const bf16_gemm::Epilogue<Out>& e, cudaStream_t stream, BatchStrides strides = {},
            Schedule schedule = Schedule::DataParallel) {
  using L = Layout<kBlockN>;
  const int64_t a_batches = strides.a != 0 ? strides.count : 1;
  const int64_t b_batches = strides.b != 0 ? strides.count : 1;
  CUtensorMap map_a, map_b;
  if constexpr (std::is_same_v<In, float>) {  // tf32: both K-major, 32-column (128-byte) boxes
    map_a = make_tensor_map_fp32(a, m, k, lda, kBlockM, 32, a_batches, strides.a);
    map_b = make_tensor_map_fp32(b, n, k, ldb, kBlockN / kCluster, 32, b_batches, strides.b);
  } else {
    map_a = kTransA ? make_tensor_map_bf16(a, k, m, lda, kBlockK, 64, a_batches, strides.a)
                    : make_tensor_map_bf16(a, m, k, lda, kBlockM, kBlockK, a_batches, strides.a);
    map_b = kTransB ? make_tensor_map_bf16(b, n, k, ldb, kBlockN / kCluster, kBlockK, b_batches,
                                           strides.b)
                    : make_tensor_map_bf16(b, k, n, ldb, kBlockK, 64, b_batches, strides.b);
  }
  constexpr auto kernel =
      gemm_warp_specialized_kernel<kBlockN, kCluster, In, kTransA, kTransB, Out, false>;
  raise_shared_limit<kernel>(L::kSharedBytes);
  const int64_t units_m = ((m + kBlockM - 1) / kBlockM + kCluster - 1) / kCluster;
  const int64_t units = units_m * int64_t((n + kBlockN - 1) / kBlockN) * strides.count;
  if (units * kCluster > INT_MAX) {
    throw std::invalid_argument(
        "gemm_bf16: " + std::to_string(units * kCluster) +
        " output tiles in one launch exceed the int range: split the batch");
  }
  const int64_t resident = resident_clusters<kernel, kCluster>(L::kThreads, L::kSharedBytes);
  int blocks = int(std::min(units, resident)) * kCluster;
  const Batch batch{int(strides.count), int(a_batches), int(b_batches), strides.c};
  StreamK stream_k;
  auto* chosen = kernel;
  if constexpr (kCanSplit<kBlockN, kCluster>) {
    if (schedule == Schedule::StreamKTail) {
      const int k_tiles = (k + 128 / int(sizeof(In)) - 1) / (128 / int(sizeof(In)));
      const StreamKPlan plan = plan_stream_k(units, k_tiles, resident);
      if (plan.workers > 0) {
        // Slots for every resident block, so that the workspace is allocated once per stream.
        stream_k = stream_k_workspace(stream, plan.units, plan.workers, int(resident),
                                      kBlockM * kBlockN, kConsumers);
      }
    }
    if (stream_k.units > 0) {  // the splitting kernel (same resources: the same residency)
      constexpr auto split =
          gemm_warp_specialized_kernel<kBlockN, kCluster, In, kTransA, kTransB, Out, true>;
      raise_shared_limit<split>(L::kSharedBytes);
      chosen = split;
      blocks = std::max(blocks, stream_k.workers);
    }
  }
  if constexpr (kCluster > 1) {
    const ClusterLaunch launch(kCluster, blocks, L::kThreads, L::kSharedBytes, stream);
    PA_CUDA_CHECK(
        cudaLaunchKernelEx(&launch.config, kernel, map_a, map_b, m, n, k, e, batch, stream_k));
  } else {
    chosen<<<blocks, L::kThreads, L::kSharedBytes, stream>>>(map_a, map_b, m, n, k, e, batch,
                                                             stream_k);
  }
  PA_CUDA_CHECK_LAUNCH();
}

}  // namespace pa::cuda::warp_specialized
