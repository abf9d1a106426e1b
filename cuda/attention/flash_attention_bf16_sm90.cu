// FlashAttention-2 forward in bf16 on Hopper's warpgroup MMA (wgmma, sm_90a): the design of
// flash_attention_bf16.cu's mma.sync kernel (online softmax in base 2 on the accumulators, P
// packed to bf16 in registers, K/V tiles through cp.async double buffers) with the products
// issued per warpgroup: S = Q K^T as m64nKk16 with Q and K read by the tensor cores straight
// from shared memory (no ldmatrix, no per-warp operand registers), and O += P V as m64nDk16 with
// P from registers and V transposed on the fly. Each warpgroup (128 threads) owns 64 query rows.
// Shared tiles are in the 128-byte swizzled layout wgmma reads (wgmma.cuh), written by cp.async
// 16-byte chunks at chunk c ^ (row % 8), 1024-byte aligned; a proxy fence makes them visible to
// the tensor cores. forward_kernel_sm90 (D = 64): every thread loads, then computes, two block
// barriers per key tile. forward_kernel_sm90_ws (D = 128): warp-specialised, a producer
// warpgroup loads while the consumer warpgroups compute, handshakes by mbarrier. No TMA.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "cuda/attention/flash_attention_bf16_common.cuh"
#include "cuda/attention/flash_attention_bf16_sm90.h"
#include "cuda/common/async_copy.cuh"
#include "cuda/common/check.h"
#include "cuda/common/launch.cuh"
#include "cuda/common/mbarrier.cuh"
#include "cuda/common/wgmma.cuh"

namespace pa::cuda::bf16_attention {
namespace {

// S = Q K^T for this warpgroup's 64 rows (kRows rows in the Q tile) over kD / 16 steps of 16;
// step ks reads 32 bytes into the rows of column half ks / 4 of both tiles. Issued, not
// committed.
template <int kD, int kKeys, int kRows>
__device__ __forceinline__ void issue_scores(float (&s)[kKeys / 2], unsigned q_tile,
                                             unsigned k_tile, int warpgroup) {
#pragma unroll
  for (int ks = 0; ks < kD / 16; ++ks) {
    const unsigned column = (ks / 4), within = (ks % 4) * 32;
    const uint64_t a = wgmma::make_descriptor(
        q_tile + column * kRows * 128 + warpgroup * 64 * 128 + within, 16, 1024);
    const uint64_t bk = wgmma::make_descriptor(k_tile + column * kKeys * 128 + within, 16, 1024);
    wgmma::mma_ss<kKeys, 0, 0>(s, a, bk, ks > 0);
  }
}

// O += P V over kKeys / 16 steps; step kk reads keys 16 kk .. 16 kk + 15 of the V tile (2048
// bytes on), its two column halves kKeys * 128 bytes apart. Issued, not committed.
template <int kD, int kKeys>
__device__ __forceinline__ void issue_output(float (&o)[kD / 2],
                                             const unsigned (&pa)[kKeys / 16][4], unsigned v_tile) {
#pragma unroll
  for (int kk = 0; kk < kKeys / 16; ++kk) {
    const uint64_t bv = wgmma::make_descriptor(v_tile + kk * 2048, kKeys * 128, 1024);
    wgmma::mma_rs_transposed_b<kD>(o, pa[kk], bv);
  }
}

// The softmax step of key tile k0 on the scores s (masked where the tile can hide something:
// past Nk, across the diagonal of a block starting at query q0, padding), leaving P as the bf16
// A fragments of O += P V in pa.
template <class C>
__device__ __forceinline__ void probabilities(Scores<C>& s, float (&m)[1][2], float (&l)[1][2],
                                              Output<C>& o, const Params& p, int64_t b, int64_t k0,
                                              int64_t q0, int64_t row0, int t,
                                              unsigned (&pa)[C::kKeys / 16][4]) {
  if (k0 + C::kKeys > p.Nk || (p.causal && k0 + C::kKeys - 1 > q0) || p.padding != nullptr) {
    mask_scores<C>(s, p, b, k0, row0, t);
  }
  softmax_step<C>(s, m, l, o, p.scale_log2);
#pragma unroll
  for (int kk = 0; kk < C::kKeys / 16; ++kk) probability_fragment<C>(s, 0, kk, pa[kk]);
}

// kWarpgroups of 64 query rows per block; K/V tiles of kKeys keys; kLazy as in the mma.sync
// kernel (flash_attention_bf16_common.cuh).
template <int kD_, int kKeys_, int kWarpgroups_, bool kLazy_>
struct Sm90Config {
  static constexpr int kD = kD_, kKeys = kKeys_, kWarpgroups = kWarpgroups_;
  static constexpr bool kLazy = kLazy_;
  static constexpr int kMTiles = 1, kNTiles = kKeys / 8;  // per warp: 16 rows, kKeys keys
  static constexpr int kThreads = 128 * kWarpgroups, kRows = 64 * kWarpgroups;
  static constexpr int kQBytes = kRows * kD * 2, kTileBytes = kKeys * kD * 2;
  // Q, two K and two V tiles, and 1024 bytes to align the start.
  static constexpr size_t kSharedBytes = kQBytes + 4 * kTileBytes + 1024;
};

template <class C>
__global__ void __launch_bounds__(C::kThreads) forward_kernel_sm90(Params p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int kD = C::kD, kKeys = C::kKeys;
  extern __shared__ unsigned char shared[];
  const unsigned q_tile = (async_copy::shared_address(shared) + 1023) & ~1023u;
  const unsigned k_tiles = q_tile + C::kQBytes;          // two buffers
  const unsigned v_tiles = k_tiles + 2 * C::kTileBytes;  // two buffers
  const int warpgroup = threadIdx.x / 128, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * C::kRows;  // heaviest (causal) first
  const __nv_bfloat16* q = p.q + bh * p.Nq * kD;
  const __nv_bfloat16* k = p.k + bh * p.Nk * kD;
  const __nv_bfloat16* v = p.v + bh * p.Nk * kD;
  const int64_t row0 = q0 + 64 * warpgroup + 16 * warp + g;  // this lane's rows: + 0, + 8

  wgmma::load_swizzled_tile<kD, C::kThreads, C::kRows>(q_tile, q, q0, p.Nq);
  const int64_t k_end = p.causal ? min(p.Nk, q0 + C::kRows) : p.Nk;
  if (k_end > 0) {
    wgmma::load_swizzled_tile<kD, C::kThreads, kKeys>(k_tiles, k, 0, p.Nk);
    wgmma::load_swizzled_tile<kD, C::kThreads, kKeys>(v_tiles, v, 0, p.Nk);
  }
  async_copy::copy_async_commit();

  float o[1][kD / 8][4] = {};
  float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.0f, 0.0f}};
  for (int64_t k0 = 0, tile = 0; k0 < k_end; k0 += kKeys, ++tile) {
    const int buffer = int(tile % 2);
    const unsigned k_tile = k_tiles + buffer * C::kTileBytes;
    const unsigned v_tile = v_tiles + buffer * C::kTileBytes;
    __syncthreads();  // the other buffer (tile - 1) is no longer read
    if (k0 + kKeys < k_end) {
      wgmma::load_swizzled_tile<kD, C::kThreads, kKeys>(k_tiles + (1 - buffer) * C::kTileBytes, k,
                                                        k0 + kKeys, p.Nk);
      wgmma::load_swizzled_tile<kD, C::kThreads, kKeys>(v_tiles + (1 - buffer) * C::kTileBytes, v,
                                                        k0 + kKeys, p.Nk);
    }
    async_copy::copy_async_commit();
    async_copy::copy_async_wait<1>();  // this thread's copies of Q and tile `tile` have landed
    wgmma::fence_shared_for_async_proxy();
    __syncthreads();

    float s[1][C::kNTiles][4];
    auto& s_flat = reinterpret_cast<float(&)[kKeys / 2]>(s);
    wgmma::fence();
    issue_scores<kD, kKeys, C::kRows>(s_flat, q_tile, k_tile, warpgroup);
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(s_flat);

    unsigned pa[kKeys / 16][4];
    probabilities<C>(s, m, l, o, p, b, k0, q0, row0, t, pa);
    auto& o_flat = reinterpret_cast<float(&)[kD / 2]>(o);
    wgmma::fence_operands(o_flat);
    wgmma::fence();
    issue_output<kD, kKeys>(o_flat, pa, v_tile);
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(o_flat);
  }
  async_copy::copy_async_wait<0>();
  store_rows<C>(o, m, l, p, bh, row0, t);
#else
  static_assert(C::kMTiles == 1 && C::kNTiles * 8 == C::kKeys && (C::kLazy || !C::kLazy));
  __trap();  // built for other targets only so the fatbin links; forward_sm90 never launches it
#endif
}

// The warp-specialised variant (taken at D = 128): one producer warpgroup streams K and V tiles
// through a ring of kStages shared buffers with cp.async, and kConsumers warpgroups of 64 query
// rows each compute, with no block-wide barrier after the start, so the consumers drift apart
// and one's softmax overlaps another's products. Handshakes by mbarrier: per stage, `k_full` and
// `v_full` (128 producer arrivals: that tile has landed, made visible to the tensor cores by a
// proxy fence) and `empty` (128 kConsumers arrivals: every consumer is done reading the stage).
// K and V are announced separately, so S = Q K^T starts before V has landed. The producer
// gives registers to the consumers (setmaxnreg): kProducerRegs + kConsumers kConsumerRegs per
// thread of each warpgroup fit the block's 65536. Each consumer issues the next tile's S right
// after this tile's O += P V, both waited for once.
template <int kD_, int kKeys_, int kConsumers_, int kStages_, int kProducerRegs_,
          int kConsumerRegs_, bool kLazy_>
struct Sm90WsConfig {
  static constexpr int kD = kD_, kKeys = kKeys_, kConsumers = kConsumers_, kStages = kStages_;
  static constexpr int kProducerRegs = kProducerRegs_, kConsumerRegs = kConsumerRegs_;
  static constexpr bool kLazy = kLazy_;
  static constexpr int kMTiles = 1, kNTiles = kKeys / 8;
  static constexpr int kThreads = 128 * (kConsumers + 1), kRows = 64 * kConsumers;
  static constexpr int kQBytes = kRows * kD * 2, kTileBytes = kKeys * kD * 2;
  // 1024 bytes to align the start, Q, kStages K and V tiles, then 3 kStages mbarriers.
  static constexpr int kBarrierOffset = kQBytes + 2 * kStages * kTileBytes;
  static constexpr size_t kSharedBytes = 1024 + kBarrierOffset + 3 * 8 * kStages;
  static_assert(128 * kProducerRegs + 128 * kConsumers * kConsumerRegs <= 65536);
};

template <class C>
__global__ void __launch_bounds__(C::kThreads, 1) forward_kernel_sm90_ws(Params p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int kD = C::kD, kKeys = C::kKeys, kStages = C::kStages;
  extern __shared__ unsigned char shared[];
  const unsigned q_tile = (async_copy::shared_address(shared) + 1023) & ~1023u;
  const unsigned k_tiles = q_tile + C::kQBytes;                // kStages buffers
  const unsigned v_tiles = k_tiles + kStages * C::kTileBytes;  // kStages buffers
  const unsigned k_full = q_tile + C::kBarrierOffset;          // kStages mbarriers each
  const unsigned v_full = k_full + 8 * kStages, empty = v_full + 8 * kStages;
  const int warpgroup = threadIdx.x / 128;
  const int64_t bh = blockIdx.y, b = bh / p.H;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * C::kRows;  // heaviest (causal) first
  const int64_t k_end = p.causal ? min(p.Nk, q0 + C::kRows) : p.Nk;
  const int64_t tiles = k_end > 0 ? (k_end + kKeys - 1) / kKeys : 0;
  if (threadIdx.x == 0) {
    for (int i = 0; i < kStages; ++i) {
      mbarrier::init(k_full + 8 * i, 128);
      mbarrier::init(v_full + 8 * i, 128);
      mbarrier::init(empty + 8 * i, 128 * C::kConsumers);
    }
  }
  __syncthreads();
  // Tile j sits in stage j % kStages; its barriers complete phase j / kStages there.
  const auto phase = [](int64_t j) { return unsigned((j / kStages) & 1); };

  if (warpgroup == C::kConsumers) {
    // Producer. K_j and V_j are cp.async groups of their own: V_{j-1} is announced once K_j is
    // queued and K_j once V_j is (each after its group has landed and a proxy fence), so every
    // tile a consumer needs to let go of stage j is announced before the producer waits for it.
    mbarrier::release_registers<C::kProducerRegs>();
    const int thread = threadIdx.x % 128;
    const __nv_bfloat16* k = p.k + bh * p.Nk * kD;
    const __nv_bfloat16* v = p.v + bh * p.Nk * kD;
    for (int64_t j = 0; j < tiles; ++j) {
      const int stage = int(j % kStages);
      if (j >= kStages) mbarrier::wait(empty + 8 * stage, phase(j - kStages));
      wgmma::load_swizzled_tile<kD, 128, kKeys, kKeys, 4>(k_tiles + stage * C::kTileBytes, k,
                                                          j * kKeys, p.Nk, 0, thread);
      async_copy::copy_async_commit();
      if (j >= 1) {
        async_copy::copy_async_wait<1>();
        wgmma::fence_shared_for_async_proxy();
        mbarrier::arrive(v_full + 8 * int((j - 1) % kStages));
      }
      wgmma::load_swizzled_tile<kD, 128, kKeys, kKeys, 4>(v_tiles + stage * C::kTileBytes, v,
                                                          j * kKeys, p.Nk, 0, thread);
      async_copy::copy_async_commit();
      async_copy::copy_async_wait<1>();
      wgmma::fence_shared_for_async_proxy();
      mbarrier::arrive(k_full + 8 * stage);
    }
    if (tiles > 0) {
      async_copy::copy_async_wait<0>();
      wgmma::fence_shared_for_async_proxy();
      mbarrier::arrive(v_full + 8 * int((tiles - 1) % kStages));
    }
    return;
  }

  // Consumer: its own 64 rows of Q, then every key tile.
  mbarrier::claim_registers<C::kConsumerRegs>();
  const int warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t row0 = q0 + 64 * warpgroup + 16 * warp + g;  // this lane's rows: + 0, + 8
  wgmma::load_swizzled_tile<kD, 128, C::kRows, 64>(q_tile, p.q + bh * p.Nq * kD, q0, p.Nq,
                                                   64 * warpgroup, threadIdx.x % 128);
  async_copy::copy_async_commit();
  async_copy::copy_async_wait<0>();
  wgmma::fence_shared_for_async_proxy();
  mbarrier::named_sync(1 + warpgroup, 128);

  float o[1][kD / 8][4] = {};
  float m[1][2] = {{-INFINITY, -INFINITY}}, l[1][2] = {{0.0f, 0.0f}};
  float s[1][C::kNTiles][4];
  auto& s_flat = reinterpret_cast<float(&)[kKeys / 2]>(s);
  auto& o_flat = reinterpret_cast<float(&)[kD / 2]>(o);
  // S = Q K_j^T, queued as one group.
  const auto scores = [&](int64_t j) {
    issue_scores<kD, kKeys, C::kRows>(s_flat, q_tile, k_tiles + int(j % kStages) * C::kTileBytes,
                                      warpgroup);
    wgmma::commit();
  };
  if (tiles > 0) {
    mbarrier::wait(k_full, 0);
    wgmma::fence();
    scores(0);
    wgmma::wait<0>();
    wgmma::fence_operands(s_flat);
  }
  for (int64_t j = 0; j < tiles; ++j) {
    const int stage = int(j % kStages);
    const int64_t k0 = j * kKeys;
    unsigned pa[kKeys / 16][4];
    probabilities<C>(s, m, l, o, p, b, k0, q0, row0, t, pa);
    const bool next = j + 1 < tiles;
    if (next) mbarrier::wait(k_full + 8 * int((j + 1) % kStages), phase(j + 1));
    mbarrier::wait(v_full + 8 * stage, phase(j));
    wgmma::fence_operands(o_flat);
    wgmma::fence_operands(s_flat);
    wgmma::fence();
    // O += P V (as in forward_kernel_sm90), then S for the next tile into s (P is in pa).
    issue_output<kD, kKeys>(o_flat, pa, v_tiles + stage * C::kTileBytes);
    wgmma::commit();
    if (next) scores(j + 1);
    wgmma::wait<0>();
    wgmma::fence_operands(o_flat);
    wgmma::fence_operands(s_flat);
    mbarrier::arrive(empty + 8 * stage);
  }
  store_rows<C>(o, m, l, p, bh, row0, t);
#else
  static_assert(C::kMTiles == 1 && C::kNTiles * 8 == C::kKeys && (C::kLazy || !C::kLazy));
  __trap();  // built for other targets only so the fatbin links; forward_sm90 never launches it
#endif
}

template <class C>
void launch(const AttentionShape& s, const Params& p) {
  launch_grid<forward_kernel_sm90<C>>((s.Nq + C::kRows - 1) / C::kRows, s.B * s.H, C::kThreads,
                                      C::kSharedBytes, p);
}

template <class C>
void launch_ws(const AttentionShape& s, const Params& p) {
  launch_grid<forward_kernel_sm90_ws<C>>((s.Nq + C::kRows - 1) / C::kRows, s.B * s.H, C::kThreads,
                                         C::kSharedBytes, p);
}

}  // namespace

bool wgmma_device() {
  const DeviceCapability& device = current_device_capability();
  return device.major == 9 && device.minor == 0;
}

void forward_sm90(const AttentionShape& shape, const Params& p) {
  // Measured on the H100 (scratch sweep at 8727844, (4,48,4096,64) and (4,16,4096,128), TFLOP/s
  // non-causal / causal): D = 64: 64-key tiles, 2 warpgroups 354 / 324 (125 registers, two
  // blocks per SM), 3 warpgroups 279 / 234, 128-key tiles 311 / 277. D = 128: 128-key tiles,
  // 3 warpgroups 434 / 343 (168 registers, 72 bytes spilled, 12 warps per SM), 2 warpgroups
  // 378 / 334 (234 registers, 8 warps); 64-key tiles 403 / 329. Issuing S for the next tile
  // before the softmax of this one (a third K/V stage) was slower everywhere (197-360): ptxas
  // serialises the wgmma when the softmax reads accumulators between issue and wait.
  // D = 128 warp-specialised (scratch sweep at 6090fea, attention_bf16_scratch_sweeps.txt section
  // 5, (4,16,4096,128) / (1,8,16384,128) non-causal): 3 stages of 128 keys with K and V announced
  // separately 442.8 / 472.6 against 426.2 / 402.5 for the kernel above; one barrier per stage
  // 395.2 / 428.1; 2 stages 352.0 / 363.7; 64-key tiles, 4 stages 406.3 / 432.2; ping-pong
  // 419.8 / 444.3.
  if (shape.D == 64) return launch<Sm90Config<64, 64, 2, false>>(shape, p);
  return launch_ws<Sm90WsConfig<128, 128, 2, 3, 32, 232, true>>(shape, p);
}

}  // namespace pa::cuda::bf16_attention
