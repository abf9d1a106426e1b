// CPU attention: S = q k^T * scale, masked, row softmax P, out = P v. The backward uses the
// saved P: dv = P^T dout, dP = dout v^T, dS = P * (dP - rowsum(dP * P)), dq = dS k * scale,
// dk = dS^T q * scale. Transposed operands are packed into scratch buffers so every product
// is a plain row-major gemm.
#include "engine/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/cpu/gemm.h"

namespace pa::cpu {

namespace {
// dst (cols, rows) = src (rows, cols)^T
void transpose_into(const float* src, float* dst, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
}
}  // namespace

void attention_forward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                       const float* key_padding, bool causal, float scale, float* out,
                       float* probs) {
  const auto [B, H, Nq, Nk, D, Dv] = shape;
#pragma omp parallel for schedule(dynamic)
  for (int64_t s = 0; s < B * H; ++s) {
    std::vector<float> k_t(D * Nk);  // (D, Nk)
    transpose_into(k + s * Nk * D, k_t.data(), Nk, D);
    float* p = probs + s * Nq * Nk;  // (Nq, Nk)
    gemm(Nq, Nk, D, q + s * Nq * D, D, k_t.data(), Nk, p, Nk, false);
    const float* padding = key_padding ? key_padding + (s / H) * Nk : nullptr;  // (Nk)
    for (int64_t i = 0; i < Nq; ++i) {
      float* row = p + i * Nk;
      float max_value = -INFINITY;
      for (int64_t j = 0; j < Nk; ++j) {
        const bool hidden = (causal && j > i) || (padding && padding[j] != 0.0f);
        row[j] = hidden ? -INFINITY : row[j] * scale;
        max_value = std::max(max_value, row[j]);
      }
      if (max_value == -INFINITY) {  // every key hidden: a zero row
        std::fill(row, row + Nk, 0.0f);
        continue;
      }
      double total = 0.0;
      for (int64_t j = 0; j < Nk; ++j) {
        row[j] = std::exp(row[j] - max_value);
        total += row[j];
      }
      const float inv = static_cast<float>(1.0 / total);
      for (int64_t j = 0; j < Nk; ++j) row[j] *= inv;
    }
    gemm(Nq, Dv, Nk, p, Nk, v + s * Nk * Dv, Dv, out + s * Nq * Dv, Dv, false);
  }
}

void attention_backward(const AttentionShape& shape, const float* q, const float* k, const float* v,
                        const float* probs, const float* dout, float scale, float* dq, float* dk,
                        float* dv) {
  const auto [B, H, Nq, Nk, D, Dv] = shape;
#pragma omp parallel for schedule(dynamic)
  for (int64_t s = 0; s < B * H; ++s) {
    const float* p = probs + s * Nq * Nk;  // (Nq, Nk)
    const float* g = dout + s * Nq * Dv;   // (Nq, Dv)
    std::vector<float> p_t(Nk * Nq);       // (Nk, Nq)
    transpose_into(p, p_t.data(), Nq, Nk);
    gemm(Nk, Dv, Nq, p_t.data(), Nq, g, Dv, dv + s * Nk * Dv, Dv, false);
    std::vector<float> v_t(Dv * Nk);  // (Dv, Nk)
    transpose_into(v + s * Nk * Dv, v_t.data(), Nk, Dv);
    std::vector<float> dS(Nq * Nk);  // dP, then dS in place
    gemm(Nq, Nk, Dv, g, Dv, v_t.data(), Nk, dS.data(), Nk, false);
    for (int64_t i = 0; i < Nq; ++i) {
      double dot = 0.0;
      for (int64_t j = 0; j < Nk; ++j) dot += dS[i * Nk + j] * p[i * Nk + j];
      for (int64_t j = 0; j < Nk; ++j) {
        dS[i * Nk + j] = p[i * Nk + j] * (dS[i * Nk + j] - static_cast<float>(dot)) * scale;
      }
    }
    gemm(Nq, D, Nk, dS.data(), Nk, k + s * Nk * D, D, dq + s * Nq * D, D, false);
    std::vector<float> dS_t(Nk * Nq);  // (Nk, Nq)
    transpose_into(dS.data(), dS_t.data(), Nq, Nk);
    gemm(Nk, D, Nq, dS_t.data(), Nq, q + s * Nq * D, D, dk + s * Nk * D, D, false);
  }
}

}  // namespace pa::cpu
