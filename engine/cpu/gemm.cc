// Packed, cache-blocked SGEMM (see gemm.h).
#include "engine/cpu/gemm.h"

#include <immintrin.h>
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

// In-register transpose of an 8 x 8 float block: row[i] lane j becomes row[j] lane i.
inline void transpose8x8(__m256 row[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(row[i], row[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(row[i], row[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    row[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    row[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
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
  int64_t k_done = 0;
  if (A.col_stride == 1) {  // row-major: 8 x 8 blocks transposed in registers
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; k_done + 8 <= kc; k_done += 8) {
      for (int64_t r0 = 0; r0 < MR; r0 += 8) {
        __m256 block[8];  // rows r0..r0+8 (zero past `rows`), columns k_done..k_done+8
        for (int64_t r = 0; r < 8; ++r) {
          block[r] = r0 + r < rows
                         ? _mm256_loadu_ps(A.data + (i0 + r0 + r) * A.row_stride + p0 + k_done)
                         : _mm256_setzero_ps();
        }
        transpose8x8(block);  // block[k] = column k of the rows
        const int width = static_cast<int>(std::min<int64_t>(8, MR - r0));
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(width), lanes);
        for (int64_t k = 0; k < 8; ++k) {
          float* out = dst + (k_done + k) * MR + r0;
          if (width == 8) {  // plain stores where the width allows (masked ones are slow)
            _mm256_storeu_ps(out, block[k]);
          } else if (width == 4) {
            _mm_storeu_ps(out, _mm256_castps256_ps128(block[k]));
          } else if (width == 6) {  // the AVX2 kernel's MR
            _mm_storeu_ps(out, _mm256_castps256_ps128(block[k]));
            _mm_storel_pi(reinterpret_cast<__m64*>(out + 4), _mm256_extractf128_ps(block[k], 1));
          } else {
            _mm256_maskstore_ps(out, mask, block[k]);
          }
        }
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {  // the rest of the columns, one value at a time
    const float* src = A.data + (i0 + r) * A.row_stride + p0 * A.col_stride;
    for (int64_t k = k_done; k < kc; ++k) dst[k * MR + r] = src[k * A.col_stride];
  }
  for (int64_t r = rows; r < MR; ++r) {
    for (int64_t k = k_done; k < kc; ++k) dst[k * MR + r] = 0.0f;
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

// C tile (rows, cols) (+)= A panel B panel over kc: a full MR x NR tile straight into C, an edge
// tile through the scratch tile (the micro-kernels only write full tiles).
void run_tile(const KernelInfo& kernel, int64_t kc, const float* a_panel, const float* b_panel,
              float* c_tile, int64_t ldc, int64_t rows, int64_t cols, bool accumulate,
              float* scratch) {
  if (rows == kernel.mr && cols == kernel.nr) {
    kernel.kernel(kc, a_panel, b_panel, c_tile, ldc, accumulate);
    return;
  }
  kernel.kernel(kc, a_panel, b_panel, scratch, kernel.nr, false);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = c_tile + r * ldc;
    const float* tile_row = scratch + r * kernel.nr;
    for (int64_t c = 0; c < cols; ++c) row[c] = accumulate ? row[c] + tile_row[c] : tile_row[c];
  }
}

// One kc-deep block: C[0:M, j0:j0+nc] (+)= A[:, p0:p0+kc] B[p0:p0+kc, j0:j0+nc] with B packed
// in `packed_b`. `parallel`: called by every thread of a team, which shares out the A panels
// (omp for); otherwise the calling thread does them all, with no OpenMP construct at all.
void block_product(const KernelInfo& kernel, MatrixRef A, int64_t M, int64_t p0, int64_t kc,
                   const float* packed_b, int64_t j0, int64_t nc, float* C, int64_t ldc,
                   bool accumulate, float* packed_a, float* scratch, bool parallel) {
  const int64_t MR = kernel.mr, NR = kernel.nr;
  const int64_t panels_m = (M + MR - 1) / MR, panels_n = (nc + NR - 1) / NR;
  auto panel = [&](int64_t ip) {
    const int64_t i0 = ip * MR, rows = std::min(MR, M - i0);
    pack_a_panel(A, M, i0, p0, kc, MR, packed_a);
    for (int64_t jp = 0; jp < panels_n; ++jp) {
      const int64_t j = j0 + jp * NR, cols = std::min(NR, j0 + nc - j);
      run_tile(kernel, kc, packed_a, packed_b + jp * NR * kc, C + i0 * ldc + j, ldc, rows, cols,
               accumulate, scratch);
    }
  };
  if (!parallel) {
    for (int64_t ip = 0; ip < panels_m; ++ip) panel(ip);
    return;
  }
#pragma omp for schedule(static)
  for (int64_t ip = 0; ip < panels_m; ++ip) panel(ip);
}

// C (M, N) (+)= A B for small products, without packing A: B as row-major (K, N) (read in
// place when it is, else copied to a thread buffer); then 4-row x 8-column tiles of C held in
// registers across the k loop (the last columns through masked loads and stores), so that a
// narrow C (an 8-wide attention head) is not a chain of store-to-load round trips.
void small_product(int64_t M, int64_t N, int64_t K, MatrixRef A, MatrixRef B, float* C, int64_t ldc,
                   bool accumulate) {
  const float* b = B.data;
  int64_t ldb = B.row_stride;
  if (B.col_stride != 1) {
    float* packed = thread_buffer(0, K * N);  // (K, N)
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t j = 0; j < N; ++j)
        packed[k * N + j] = B.data[k * B.row_stride + j * B.col_stride];
    }
    b = packed;
    ldb = N;
  }
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int64_t rs = A.row_stride, cs = A.col_stride;
  for (int64_t j0 = 0; j0 < N; j0 += 8) {
    const int width = static_cast<int>(std::min<int64_t>(8, N - j0));
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(width), lanes);
    auto finish = [&](int64_t i, __m256 acc) {  // C (i, j0:j0+width) (+)= acc
      float* c = C + i * ldc + j0;
      if (accumulate) acc = _mm256_add_ps(acc, _mm256_maskload_ps(c, mask));
      _mm256_maskstore_ps(c, mask, acc);
    };
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) {  // four rows: four independent FMA chains
      __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      const float* a = A.data + i * rs;
      for (int64_t k = 0; k < K; ++k) {
        const __m256 b_k = _mm256_maskload_ps(b + k * ldb + j0, mask);  // B (k, j0:j0+8)
        const float* a_k = a + k * cs;
        acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a_k), b_k, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a_k + rs), b_k, acc1);
        acc2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a_k + 2 * rs), b_k, acc2);
        acc3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a_k + 3 * rs), b_k, acc3);
      }
      finish(i, acc0);
      finish(i + 1, acc1);
      finish(i + 2, acc2);
      finish(i + 3, acc3);
    }
    for (; i < M; ++i) {
      __m256 acc = _mm256_setzero_ps();
      const float* a = A.data + i * rs;
      for (int64_t k = 0; k < K; ++k) {
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + k * cs),
                              _mm256_maskload_ps(b + k * ldb + j0, mask), acc);
      }
      finish(i, acc);
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
  if (M * N * K <= config.gemm_small_max) {
    small_product(M, N, K, A, B, C, ldc, accumulate);
    return;
  }
  const KernelInfo kernel = select_kernel(config);
  const int64_t MR = kernel.mr, NR = kernel.nr;
  const int64_t KC = std::max<int64_t>(1, config.gemm_kc);
  const int64_t NC = std::max<int64_t>(NR, config.gemm_nc / NR * NR);
  const int64_t nc_max = std::min(NC, (N + NR - 1) / NR * NR), kc_max = std::min(KC, K);
  // B's packed block is shared by the team: the calling thread's buffer.
  float* packed_b = thread_buffer(0, nc_max * kc_max);
  const int threads = config.threads > 0 ? config.threads : omp_get_max_threads();
  const bool parallel = threads > 1 && !omp_in_parallel() &&
                        M * N * K >= config.gemm_parallel_min && (M + MR - 1) / MR > 1;
  // Called by every thread of the team when `parallel`, else by the caller alone (no OpenMP
  // construct then, so that many small products inside a parallel region stay cheap).
  auto run = [&] {
    float* packed_a = thread_buffer(1, MR * kc_max);
    float* scratch = thread_buffer(2, MR * NR);
    for (int64_t j0 = 0; j0 < N; j0 += NC) {
      const int64_t nc = std::min(NC, N - j0);
      for (int64_t p0 = 0; p0 < K; p0 += KC) {
        const int64_t kc = std::min(KC, K - p0);
        const int64_t panels_n = (nc + NR - 1) / NR;
        if (parallel) {
#pragma omp for schedule(static)
          for (int64_t jp = 0; jp < panels_n; ++jp) {
            pack_b_panel(B, N, p0, j0 + jp * NR, kc, NR, packed_b + jp * NR * kc);
          }  // implicit barrier: B is packed before any thread uses it
        } else {
          for (int64_t jp = 0; jp < panels_n; ++jp) {
            pack_b_panel(B, N, p0, j0 + jp * NR, kc, NR, packed_b + jp * NR * kc);
          }
        }
        block_product(kernel, A, M, p0, kc, packed_b, j0, nc, C, ldc, accumulate || p0 > 0,
                      packed_a, scratch, parallel);
      }  // the omp for in block_product ends with a barrier before B is repacked
    }
  };
  if (!parallel) {
    run();
    return;
  }
#pragma omp parallel num_threads(threads)
  run();
}

// ---- packed operands, for callers that reuse them (attention's tiles) ----

GemmTile gemm_tile() {
  const KernelInfo kernel = select_kernel(cpu_config());
  return {kernel.mr, kernel.nr};
}

void pack_a_panels(int64_t M, int64_t K, MatrixRef A, float* packed) {
  const int64_t MR = gemm_tile().mr;
  for (int64_t i0 = 0; i0 < M; i0 += MR) pack_a_panel(A, M, i0, 0, K, MR, packed + i0 * K);
}

void pack_b_panels(int64_t K, int64_t N, MatrixRef B, float* packed) {
  const int64_t NR = gemm_tile().nr;
  for (int64_t j0 = 0; j0 < N; j0 += NR) pack_b_panel(B, N, 0, j0, K, NR, packed + j0 * K);
}

void sgemm_packed(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_panel_stride,
                  const float* b, int64_t b_panel_stride, float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const KernelInfo kernel = select_kernel(cpu_config());
  const int64_t MR = kernel.mr, NR = kernel.nr;
  if (K <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    }
    return;
  }
  float* scratch = thread_buffer(2, MR * NR);
  // The depth in chunks of gemm_kc, so that an A panel stays in L1 and a B panel in L2 however
  // deep the product (attention with a head dim of 1024).
  const int64_t KC = std::max<int64_t>(1, cpu_config().gemm_kc);
  for (int64_t p0 = 0; p0 < K; p0 += KC) {
    const int64_t kc = std::min(KC, K - p0);
    const bool add = accumulate || p0 > 0;
    for (int64_t ip = 0; ip * MR < M; ++ip) {
      const int64_t i0 = ip * MR, rows = std::min(MR, M - i0);
      const float* a_panel = a + ip * a_panel_stride + p0 * MR;
      for (int64_t jp = 0; jp * NR < N; ++jp) {
        const int64_t j0 = jp * NR, cols = std::min(NR, N - j0);
        run_tile(kernel, kc, a_panel, b + jp * b_panel_stride + p0 * NR, C + i0 * ldc + j0, ldc,
                 rows, cols, add, scratch);
      }
    }
  }
}

void run_gemm(const GemmProblem& p) {
  for (int64_t t = 0; t < p.count; ++t) {
    const MatrixRef a{p.a.data + t * p.stride_a, p.a.row_stride, p.a.col_stride};
    const MatrixRef b{p.b.data + t * p.stride_b, p.b.row_stride, p.b.col_stride};
    float* c = p.c + t * p.stride_c;
    sgemm(p.M, p.N, p.K, a, b, c, p.N, false);
    if (p.bias == nullptr) continue;
#pragma omp parallel for schedule(static) if (p.M * p.N >= cpu_config().elementwise_parallel_min)
    for (int64_t i = 0; i < p.M; ++i) {
      for (int64_t j = 0; j < p.N; ++j) c[i * p.N + j] += p.bias[j];
    }
  }
}

void run_gemm_bf16(const GemmProblemBf16& p) {
  // The operands of one product, widened to row-major fp32.
  const auto widen = [](const kernels::MatrixRefBf16& x, int64_t rows, int64_t cols,
                        std::vector<float>& out) {
    out.resize(static_cast<size_t>(rows * cols));
#pragma omp parallel for schedule(static) if (rows * cols >= cpu_config().elementwise_parallel_min)
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        out[i * cols + j] =
            kernels::bf16_bits_to_float(x.data[i * x.row_stride + j * x.col_stride]);
      }
    }
  };
  std::vector<float> a, b, c(static_cast<size_t>(p.M * p.N));
  for (int64_t t = 0; t < p.count; ++t) {
    widen({p.a.data + t * p.stride_a, p.a.row_stride, p.a.col_stride}, p.M, p.K, a);
    widen({p.b.data + t * p.stride_b, p.b.row_stride, p.b.col_stride}, p.K, p.N, b);
    sgemm(p.M, p.N, p.K, {a.data(), p.K, 1}, {b.data(), p.N, 1}, c.data(), p.N, false);
    uint16_t* out = p.c + t * p.stride_c;
#pragma omp parallel for schedule(static) if (p.M * p.N >= cpu_config().elementwise_parallel_min)
    for (int64_t i = 0; i < p.M; ++i) {
      for (int64_t j = 0; j < p.N; ++j) {
        const float bias = p.bias == nullptr ? 0.0f : kernels::bf16_bits_to_float(p.bias[j]);
        out[i * p.N + j] = kernels::float_to_bf16_bits(c[i * p.N + j] + bias);
      }
    }
  }
}

}  // namespace pa::cpu
