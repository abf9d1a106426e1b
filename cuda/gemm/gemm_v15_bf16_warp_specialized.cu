// v15_bf16_warp_specialized: v14's wgmma and copy engine with the roles split and the grid made
// persistent (gemm_bf16.h).
// - One producer warpgroup (one thread of it, in fact) only issues copies; two consumer
//   warpgroups only multiply. No block-wide barrier after the start: per stage, `full` (the copy
//   engine's bytes have landed) and `empty` (both consumers are done reading it) hand the ring of
//   kStages buffers back and forth, so loads for the next tiles run while the consumers compute
//   and while they write C.
// - A consumer keeps one wgmma group in flight: it issues tile t's products, then waits for
//   tile t - 1's and frees that stage, so the tensor cores never wait for the release.
// - Registers move from the producer to the consumers (setmaxnreg): each consumer holds a 64 x 256
//   accumulator tile (128 fp32 registers a thread).
// - A 128 x 256 x 64 block step: 2^21 multiply-adds from 48 KB of shared memory (v14: 2^20 from
//   32 KB); four stages take 192 KB, one block per SM.
// - Persistent: one block per SM walks the output tiles in a grouped order (16 tiles down M, then
//   the next column of tiles), so the tiles in flight at once share rows of A and columns of B in
//   L2, and no block waits for a launch.
#include <cuda.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mbarrier.cuh"
#include "cuda/common/tensor_map.h"
#include "cuda/common/tma.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"

namespace pa::cuda {
namespace {

constexpr int kBlockM = 128, kBlockN = 256, kBlockK = 64, kStages = 4, kConsumers = 2;
constexpr int kThreads = 128 * (kConsumers + 1);  // warpgroup 0 produces, 1 and 2 consume
constexpr int kProducerRegs = 40, kConsumerRegs = 232;
constexpr int kGroupM = 16;                    // tiles down M before the next tile column
constexpr int kTileA = kBlockM * kBlockK * 2;  // bytes of a stage's A box
constexpr int kTileB = kBlockK * kBlockN * 2;  // and of its four B boxes
[[maybe_unused]] constexpr int kQuarterB = kBlockK * 128;  // one 64-column B box
constexpr int kSharedBytes = 1024 + kStages * (kTileA + kTileB) + 2 * 8 * kStages;
static_assert(128 * kProducerRegs + 128 * kConsumers * kConsumerRegs <= 65536);

// The (row, column) of output tile `tile` in the grouped order.
[[maybe_unused]] __device__ __forceinline__ void tile_position(int tile, int tiles_m, int tiles_n,
                                                               int& tm, int& tn) {
  const int group = tile / (kGroupM * tiles_n), first = group * kGroupM;
  const int rows = min(kGroupM, tiles_m - first);
  const int within = tile - group * kGroupM * tiles_n;
  tm = first + within % rows;
  tn = within / rows;
}

// A batch of products (gemm_bf16_batched): `count` of them; A's tensor map holds a_batches
// matrices (1: one A shared by every product, read with 2-D copies), B's b_batches; product z
// writes C at c + z stride_c.
struct Batch {
  int count, a_batches, b_batches;
  int64_t stride_c;
};

// One box of an operand for product z: a 3-D copy from matrix z of a batched map, or a 2-D copy
// from a single matrix.
[[maybe_unused]] __device__ __forceinline__ void load_box(unsigned destination,
                                                          const CUtensorMap* map, int x, int y,
                                                          int z, int batches, unsigned bar) {
  if (batches > 1) {
    tma::load_3d(destination, map, x, y, z, bar);
  } else {
    tma::load_2d(destination, map, x, y, bar);
  }
}

// kTransA: A is given as A^T, (k, m) row-major (MN-major for wgmma, read in two 64-row boxes);
// otherwise (m, k) row-major (K-major, one box). kTransB: B is given as B^T, (n, k) row-major
// (K-major, one 256-row box); otherwise (k, n) row-major (MN-major, four 64-column boxes). The
// bytes per stage are the same either way.
// In: __nv_bfloat16, or float read as tf32 (then A and B K-major: !kTransA, kTransB). A k tile
// is 128 bytes of each row either way: 64 bf16 or 32 fp32, four wgmma steps of 32 bytes.
template <typename In, bool kTransA, bool kTransB, typename Out>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_warp_specialized_kernel(const __grid_constant__ CUtensorMap map_a,
                                 const __grid_constant__ CUtensorMap map_b, int m, int n, int k,
                                 const bf16_gemm::Epilogue<Out> epilogue, const Batch batch) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr bool kTf32 = std::is_same_v<In, float>;
  static_assert(!kTf32 || (!kTransA && kTransB), "tf32 operands must both be K-major");
  constexpr int kTileK = 128 / int(sizeof(In));  // k values per tile
  extern __shared__ unsigned char shared[];
  const unsigned tiles_a = (async_copy::shared_address(shared) + 1023) & ~1023u;
  const unsigned tiles_b = tiles_a + kStages * kTileA;
  const unsigned full = tiles_b + kStages * kTileB, empty = full + 8 * kStages;
  const int warpgroup = threadIdx.x / 128;
  const int tiles_m = (m + kBlockM - 1) / kBlockM, tiles_n = (n + kBlockN - 1) / kBlockN;
  const int per_product = tiles_m * tiles_n, tiles = per_product * batch.count;
  const int k_tiles = (k + kTileK - 1) / kTileK;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbarrier::init(full + 8 * s, 1);
      mbarrier::init(empty + 8 * s, 128 * kConsumers);
    }
    tma::fence_barrier_init();
  }
  __syncthreads();
  // Both roles count k steps over all of this block's tiles: step i uses stage i % kStages, the
  // (i / kStages)-th fill of it.

  if (warpgroup == 0) {
    mbarrier::release_registers<kProducerRegs>();
    if (threadIdx.x != 0) return;
    int i = 0;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int z = tile / per_product;  // the product of the batch
      int tm, tn;
      tile_position(tile - z * per_product, tiles_m, tiles_n, tm, tn);
      for (int t = 0; t < k_tiles; ++t, ++i) {
        const int s = i % kStages;
        // Wait for the consumers to free fill i - kStages of this stage.
        if (i >= kStages) mbarrier::wait(empty + 8 * s, ((i / kStages) + 1) & 1);
        tma::expect_bytes(full + 8 * s, kTileA + kTileB);
        if constexpr (kTransA) {
#pragma unroll
          for (int h = 0; h < kBlockM / 64; ++h) {
            load_box(tiles_a + s * kTileA + h * kQuarterB, &map_a, tm * kBlockM + 64 * h,
                     t * kTileK, z, batch.a_batches, full + 8 * s);
          }
        } else {
          load_box(tiles_a + s * kTileA, &map_a, t * kTileK, tm * kBlockM, z, batch.a_batches,
                   full + 8 * s);
        }
        if constexpr (kTransB) {
          load_box(tiles_b + s * kTileB, &map_b, t * kTileK, tn * kBlockN, z, batch.b_batches,
                   full + 8 * s);
        } else {
#pragma unroll
          for (int q = 0; q < kBlockN / 64; ++q) {
            load_box(tiles_b + s * kTileB + q * kQuarterB, &map_b, tn * kBlockN + 64 * q,
                     t * kTileK, z, batch.b_batches, full + 8 * s);
          }
        }
      }
    }
  } else {
    mbarrier::claim_registers<kConsumerRegs>();
    const int consumer = warpgroup - 1;
    int i = 0;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const int z = tile / per_product;  // the product of the batch
      int tm, tn;
      tile_position(tile - z * per_product, tiles_m, tiles_n, tm, tn);
      float acc[kBlockN / 2];
#pragma unroll
      for (int e = 0; e < kBlockN / 2; ++e) acc[e] = 0.0f;
      for (int t = 0; t < k_tiles; ++t, ++i) {
        const int s = i % kStages;
        mbarrier::wait(full + 8 * s, (i / kStages) & 1);
        const unsigned a_tile = tiles_a + s * kTileA + consumer * 64 * 128;
        const unsigned b_tile = tiles_b + s * kTileB;
        wgmma::fence_operands(acc);
        wgmma::fence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          // K-major: the k-th step (16 bf16 or 8 tf32) 32 k bytes into the rows; MN-major (bf16
          // only): 16 rows (2048 bytes) on, 64-element chunks kQuarterB apart.
          const uint64_t a = kTransA ? wgmma::make_descriptor(a_tile + 2048 * kk, kQuarterB, 1024)
                                     : wgmma::make_descriptor(a_tile + 32 * kk, 16, 1024);
          const uint64_t b = kTransB ? wgmma::make_descriptor(b_tile + 32 * kk, 16, 1024)
                                     : wgmma::make_descriptor(b_tile + 2048 * kk, kQuarterB, 1024);
          if constexpr (kTf32) {
            wgmma::mma_ss_tf32_n256(acc, a, b, 1);
          } else {
            wgmma::mma_ss<kBlockN, kTransA ? 1 : 0, kTransB ? 0 : 1>(acc, a, b, 1);
          }
        }
        wgmma::commit();
        wgmma::wait<1>();  // step i - 1's products are done: its stage can be refilled
        wgmma::fence_operands(acc);
        if (t > 0) mbarrier::arrive(empty + 8 * ((i - 1) % kStages));
      }
      wgmma::wait<0>();
      wgmma::fence_operands(acc);
      if (k_tiles > 0) mbarrier::arrive(empty + 8 * ((i - 1) % kStages));
      bf16_gemm::Epilogue<Out> out = epilogue;
      out.c += z * batch.stride_c;
      bf16_gemm::store_accumulators<kBlockN>(acc, tm * kBlockM + consumer * 64, tn * kBlockN, m, n,
                                             out);
    }
  }
#endif
}

// The batch of a launch: `count` products, operands and results `stride_*` elements apart (0: one
// A or B shared by every product).
struct BatchStrides {
  int64_t count = 1, a = 0, b = 0, c = 0;
};

template <bool kTransA, bool kTransB, typename Out, typename In = __nv_bfloat16>
void launch(int m, int n, int k, const In* a, int lda, const In* b, int ldb,
            const bf16_gemm::Epilogue<Out>& e, cudaStream_t stream, BatchStrides strides = {}) {
  const int64_t a_batches = strides.a != 0 ? strides.count : 1;
  const int64_t b_batches = strides.b != 0 ? strides.count : 1;
  CUtensorMap map_a, map_b;
  if constexpr (std::is_same_v<In, float>) {  // tf32: both K-major, 32-column (128-byte) boxes
    map_a = make_tensor_map_fp32(a, m, k, lda, kBlockM, 32, a_batches, strides.a);
    map_b = make_tensor_map_fp32(b, n, k, ldb, kBlockN, 32, b_batches, strides.b);
  } else {
    map_a = kTransA ? make_tensor_map_bf16(a, k, m, lda, kBlockK, 64, a_batches, strides.a)
                    : make_tensor_map_bf16(a, m, k, lda, kBlockM, kBlockK, a_batches, strides.a);
    map_b = kTransB ? make_tensor_map_bf16(b, n, k, ldb, kBlockN, kBlockK, b_batches, strides.b)
                    : make_tensor_map_bf16(b, k, n, ldb, kBlockK, 64, b_batches, strides.b);
  }
  constexpr auto kernel = gemm_warp_specialized_kernel<In, kTransA, kTransB, Out>;
  raise_shared_limit<kernel>(kSharedBytes);
  const int64_t tiles =
      int64_t((m + kBlockM - 1) / kBlockM) * int64_t((n + kBlockN - 1) / kBlockN) * strides.count;
  if (tiles > INT_MAX) {
    throw std::invalid_argument(
        "gemm_bf16: " + std::to_string(tiles) +
        " output tiles in one launch exceed the int range: split the batch");
  }
  const int blocks = int(std::min<int64_t>(tiles, current_device_capability().multiprocessors));
  const Batch batch{int(strides.count), int(a_batches), int(b_batches), strides.c};
  kernel<<<blocks, kThreads, kSharedBytes, stream>>>(map_a, map_b, m, n, k, e, batch);
  PA_CUDA_CHECK_LAUNCH();
}

// bt (n, k) row-major, leading dimension ldbt = b (k, n) row-major transposed: 32 x 32 tiles
// through shared memory (padded a column against bank conflicts), reads and writes coalesced.
__global__ void transpose_kernel(const float* __restrict__ b, int ldb, int k, int n,
                                 float* __restrict__ bt, int ldbt) {
  __shared__ float tile[32][33];
  const int k0 = blockIdx.y * 32, n0 = blockIdx.x * 32;
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    if (k0 + r < k && n0 + threadIdx.x < n) {
      tile[r][threadIdx.x] = b[int64_t(k0 + r) * ldb + n0 + threadIdx.x];
    }
  }
  __syncthreads();
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    if (n0 + r < n && k0 + threadIdx.x < k) {
      bt[int64_t(n0 + r) * ldbt + k0 + threadIdx.x] = tile[threadIdx.x][r];
    }
  }
}

// gemm_bf16 for either type of C: v15 where the copy engine reads the layout on sm_90, else
// v13's mma.sync kernel in the same layout. A batch (strides.count > 1) is one v15 launch when
// every matrix of it is 16-byte aligned too (batch strides multiples of 8 elements, or 0), else
// one launch per product.
template <typename Out>
void gemm_any_layout(bool trans_a, bool trans_b, int m, int n, int k, const __nv_bfloat16* a,
                     int lda, const __nv_bfloat16* b, int ldb, const bf16_gemm::Epilogue<Out>& e,
                     cudaStream_t stream, BatchStrides strides = {}) {
  if (!bf16_gemm::check_arguments({"gemm_bf16", true}, m, n, k, a, lda, b, ldb, e.c, e.ldc, trans_a,
                                  trans_b)) {
    return;
  }
  if (strides.count < 0) throw std::invalid_argument("gemm_bf16_batched: negative count");
  if (strides.count == 0) return;
  const DeviceCapability& device = current_device_capability();
  const bool hopper = device.major == 9 && device.minor == 0;
  const bool batch_aligned = strides.count == 1 || (strides.a % 8 == 0 && strides.b % 8 == 0);
  if (hopper && batch_aligned && bf16_gemm::tma_layout(k, a, lda, b, ldb)) {
    if (trans_a && trans_b) return launch<true, true>(m, n, k, a, lda, b, ldb, e, stream, strides);
    if (trans_a) return launch<true, false>(m, n, k, a, lda, b, ldb, e, stream, strides);
    if (trans_b) return launch<false, true>(m, n, k, a, lda, b, ldb, e, stream, strides);
    return launch<false, false>(m, n, k, a, lda, b, ldb, e, stream, strides);
  }
  for (int64_t z = 0; z < strides.count; ++z) {
    bf16_gemm::Epilogue<Out> out = e;
    out.c += z * strides.c;
    const __nv_bfloat16 *az = a + z * strides.a, *bz = b + z * strides.b;
    if (hopper && bf16_gemm::tma_layout(k, az, lda, bz, ldb)) {
      gemm_any_layout(trans_a, trans_b, m, n, k, az, lda, bz, ldb, out, stream);
    } else {
      bf16_gemm::mma_sync_gemm(trans_a, trans_b, m, n, k, az, lda, bz, ldb, out, stream);
    }
  }
}

}  // namespace

void gemm_v15_bf16_warp_specialized(int m, int n, int k, float alpha, const __nv_bfloat16* a,
                                    int lda, const __nv_bfloat16* b, int ldb, float beta, float* c,
                                    int ldc, const float* bias, cudaStream_t stream) {
  const char* name = "gemm_v15_bf16_warp_specialized";
  if (!bf16_gemm::check_arguments(name, m, n, k, a, lda, b, ldb, c, ldc)) return;
  bf16_gemm::require_hopper(name);
  if (!bf16_gemm::tma_layout(k, a, lda, b, ldb)) {
    return gemm_v13_bf16_mma(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
  }
  launch<false, false>(m, n, k, a, lda, b, ldb,
                       bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, false}, stream);
}

void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const __nv_bfloat16* a,
               int lda, const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
               const float* bias, cudaStream_t stream, GemmActivation activation) {
  gemm_any_layout(
      trans_a, trans_b, m, n, k, a, lda, b, ldb,
      bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, activation == GemmActivation::GeluTanh},
      stream);
}

void gemm_bf16(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const __nv_bfloat16* a,
               int lda, const __nv_bfloat16* b, int ldb, float beta, __nv_bfloat16* c, int ldc,
               const __nv_bfloat16* bias, cudaStream_t stream, GemmActivation activation) {
  gemm_any_layout(trans_a, trans_b, m, n, k, a, lda, b, ldb,
                  bf16_gemm::Epilogue<__nv_bfloat16>{alpha, beta, c, ldc, bias,
                                                     activation == GemmActivation::GeluTanh},
                  stream);
}

void gemm_bf16_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                       const __nv_bfloat16* a, int lda, int64_t stride_a, const __nv_bfloat16* b,
                       int ldb, int64_t stride_b, float beta, float* c, int ldc, int64_t stride_c,
                       int count, const float* bias, cudaStream_t stream,
                       GemmActivation activation) {
  gemm_any_layout(
      trans_a, trans_b, m, n, k, a, lda, b, ldb,
      bf16_gemm::Epilogue<float>{alpha, beta, c, ldc, bias, activation == GemmActivation::GeluTanh},
      stream, BatchStrides{count, stride_a, stride_b, stride_c});
}

void gemm_bf16_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                       const __nv_bfloat16* a, int lda, int64_t stride_a, const __nv_bfloat16* b,
                       int ldb, int64_t stride_b, float beta, __nv_bfloat16* c, int ldc,
                       int64_t stride_c, int count, const __nv_bfloat16* bias, cudaStream_t stream,
                       GemmActivation activation) {
  gemm_any_layout(trans_a, trans_b, m, n, k, a, lda, b, ldb,
                  bf16_gemm::Epilogue<__nv_bfloat16>{alpha, beta, c, ldc, bias,
                                                     activation == GemmActivation::GeluTanh},
                  stream, BatchStrides{count, stride_a, stride_b, stride_c});
}

bool gemm_tf32_takes(int k, const float* a, int lda, const float* b, int ldb, bool trans_b) {
  const DeviceCapability& device = current_device_capability();
  return device.major == 9 && device.minor == 0 && k > 0 && tensor_map_compatible(a, lda, 4) &&
         (!trans_b || tensor_map_compatible(b, ldb, 4));
}

void gemm_tf32(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc, const float* bias,
               cudaStream_t stream, GemmActivation activation) {
  const bf16_gemm::Caller caller{"gemm_tf32", true};
  if (!bf16_gemm::check_arguments(caller, m, n, k, a, lda, b, ldb, c, ldc, false, trans_b)) return;
  if (!gemm_tf32_takes(k, a, lda, b, ldb, trans_b)) {
    throw std::invalid_argument(
        caller.describe(false, trans_b) +
        ": needs an sm_90 GPU, k > 0 and operands the copy engine reads (16-byte aligned, "
        "leading dimensions multiples of 4); m " +
        std::to_string(m) + ", n " + std::to_string(n) + ", k " + std::to_string(k) + ", lda " +
        std::to_string(lda) + ", ldb " + std::to_string(ldb) + ": use the fp32 GEMM (gemm_best)");
  }
  const bf16_gemm::Epilogue<float> e{alpha, beta, c,
                                     ldc,   bias, activation == GemmActivation::GeluTanh};
  if (trans_b) return launch<false, true, float, float>(m, n, k, a, lda, b, ldb, e, stream);
  // tf32 reads B K-major only: B^T into a stream-ordered scratch buffer first (k n reads and
  // writes against the product's 2 m n k flops).
  const int ldbt = (k + 3) / 4 * 4;
  float* bt = nullptr;
  PA_CUDA_CHECK(
      cudaMallocAsync(reinterpret_cast<void**>(&bt), size_t(n) * ldbt * sizeof(float), stream));
  transpose_kernel<<<dim3((n + 31) / 32, (k + 31) / 32), dim3(32, 8), 0, stream>>>(b, ldb, k, n, bt,
                                                                                   ldbt);
  PA_CUDA_CHECK_LAUNCH();
  launch<false, true, float, float>(m, n, k, a, lda, bt, ldbt, e, stream);
  PA_CUDA_CHECK(cudaFreeAsync(bt, stream));
}

}  // namespace pa::cuda
