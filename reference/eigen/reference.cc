// Eigen double-precision reference of every engine op, forward and backward: the CPU oracle.
//
// Plain, unoptimised implementations of the functions declared in reference.h. They depend on
// Eigen and the C++17 standard library only and share no code with the engine they check.
// Every derivative is written out analytically; reference_test.cc checks each one against
// central finite differences of its forward.
#include "reference/eigen/reference.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ref {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using MatrixMap = Eigen::Map<RowMatrix>;

constexpr double kPi = 3.14159265358979323846;

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("ref: " + message);
}

void require_shape(const Array& x, const Shape& expected, const std::string& what) {
  require(x.shape == expected,
          what + " has shape " + shape_string(x.shape) + ", expected " + shape_string(expected));
  require(static_cast<int64_t>(x.data.size()) == numel(x.shape),
          what + " holds " + std::to_string(x.data.size()) + " values for shape " +
              shape_string(x.shape));
}

void require_valid(const Array& x, const std::string& what) { require_shape(x, x.shape, what); }

Array zeros(const Shape& shape) { return Array{shape, std::vector<double>(numel(shape), 0.0)}; }

// out[i] = value(i) for every flat index i of `shape`.
template <typename Fn>
Array elementwise(const Shape& shape, Fn value) {
  Array out = zeros(shape);
  for (int64_t i = 0; i < numel(shape); ++i) out.data[i] = value(i);
  return out;
}

// grad_out * dy/dx with dy/dx = derivative(x), elementwise.
template <typename Fn>
Array chain_unary(const Array& x, const Array& grad_out, Fn derivative) {
  require_valid(x, "x");
  require_shape(grad_out, x.shape, "grad_out");
  return elementwise(x.shape, [&](int64_t i) { return grad_out.data[i] * derivative(x.data[i]); });
}

Shape strides_of(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * shape[d + 1];
  }
  return strides;
}

// Multi-index of row-major flat position `flat` in `shape`.
Shape unravel(int64_t flat, const Shape& shape) {
  Shape index(shape.size(), 0);
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// Flat position in an array of shape `source_shape` (right-aligned, size-1 dims stretched) read
// by the element at multi-index `index` of the broadcast result.
int64_t broadcast_source(const Shape& index, const Shape& source_shape,
                         const Shape& source_strides) {
  const std::size_t offset = index.size() - source_shape.size();
  int64_t flat = 0;
  for (std::size_t d = 0; d < source_shape.size(); ++d) {
    if (source_shape[d] != 1) flat += index[d + offset] * source_strides[d];
  }
  return flat;
}

// Product of shape[0, dim) and of shape(dim, rank): the array is viewed as (outer, n, inner).
int64_t outer_size(const Shape& shape, int dim) {
  return numel(Shape(shape.begin(), shape.begin() + dim));
}
int64_t inner_size(const Shape& shape, int dim) {
  return numel(Shape(shape.begin() + dim + 1, shape.end()));
}

void require_dim(const Shape& shape, int dim) {
  require(dim >= 0 && dim < static_cast<int>(shape.size()),
          "dim " + std::to_string(dim) + " out of range for shape " + shape_string(shape));
}

// Calls fn(lane, offset, stride) for every 1-d lane of `shape` along `dim`: element t of the
// lane is at flat offset + t * stride; lanes are numbered row-major over the other dims.
template <typename Fn>
void for_each_lane(const Shape& shape, int dim, Fn fn) {
  require_dim(shape, dim);
  const int64_t outer = outer_size(shape, dim), n = shape[dim], inner = inner_size(shape, dim);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) fn(o * inner + i, o * n * inner + i, inner);
  }
}

// Which dims a reduction removes; empty `dims` means all of them.
std::vector<bool> reduced_dims(const Shape& shape, const std::vector<int>& dims) {
  std::vector<bool> reduced(shape.size(), dims.empty());
  for (std::size_t j = 0; j < dims.size(); ++j) {
    require_dim(shape, dims[j]);
    require(j == 0 || dims[j] > dims[j - 1], "reduction dims must be sorted and unique");
    reduced[dims[j]] = true;
  }
  return reduced;
}

Shape reduced_shape(const Shape& shape, const std::vector<int>& dims, bool keepdim) {
  const std::vector<bool> reduced = reduced_dims(shape, dims);
  Shape out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!reduced[d]) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

// For each flat element of `shape`, the flat index of the reduction group it falls in (the
// same for keepdim and squeezed outputs, which share their data order).
std::vector<int64_t> group_of_elements(const Shape& shape, const std::vector<int>& dims) {
  const std::vector<bool> reduced = reduced_dims(shape, dims);
  const Shape kept_shape = reduced_shape(shape, dims, /*keepdim=*/true);
  const Shape kept_strides = strides_of(kept_shape);
  std::vector<int64_t> group(numel(shape));
  for (int64_t i = 0; i < numel(shape); ++i) {
    const Shape index = unravel(i, shape);
    int64_t flat = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (!reduced[d]) flat += index[d] * kept_strides[d];
    }
    group[i] = flat;
  }
  return group;
}

// Number of elements each reduction group holds.
int64_t group_count(const Shape& shape, const std::vector<int>& dims) {
  const std::vector<bool> reduced = reduced_dims(shape, dims);
  int64_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) count *= shape[d];
  }
  return count;
}

Array from_matrix(const RowMatrix& m, const Shape& shape) {
  require(m.size() == numel(shape), "matrix size does not match " + shape_string(shape));
  return Array{shape, std::vector<double>(m.data(), m.data() + m.size())};
}

// Batch dims of a >= 2-D matmul operand.
Shape batch_dims(const Shape& shape) { return Shape(shape.begin(), shape.end() - 2); }

Shape with_matrix_dims(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// Softmax probabilities of one (batch, head) of attention, fully masked rows left at zero.
RowMatrix attention_probabilities(const ConstMatrixMap& q, const ConstMatrixMap& k, bool causal,
                                  const double* padding, double scale) {
  const RowMatrix scores = (q * k.transpose()) * scale;  // (Nq, Nk)
  RowMatrix probs = RowMatrix::Zero(scores.rows(), scores.cols());
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    auto visible = [&](Eigen::Index j) {
      return !(causal && j > i) && !(padding != nullptr && padding[j] != 0.0);
    };
    bool any_visible = false;
    double row_max = 0.0;
    for (Eigen::Index j = 0; j < scores.cols(); ++j) {
      if (!visible(j)) continue;
      row_max = any_visible ? std::max(row_max, scores(i, j)) : scores(i, j);
      any_visible = true;
    }
    if (!any_visible) continue;  // every key masked: the row stays zero
    for (Eigen::Index j = 0; j < scores.cols(); ++j) {
      if (visible(j)) probs(i, j) = std::exp(scores(i, j) - row_max);
    }
    probs.row(i) /= probs.row(i).sum();
  }
  return probs;
}

struct AttentionDims {
  int64_t batch, heads, nq, nk, d, dv;
};

AttentionDims check_attention(const Array& q, const Array& k, const Array& v,
                              const Array& key_padding_mask) {
  require_valid(q, "q");
  require_valid(k, "k");
  require_valid(v, "v");
  require(q.shape.size() == 4 && k.shape.size() == 4 && v.shape.size() == 4,
          "sdpa expects 4-D q, k, v");
  const AttentionDims dims{q.shape[0], q.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3]};
  require_shape(k, {dims.batch, dims.heads, dims.nk, dims.d}, "k");
  require_shape(v, {dims.batch, dims.heads, dims.nk, dims.dv}, "v");
  if (!key_padding_mask.data.empty()) {
    require_shape(key_padding_mask, {dims.batch, dims.nk}, "key_padding_mask");
  }
  return dims;
}

const double* padding_row(const Array& key_padding_mask, int64_t b, int64_t nk) {
  return key_padding_mask.data.empty() ? nullptr : key_padding_mask.data.data() + b * nk;
}

// Rows and row length of x viewed as (rows, n) with n = numel(gamma), after checking shapes.
std::pair<int64_t, int64_t> layer_norm_rows(const Array& x, const Array& gamma, const Array& beta,
                                            const std::string& op = "layer_norm") {
  require_valid(x, "x");
  require_valid(gamma, "gamma");
  require_shape(beta, gamma.shape, "beta");
  const std::size_t rank = gamma.shape.size();
  require(
      x.shape.size() >= rank && Shape(x.shape.end() - rank, x.shape.end()) == gamma.shape,
      op + ": trailing dims of " + shape_string(x.shape) + " are not " + shape_string(gamma.shape));
  const int64_t n = numel(gamma.shape);
  return {n == 0 ? 0 : numel(x.shape) / n, n};
}

// Normalised rows xhat = (x - mean) * rstd and rstd = 1 / sqrt(var_biased + eps) per row.
std::pair<RowMatrix, Eigen::VectorXd> normalise_rows(const ConstMatrixMap& x, double eps) {
  const Eigen::VectorXd row_mean = x.rowwise().mean();
  const RowMatrix centered = x.colwise() - row_mean;  // (rows, n)
  const Eigen::VectorXd rstd =
      (centered.array().square().rowwise().mean() + eps).rsqrt().matrix();  // (rows)
  const RowMatrix xhat = rstd.asDiagonal() * centered;  // (rows, n), row r scaled by rstd[r]
  return {xhat, rstd};
}

// 1 / (1 - p); with p = 1 everything is dropped and the (all-zero) mask is scaled by 0.
double dropout_scale(double p) {
  require(0.0 <= p && p <= 1.0, "dropout p must lie in [0, 1]");
  return p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
}

}  // namespace

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << "(";
  for (std::size_t d = 0; d < shape.size(); ++d) out << (d ? ", " : "") << shape[d];
  out << ")";
  return out.str();
}

int64_t numel(const Shape& shape) {
  int64_t count = 1;
  for (int64_t size : shape) {
    require(size >= 0, "negative size in shape " + shape_string(shape));
    count *= size;
  }
  return count;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t r = 0; r < rank; ++r) {  // r counts dims from the right
    const int64_t da = r < a.size() ? a[a.size() - 1 - r] : 1;
    const int64_t db = r < b.size() ? b[b.size() - 1 - r] : 1;
    require(da == db || da == 1 || db == 1,
            "cannot broadcast " + shape_string(a) + " with " + shape_string(b));
    out[rank - 1 - r] = da == 1 ? db : da;
  }
  return out;
}

Array sum_to(const Array& grad, const Shape& target) {
  require_valid(grad, "grad");
  require(broadcast_shapes(target, grad.shape) == grad.shape,
          shape_string(target) + " does not broadcast to " + shape_string(grad.shape));
  const Shape target_strides = strides_of(target);
  Array out = zeros(target);
  for (int64_t i = 0; i < numel(grad.shape); ++i) {
    out.data[broadcast_source(unravel(i, grad.shape), target, target_strides)] += grad.data[i];
  }
  return out;
}

// ---- elementwise, broadcasting binary ----

Array add(const Array& a, const Array& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return ea.data[i] + eb.data[i]; });
}

Array sub(const Array& a, const Array& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return ea.data[i] - eb.data[i]; });
}

Array mul(const Array& a, const Array& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return ea.data[i] * eb.data[i]; });
}

Array div(const Array& a, const Array& b) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return ea.data[i] / eb.data[i]; });
}

std::vector<Array> add_backward(const Array& a, const Array& b, const Array& grad_out) {
  require_shape(grad_out, broadcast_shapes(a.shape, b.shape), "grad_out");
  return {sum_to(grad_out, a.shape), sum_to(grad_out, b.shape)};
}

std::vector<Array> sub_backward(const Array& a, const Array& b, const Array& grad_out) {
  require_shape(grad_out, broadcast_shapes(a.shape, b.shape), "grad_out");
  return {sum_to(grad_out, a.shape), sum_to(neg(grad_out), b.shape)};
}

std::vector<Array> mul_backward(const Array& a, const Array& b, const Array& grad_out) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  require_shape(grad_out, shape, "grad_out");
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  const Array da = elementwise(shape, [&](int64_t i) { return grad_out.data[i] * eb.data[i]; });
  const Array db = elementwise(shape, [&](int64_t i) { return grad_out.data[i] * ea.data[i]; });
  return {sum_to(da, a.shape), sum_to(db, b.shape)};
}

std::vector<Array> div_backward(const Array& a, const Array& b, const Array& grad_out) {
  const Shape shape = broadcast_shapes(a.shape, b.shape);
  require_shape(grad_out, shape, "grad_out");
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2.
  const Array da = elementwise(shape, [&](int64_t i) { return grad_out.data[i] / eb.data[i]; });
  const Array db = elementwise(
      shape, [&](int64_t i) { return -grad_out.data[i] * ea.data[i] / (eb.data[i] * eb.data[i]); });
  return {sum_to(da, a.shape), sum_to(db, b.shape)};
}

// ---- elementwise unary ----

Array neg(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return -x.data[i]; });
}

Array pow_scalar(const Array& x, double exponent) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return std::pow(x.data[i], exponent); });
}

Array exp(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return std::exp(x.data[i]); });
}

Array log(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return std::log(x.data[i]); });
}

Array sqrt(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return std::sqrt(x.data[i]); });
}

Array tanh(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return std::tanh(x.data[i]); });
}

Array sigmoid(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return 1.0 / (1.0 + std::exp(-x.data[i])); });
}

Array round_bf16(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) {
    const double v = x.data[i];
    if (v == 0.0 || !std::isfinite(v)) return v;
    int exponent = 0;
    const double fraction = std::frexp(v, &exponent);  // v = fraction 2^exponent, |f| in [0.5, 1)
    // 8 significant bits: the fraction in steps of 2^-8, rounded half to even (nearbyint in the
    // default rounding mode).
    const double rounded = std::ldexp(std::nearbyint(std::ldexp(fraction, 8)), exponent - 8);
    const double largest = std::ldexp(255.0, 120);  // (2 - 2^-7) 2^127
    return std::abs(rounded) > largest ? std::copysign(HUGE_VAL, v) : rounded;
  });
}

Array relu(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) { return x.data[i] > 0.0 ? x.data[i] : 0.0; });
}

Array gelu_tanh(const Array& x) {
  require_valid(x, "x");
  const double c = std::sqrt(2.0 / kPi);
  return elementwise(x.shape, [&](int64_t i) {
    const double v = x.data[i];
    return 0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v)));
  });
}

Array gelu_erf(const Array& x) {
  require_valid(x, "x");
  return elementwise(x.shape, [&](int64_t i) {
    const double v = x.data[i];
    return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  });
}

Array neg_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double) { return -1.0; });
}

Array pow_scalar_backward(const Array& x, double exponent, const Array& grad_out) {
  // d(x^p)/dx = p x^(p-1); x^0 is constant, so p = 0 gives 0 (even at x = 0).
  return chain_unary(x, grad_out, [exponent](double v) {
    return exponent == 0.0 ? 0.0 : exponent * std::pow(v, exponent - 1.0);
  });
}

Array exp_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) { return std::exp(v); });
}

Array log_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) { return 1.0 / v; });
}

Array sqrt_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) { return 0.5 / std::sqrt(v); });
}

Array tanh_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) {
    const double t = std::tanh(v);
    return 1.0 - t * t;
  });
}

Array sigmoid_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) {
    const double s = 1.0 / (1.0 + std::exp(-v));
    return s * (1.0 - s);
  });
}

Array relu_backward(const Array& x, const Array& grad_out) {
  return chain_unary(x, grad_out, [](double v) { return v > 0.0 ? 1.0 : 0.0; });
}

Array gelu_tanh_backward(const Array& x, const Array& grad_out) {
  // y = 0.5 x (1 + tanh u), u = c (x + a x^3):
  // dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) c (1 + 3 a x^2).
  const double c = std::sqrt(2.0 / kPi), a = 0.044715;
  return chain_unary(x, grad_out, [c, a](double v) {
    const double t = std::tanh(c * (v + a * v * v * v));
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * a * v * v);
  });
}

Array gelu_erf_backward(const Array& x, const Array& grad_out) {
  // y = x Phi(x): dy/dx = Phi(x) + x phi(x), phi the standard normal density.
  return chain_unary(x, grad_out, [](double v) {
    const double cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2.0 * kPi);
    return cdf + v * pdf;
  });
}

Array bias_gelu(const Array& x, const Array& bias) {
  require_valid(x, "x");
  require_valid(bias, "bias");
  require(bias.shape.size() == 1 && !x.shape.empty() && x.shape.back() == bias.shape[0],
          "bias_gelu: bias " + shape_string(bias.shape) + " must be (C) for x (..., C), x is " +
              shape_string(x.shape));
  return gelu_tanh(add(x, bias));
}

std::vector<Array> bias_gelu_backward(const Array& x, const Array& bias, const Array& grad_out) {
  const Array dx = gelu_tanh_backward(add(x, bias), grad_out);  // (..., C)
  return {dx, sum_to(dx, bias.shape)};
}

// ---- matmul ----

Array matmul(const Array& a, const Array& b) {
  require_valid(a, "a");
  require_valid(b, "b");
  require(a.shape.size() >= 2 && b.shape.size() >= 2, "matmul operands must be at least 2-D");
  const int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), n = b.shape.back();
  require(b.shape[b.shape.size() - 2] == k,
          "matmul inner dims differ: " + shape_string(a.shape) + " @ " + shape_string(b.shape));
  const Shape batch = broadcast_shapes(batch_dims(a.shape), batch_dims(b.shape));
  const Array ea = expand(a, with_matrix_dims(batch, m, k));  // (batch..., M, K)
  const Array eb = expand(b, with_matrix_dims(batch, k, n));  // (batch..., K, N)
  Array out = zeros(with_matrix_dims(batch, m, n));           // (batch..., M, N)
  for (int64_t t = 0; t < numel(batch); ++t) {
    MatrixMap(out.data.data() + t * m * n, m, n) =
        ConstMatrixMap(ea.data.data() + t * m * k, m, k) *
        ConstMatrixMap(eb.data.data() + t * k * n, k, n);
  }
  return out;
}

std::vector<Array> matmul_backward(const Array& a, const Array& b, const Array& grad_out) {
  const Array out = matmul(a, b);  // validates shapes
  require_shape(grad_out, out.shape, "grad_out");
  const int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), n = b.shape.back();
  const Shape batch = batch_dims(out.shape);
  const Array ea = expand(a, with_matrix_dims(batch, m, k));  // (batch..., M, K)
  const Array eb = expand(b, with_matrix_dims(batch, k, n));  // (batch..., K, N)
  Array da = zeros(ea.shape);                                 // (batch..., M, K)
  Array db = zeros(eb.shape);                                 // (batch..., K, N)
  for (int64_t t = 0; t < numel(batch); ++t) {
    const ConstMatrixMap g(grad_out.data.data() + t * m * n, m, n);
    // out = A B: dA = G B^T, dB = A^T G.
    MatrixMap(da.data.data() + t * m * k, m, k) =
        g * ConstMatrixMap(eb.data.data() + t * k * n, k, n).transpose();
    MatrixMap(db.data.data() + t * k * n, k, n) =
        ConstMatrixMap(ea.data.data() + t * m * k, m, k).transpose() * g;
  }
  return {sum_to(da, a.shape), sum_to(db, b.shape)};
}

// x (..., in) as rows (R, in), R the product of the leading dims (row-major layout).
static Array linear_rows(const Array& x, int64_t in) {
  return reshape(x, {numel(Shape(x.shape.begin(), x.shape.end() - 1)), in});
}

Array linear(const Array& x, const Array& weight, const Array& bias) {
  require_valid(x, "x");
  require_valid(weight, "weight");
  require_valid(bias, "bias");
  require(!x.shape.empty() && weight.shape.size() == 2 && x.shape.back() == weight.shape[1] &&
              bias.shape == Shape{weight.shape[0]},
          "linear: x " + shape_string(x.shape) + ", weight " + shape_string(weight.shape) +
              ", bias " + shape_string(bias.shape));
  const int64_t in = weight.shape[1], out = weight.shape[0];
  Shape out_shape = x.shape;
  out_shape.back() = out;
  const Array y = add(matmul(linear_rows(x, in), transpose(weight, 0, 1)), bias);  // (R, out)
  return reshape(y, out_shape);
}

std::vector<Array> linear_backward(const Array& x, const Array& weight, const Array& bias,
                                   const Array& grad_out) {
  require_shape(grad_out, linear(x, weight, bias).shape, "grad_out");
  const int64_t in = weight.shape[1], out = weight.shape[0];
  const Array rows = linear_rows(x, in);                    // (R, in)
  const Array g = reshape(grad_out, {rows.shape[0], out});  // (R, out)
  const std::vector<Array> grads = matmul_backward(rows, transpose(weight, 0, 1), g);
  return {reshape(grads[0], x.shape), transpose(grads[1], 0, 1), sum_to(g, bias.shape)};
}

// ---- shape ops ----

Array transpose(const Array& x, int dim0, int dim1) {
  require_dim(x.shape, dim0);
  require_dim(x.shape, dim1);
  std::vector<int> dims(x.shape.size());
  for (std::size_t d = 0; d < dims.size(); ++d) dims[d] = static_cast<int>(d);
  std::swap(dims[dim0], dims[dim1]);
  return permute(x, dims);
}

Array transpose_backward(const Array& grad_out, int dim0, int dim1) {
  return transpose(grad_out, dim0, dim1);  // a swap is its own inverse
}

Array permute(const Array& x, const std::vector<int>& dims) {
  require_valid(x, "x");
  require(dims.size() == x.shape.size(), "permute needs one entry per dim");
  std::vector<bool> seen(dims.size(), false);
  Shape out_shape(dims.size());
  for (std::size_t d = 0; d < dims.size(); ++d) {
    require_dim(x.shape, dims[d]);
    require(!seen[dims[d]], "permute dims must be a permutation");
    seen[dims[d]] = true;
    out_shape[d] = x.shape[dims[d]];  // out dim d is input dim dims[d]
  }
  const Shape in_strides = strides_of(x.shape);
  return elementwise(out_shape, [&](int64_t i) {
    const Shape index = unravel(i, out_shape);
    int64_t source = 0;
    for (std::size_t d = 0; d < dims.size(); ++d) source += index[d] * in_strides[dims[d]];
    return x.data[source];
  });
}

Array permute_backward(const Array& grad_out, const std::vector<int>& dims) {
  std::vector<int> inverse(dims.size());
  for (std::size_t d = 0; d < dims.size(); ++d) {
    require_dim(grad_out.shape, dims[d]);
    inverse[dims[d]] = static_cast<int>(d);
  }
  return permute(grad_out, inverse);
}

Array reshape(const Array& x, const Shape& shape) {
  require_valid(x, "x");
  require(numel(shape) == numel(x.shape),
          "cannot reshape " + shape_string(x.shape) + " to " + shape_string(shape));
  return Array{shape, x.data};
}

Array reshape_backward(const Array& grad_out, const Shape& input_shape) {
  return reshape(grad_out, input_shape);
}

Array slice(const Array& x, int dim, int64_t start, int64_t end) {
  require_valid(x, "x");
  require_dim(x.shape, dim);
  require(0 <= start && start <= end && end <= x.shape[dim], "slice bounds out of range");
  Shape out_shape = x.shape;
  out_shape[dim] = end - start;
  const int64_t outer = outer_size(x.shape, dim), n = x.shape[dim],
                inner = inner_size(x.shape, dim);
  Array out = zeros(out_shape);  // (outer, end - start, inner)
  for (int64_t o = 0; o < outer; ++o) {
    std::copy_n(x.data.begin() + (o * n + start) * inner, (end - start) * inner,
                out.data.begin() + o * (end - start) * inner);
  }
  return out;
}

Array slice_backward(const Array& grad_out, const Shape& input_shape, int dim, int64_t start) {
  require_valid(grad_out, "grad_out");
  require_dim(input_shape, dim);
  require_dim(grad_out.shape, dim);
  const int64_t len = grad_out.shape[dim];
  Shape expected = input_shape;
  expected[dim] = len;
  require_shape(grad_out, expected, "grad_out");
  require(0 <= start && start + len <= input_shape[dim], "slice bounds out of range");
  const int64_t outer = outer_size(input_shape, dim), n = input_shape[dim];
  const int64_t inner = inner_size(input_shape, dim);
  Array grad = zeros(input_shape);  // (outer, n, inner), zero outside [start, start + len)
  for (int64_t o = 0; o < outer; ++o) {
    std::copy_n(grad_out.data.begin() + o * len * inner, len * inner,
                grad.data.begin() + (o * n + start) * inner);
  }
  return grad;
}

Array concat(const std::vector<Array>& xs, int dim) {
  require(!xs.empty(), "concat needs at least one array");
  require_dim(xs[0].shape, dim);
  Shape out_shape = xs[0].shape;
  out_shape[dim] = 0;
  for (const Array& x : xs) {
    Shape expected = xs[0].shape;
    expected[dim] = x.shape.size() == expected.size() ? x.shape[dim] : -1;
    require_shape(x, expected, "concat input");
    out_shape[dim] += x.shape[dim];
  }
  const int64_t outer = outer_size(out_shape, dim), inner = inner_size(out_shape, dim);
  Array out = zeros(out_shape);  // (outer, sum of sizes, inner)
  auto dest = out.data.begin();
  for (int64_t o = 0; o < outer; ++o) {
    for (const Array& x : xs) {
      const int64_t block = x.shape[dim] * inner;
      dest = std::copy_n(x.data.begin() + o * block, block, dest);
    }
  }
  return out;
}

std::vector<Array> concat_backward(const std::vector<Shape>& input_shapes, int dim,
                                   const Array& grad_out) {
  std::vector<int64_t> sizes;
  for (const Shape& shape : input_shapes) {
    require_dim(shape, dim);
    sizes.push_back(shape[dim]);
  }
  std::vector<Array> grads = split(grad_out, sizes, dim);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    require_shape(grads[i], input_shapes[i], "concat gradient piece");
  }
  return grads;
}

Array stack(const std::vector<Array>& xs, int dim) {
  require(!xs.empty(), "stack needs at least one array");
  require(dim >= 0 && dim <= static_cast<int>(xs[0].shape.size()), "stack dim out of range");
  std::vector<Array> unsqueezed;
  for (const Array& x : xs) {
    require_shape(x, xs[0].shape, "stack input");
    Shape shape = x.shape;
    shape.insert(shape.begin() + dim, 1);  // new size-1 dim at `dim`
    unsqueezed.push_back(reshape(x, shape));
  }
  return concat(unsqueezed, dim);
}

std::vector<Array> stack_backward(int count, int dim, const Array& grad_out) {
  require_dim(grad_out.shape, dim);
  require(grad_out.shape[dim] == count, "stack_backward count does not match grad_out");
  Shape piece_shape = grad_out.shape;
  piece_shape.erase(piece_shape.begin() + dim);
  std::vector<Array> grads = split(grad_out, std::vector<int64_t>(count, 1), dim);
  for (Array& grad : grads) grad = reshape(grad, piece_shape);
  return grads;
}

std::vector<Array> split(const Array& x, const std::vector<int64_t>& sizes, int dim) {
  require_valid(x, "x");
  require_dim(x.shape, dim);
  std::vector<Array> pieces;
  int64_t start = 0;
  for (int64_t size : sizes) {
    pieces.push_back(slice(x, dim, start, start + size));
    start += size;
  }
  require(start == x.shape[dim], "split sizes do not sum to the dim size");
  return pieces;
}

Array split_backward(const std::vector<Array>& grad_outs, int dim) {
  return concat(grad_outs, dim);
}

Array expand(const Array& x, const Shape& shape) {
  require_valid(x, "x");
  require(broadcast_shapes(x.shape, shape) == shape,
          "cannot expand " + shape_string(x.shape) + " to " + shape_string(shape));
  const Shape in_strides = strides_of(x.shape);
  return elementwise(shape, [&](int64_t i) {
    return x.data[broadcast_source(unravel(i, shape), x.shape, in_strides)];
  });
}

Array expand_backward(const Array& grad_out, const Shape& input_shape) {
  return sum_to(grad_out, input_shape);
}

// ---- reductions ----

Array sum(const Array& x, const std::vector<int>& dims, bool keepdim) {
  require_valid(x, "x");
  const std::vector<int64_t> group = group_of_elements(x.shape, dims);
  Array out = zeros(reduced_shape(x.shape, dims, keepdim));
  for (int64_t i = 0; i < numel(x.shape); ++i) out.data[group[i]] += x.data[i];
  return out;
}

Array sum_backward(const Array& x, const std::vector<int>& dims, bool keepdim,
                   const Array& grad_out) {
  require_shape(grad_out, reduced_shape(x.shape, dims, keepdim), "grad_out");
  const std::vector<int64_t> group = group_of_elements(x.shape, dims);
  return elementwise(x.shape, [&](int64_t i) { return grad_out.data[group[i]]; });
}

Array mean(const Array& x, const std::vector<int>& dims, bool keepdim) {
  Array out = sum(x, dims, keepdim);
  const double count = static_cast<double>(group_count(x.shape, dims));
  for (double& value : out.data) value /= count;
  return out;
}

Array mean_backward(const Array& x, const std::vector<int>& dims, bool keepdim,
                    const Array& grad_out) {
  Array grad = sum_backward(x, dims, keepdim, grad_out);
  const double count = static_cast<double>(group_count(x.shape, dims));
  for (double& value : grad.data) value /= count;
  return grad;
}

Array max(const Array& x, int dim, bool keepdim) {
  require_valid(x, "x");
  require_dim(x.shape, dim);
  require(x.shape[dim] > 0, "max over an empty dim");
  Array out = zeros(reduced_shape(x.shape, {dim}, keepdim));
  for_each_lane(x.shape, dim, [&](int64_t lane, int64_t offset, int64_t stride) {
    double best = x.data[offset];
    for (int64_t t = 1; t < x.shape[dim]; ++t) best = std::max(best, x.data[offset + t * stride]);
    out.data[lane] = best;
  });
  return out;
}

Array max_backward(const Array& x, int dim, bool keepdim, const Array& grad_out) {
  require_valid(x, "x");
  require_dim(x.shape, dim);
  require_shape(grad_out, reduced_shape(x.shape, {dim}, keepdim), "grad_out");
  Array grad = zeros(x.shape);
  for_each_lane(x.shape, dim, [&](int64_t lane, int64_t offset, int64_t stride) {
    int64_t first_max = offset;  // strict > keeps the first index attaining the max
    for (int64_t t = 1; t < x.shape[dim]; ++t) {
      if (x.data[offset + t * stride] > x.data[first_max]) first_max = offset + t * stride;
    }
    grad.data[first_max] = grad_out.data[lane];
  });
  return grad;
}

Array var(const Array& x, const std::vector<int>& dims, int64_t correction, bool keepdim) {
  const Array group_mean = mean(x, dims, keepdim);
  const std::vector<int64_t> group = group_of_elements(x.shape, dims);
  const double divisor = static_cast<double>(group_count(x.shape, dims) - correction);
  Array out = zeros(group_mean.shape);
  for (int64_t i = 0; i < numel(x.shape); ++i) {
    const double centered = x.data[i] - group_mean.data[group[i]];
    out.data[group[i]] += centered * centered / divisor;
  }
  return out;
}

Array var_backward(const Array& x, const std::vector<int>& dims, int64_t correction, bool keepdim,
                   const Array& grad_out) {
  // var = sum (x - mean)^2 / divisor; the mean's own derivative cancels since
  // sum (x - mean) = 0, leaving d var / dx_i = 2 (x_i - mean) / divisor.
  require_shape(grad_out, reduced_shape(x.shape, dims, keepdim), "grad_out");
  const Array group_mean = mean(x, dims, keepdim);
  const std::vector<int64_t> group = group_of_elements(x.shape, dims);
  const double divisor = static_cast<double>(group_count(x.shape, dims) - correction);
  return elementwise(x.shape, [&](int64_t i) {
    return grad_out.data[group[i]] * 2.0 * (x.data[i] - group_mean.data[group[i]]) / divisor;
  });
}

// ---- normalisation, softmax, losses ----

Array softmax(const Array& x, int dim) {
  require_valid(x, "x");
  Array out = zeros(x.shape);
  for_each_lane(x.shape, dim, [&](int64_t, int64_t offset, int64_t stride) {
    double row_max = x.data[offset];
    for (int64_t t = 1; t < x.shape[dim]; ++t) {
      row_max = std::max(row_max, x.data[offset + t * stride]);
    }
    double total = 0.0;
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      out.data[offset + t * stride] = std::exp(x.data[offset + t * stride] - row_max);
      total += out.data[offset + t * stride];
    }
    for (int64_t t = 0; t < x.shape[dim]; ++t) out.data[offset + t * stride] /= total;
  });
  return out;
}

Array softmax_backward(const Array& x, int dim, const Array& grad_out) {
  // Softmax Jacobian dy_i/dx_j = y_i (delta_ij - y_j), so dx_j = y_j (g_j - sum_i g_i y_i).
  require_shape(grad_out, x.shape, "grad_out");
  const Array y = softmax(x, dim);
  Array grad = zeros(x.shape);
  for_each_lane(x.shape, dim, [&](int64_t, int64_t offset, int64_t stride) {
    double dot = 0.0;
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      dot += grad_out.data[offset + t * stride] * y.data[offset + t * stride];
    }
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      const int64_t i = offset + t * stride;
      grad.data[i] = y.data[i] * (grad_out.data[i] - dot);
    }
  });
  return grad;
}

Array log_softmax(const Array& x, int dim) {
  require_valid(x, "x");
  Array out = zeros(x.shape);
  for_each_lane(x.shape, dim, [&](int64_t, int64_t offset, int64_t stride) {
    double row_max = x.data[offset];
    for (int64_t t = 1; t < x.shape[dim]; ++t) {
      row_max = std::max(row_max, x.data[offset + t * stride]);
    }
    double total = 0.0;
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      total += std::exp(x.data[offset + t * stride] - row_max);
    }
    const double log_total = row_max + std::log(total);
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      out.data[offset + t * stride] = x.data[offset + t * stride] - log_total;
    }
  });
  return out;
}

Array log_softmax_backward(const Array& x, int dim, const Array& grad_out) {
  // y_i = x_i - logsumexp(x): dy_i/dx_j = delta_ij - softmax_j, so dx_j = g_j - softmax_j sum g.
  require_shape(grad_out, x.shape, "grad_out");
  const Array p = softmax(x, dim);
  Array grad = zeros(x.shape);
  for_each_lane(x.shape, dim, [&](int64_t, int64_t offset, int64_t stride) {
    double total = 0.0;
    for (int64_t t = 0; t < x.shape[dim]; ++t) total += grad_out.data[offset + t * stride];
    for (int64_t t = 0; t < x.shape[dim]; ++t) {
      const int64_t i = offset + t * stride;
      grad.data[i] = grad_out.data[i] - p.data[i] * total;
    }
  });
  return grad;
}

Array layer_norm(const Array& x, const Array& gamma, const Array& beta, double eps) {
  const auto [rows, n] = layer_norm_rows(x, gamma, beta);
  const ConstMatrixMap xs(x.data.data(), rows, n);  // (rows, n)
  const Eigen::Map<const Eigen::RowVectorXd> g(gamma.data.data(), n), b(beta.data.data(), n);
  const RowMatrix xhat = normalise_rows(xs, eps).first;                            // (rows, n)
  const RowMatrix y = (xhat.array().rowwise() * g.array()).rowwise() + b.array();  // (rows, n)
  return from_matrix(y, x.shape);
}

std::vector<Array> layer_norm_backward(const Array& x, const Array& gamma, const Array& beta,
                                       double eps, const Array& grad_out) {
  // With xhat = (x - mean) * rstd and dxhat = g * gamma, differentiating through mean and the
  // biased variance gives dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
  const auto [rows, n] = layer_norm_rows(x, gamma, beta);
  require_shape(grad_out, x.shape, "grad_out");
  const ConstMatrixMap xs(x.data.data(), rows, n);        // (rows, n)
  const ConstMatrixMap g(grad_out.data.data(), rows, n);  // (rows, n)
  const Eigen::Map<const Eigen::RowVectorXd> gam(gamma.data.data(), n);
  const auto [xhat, rstd] = normalise_rows(xs, eps);          // (rows, n), (rows)
  const RowMatrix dxhat = g.array().rowwise() * gam.array();  // (rows, n)
  const Eigen::VectorXd mean_dxhat = dxhat.rowwise().mean();
  const Eigen::VectorXd mean_dxhat_xhat = (dxhat.array() * xhat.array()).rowwise().mean();
  RowMatrix dx = dxhat.colwise() - mean_dxhat;                          // (rows, n)
  dx -= mean_dxhat_xhat.asDiagonal() * xhat;                            // (rows, n)
  dx = rstd.asDiagonal() * dx;                                          // (rows, n)
  const RowMatrix dgamma = (g.array() * xhat.array()).colwise().sum();  // (1, n)
  const RowMatrix dbeta = g.colwise().sum();                            // (1, n)
  return {from_matrix(dx, x.shape), from_matrix(dgamma, gamma.shape),
          from_matrix(dbeta, beta.shape)};
}

// Each row's 1 / sqrt(mean(x^2) + eps) (rows).
Eigen::VectorXd rms_rstd(const ConstMatrixMap& x, double eps) {
  return ((x.array().square().rowwise().mean() + eps).sqrt()).inverse().matrix();
}

Array rms_norm(const Array& x, const Array& gamma, double eps) {
  const auto [rows, n] = layer_norm_rows(x, gamma, gamma, "rms_norm");
  const ConstMatrixMap xs(x.data.data(), rows, n);  // (rows, n)
  const Eigen::Map<const Eigen::RowVectorXd> g(gamma.data.data(), n);
  const RowMatrix y = (rms_rstd(xs, eps).asDiagonal() * xs).array().rowwise() * g.array();
  return from_matrix(y, x.shape);
}

std::vector<Array> rms_norm_backward(const Array& x, const Array& gamma, double eps,
                                     const Array& grad_out) {
  // y_i = x_i r gamma_i with r = (mean(x^2) + eps)^(-1/2), so dr/dx_i = -r^3 x_i / n; with
  // dxhat = g * gamma and xhat = x r: dx = r dxhat - r^3 x mean(dxhat * x)
  //                                      = r (dxhat - xhat * mean(dxhat * xhat)).
  const auto [rows, n] = layer_norm_rows(x, gamma, gamma, "rms_norm");
  require_shape(grad_out, x.shape, "grad_out");
  const ConstMatrixMap xs(x.data.data(), rows, n);        // (rows, n)
  const ConstMatrixMap g(grad_out.data.data(), rows, n);  // (rows, n)
  const Eigen::Map<const Eigen::RowVectorXd> gam(gamma.data.data(), n);
  const Eigen::VectorXd r = rms_rstd(xs, eps);                // (rows)
  const RowMatrix xhat = r.asDiagonal() * xs;                 // (rows, n)
  const RowMatrix dxhat = g.array().rowwise() * gam.array();  // (rows, n)
  const Eigen::VectorXd mean_dxhat_xhat = (dxhat.array() * xhat.array()).rowwise().mean();
  const RowMatrix dx = r.asDiagonal() * (dxhat - mean_dxhat_xhat.asDiagonal() * xhat);
  const RowMatrix dgamma = (g.array() * xhat.array()).colwise().sum();  // (1, n)
  return {from_matrix(dx, x.shape), from_matrix(dgamma, gamma.shape)};
}

Array mse_loss(const Array& a, const Array& b) {
  require_valid(a, "a");
  require_shape(b, a.shape, "b");
  double total = 0.0;
  for (int64_t i = 0; i < numel(a.shape); ++i) {
    total += (a.data[i] - b.data[i]) * (a.data[i] - b.data[i]);
  }
  return Array{{}, {total / static_cast<double>(numel(a.shape))}};
}

std::vector<Array> mse_loss_backward(const Array& a, const Array& b, const Array& grad_out) {
  // d/da mean((a - b)^2) = 2 (a - b) / count; d/db is its negative.
  require_valid(a, "a");
  require_shape(b, a.shape, "b");
  require_shape(grad_out, {}, "grad_out");
  const double scale = 2.0 * grad_out.data[0] / static_cast<double>(numel(a.shape));
  const Array da = elementwise(a.shape, [&](int64_t i) { return scale * (a.data[i] - b.data[i]); });
  return {da, neg(da)};
}

Array cross_entropy(const Array& logits, const std::vector<int64_t>& targets) {
  require_valid(logits, "logits");
  require(logits.shape.size() == 2, "cross_entropy expects logits (N, C)");
  const int64_t n = logits.shape[0], c = logits.shape[1];
  require(static_cast<int64_t>(targets.size()) == n, "cross_entropy needs N targets");
  const Array log_probs = log_softmax(logits, 1);  // (N, C)
  double total = 0.0;
  for (int64_t row = 0; row < n; ++row) {
    require(0 <= targets[row] && targets[row] < c, "cross_entropy target out of range");
    total -= log_probs.data[row * c + targets[row]];
  }
  return Array{{}, {total / static_cast<double>(n)}};
}

Array cross_entropy_backward(const Array& logits, const std::vector<int64_t>& targets,
                             const Array& grad_out) {
  // d/dlogits of -log_softmax[t] is softmax - onehot(t); the mean divides by N.
  require_valid(logits, "logits");
  require(logits.shape.size() == 2, "cross_entropy expects logits (N, C)");
  require_shape(grad_out, {}, "grad_out");
  const int64_t n = logits.shape[0], c = logits.shape[1];
  require(static_cast<int64_t>(targets.size()) == n, "cross_entropy needs N targets");
  Array grad = softmax(logits, 1);  // (N, C)
  for (int64_t row = 0; row < n; ++row) {
    require(0 <= targets[row] && targets[row] < c, "cross_entropy target out of range");
    grad.data[row * c + targets[row]] -= 1.0;
  }
  const double scale = grad_out.data[0] / static_cast<double>(n);
  for (double& value : grad.data) value *= scale;
  return grad;
}

// ---- dropout ----

Array dropout(const Array& x, const Array& mask, double p) {
  require_valid(x, "x");
  require_shape(mask, x.shape, "mask");
  const double scale = dropout_scale(p);
  return elementwise(x.shape, [&](int64_t i) { return x.data[i] * mask.data[i] * scale; });
}

Array dropout_backward(const Array& mask, double p, const Array& grad_out) {
  require_valid(mask, "mask");
  require_shape(grad_out, mask.shape, "grad_out");
  const double scale = dropout_scale(p);
  return elementwise(mask.shape,
                     [&](int64_t i) { return grad_out.data[i] * mask.data[i] * scale; });
}

// ---- embedding ----

Array embedding(const Array& weight, const std::vector<int64_t>& indices,
                const Shape& indices_shape) {
  require_valid(weight, "weight");
  require(weight.shape.size() == 2, "embedding weight must be (V, E)");
  require(static_cast<int64_t>(indices.size()) == numel(indices_shape),
          "indices do not match indices_shape");
  const int64_t vocab = weight.shape[0], width = weight.shape[1];
  Shape out_shape = indices_shape;
  out_shape.push_back(width);
  Array out = zeros(out_shape);  // (S..., E)
  for (std::size_t i = 0; i < indices.size(); ++i) {
    require(0 <= indices[i] && indices[i] < vocab, "embedding index out of range");
    std::copy_n(weight.data.begin() + indices[i] * width, width, out.data.begin() + i * width);
  }
  return out;
}

Array embedding_backward(const Shape& weight_shape, const std::vector<int64_t>& indices,
                         const Array& grad_out) {
  require(weight_shape.size() == 2, "embedding weight must be (V, E)");
  require_valid(grad_out, "grad_out");
  const int64_t vocab = weight_shape[0], width = weight_shape[1];
  require(numel(grad_out.shape) == static_cast<int64_t>(indices.size()) * width &&
              !grad_out.shape.empty() && grad_out.shape.back() == width,
          "grad_out does not match indices and weight");
  Array grad = zeros(weight_shape);  // (V, E); repeated indices accumulate
  for (std::size_t i = 0; i < indices.size(); ++i) {
    require(0 <= indices[i] && indices[i] < vocab, "embedding index out of range");
    for (int64_t e = 0; e < width; ++e) {
      grad.data[indices[i] * width + e] += grad_out.data[i * width + e];
    }
  }
  return grad;
}

// ---- masked_fill / where ----

Array masked_fill(const Array& x, const Array& mask, double value) {
  const Shape shape = broadcast_shapes(x.shape, mask.shape);
  const Array ex = expand(x, shape), em = expand(mask, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return em.data[i] != 0.0 ? value : ex.data[i]; });
}

Array masked_fill_backward(const Array& x, const Array& mask, const Array& grad_out) {
  const Shape shape = broadcast_shapes(x.shape, mask.shape);
  require_shape(grad_out, shape, "grad_out");
  const Array em = expand(mask, shape);  // (broadcast shape)
  const Array grad =
      elementwise(shape, [&](int64_t i) { return em.data[i] != 0.0 ? 0.0 : grad_out.data[i]; });
  return sum_to(grad, x.shape);
}

Array where(const Array& condition, const Array& a, const Array& b) {
  const Shape shape = broadcast_shapes(condition.shape, broadcast_shapes(a.shape, b.shape));
  const Array ec = expand(condition, shape);                 // (broadcast shape)
  const Array ea = expand(a, shape), eb = expand(b, shape);  // (broadcast shape)
  return elementwise(shape, [&](int64_t i) { return ec.data[i] != 0.0 ? ea.data[i] : eb.data[i]; });
}

std::vector<Array> where_backward(const Array& condition, const Array& a, const Array& b,
                                  const Array& grad_out) {
  const Shape shape = broadcast_shapes(condition.shape, broadcast_shapes(a.shape, b.shape));
  require_shape(grad_out, shape, "grad_out");
  const Array ec = expand(condition, shape);  // (broadcast shape)
  const Array da =
      elementwise(shape, [&](int64_t i) { return ec.data[i] != 0.0 ? grad_out.data[i] : 0.0; });
  const Array db =
      elementwise(shape, [&](int64_t i) { return ec.data[i] != 0.0 ? 0.0 : grad_out.data[i]; });
  return {sum_to(da, a.shape), sum_to(db, b.shape)};
}

// ---- scaled dot-product attention ----

Array sdpa(const Array& q, const Array& k, const Array& v, bool causal,
           const Array& key_padding_mask, double scale) {
  const AttentionDims n = check_attention(q, k, v, key_padding_mask);
  Array out = zeros({n.batch, n.heads, n.nq, n.dv});  // (B, H, Nq, Dv)
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t h = 0; h < n.heads; ++h) {
      const int64_t bh = b * n.heads + h;
      const ConstMatrixMap qs(q.data.data() + bh * n.nq * n.d, n.nq, n.d);    // (Nq, D)
      const ConstMatrixMap ks(k.data.data() + bh * n.nk * n.d, n.nk, n.d);    // (Nk, D)
      const ConstMatrixMap vs(v.data.data() + bh * n.nk * n.dv, n.nk, n.dv);  // (Nk, Dv)
      const double* padding = padding_row(key_padding_mask, b, n.nk);         // (Nk) or null
      const RowMatrix probs = attention_probabilities(qs, ks, causal, padding, scale);  // (Nq, Nk)
      MatrixMap(out.data.data() + bh * n.nq * n.dv, n.nq, n.dv) = probs * vs;           // (Nq, Dv)
    }
  }
  return out;
}

std::vector<Array> sdpa_backward(const Array& q, const Array& k, const Array& v, bool causal,
                                 const Array& key_padding_mask, double scale,
                                 const Array& grad_out) {
  // out = P V with P = softmax(S) row-wise and S = scale Q K^T (masked entries have P = 0).
  // dV = P^T dO; dP = dO V^T; through the softmax Jacobian dS = P * (dP - rowsum(dP * P));
  // dQ = scale dS K; dK = scale dS^T Q. Fully masked rows have P = 0, hence dS = 0.
  const AttentionDims n = check_attention(q, k, v, key_padding_mask);
  require_shape(grad_out, {n.batch, n.heads, n.nq, n.dv}, "grad_out");
  Array dq = zeros(q.shape);  // (B, H, Nq, D)
  Array dk = zeros(k.shape);  // (B, H, Nk, D)
  Array dv = zeros(v.shape);  // (B, H, Nk, Dv)
  for (int64_t b = 0; b < n.batch; ++b) {
    for (int64_t h = 0; h < n.heads; ++h) {
      const int64_t bh = b * n.heads + h;
      const ConstMatrixMap qs(q.data.data() + bh * n.nq * n.d, n.nq, n.d);           // (Nq, D)
      const ConstMatrixMap ks(k.data.data() + bh * n.nk * n.d, n.nk, n.d);           // (Nk, D)
      const ConstMatrixMap vs(v.data.data() + bh * n.nk * n.dv, n.nk, n.dv);         // (Nk, Dv)
      const ConstMatrixMap go(grad_out.data.data() + bh * n.nq * n.dv, n.nq, n.dv);  // (Nq, Dv)
      const double* padding = padding_row(key_padding_mask, b, n.nk);                // (Nk) or null
      const RowMatrix probs = attention_probabilities(qs, ks, causal, padding, scale);   // (Nq, Nk)
      const RowMatrix dprobs = go * vs.transpose();                                      // (Nq, Nk)
      const Eigen::VectorXd row_dot = (dprobs.array() * probs.array()).rowwise().sum();  // (Nq)
      const RowMatrix dscores = probs.array() * (dprobs.colwise() - row_dot).array();    // (Nq, Nk)
      MatrixMap(dq.data.data() + bh * n.nq * n.d, n.nq, n.d) = scale * dscores * ks;
      MatrixMap(dk.data.data() + bh * n.nk * n.d, n.nk, n.d) = scale * dscores.transpose() * qs;
      MatrixMap(dv.data.data() + bh * n.nk * n.dv, n.nk, n.dv) = probs.transpose() * go;
    }
  }
  return {dq, dk, dv};
}

}  // namespace ref
