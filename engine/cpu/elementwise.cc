// CPU elementwise kernels. Contiguous loops are written so that GCC vectorises them
// (-march=x86-64-v3); broadcast loops walk an N-d index.
#include "engine/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/cpu/cpu_config.h"
#include "engine/cpu/vector_math.h"

namespace pa::cpu {

namespace {

using kernels::kGeluCubic;
using kernels::kSqrt2OverPi;
using kernels::unary_derivative;
using kernels::unary_value;

template <typename Fn>
void parallel_for(int64_t n, Fn fn) {
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// A UnaryKind as a type, so that a generic lambda can take it as a compile-time constant.
template <UnaryKind K>
using KindConstant = std::integral_constant<UnaryKind, K>;

template <typename Op>
void binary_loop(Op op, const float* a, const int64_t* a_strides, const float* b,
                 const int64_t* b_strides, float* out, const int64_t* shape, int ndim) {
  int64_t n = 1;
  bool plain = true;  // both inputs contiguous over the full output shape
  int64_t expected = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] != 1 && (a_strides[d] != expected || b_strides[d] != expected)) plain = false;
    expected *= shape[d];
    n *= shape[d];
  }
  if (n == 0) return;
  if (plain) {
    parallel_for(n, [&](int64_t i) { out[i] = op(a[i], b[i]); });
    return;
  }
  // Inner dim as a strided loop; outer dims walked per row.
  const int64_t inner = ndim > 0 ? shape[ndim - 1] : 1;
  const int64_t a_inner = ndim > 0 ? a_strides[ndim - 1] : 0;
  const int64_t b_inner = ndim > 0 ? b_strides[ndim - 1] : 0;
  const int64_t rows = n / inner;
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t a_offset = 0;
    int64_t b_offset = 0;
    int64_t rest = row;
    for (int d = ndim - 2; d >= 0; --d) {
      const int64_t index = rest % shape[d];
      rest /= shape[d];
      a_offset += index * a_strides[d];
      b_offset += index * b_strides[d];
    }
    float* out_row = out + row * inner;
    const float* a_row = a + a_offset;
    const float* b_row = b + b_offset;
    if (a_inner == 1 && b_inner == 1) {  // the common cases get loops GCC can vectorise
      for (int64_t i = 0; i < inner; ++i) out_row[i] = op(a_row[i], b_row[i]);
    } else if (a_inner == 1 && b_inner == 0) {
      const float b_value = *b_row;
      for (int64_t i = 0; i < inner; ++i) out_row[i] = op(a_row[i], b_value);
    } else if (a_inner == 0 && b_inner == 1) {
      const float a_value = *a_row;
      for (int64_t i = 0; i < inner; ++i) out_row[i] = op(a_value, b_row[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) out_row[i] = op(a_row[i * a_inner], b_row[i * b_inner]);
    }
  }
}

}  // namespace

namespace {

// y[i] = fn8(x[i..i+8)) over 8-lane vectors, the tail through a padded vector so that every
// element goes through the same code; OpenMP over 1024-element chunks.
template <typename Fn8>
void map8(int64_t n, const float* x, float* y, Fn8 fn8) {
  const int64_t chunks = (n + 1023) / 1024;
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t end = std::min(n, (chunk + 1) * 1024);
    int64_t i = chunk * 1024;
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(y + i, fn8(_mm256_loadu_ps(x + i), i));
    if (i < end) {
      alignas(32) float tail[8] = {};
      for (int64_t t = 0; i + t < end; ++t) tail[t] = x[i + t];
      _mm256_store_ps(tail, fn8(_mm256_load_ps(tail), i));
      for (int64_t t = 0; i + t < end; ++t) y[i + t] = tail[t];
    }
  }
}

__m256 gelu_tanh_inner(__m256 x) {  // sqrt(2/pi) (x + 0.044715 x^3)
  const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  return _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                       _mm256_fmadd_ps(_mm256_set1_ps(kGeluCubic), x3, x));
}

// GELU (tanh form) and its slope, 8 lanes:
//   gelu(v)  = 0.5 v (1 + t),  t = tanh(sqrt(2/pi) (v + 0.044715 v^3))
//   gelu'(v) = 0.5 (1 + t) + 0.5 v (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 v^2)
__m256 gelu_tanh8(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, tanh8(gelu_tanh_inner(v))));
}

__m256 gelu_tanh_slope(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  const __m256 t = tanh8(gelu_tanh_inner(v));
  const __m256 inner_grad =
      _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                    _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kGeluCubic), _mm256_mul_ps(v, v), one));
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_fnmadd_ps(t, t, one)),
                         inner_grad, _mm256_mul_ps(half, _mm256_add_ps(one, t)));
}

// Row maps with a bias: for each row r of (rows, C) and 8 columns at a time,
// out[r, j:j+8] = fn8(x[r, j:j+8] + bias[j:j+8], the same 8 of `other`); the last columns go
// through padded vectors. OpenMP over rows.
template <typename Fn8>
void bias_row_map8(const float* x, const float* bias, const float* other, float* out, int64_t rows,
                   int64_t C, Fn8 fn8) {
#pragma omp parallel for schedule(static) if (rows * C >= cpu_config().elementwise_parallel_min)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x_row = x + r * C;
    const float* other_row = other != nullptr ? other + r * C : nullptr;
    float* out_row = out + r * C;
    int64_t j = 0;
    for (; j + 8 <= C; j += 8) {
      const __m256 u = _mm256_add_ps(_mm256_loadu_ps(x_row + j), _mm256_loadu_ps(bias + j));
      const __m256 o = other_row != nullptr ? _mm256_loadu_ps(other_row + j) : _mm256_setzero_ps();
      _mm256_storeu_ps(out_row + j, fn8(u, o));
    }
    if (j < C) {
      alignas(32) float u[8] = {}, o[8] = {};
      for (int64_t t = 0; j + t < C; ++t) {
        u[t] = x_row[j + t] + bias[j + t];
        if (other_row != nullptr) o[t] = other_row[j + t];
      }
      _mm256_store_ps(u, fn8(_mm256_load_ps(u), _mm256_load_ps(o)));
      for (int64_t t = 0; j + t < C; ++t) out_row[j + t] = u[t];
    }
  }
}

}  // namespace

void bias_gelu_forward(const float* x, const float* bias, float* y, int64_t rows, int64_t C) {
  bias_row_map8(x, bias, nullptr, y, rows, C, [](__m256 u, __m256) { return gelu_tanh8(u); });
}

void bias_gelu_backward(const float* x, const float* bias, const float* dy, float* dx, int64_t rows,
                        int64_t C) {
  bias_row_map8(x, bias, dy, dx, rows, C, [](__m256 u, __m256 upstream) {
    return _mm256_mul_ps(gelu_tanh_slope(u), upstream);
  });
}

void float_to_bf16(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t i = 0; i < n; ++i) y[i] = kernels::float_to_bf16_bits(x[i]);
}

void bf16_to_float(const uint16_t* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t i = 0; i < n; ++i) y[i] = kernels::bf16_bits_to_float(x[i]);
}

void unary_forward(UnaryKind kind, const float* x, float* y, int64_t n, float scalar) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (kind) {  // vectorised maps for the transcendental ones
    case UnaryKind::Exp:
      return map8(n, x, y, [](__m256 v, int64_t) { return exp8(v); });
    case UnaryKind::Tanh:
      return map8(n, x, y, [](__m256 v, int64_t) { return tanh8(v); });
    case UnaryKind::Sigmoid:
      return map8(n, x, y, [&](__m256 v, int64_t) {
        return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
      });
    case UnaryKind::GeluTanh:
      return map8(n, x, y, [](__m256 v, int64_t) { return gelu_tanh8(v); });
    default:
      break;
  }
  // The kind as a template argument: the switch folds away and each loop vectorises.
  auto map = [&](auto kind_constant) {
    constexpr UnaryKind kConstant = decltype(kind_constant)::value;
    parallel_for(n, [&](int64_t i) { y[i] = unary_value(kConstant, x[i], scalar); });
  };
  switch (kind) {
    case UnaryKind::Neg:
      return map(KindConstant<UnaryKind::Neg>());
    case UnaryKind::Pow:
      return map(KindConstant<UnaryKind::Pow>());
    case UnaryKind::Log:
      return map(KindConstant<UnaryKind::Log>());
    case UnaryKind::Sqrt:
      return map(KindConstant<UnaryKind::Sqrt>());
    case UnaryKind::Relu:
      return map(KindConstant<UnaryKind::Relu>());
    default:
      // The rest (erf GELU; the vectorised ones are handled above): a per-element switch.
      return parallel_for(n, [&](int64_t i) { y[i] = unary_value(kind, x[i], scalar); });
  }
}

void unary_backward(UnaryKind kind, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float scalar) {
  if (kind == UnaryKind::GeluTanh) {
    return map8(n, x, dx, [&](__m256 v, int64_t i) {
      const __m256 slope = gelu_tanh_slope(v);
      alignas(32) float upstream[8];
      for (int64_t t8 = 0; t8 < 8; ++t8) upstream[t8] = i + t8 < n ? dy[i + t8] : 0.0f;
      return _mm256_mul_ps(slope, _mm256_load_ps(upstream));
    });
  }
  auto map = [&](auto kind_constant) {
    constexpr UnaryKind kConstant = decltype(kind_constant)::value;
    parallel_for(
        n, [&](int64_t i) { dx[i] = dy[i] * unary_derivative(kConstant, x[i], y[i], scalar); });
  };
  switch (kind) {
    case UnaryKind::Neg:
      return map(KindConstant<UnaryKind::Neg>());
    case UnaryKind::Pow:
      return map(KindConstant<UnaryKind::Pow>());
    case UnaryKind::Exp:
      return map(KindConstant<UnaryKind::Exp>());
    case UnaryKind::Log:
      return map(KindConstant<UnaryKind::Log>());
    case UnaryKind::Sqrt:
      return map(KindConstant<UnaryKind::Sqrt>());
    case UnaryKind::Tanh:
      return map(KindConstant<UnaryKind::Tanh>());
    case UnaryKind::Sigmoid:
      return map(KindConstant<UnaryKind::Sigmoid>());
    case UnaryKind::Relu:
      return map(KindConstant<UnaryKind::Relu>());
    default:
      return parallel_for(
          n, [&](int64_t i) { dx[i] = dy[i] * unary_derivative(kind, x[i], y[i], scalar); });
  }
}

void binary_forward(BinaryKind kind, const float* a, const int64_t* a_strides, const float* b,
                    const int64_t* b_strides, float* out, const int64_t* shape, int ndim) {
  switch (kind) {
    case BinaryKind::Add:
      return binary_loop([](float x, float y) { return x + y; }, a, a_strides, b, b_strides, out,
                         shape, ndim);
    case BinaryKind::Sub:
      return binary_loop([](float x, float y) { return x - y; }, a, a_strides, b, b_strides, out,
                         shape, ndim);
    case BinaryKind::Mul:
      return binary_loop([](float x, float y) { return x * y; }, a, a_strides, b, b_strides, out,
                         shape, ndim);
    case BinaryKind::Div:
      return binary_loop([](float x, float y) { return x / y; }, a, a_strides, b, b_strides, out,
                         shape, ndim);
  }
}

void where_forward(const float* condition, const int64_t* condition_strides, const float* a,
                   const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out,
                   const int64_t* shape, int ndim) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
#pragma omp parallel for schedule(static) if (n >= cpu_config().elementwise_parallel_min)
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i;
    int64_t c_offset = 0, a_offset = 0, b_offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t index = rest % shape[d];
      rest /= shape[d];
      c_offset += index * condition_strides[d];
      a_offset += index * a_strides[d];
      b_offset += index * b_strides[d];
    }
    out[i] = condition[c_offset] != 0.0f ? a[a_offset] : b[b_offset];
  }
}

}  // namespace pa::cpu
