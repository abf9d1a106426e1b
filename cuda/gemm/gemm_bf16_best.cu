// The best bf16 GEMM for the shape and layout (gemm_bf16.h): gemm_bf16, gemm_bf16_batched and
// gemm_tf32 pick among the rungs, as gemm_best does for fp32.
#include <cuda_bf16.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/runtime.h"
#include "cuda/common/stream_workspace.h"
#include "cuda/common/tensor_map.h"
#include "cuda/gemm/gemm_bf16.h"
#include "cuda/gemm/gemm_bf16_common.cuh"
#include "cuda/gemm/gemm_warp_specialized.cuh"

namespace pa::cuda {
namespace {

using warp_specialized::BatchStrides;
using warp_specialized::launch;
using warp_specialized::Schedule;

std::atomic<Bf16Tiles> forced_tiles{Bf16Tiles::Auto};
// Off until a ladder run with the kept workspace shows the tail faster (cuda/gemm/README.md, v18).
std::atomic<bool> stream_k_enabled{false};

// v15's 128 x 256 tiles (true) or v16's 128 x 128 (false) for a product of this shape. Measured
// on the H100 (results/gpu/h100/gemm_bf16_ladder.jsonl, after the compact epilogue): v15 is the
// faster from n = 2048 (128 tiles) and on every GPT-2-small shape (0.74-0.95x cuBLAS against
// v16's 0.63-0.82x); v16 only where 128 x 256 tiles would leave more than half of the SMs idle
// (n = 1024: 32 tiles for 132 SMs; 0.61x against 0.54x).
bool wide_tiles(int m, int n, int64_t count, int multiprocessors) {
  const Bf16Tiles forced = forced_tiles.load();
  if (forced != Bf16Tiles::Auto) return forced == Bf16Tiles::Wide;
  constexpr int kRows = warp_specialized::kBlockM, kColumns = 256;  // v15's tile
  const int64_t wide = int64_t((m + kRows - 1) / kRows) * ((n + kColumns - 1) / kColumns) * count;
  return 2 * wide > int64_t(multiprocessors);
}

// The kernel for the layout, in kBlockN-wide tiles.
template <int kBlockN, typename Out>
void launch_layout(bool trans_a, bool trans_b, int m, int n, int k, const __nv_bfloat16* a, int lda,
                   const __nv_bfloat16* b, int ldb, const bf16_gemm::Epilogue<Out>& e,
                   cudaStream_t stream, BatchStrides strides) {
  const Schedule kTail = stream_k_enabled.load() ? Schedule::StreamKTail : Schedule::DataParallel;
  if (trans_a && trans_b) {
    return launch<kBlockN, true, true>(m, n, k, a, lda, b, ldb, e, stream, strides, kTail);
  }
  if (trans_a) {
    return launch<kBlockN, true, false>(m, n, k, a, lda, b, ldb, e, stream, strides, kTail);
  }
  if (trans_b) {
    return launch<kBlockN, false, true>(m, n, k, a, lda, b, ldb, e, stream, strides, kTail);
  }
  return launch<kBlockN, false, false>(m, n, k, a, lda, b, ldb, e, stream, strides, kTail);
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

// gemm_bf16 for either type of C: v15 or v16 (wide_tiles) where the copy engine reads the layout
// on sm_90, else v13's mma.sync kernel in the same layout. A batch (strides.count > 1) is one
// persistent launch when every matrix of it is 16-byte aligned too (batch strides multiples of 8
// elements, or 0), else one launch per product.
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
    if (wide_tiles(m, n, strides.count, device.multiprocessors)) {
      return launch_layout<256>(trans_a, trans_b, m, n, k, a, lda, b, ldb, e, stream, strides);
    }
    return launch_layout<128>(trans_a, trans_b, m, n, k, a, lda, b, ldb, e, stream, strides);
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

void set_bf16_tiles(Bf16Tiles tiles) { forced_tiles.store(tiles); }
void set_bf16_stream_k(bool enabled) { stream_k_enabled.store(enabled); }

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
  if (trans_b) return launch<256, false, true, float, float>(m, n, k, a, lda, b, ldb, e, stream);
  // tf32 reads B K-major only: B^T into the stream's kept scratch buffer first (k n reads and
  // writes against the product's 2 m n k flops); under graph capture, a buffer of the graph's
  // own (allocated and freed in stream order), since a kept one could be grown under it.
  const int ldbt = (k + 3) / 4 * 4;
  const size_t bytes = size_t(n) * ldbt * sizeof(float);
  const bool capturing = stream_capturing(stream);
  float* bt = nullptr;
  if (capturing) {
    PA_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&bt), bytes, stream));
  } else {
    bt = static_cast<float*>(stream_workspace(stream, bytes, Workspace::Transpose).data);
  }
  transpose_kernel<<<dim3((n + 31) / 32, (k + 31) / 32), dim3(32, 8), 0, stream>>>(b, ldb, k, n, bt,
                                                                                   ldbt);
  PA_CUDA_CHECK_LAUNCH();
  launch<256, false, true, float, float>(m, n, k, a, lda, bt, ldbt, e, stream);
  if (capturing) PA_CUDA_CHECK(cudaFreeAsync(bt, stream));
}

}  // namespace pa::cuda
