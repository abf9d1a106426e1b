// Vectorised float math for the CPU kernels (AVX2 + FMA, the build's x86-64-v3 baseline):
// exp over 8 lanes (Cephes' range reduction and degree-6 polynomial, ~2 ulp on [-87, 88]; below
// -87, -inf included, it returns exactly 0; NaN stays NaN), tanh built on it, and the row helpers
// softmax-style kernels need.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace pa::cpu {

inline __m256 exp8(__m256 x) {
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 input = x;
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.3762626647950f));
  // x = n ln2 + r, |r| <= ln2 / 2; ln2 split in two so that n * ln2_hi is exact.
  const __m256 n = _mm256_floor_ps(
      _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n through the exponent bits.
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
  return _mm256_blendv_ps(result, input, nan);  // NaN in, NaN out
}

// tanh(u) = 1 - 2 / (exp(2u) + 1); for |u| < 0.0625 its Taylor series to u^7, where the
// formula would lose relative precision to cancellation.
inline __m256 tanh8(__m256 u) {
  const __m256 via_exp =
      _mm256_sub_ps(_mm256_set1_ps(1.0f),
                    _mm256_div_ps(_mm256_set1_ps(2.0f),
                                  _mm256_add_ps(exp8(_mm256_add_ps(u, u)), _mm256_set1_ps(1.0f))));
  const __m256 u2 = _mm256_mul_ps(u, u);
  __m256 series = _mm256_set1_ps(-17.0f / 315.0f);
  series = _mm256_fmadd_ps(series, u2, _mm256_set1_ps(2.0f / 15.0f));
  series = _mm256_fmadd_ps(series, u2, _mm256_set1_ps(-1.0f / 3.0f));
  series = _mm256_fmadd_ps(_mm256_mul_ps(series, u2), u, u);
  const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), u);
  const __m256 small = _mm256_cmp_ps(magnitude, _mm256_set1_ps(0.0625f), _CMP_LT_OQ);
  return _mm256_blendv_ps(via_exp, series, small);
}

inline float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// max over x[0, n)
inline float row_max(const float* x, int64_t n) {
  __m256 best = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) best = _mm256_max_ps(best, _mm256_loadu_ps(x + j));
  float result = horizontal_max(best);
  for (; j < n; ++j) result = x[j] > result ? x[j] : result;
  return result;
}

// x[j] = exp(x[j] - shift) for j in [0, n); returns the sum of the new values (lanes summed in
// a fixed order, so the result does not depend on threads).
inline float exp_shifted_sum(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 total = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(x + j, e);
    total = _mm256_add_ps(total, e);
  }
  float sum = horizontal_sum(total);
  if (j < n) {  // the tail through a padded vector, so every lane uses the same exp
    alignas(32) float tail[8];
    for (int64_t t = 0; t < 8; ++t) tail[t] = j + t < n ? x[j + t] - shift : -INFINITY;
    _mm256_store_ps(tail, exp8(_mm256_load_ps(tail)));
    for (int64_t t = 0; j + t < n; ++t) {
      x[j + t] = tail[t];
      sum += tail[t];
    }
  }
  return sum;
}

// Reductions of float rows into double, 4 double lanes per half-vector: the lanes, then the tail,
// are added in a fixed order, so the result depends on n alone (never on threads).
inline double horizontal_sum(__m256d v) {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

// sum(x[0, n)) in double.
inline double sum_double(const float* x, int64_t n) {
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    low = _mm256_add_pd(low, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    high = _mm256_add_pd(high, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  double total = horizontal_sum(_mm256_add_pd(low, high));
  for (; j < n; ++j) total += x[j];
  return total;
}

// sum(a[j] * b[j]) in double (products of floats are exact in double).
inline double dot_double(const float* a, const float* b, int64_t n) {
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 u = _mm256_loadu_ps(a + j), v = _mm256_loadu_ps(b + j);
    low = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(u)),
                          _mm256_cvtps_pd(_mm256_castps256_ps128(v)), low);
    high = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)),
                           _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), high);
  }
  double total = horizontal_sum(_mm256_add_pd(low, high));
  for (; j < n; ++j) total += static_cast<double>(a[j]) * b[j];
  return total;
}

// sum((x[j] - center)^2) in double.
inline double squared_deviation_double(const float* x, int64_t n, double center) {
  const __m256d c = _mm256_set1_pd(center);
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), c);
    const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), c);
    low = _mm256_fmadd_pd(d0, d0, low);
    high = _mm256_fmadd_pd(d1, d1, high);
  }
  double total = horizontal_sum(_mm256_add_pd(low, high));
  for (; j < n; ++j) total += (x[j] - center) * (x[j] - center);
  return total;
}

}  // namespace pa::cpu
