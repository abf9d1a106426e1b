// FlashAttention-style CPU attention (see attention.h). Per (slice, query block of BQ rows) the
// forward sweeps the key blocks of BK keys: S = Q_blk K_blk^T * scale (masked), the running row
// max m and sum l are updated, O is rescaled by exp(m_old - m_new) and O += exp(S - m) V_blk;
// finally O /= l and L = m + log l. Products go through the packed sgemm with strided views
// (K^T, P^T, dS^T are read in place). Block sizes: cpu_config().attention_block_q / _k, with
// query blocks made smaller when there would be too few to keep every thread busy.
// Precision: cpu_config().attention_precision. Float32 (default) runs the tiles through sgemm
// and the AVX2 exp; Float64 converts the inputs to double, runs the same algorithm with double
// tiles (plain loops, several times slower) and rounds the results back: the accuracy
// reference the adaptive-benchmark report compared float32 against.
#include "engine/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <vector>

#include "engine/cpu/cpu_config.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/vector_math.h"

namespace pa::cpu {
namespace {

// The per-precision pieces the tiles need: C (+)= A B on strided operands, a row max and
// x = exp(x - shift) with the row's sum. float: the packed sgemm and AVX2 exp; double: loops.
template <typename T>
struct Tile;

template <>
struct Tile<float> {
  static void gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_row, int64_t a_col,
                   const float* b, int64_t b_row, int64_t b_col, float* c, int64_t ldc,
                   bool accumulate) {
    sgemm(M, N, K, {a, a_row, a_col}, {b, b_row, b_col}, c, ldc, accumulate);
  }
  static float max(const float* x, int64_t n) { return row_max(x, n); }
  static float exp_sum(float* x, int64_t n, float shift) { return exp_shifted_sum(x, n, shift); }
};

template <>
struct Tile<double> {
  static void gemm(int64_t M, int64_t N, int64_t K, const double* a, int64_t a_row, int64_t a_col,
                   const double* b, int64_t b_row, int64_t b_col, double* c, int64_t ldc,
                   bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
      double* c_row = c + i * ldc;
      if (!accumulate) std::fill(c_row, c_row + N, 0.0);
      for (int64_t k = 0; k < K; ++k) {
        const double a_ik = a[i * a_row + k * a_col];
        for (int64_t j = 0; j < N; ++j) c_row[j] += a_ik * b[k * b_row + j * b_col];
      }
    }
  }
  static double max(const double* x, int64_t n) {
    double best = -INFINITY;
    for (int64_t j = 0; j < n; ++j) best = x[j] > best || std::isnan(x[j]) ? x[j] : best;
    return best;
  }
  static double exp_sum(double* x, int64_t n, double shift) {
    double total = 0.0;
    for (int64_t j = 0; j < n; ++j) total += x[j] = std::exp(x[j] - shift);
    return total;
  }
};

// Block sizes: the configured one, or smaller (down to 16) so that the B * H slices give every
// thread at least two blocks (the forward shares out query blocks, the backward key blocks).
int64_t shared_block(int64_t configured, int64_t slices, int64_t length) {
  const int64_t wanted_blocks = 2 * std::max(1, omp_get_max_threads());
  const int64_t per_slice = (wanted_blocks + slices - 1) / slices;
  return std::min(std::max<int64_t>(1, configured),
                  std::max<int64_t>(16, (length + per_slice - 1) / per_slice));
}
int64_t query_block(int64_t slices, int64_t Nq) {
  return shared_block(cpu_config().attention_block_q, slices, Nq);
}
// The backward's key block: the same rule, since it shares out the key blocks.
int64_t key_block(int64_t slices, int64_t Nk) {
  return shared_block(cpu_config().attention_block_k, slices, Nk);
}

// Masks and scales a (rows, cols) score tile in place: tile[r][c] is query q0 + r vs key k0 + c.
// Returns for each row whether any key is visible.
template <typename T>
void scale_and_mask(T* tile, int64_t rows, int64_t cols, int64_t q0, int64_t k0, T scale,
                    const float* padding, bool causal) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = tile + r * cols;
    for (int64_t c = 0; c < cols; ++c) row[c] *= scale;
    if (causal) {
      for (int64_t c = std::max<int64_t>(0, q0 + r - k0 + 1); c < cols; ++c) row[c] = -INFINITY;
    }
    if (padding != nullptr) {
      for (int64_t c = 0; c < cols; ++c) {
        if (padding[k0 + c] != 0.0f) row[c] = -INFINITY;
      }
    }
  }
}

// The number of key blocks query block [q0, q0 + rows) attends to (causal skips the rest).
int64_t key_blocks_for(int64_t q0, int64_t rows, int64_t Nk, int64_t BK, bool causal) {
  const int64_t last_key = causal ? std::min(Nk, q0 + rows) : Nk;
  return (last_key + BK - 1) / BK;
}

// P = exp(S - L) for a masked, scaled tile (rows with L = -inf become 0).
template <typename T>
void probabilities(T* tile, int64_t rows, int64_t cols, const T* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = tile + r * cols;
    if (lse[r] == -INFINITY) {
      std::fill(row, row + cols, T(0));
      continue;
    }
    Tile<T>::exp_sum(row, cols, lse[r]);
  }
}

// The online softmax over one (rows, cols) block of scaled, masked scores: per row, the running
// max m and sum l are updated, the row's output so far is rescaled by exp(m_old - m_new), and
// the scores become exp(S - m_new) (the P that multiplies V next).
template <typename T>
void online_softmax(T* scores, int64_t rows, int64_t cols, T* running_max, T* running_sum, T* o_blk,
                    int64_t Dv) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = scores + r * cols;
    const T new_max = std::max(running_max[r], Tile<T>::max(row, cols));
    if (new_max == -INFINITY) {  // nothing visible yet in this row, or only NaN scores
      // The max skips NaN: a row of NaN scores (a NaN in q or k) must give NaN, as PyTorch's
      // softmax does, not the zeros of a fully masked row.
      const bool has_nan = std::any_of(row, row + cols, [](T value) { return std::isnan(value); });
      if (has_nan) running_sum[r] = std::numeric_limits<T>::quiet_NaN();
      std::fill(row, row + cols, has_nan ? std::numeric_limits<T>::quiet_NaN() : T(0));
      continue;
    }
    // 0 on the first visible block, 1 while the max holds.
    const T rescale = std::exp(running_max[r] - new_max);
    running_sum[r] = running_sum[r] * rescale + Tile<T>::exp_sum(row, cols, new_max);
    running_max[r] = new_max;
    if (rescale != T(1)) {
      T* o_row = o_blk + r * Dv;
      for (int64_t d = 0; d < Dv; ++d) o_row[d] *= rescale;
    }
  }
}

// O /= l and L = m + log l per row once every key block is done (a row that saw no key: 0, -inf;
// a NaN sum stays NaN in both).
template <typename T>
void finish_rows(int64_t rows, const T* running_max, const T* running_sum, T* o_blk, int64_t Dv,
                 T* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    T* o_row = o_blk + r * Dv;
    const bool none = running_sum[r] == T(0);
    const T inverse = none ? T(0) : T(1) / running_sum[r];
    for (int64_t d = 0; d < Dv; ++d) o_row[d] *= inverse;
    lse[r] = none ? T(-INFINITY) : running_max[r] + std::log(running_sum[r]);
  }
}

// A 64-byte aligned float buffer (the packed operands' alignment).
struct AlignedBuffer {
  explicit AlignedBuffer(int64_t count)
      : data(static_cast<float*>(
            std::aligned_alloc(64, ((std::max<int64_t>(count, 1) * 4 + 63) / 64) * 64))) {
    if (data == nullptr) throw std::bad_alloc();
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  float* data;
};

// Packs operand X of every slice (X = base + s * slice_stride, element (i, j) at
// i * row_stride + j * col_stride, rows x cols) as A panels (MR rows) or B panels (NR columns)
// into packed + s * packed_slice, in parallel over (slice, panel): one slice with a wide head
// still keeps every thread busy. `scale` multiplies the packed values.
void pack_slices(bool as_a, int64_t slices, int64_t rows, int64_t cols, const float* base,
                 int64_t slice_stride, int64_t row_stride, int64_t col_stride, float* packed,
                 int64_t packed_slice, float scale = 1.0f) {
  const GemmTile tile = gemm_tile();
  const int64_t width = as_a ? tile.mr : tile.nr;
  const int64_t panels = ((as_a ? rows : cols) + width - 1) / width;
  const int64_t depth = as_a ? cols : rows;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t s = 0; s < slices; ++s) {
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t first = panel * width;
      float* out = packed + s * packed_slice + first * depth;
      const float* x = base + s * slice_stride;
      if (as_a) {
        const int64_t count = std::min(width, rows - first);
        pack_a_panels(count, cols, {x + first * row_stride, row_stride, col_stride}, out);
      } else {
        const int64_t count = std::min(width, cols - first);
        pack_b_panels(rows, count, {x + first * col_stride, row_stride, col_stride}, out);
      }
      if (scale != 1.0f) {
        for (int64_t i = 0; i < width * depth; ++i) out[i] *= scale;
      }
    }
  }
}

// The float32 forward with packed operands: K^T and V of every slice are packed once for the
// micro-kernel (every query block then multiplies by them without repacking), each query block
// is packed once, pre-multiplied by the scale, and P is packed per key block. Key blocks are a
// multiple of NR so that each starts on a panel of the packed K^T.
void forward_packed(const AttentionShape& shape, const float* q, const float* k, const float* v,
                    const AttentionMask& mask, float scale, float* out, float* lse) {
  // Named copies, not a structured binding: C++17 cannot capture bindings in the OpenMP
  // regions below (clang rejects it; the same holds for every function here).
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const GemmTile tile = gemm_tile();
  const int64_t MR = tile.mr, NR = tile.nr;
  const int64_t BQ = query_block(B * H, Nq);
  const int64_t BK = (std::max<int64_t>(1, cpu_config().attention_block_k) + NR - 1) / NR * NR;
  const int64_t q_blocks = (Nq + BQ - 1) / BQ;
  const int64_t Nk_padded = (Nk + NR - 1) / NR * NR, Dv_padded = (Dv + NR - 1) / NR * NR;
  const int64_t kt_slice = D * Nk_padded, v_slice = Nk * Dv_padded;  // packed floats per slice
  AlignedBuffer kt_packed(B * H * kt_slice), v_packed(B * H * v_slice);
  const int64_t BH = B * H;
  pack_slices(false, BH, D, Nk, k, Nk * D, 1, D, kt_packed.data, kt_slice);   // K^T (D, Nk)
  pack_slices(false, BH, Nk, Dv, v, Nk * Dv, Dv, 1, v_packed.data, v_slice);  // V (Nk, Dv)
  const int64_t rows_padded = (BQ + MR - 1) / MR * MR;
#pragma omp parallel
  {
    std::vector<float> scores(BQ * BK), running_max(BQ), running_sum(BQ);
    AlignedBuffer q_packed(rows_padded * D), p_packed(rows_padded * BK);
#pragma omp for schedule(dynamic)
    for (int64_t work = 0; work < B * H * q_blocks; ++work) {
      const int64_t s = work / q_blocks, q0 = (work % q_blocks) * BQ;
      const int64_t rows = std::min(BQ, Nq - q0);
      const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
      float* o_blk = out + (s * Nq + q0) * Dv;  // (rows, Dv)
      std::fill(o_blk, o_blk + rows * Dv, 0.0f);
      std::fill(running_max.begin(), running_max.end(), -INFINITY);
      std::fill(running_sum.begin(), running_sum.end(), 0.0f);
      pack_a_panels(rows, D, {q + (s * Nq + q0) * D, D, 1}, q_packed.data);  // Q_blk (rows, D)
      const int64_t q_floats = (rows + MR - 1) / MR * MR * D;
      for (int64_t i = 0; i < q_floats; ++i) q_packed.data[i] *= scale;
      const int64_t k_blocks = key_blocks_for(q0, rows, Nk, BK, mask.causal);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t k0 = kb * BK, cols = std::min(BK, Nk - k0);
        // S (rows, cols) = (scale Q_blk) K_blk^T
        sgemm_packed(rows, cols, D, q_packed.data, D * MR, kt_packed.data + s * kt_slice + k0 * D,
                     D * NR, scores.data(), cols, false);
        if (padding != nullptr || (mask.causal && k0 + cols > q0 + 1)) {
          scale_and_mask(scores.data(), rows, cols, q0, k0, 1.0f, padding, mask.causal);
        }
        online_softmax(scores.data(), rows, cols, running_max.data(), running_sum.data(), o_blk,
                       Dv);
        // O (rows, Dv) += P V_blk
        pack_a_panels(rows, cols, {scores.data(), cols, 1}, p_packed.data);
        sgemm_packed(rows, Dv, cols, p_packed.data, cols * MR,
                     v_packed.data + s * v_slice + k0 * NR, Nk * NR, o_blk, Dv, true);
      }
      finish_rows(rows, running_max.data(), running_sum.data(), o_blk, Dv, lse + s * Nq + q0);
    }
  }
}

template <typename T>
void forward_tiles(const AttentionShape& shape, const T* q, const T* k, const T* v,
                   const AttentionMask& mask, T scale, T* out, T* lse) {
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const int64_t BQ = query_block(B * H, Nq);
  const int64_t BK = std::max<int64_t>(1, cpu_config().attention_block_k);
  const int64_t q_blocks = (Nq + BQ - 1) / BQ;
#pragma omp parallel
  {
    std::vector<T> scores(BQ * BK), running_max(BQ), running_sum(BQ);
#pragma omp for schedule(dynamic)
    for (int64_t work = 0; work < B * H * q_blocks; ++work) {
      const int64_t s = work / q_blocks, q0 = (work % q_blocks) * BQ;
      const int64_t rows = std::min(BQ, Nq - q0);
      const T* q_blk = q + (s * Nq + q0) * D;  // (rows, D)
      const T* k_s = k + s * Nk * D;           // (Nk, D)
      const T* v_s = v + s * Nk * Dv;          // (Nk, Dv)
      const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
      T* o_blk = out + (s * Nq + q0) * Dv;  // (rows, Dv)
      std::fill(o_blk, o_blk + rows * Dv, T(0));
      std::fill(running_max.begin(), running_max.end(), -INFINITY);
      std::fill(running_sum.begin(), running_sum.end(), T(0));
      const int64_t k_blocks = key_blocks_for(q0, rows, Nk, BK, mask.causal);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t k0 = kb * BK, cols = std::min(BK, Nk - k0);
        // S (rows, cols) = Q_blk K_blk^T
        Tile<T>::gemm(rows, cols, D, q_blk, D, 1, k_s + k0 * D, 1, D, scores.data(), cols, false);
        scale_and_mask(scores.data(), rows, cols, q0, k0, scale, padding, mask.causal);
        online_softmax(scores.data(), rows, cols, running_max.data(), running_sum.data(), o_blk,
                       Dv);
        // O (rows, Dv) += P V_blk
        Tile<T>::gemm(rows, Dv, cols, scores.data(), cols, 1, v_s + k0 * Dv, Dv, 1, o_blk, Dv,
                      true);
      }
      finish_rows(rows, running_max.data(), running_sum.data(), o_blk, Dv, lse + s * Nq + q0);
    }
  }
}

// delta_i = rowsum(dout_i * out_i) over `count` rows of Dv: the softmax backward's correction.
template <typename T>
std::vector<T> row_deltas(int64_t count, int64_t Dv, const T* dout, const T* out) {
  std::vector<T> delta(count);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    double dot = 0.0;
    for (int64_t d = 0; d < Dv; ++d) dot += double(dout[i * Dv + d]) * out[i * Dv + d];
    delta[i] = static_cast<T>(dot);
  }
  return delta;
}

// dS = P * (dP - delta) in place of dP, for a (rows, cols) tile.
template <typename T>
void softmax_backward_tile(const T* p, T* ds, int64_t rows, int64_t cols, const T* delta) {
  for (int64_t r = 0; r < rows; ++r) {
    const T row_delta = delta[r];
    for (int64_t c = 0; c < cols; ++c) {
      ds[r * cols + c] = p[r * cols + c] * (ds[r * cols + c] - row_delta);
    }
  }
}

// dq = scale * (the threads' dq copies added in thread order); called by every thread of the
// backward's team, which shares out the elements.
template <typename T>
void sum_thread_copies(const T* partial, int threads, int64_t count, T scale, T* dq) {
#pragma omp for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    T total = 0;
    for (int t = 0; t < threads; ++t) total += partial[t * count + i];
    dq[i] = total * scale;
  }
}

// The float32 backward with packed operands (see backward_tiles for the algorithm). Packed once
// per slice: scale * Q and dO as A panels (for S and dP), Q and dO as B panels (for dK and dV);
// once per key block: K_blk^T, V_blk^T and K_blk as B panels; per tile only P^T, dS^T (cheap
// column copies) and dS. Query blocks are a multiple of MR so each starts on an A panel.
void backward_packed(const AttentionShape& shape, const float* q, const float* k, const float* v,
                     const float* out, const float* lse, const float* dout,
                     const AttentionMask& mask, float scale, float* dq, float* dk, float* dv) {
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const GemmTile tile = gemm_tile();
  const int64_t MR = tile.mr, NR = tile.nr;
  const int64_t BQ = (query_block(B * H, Nq) + MR - 1) / MR * MR;
  const int64_t BK = key_block(B * H, Nk);
  const int64_t q_blocks = (Nq + BQ - 1) / BQ, k_blocks = (Nk + BK - 1) / BK;
  const std::vector<float> delta = row_deltas(B * H * Nq, Dv, dout, out);
  auto round_up = [](int64_t n, int64_t m) { return (n + m - 1) / m * m; };
  const int64_t Nq_rows = round_up(Nq, MR);
  const int64_t qa_slice = Nq_rows * D, doa_slice = Nq_rows * Dv;
  const int64_t qb_slice = Nq * round_up(D, NR), dob_slice = Nq * round_up(Dv, NR);
  AlignedBuffer qa(B * H * qa_slice), doa(B * H * doa_slice), qb(B * H * qb_slice),
      dob(B * H * dob_slice);
  const int64_t BH = B * H;
  pack_slices(true, BH, Nq, D, q, Nq * D, D, 1, qa.data, qa_slice, scale);    // scale Q (Nq, D)
  pack_slices(true, BH, Nq, Dv, dout, Nq * Dv, Dv, 1, doa.data, doa_slice);   // dO (Nq, Dv)
  pack_slices(false, BH, Nq, D, q, Nq * D, D, 1, qb.data, qb_slice);          // Q (Nq, D)
  pack_slices(false, BH, Nq, Dv, dout, Nq * Dv, Dv, 1, dob.data, dob_slice);  // dO (Nq, Dv)

  const int threads = omp_get_max_threads();
  const int64_t dq_count = B * H * Nq * D;
  std::vector<float> dq_partial(static_cast<size_t>(threads) * dq_count, 0.0f);
  // Key blocks as B panels (K_blk^T, V_blk^T: NR columns) and as A panels (P^T, dS^T: MR rows).
  const int64_t BK_panel_cols = round_up(BK, NR), BK_panel_rows = round_up(BK, MR);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> p(BQ * BK), ds(BQ * BK);
    AlignedBuffer kt_blk(D * BK_panel_cols), vt_blk(Dv * BK_panel_cols),
        k_blk(BK * round_up(D, NR)), pt_packed(BK_panel_rows * BQ), dst_packed(BK_panel_rows * BQ),
        ds_packed(BQ * BK);
    float* my_dq = dq_partial.data() + omp_get_thread_num() * dq_count;
#pragma omp for schedule(static)
    for (int64_t work = 0; work < B * H * k_blocks; ++work) {
      const int64_t s = work / k_blocks, k0 = (work % k_blocks) * BK;
      const int64_t cols = std::min(BK, Nk - k0);
      const float* k_s = k + (s * Nk + k0) * D;            // K_blk (cols, D)
      const float* v_s = v + (s * Nk + k0) * Dv;           // V_blk (cols, Dv)
      pack_b_panels(D, cols, {k_s, 1, D}, kt_blk.data);    // K_blk^T (D, cols)
      pack_b_panels(Dv, cols, {v_s, 1, Dv}, vt_blk.data);  // V_blk^T (Dv, cols)
      pack_b_panels(cols, D, {k_s, D, 1}, k_blk.data);     // K_blk (cols, D)
      float* dk_blk = dk + (s * Nk + k0) * D;              // (cols, D)
      float* dv_blk = dv + (s * Nk + k0) * Dv;             // (cols, Dv)
      std::fill(dk_blk, dk_blk + cols * D, 0.0f);
      std::fill(dv_blk, dv_blk + cols * Dv, 0.0f);
      const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
      const int64_t first_q_block = mask.causal ? k0 / BQ : 0;  // earlier queries see nothing
      for (int64_t qb_index = first_q_block; qb_index < q_blocks; ++qb_index) {
        const int64_t q0 = qb_index * BQ, rows = std::min(BQ, Nq - q0);
        // P (rows, cols) = exp((scale Q_blk) K_blk^T - L), masked
        sgemm_packed(rows, cols, D, qa.data + s * qa_slice + q0 * D, D * MR, kt_blk.data, D * NR,
                     p.data(), cols, false);
        if (padding != nullptr || (mask.causal && k0 + cols > q0 + 1)) {
          scale_and_mask(p.data(), rows, cols, q0, k0, 1.0f, padding, mask.causal);
        }
        probabilities(p.data(), rows, cols, lse + s * Nq + q0);
        // dS (rows, cols) = P * (dO_blk V_blk^T - delta)
        sgemm_packed(rows, cols, Dv, doa.data + s * doa_slice + q0 * Dv, Dv * MR, vt_blk.data,
                     Dv * NR, ds.data(), cols, false);
        softmax_backward_tile(p.data(), ds.data(), rows, cols, delta.data() + s * Nq + q0);
        // dV_blk (cols, Dv) += P^T dO_blk; dK_blk (cols, D) += dS^T Q_blk;
        // dQ_blk (rows, D) += dS K_blk (into this thread's copy)
        pack_a_panels(cols, rows, {p.data(), 1, cols}, pt_packed.data);
        sgemm_packed(cols, Dv, rows, pt_packed.data, rows * MR, dob.data + s * dob_slice + q0 * NR,
                     Nq * NR, dv_blk, Dv, true);
        pack_a_panels(cols, rows, {ds.data(), 1, cols}, dst_packed.data);
        sgemm_packed(cols, D, rows, dst_packed.data, rows * MR, qb.data + s * qb_slice + q0 * NR,
                     Nq * NR, dk_blk, D, true);
        pack_a_panels(rows, cols, {ds.data(), cols, 1}, ds_packed.data);
        sgemm_packed(rows, D, cols, ds_packed.data, cols * MR, k_blk.data, cols * NR,
                     my_dq + (s * Nq + q0) * D, D, true);
      }
      for (int64_t i = 0; i < cols * D; ++i) dk_blk[i] *= scale;
    }
    sum_thread_copies(dq_partial.data(), threads, dq_count, scale, dq);
  }
}

template <typename T>
void backward_tiles(const AttentionShape& shape, const T* q, const T* k, const T* v, const T* out,
                    const T* lse, const T* dout, const AttentionMask& mask, T scale, T* dq, T* dk,
                    T* dv) {
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const int64_t BQ = query_block(B * H, Nq);
  const int64_t BK = key_block(B * H, Nk);
  const int64_t q_blocks = (Nq + BQ - 1) / BQ, k_blocks = (Nk + BK - 1) / BK;
  const std::vector<T> delta = row_deltas(B * H * Nq, Dv, dout, out);

  // Recomputes P and dS = P * (dP - delta) for one (query block, key block) tile.
  auto tile = [&](int64_t s, int64_t q0, int64_t rows, int64_t k0, int64_t cols, T* p, T* ds) {
    const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
    Tile<T>::gemm(rows, cols, D, q + (s * Nq + q0) * D, D, 1, k + (s * Nk + k0) * D, 1, D, p, cols,
                  false);  // S = Q_blk K_blk^T
    scale_and_mask(p, rows, cols, q0, k0, scale, padding, mask.causal);
    probabilities(p, rows, cols, lse + s * Nq + q0);
    Tile<T>::gemm(rows, cols, Dv, dout + (s * Nq + q0) * Dv, Dv, 1, v + (s * Nk + k0) * Dv, 1, Dv,
                  ds, cols, false);  // dP = dO_blk V_blk^T
    softmax_backward_tile(p, ds, rows, cols, delta.data() + s * Nq + q0);
  };

  // One pass over the key blocks, FlashAttention-2's order: dK and dV of a key block stay with
  // one thread; dQ, which every key block adds to, is summed into a per-thread copy (static
  // schedule, so each thread's share is fixed) and the copies are added in thread order.
  const int threads = omp_get_max_threads();
  const int64_t dq_count = B * H * Nq * D;
  std::vector<T> dq_partial(static_cast<size_t>(threads) * dq_count, T(0));
#pragma omp parallel num_threads(threads)
  {
    std::vector<T> p(BQ * BK), ds(BQ * BK);
    T* my_dq = dq_partial.data() + omp_get_thread_num() * dq_count;
#pragma omp for schedule(static)
    for (int64_t work = 0; work < B * H * k_blocks; ++work) {
      const int64_t s = work / k_blocks, k0 = (work % k_blocks) * BK;
      const int64_t cols = std::min(BK, Nk - k0);
      T* dk_blk = dk + (s * Nk + k0) * D;   // (cols, D)
      T* dv_blk = dv + (s * Nk + k0) * Dv;  // (cols, Dv)
      std::fill(dk_blk, dk_blk + cols * D, T(0));
      std::fill(dv_blk, dv_blk + cols * Dv, T(0));
      const int64_t first_q_block = mask.causal ? k0 / BQ : 0;  // earlier queries see nothing
      for (int64_t qb = first_q_block; qb < q_blocks; ++qb) {
        const int64_t q0 = qb * BQ, rows = std::min(BQ, Nq - q0);
        tile(s, q0, rows, k0, cols, p.data(), ds.data());
        // dV_blk (cols, Dv) += P^T dO_blk; dK_blk (cols, D) += dS^T Q_blk;
        // dQ_blk (rows, D) += dS K_blk (into this thread's copy)
        Tile<T>::gemm(cols, Dv, rows, p.data(), 1, cols, dout + (s * Nq + q0) * Dv, Dv, 1, dv_blk,
                      Dv, true);
        Tile<T>::gemm(cols, D, rows, ds.data(), 1, cols, q + (s * Nq + q0) * D, D, 1, dk_blk, D,
                      true);
        Tile<T>::gemm(rows, D, cols, ds.data(), cols, 1, k + (s * Nk + k0) * D, D, 1,
                      my_dq + (s * Nq + q0) * D, D, true);
      }
      for (int64_t i = 0; i < cols * D; ++i) dk_blk[i] *= scale;
    }
    sum_thread_copies(dq_partial.data(), threads, dq_count, scale, dq);
  }
}

// Copies of float arrays in double (the Float64 path's inputs) and back.
std::vector<double> widen(const float* x, int64_t n) { return std::vector<double>(x, x + n); }
void narrow(const std::vector<double>& x, float* out) {
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i]);
}

}  // namespace

void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse) {
  if (cpu_config().attention_precision == AttentionPrecision::Float32) {
    forward_packed(shape, q, k, v, mask, scale, out, lse);
    return;
  }
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const int64_t BH = B * H;
  std::vector<double> out64(BH * Nq * Dv), lse64(BH * Nq);
  forward_tiles<double>(shape, widen(q, BH * Nq * D).data(), widen(k, BH * Nk * D).data(),
                        widen(v, BH * Nk * Dv).data(), mask, scale, out64.data(), lse64.data());
  narrow(out64, out);
  narrow(lse64, lse);
}

void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout,
                        const AttentionMask& mask, float scale, float* dq, float* dk, float* dv,
                        float* /*workspace*/) {
  if (cpu_config().attention_precision == AttentionPrecision::Float32) {
    backward_packed(shape, q, k, v, out, lse, dout, mask, scale, dq, dk, dv);
    return;
  }
  // The saved out and lse are float32; recompute both in double so that the gradients are as
  // accurate as the float32 inputs allow (an extra forward pass: this path is for accuracy).
  const int64_t B = shape.B, H = shape.H, Nq = shape.Nq, Nk = shape.Nk, D = shape.D, Dv = shape.Dv;
  const int64_t BH = B * H;
  const std::vector<double> q64 = widen(q, BH * Nq * D), k64 = widen(k, BH * Nk * D),
                            v64 = widen(v, BH * Nk * Dv);
  std::vector<double> out64(BH * Nq * Dv), lse64(BH * Nq);
  forward_tiles<double>(shape, q64.data(), k64.data(), v64.data(), mask, scale, out64.data(),
                        lse64.data());
  std::vector<double> dq64(BH * Nq * D), dk64(BH * Nk * D), dv64(BH * Nk * Dv);
  backward_tiles<double>(shape, q64.data(), k64.data(), v64.data(), out64.data(), lse64.data(),
                         widen(dout, BH * Nq * Dv).data(), mask, scale, dq64.data(), dk64.data(),
                         dv64.data());
  narrow(dq64, dq);
  narrow(dk64, dk);
  narrow(dv64, dv);
}

}  // namespace pa::cpu
