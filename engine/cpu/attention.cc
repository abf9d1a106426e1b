// FlashAttention-style CPU attention (see attention.h). Per (slice, query block of BQ rows) the
// forward sweeps the key blocks of BK keys: S = Q_blk K_blk^T * scale (masked), the running row
// max m and sum l are updated, O is rescaled by exp(m_old - m_new) and O += exp(S - m) V_blk;
// finally O /= l and L = m + log l. Products go through the packed sgemm with strided views
// (K^T, P^T, dS^T are read in place). Block sizes: cpu_config().attention_block_q / _k, with
// query blocks made smaller when there would be too few to keep every thread busy.
#include "engine/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/cpu/cpu_config.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/vector_math.h"

namespace pa::cpu {
namespace {

// The query block size: the configured one, or smaller (down to 16 rows) so that the B * H
// slices give every thread at least two blocks.
int64_t query_block(int64_t slices, int64_t Nq) {
  const int64_t configured = std::max<int64_t>(1, cpu_config().attention_block_q);
  const int64_t wanted_blocks = 2 * std::max(1, omp_get_max_threads());
  const int64_t per_slice = (wanted_blocks + slices - 1) / slices;
  return std::min(configured, std::max<int64_t>(16, (Nq + per_slice - 1) / per_slice));
}

// Masks and scales a (rows, cols) score tile in place: tile[r][c] is query q0 + r vs key k0 + c.
// Returns for each row whether any key is visible.
void scale_and_mask(float* tile, int64_t rows, int64_t cols, int64_t q0, int64_t k0, float scale,
                    const float* padding, bool causal) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = tile + r * cols;
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
void probabilities(float* tile, int64_t rows, int64_t cols, const float* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = tile + r * cols;
    if (lse[r] == -INFINITY) {
      std::fill(row, row + cols, 0.0f);
      continue;
    }
    exp_shifted_sum(row, cols, lse[r]);
  }
}

}  // namespace

void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const AttentionMask& mask, float scale, float* out, float* lse) {
  const auto [B, H, Nq, Nk, D, Dv] = shape;
  const int64_t BQ = query_block(B * H, Nq);
  const int64_t BK = std::max<int64_t>(1, cpu_config().attention_block_k);
  const int64_t q_blocks = (Nq + BQ - 1) / BQ;
#pragma omp parallel
  {
    std::vector<float> scores(BQ * BK), running_max(BQ), running_sum(BQ);
#pragma omp for schedule(dynamic)
    for (int64_t work = 0; work < B * H * q_blocks; ++work) {
      const int64_t s = work / q_blocks, q0 = (work % q_blocks) * BQ;
      const int64_t rows = std::min(BQ, Nq - q0);
      const float* q_blk = q + (s * Nq + q0) * D;  // (rows, D)
      const float* k_s = k + s * Nk * D;           // (Nk, D)
      const float* v_s = v + s * Nk * Dv;          // (Nk, Dv)
      const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
      float* o_blk = out + (s * Nq + q0) * Dv;  // (rows, Dv)
      std::fill(o_blk, o_blk + rows * Dv, 0.0f);
      std::fill(running_max.begin(), running_max.end(), -INFINITY);
      std::fill(running_sum.begin(), running_sum.end(), 0.0f);
      const int64_t k_blocks = key_blocks_for(q0, rows, Nk, BK, mask.causal);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t k0 = kb * BK, cols = std::min(BK, Nk - k0);
        // S (rows, cols) = Q_blk K_blk^T
        sgemm(rows, cols, D, {q_blk, D, 1}, {k_s + k0 * D, 1, D}, scores.data(), cols, false);
        scale_and_mask(scores.data(), rows, cols, q0, k0, scale, padding, mask.causal);
        for (int64_t r = 0; r < rows; ++r) {
          float* row = scores.data() + r * cols;
          const float block_max = row_max(row, cols);
          const float new_max = std::max(running_max[r], block_max);
          if (new_max == -INFINITY) {  // nothing visible yet in this row
            std::fill(row, row + cols, 0.0f);
            continue;
          }
          // 0 on the first visible block, 1 while the max holds.
          const float rescale = std::exp(running_max[r] - new_max);
          running_sum[r] = running_sum[r] * rescale + exp_shifted_sum(row, cols, new_max);
          running_max[r] = new_max;
          if (rescale != 1.0f) {
            float* o_row = o_blk + r * Dv;
            for (int64_t d = 0; d < Dv; ++d) o_row[d] *= rescale;
          }
        }
        // O (rows, Dv) += P V_blk
        sgemm(rows, Dv, cols, {scores.data(), cols, 1}, {v_s + k0 * Dv, Dv, 1}, o_blk, Dv, true);
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* o_row = o_blk + r * Dv;
        const float inverse = running_sum[r] > 0.0f ? 1.0f / running_sum[r] : 0.0f;
        for (int64_t d = 0; d < Dv; ++d) o_row[d] *= inverse;
        lse[s * Nq + q0 + r] =
            running_sum[r] > 0.0f ? running_max[r] + std::log(running_sum[r]) : -INFINITY;
      }
    }
  }
}

void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout,
                        const AttentionMask& mask, float scale, float* dq, float* dk, float* dv) {
  const auto [B, H, Nq, Nk, D, Dv] = shape;
  const int64_t BQ = query_block(B * H, Nq);
  const int64_t BK = std::max<int64_t>(1, cpu_config().attention_block_k);
  const int64_t q_blocks = (Nq + BQ - 1) / BQ, k_blocks = (Nk + BK - 1) / BK;
  // delta_i = rowsum(dout_i * out_i): the softmax backward's per-row correction.
  std::vector<float> delta(B * H * Nq);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B * H * Nq; ++i) {
    double dot = 0.0;
    for (int64_t d = 0; d < Dv; ++d) dot += double(dout[i * Dv + d]) * out[i * Dv + d];
    delta[i] = static_cast<float>(dot);
  }

  // Recomputes P and dS = P * (dP - delta) for one (query block, key block) tile.
  auto tile = [&](int64_t s, int64_t q0, int64_t rows, int64_t k0, int64_t cols, float* p,
                  float* ds) {
    const float* padding = mask.key_padding ? mask.key_padding + (s / H) * Nk : nullptr;
    sgemm(rows, cols, D, {q + (s * Nq + q0) * D, D, 1}, {k + (s * Nk + k0) * D, 1, D}, p, cols,
          false);  // S = Q_blk K_blk^T
    scale_and_mask(p, rows, cols, q0, k0, scale, padding, mask.causal);
    probabilities(p, rows, cols, lse + s * Nq + q0);
    sgemm(rows, cols, Dv, {dout + (s * Nq + q0) * Dv, Dv, 1}, {v + (s * Nk + k0) * Dv, 1, Dv}, ds,
          cols, false);  // dP = dO_blk V_blk^T
    for (int64_t r = 0; r < rows; ++r) {
      const float row_delta = delta[s * Nq + q0 + r];
      for (int64_t c = 0; c < cols; ++c) {
        ds[r * cols + c] = p[r * cols + c] * (ds[r * cols + c] - row_delta);
      }
    }
  };

  // One pass over the key blocks, FlashAttention-2's order: dK and dV of a key block stay with
  // one thread; dQ, which every key block adds to, is summed into a per-thread copy (static
  // schedule, so each thread's share is fixed) and the copies are added in thread order.
  const int threads = omp_get_max_threads();
  const int64_t dq_count = B * H * Nq * D;
  std::vector<float> dq_partial(static_cast<size_t>(threads) * dq_count, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> p(BQ * BK), ds(BQ * BK);
    float* my_dq = dq_partial.data() + omp_get_thread_num() * dq_count;
#pragma omp for schedule(static)
    for (int64_t work = 0; work < B * H * k_blocks; ++work) {
      const int64_t s = work / k_blocks, k0 = (work % k_blocks) * BK;
      const int64_t cols = std::min(BK, Nk - k0);
      float* dk_blk = dk + (s * Nk + k0) * D;   // (cols, D)
      float* dv_blk = dv + (s * Nk + k0) * Dv;  // (cols, Dv)
      std::fill(dk_blk, dk_blk + cols * D, 0.0f);
      std::fill(dv_blk, dv_blk + cols * Dv, 0.0f);
      const int64_t first_q_block = mask.causal ? k0 / BQ : 0;  // earlier queries see nothing
      for (int64_t qb = first_q_block; qb < q_blocks; ++qb) {
        const int64_t q0 = qb * BQ, rows = std::min(BQ, Nq - q0);
        tile(s, q0, rows, k0, cols, p.data(), ds.data());
        // dV_blk (cols, Dv) += P^T dO_blk; dK_blk (cols, D) += dS^T Q_blk;
        // dQ_blk (rows, D) += dS K_blk (into this thread's copy)
        sgemm(cols, Dv, rows, {p.data(), 1, cols}, {dout + (s * Nq + q0) * Dv, Dv, 1}, dv_blk, Dv,
              true);
        sgemm(cols, D, rows, {ds.data(), 1, cols}, {q + (s * Nq + q0) * D, D, 1}, dk_blk, D, true);
        sgemm(rows, D, cols, {ds.data(), cols, 1}, {k + (s * Nk + k0) * D, D, 1},
              my_dq + (s * Nq + q0) * D, D, true);
      }
      for (int64_t i = 0; i < cols * D; ++i) dk_blk[i] *= scale;
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < dq_count; ++i) {
      float total = 0.0f;
      for (int t = 0; t < threads; ++t) total += dq_partial[t * dq_count + i];
      dq[i] = total * scale;
    }
  }
}

}  // namespace pa::cpu
