// Packed, cache-blocked SGEMM (see gemm.h).
#include "engine/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/cpu/cpu_config.h"
#include "engine/cpu/gemm_kernels.h"

namespace pa::cpu {
namespace {

using Kernel = void (*)(int64_t, const float*, const float*, float*, int64_t, bool);

struct KernelInfo {
  Kernel kernel;
  int64_t mr, nr;
};

KernelInfo select_kernel(const CpuConfig& config) {
  if (resolve_gemm_kernel(config) == GemmKernel::Avx512) {
    return {sgemm_kernel_avx512, kAvx512MR, kAvx512NR};
  }
  return {sgemm_kernel_avx2, kAvx2MR, kAvx2NR};
}

// A 64-byte aligned scratch buffer per thread that only grows, so that the many small GEMMs of
// the attention tiles do not allocate (the kernels use aligned loads of packed B).
float* thread_buffer(int slot, int64_t count) {
  struct Buffer {
    float* data = nullptr;
    int64_t capacity = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[3];
  Buffer& buffer = buffers[slot];
  if (buffer.capacity < count) {
    std::free(buffer.data);
    buffer.capacity = std::max<int64_t>(count, 2 * buffer.capacity);
    buffer.data =
        static_cast<float*>(std::aligned_alloc(64, ((buffer.capacity * 4 + 63) / 64) * 64));
  }
  return buffer.data;
}

// Packs rows [i0, i0 + MR) x columns [p0, p0 + kc) of A into dst[k * MR + r]; rows past M are
// zero.
void pack_a_panel(MatrixRef A, int64_t M, int64_t i0, int64_t p0, int64_t kc, int64_t MR,
                  float* dst) {
  const int64_t rows = std::min(MR, M - i0);
  if (A.row_stride == 1) {  // column-major: each k is MR contiguous values
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = A.data + i0 + (p0 + k) * A.col_stride;
      std::memcpy(dst + k * MR, src, rows * sizeof(float));
      std::fill(dst + k * MR + rows, dst + (k + 1) * MR, 0.0f);
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = A.data + (i0 + r) * A.row_stride + p0 * A.col_stride;
    for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k * A.col_stride];
  }
  for (int64_t r = rows; r < MR; ++r) {
    for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
  }
}

// Packs rows [p0, p0 + kc) x columns [j0, j0 + NR) of B into dst[k * NR + j]; columns past N
// are zero.
void pack_b_panel(MatrixRef B, int64_t N, int64_t p0, int64_t j0, int64_t kc, int64_t NR,
                  float* dst) {
  const int64_t cols = std::min(NR, N - j0);
  if (B.col_stride == 1) {  // row-major: each k is NR contiguous values
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B.data + (p0 + k) * B.row_stride + j0;
      std::memcpy(dst + k * NR, src, cols * sizeof(float));
      std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.0f);
    }
    return;
  }
  for (int64_t j = 0; j < cols; ++j) {
    const float* src = B.data + p0 * B.row_stride + (j0 + j) * B.col_stride;
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = src[k * B.row_stride];
  }
  for (int64_t j = cols; j < NR; ++j) {
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.0f;
  }
}

// One kc-deep block: C[0:M, j0:j0+nc] (+)= A[:, p0:p0+kc] B[p0:p0+kc, j0:j0+nc] with B packed
// in `packed_b`. Runs inside a parallel region: the A panels are shared out with omp for.
void block_product(const KernelInfo& kernel, MatrixRef A, int64_t M, int64_t p0, int64_t kc,
                   const float* packed_b, int64_t j0, int64_t nc, float* C, int64_t ldc,
                   bool accumulate, float* packed_a, float* scratch) {
  const int64_t MR = kernel.mr, NR = kernel.nr;
  const int64_t panels_m = (M + MR - 1) / MR, panels_n = (nc + NR - 1) / NR;
#pragma omp for schedule(static)
  for (int64_t ip = 0; ip < panels_m; ++ip) {
    const int64_t i0 = ip * MR, rows = std::min(MR, M - i0);
    pack_a_panel(A, M, i0, p0, kc, MR, packed_a);
    for (int64_t jp = 0; jp < panels_n; ++jp) {
      const int64_t j = j0 + jp * NR, cols = std::min(NR, j0 + nc - j);
      float* c_tile = C + i0 * ldc + j;  // (rows, cols) of C
      const float* b_panel = packed_b + jp * NR * kc;
      if (rows == MR && cols == NR) {
        kernel.kernel(kc, packed_a, b_panel, c_tile, ldc, accumulate);
        continue;
      }
      kernel.kernel(kc, packed_a, b_panel, scratch, NR, false);  // edge: via a full tile
      for (int64_t r = 0; r < rows; ++r) {
        float* row = c_tile + r * ldc;
        const float* tile_row = scratch + r * NR;
        for (int64_t c = 0; c < cols; ++c) row[c] = accumulate ? row[c] + tile_row[c] : tile_row[c];
      }
    }
  }
}

}  // namespace

void sgemm(int64_t M, int64_t N, int64_t K, MatrixRef A, MatrixRef B, float* C, int64_t ldc,
           bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    }
    return;
  }
  const CpuConfig& config = cpu_config();
  const KernelInfo kernel = select_kernel(config);
  const int64_t MR = kernel.mr, NR = kernel.nr;
  const int64_t KC = std::max<int64_t>(1, config.gemm_kc);
  const int64_t NC = std::max<int64_t>(NR, config.gemm_nc / NR * NR);
  const int64_t nc_max = std::min(NC, (N + NR - 1) / NR * NR), kc_max = std::min(KC, K);
  // B's packed block is shared by the team: the calling thread's buffer.
  float* packed_b = thread_buffer(0, nc_max * kc_max);
  const bool parallel =
      !omp_in_parallel() && M * N * K >= config.gemm_parallel_min && (M + MR - 1) / MR > 1;
  auto run = [&] {
    float* packed_a = thread_buffer(1, MR * kc_max);
    float* scratch = thread_buffer(2, MR * NR);
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
      const int64_t nc = std::min(NC, N - j0);
      for (int64_t p0 = 0; p0 < K; p0 += KC) {
        const int64_t kc = std::min(KC, K - p0);
        const int64_t panels_n = (nc + NR - 1) / NR;
#pragma omp for schedule(static)
        for (int64_t jp = 0; jp < panels_n; ++jp) {
          pack_b_panel(B, N, p0, j0 + jp * NR, kc, NR, packed_b + jp * NR * kc);
        }  // implicit barrier: B is packed before any thread uses it
        block_product(kernel, A, M, p0, kc, packed_b, j0, nc, C, ldc, accumulate || p0 > 0,
                      packed_a, scratch);
      }  // the omp for in block_product ends with a barrier before B is repacked
    }
  };
  const int threads = config.threads > 0 ? config.threads : omp_get_max_threads();
  // Not parallel: a team of one, so that the omp for loops never bind to an enclosing team.
#pragma omp parallel if (parallel) num_threads(threads)
  run();
}

}  // namespace pa::cpu
