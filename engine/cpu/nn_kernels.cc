// CPU row-wise kernels. Accumulations run in double where a long row would lose bits in float
// (sums, means, variances); the rest is float32.
#include "engine/cpu/nn_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/cpu/cpu_config.h"
#include "engine/cpu/vector_math.h"

namespace pa::cpu {

void sum_rows(const float* x, float* out, int64_t rows, int64_t D) {
#pragma omp parallel for schedule(static) if (rows * D >= cpu_config().rowwise_parallel_min)
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0.0;
    const float* row = x + r * D;
    for (int64_t i = 0; i < D; ++i) total += row[i];
    out[r] = static_cast<float>(total);
  }
}

void sum_columns(const float* x, float* out, int64_t rows, int64_t D) {
  // Double accumulators, as sum_rows: every output sums its column in row order.
  std::vector<double> total(D, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * D;
    for (int64_t i = 0; i < D; ++i) total[i] += row[i];
  }
  for (int64_t i = 0; i < D; ++i) out[i] = static_cast<float>(total[i]);
}

double squared_error_sum(const float* a, const float* b, int64_t n) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = a[i] - b[i];  // the difference in float, as before
    total += diff * diff;
  }
  return total;
}

int64_t mse_loss_workspace(int64_t) { return 0; }

void mse_loss_forward(const float* a, const float* b, int64_t n, double*, float* loss) {
  *loss = n > 0 ? static_cast<float>(squared_error_sum(a, b, n) / n)
                : std::numeric_limits<float>::quiet_NaN();
}

void mse_loss_backward(const float* a, const float* b, const float* dloss, float* da, int64_t n) {
  const float scale = 2.0f * *dloss / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) da[i] = scale * (a[i] - b[i]);
}

void max_along(const float* x, float* values, int64_t* indices, int64_t outer, int64_t D,
               int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const float* line = x + o * D * inner + j;  // stride inner
      int64_t best = 0;
      for (int64_t d = 1; d < D; ++d) {
        if (line[d * inner] > line[best * inner] || std::isnan(line[d * inner])) {
          best = d;
          if (std::isnan(line[d * inner])) break;
        }
      }
      values[o * inner + j] = line[best * inner];
      indices[o * inner + j] = best;
    }
  }
}

void max_along_backward(const float* dy, const int64_t* indices, float* dx, int64_t outer,
                        int64_t D, int64_t inner) {
  std::memset(dx, 0, sizeof(float) * outer * D * inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      dx[(o * D + indices[o * inner + j]) * inner + j] = dy[o * inner + j];
    }
  }
}

void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner, bool log) {
  if (inner == 1) {  // rows: vectorised max, exp and double-lane sum
#pragma omp parallel for schedule(static) if (outer * D >= cpu_config().rowwise_parallel_min)
    for (int64_t o = 0; o < outer; ++o) {
      const float* in = x + o * D;
      float* out = y + o * D;
      const float max_value = row_max(in, D);
      std::copy(in, in + D, out);
      exp_shifted_sum(out, D, max_value);  // out = exp(in - max)
      const double total = sum_double(out, D);
      if (log) {
        const float shift = max_value + static_cast<float>(std::log(total));
        for (int64_t d = 0; d < D; ++d) out[d] = in[d] - shift;
      } else {
        const float scale = static_cast<float>(1.0 / total);
        for (int64_t d = 0; d < D; ++d) out[d] *= scale;
      }
    }
    return;
  }
#pragma omp parallel for collapse(2) \
    schedule(static) if (outer * D * inner >= cpu_config().rowwise_parallel_min)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const float* in = x + o * D * inner + j;
      float* out = y + o * D * inner + j;
      float max_value = -INFINITY;
      for (int64_t d = 0; d < D; ++d) max_value = std::max(max_value, in[d * inner]);
      double total = 0.0;
      for (int64_t d = 0; d < D; ++d) total += std::exp(in[d * inner] - max_value);
      if (log) {
        const float log_total = static_cast<float>(std::log(total));
        for (int64_t d = 0; d < D; ++d) out[d * inner] = in[d * inner] - max_value - log_total;
      } else {
        const float scale = static_cast<float>(1.0 / total);
        for (int64_t d = 0; d < D; ++d)
          out[d * inner] = std::exp(in[d * inner] - max_value) * scale;
      }
    }
  }
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log) {
  if (inner == 1 && !log) {  // rows: dx = y (dy - <dy, y>)
#pragma omp parallel for schedule(static) if (outer * D >= cpu_config().rowwise_parallel_min)
    for (int64_t o = 0; o < outer; ++o) {
      const float* y_row = y + o * D;
      const float* dy_row = dy + o * D;
      float* dx_row = dx + o * D;
      const float total = static_cast<float>(dot_double(dy_row, y_row, D));
      for (int64_t d = 0; d < D; ++d) dx_row[d] = y_row[d] * (dy_row[d] - total);
    }
    return;
  }
#pragma omp parallel for collapse(2) \
    schedule(static) if (outer * D * inner >= cpu_config().rowwise_parallel_min)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t base = o * D * inner + j;
      double dot = 0.0;
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = base + d * inner;
        dot += log ? dy[i] : dy[i] * y[i];
      }
      const float total = static_cast<float>(dot);
      for (int64_t d = 0; d < D; ++d) {
        const int64_t i = base + d * inner;
        dx[i] = log ? dy[i] - std::exp(y[i]) * total : y[i] * (dy[i] - total);
      }
    }
  }
}

namespace {

// LayerNorm (kCentered) and RMSNorm share one row loop: xhat = (x - mean) * rstd with
// rstd = 1 / sqrt(mean((x - mean)^2) + eps), where RMSNorm takes mean = 0 and has no beta.
template <bool kCentered>
void norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                  float* rstd, int64_t rows, int64_t D, float eps) {
#pragma omp parallel for schedule(static) if (rows * D >= cpu_config().rowwise_parallel_min)
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * D;  // (D)
    // Two passes in double lanes: the mean, then the squared deviations from it.
    const double row_mean = kCentered ? sum_double(row, D) / D : 0.0;
    const double variance = squared_deviation_double(row, D, row_mean) / D;
    const float row_rstd = static_cast<float>(1.0 / std::sqrt(variance + eps));
    float* out = y + r * D;
    if constexpr (kCentered) {
      const float m = static_cast<float>(row_mean);
      for (int64_t i = 0; i < D; ++i) out[i] = (row[i] - m) * row_rstd * gamma[i] + beta[i];
      mean[r] = m;
    } else {
      for (int64_t i = 0; i < D; ++i) out[i] = row[i] * row_rstd * gamma[i];
    }
    rstd[r] = row_rstd;
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma (RMSNorm: no mean(g) term,
// since its mean is not subtracted); dgamma = sum dy * xhat, dbeta = sum dy.
template <bool kCentered>
void norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                   const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                   int64_t D) {
  std::fill(dgamma, dgamma + D, 0.0f);
  if constexpr (kCentered) std::fill(dbeta, dbeta + D, 0.0f);
  std::vector<float> xhat(D), g(D);  // one row's normalised input and dy * gamma
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * D;
    const float* grad = dy + r * D;
    const float row_mean = kCentered ? mean[r] : 0.0f, row_rstd = rstd[r];
    for (int64_t i = 0; i < D; ++i) {
      xhat[i] = (row[i] - row_mean) * row_rstd;
      g[i] = grad[i] * gamma[i];
      dgamma[i] += grad[i] * xhat[i];
      if constexpr (kCentered) dbeta[i] += grad[i];
    }
    const float g_mean = kCentered ? static_cast<float>(sum_double(g.data(), D) / D) : 0.0f;
    const float gx_mean = static_cast<float>(dot_double(g.data(), xhat.data(), D) / D);
    float* out = dx + r * D;
    for (int64_t i = 0; i < D; ++i) out[i] = row_rstd * (g[i] - g_mean - xhat[i] * gx_mean);
  }
}

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t D, float eps) {
  norm_forward<true>(x, gamma, beta, y, mean, rstd, rows, D, eps);
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows,
                         int64_t D) {
  norm_backward<true>(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, D);
}

void rms_norm_forward(const float* x, const float* gamma, float* y, float* rstd, int64_t rows,
                      int64_t D, float eps) {
  norm_forward<false>(x, gamma, nullptr, y, nullptr, rstd, rows, D, eps);
}

void rms_norm_backward(const float* x, const float* gamma, const float* rstd, const float* dy,
                       float* dx, float* dgamma, int64_t rows, int64_t D) {
  norm_backward<false>(x, gamma, nullptr, rstd, dy, dx, dgamma, nullptr, rows, D);
}

void cross_entropy_forward(const float* logits, const int64_t* targets, float* log_probs,
                           float* loss, int64_t N, int64_t C) {
  softmax_forward(logits, log_probs, N, C, 1, /*log=*/true);
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) total -= log_probs[n * C + targets[n]];
  *loss = static_cast<float>(total / N);
}

void cross_entropy_backward(const float* log_probs, const int64_t* targets, const float* dloss,
                            float* dlogits, int64_t N, int64_t C) {
  const float scale = *dloss / static_cast<float>(N);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const float onehot = c == targets[n] ? 1.0f : 0.0f;
      dlogits[n * C + c] = (std::exp(log_probs[n * C + c]) - onehot) * scale;
    }
  }
}

void embedding_forward(const float* weight, const int64_t* indices, float* out, int64_t count,
                       int64_t E) {
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(out + i * E, weight + indices[i] * E, sizeof(float) * E);
  }
}

void embedding_backward(const float* dy, const int64_t* offsets, const int64_t* positions,
                        float* dweight, int64_t V, int64_t E) {
  for (int64_t v = 0; v < V; ++v) {
    float* row = dweight + v * E;
    std::memset(row, 0, sizeof(float) * E);
    for (int64_t p = offsets[v]; p < offsets[v + 1]; ++p) {
      const float* grad = dy + positions[p] * E;
      for (int64_t e = 0; e < E; ++e) row[e] += grad[e];
    }
  }
}

}  // namespace pa::cpu
