// Eigen double-precision reference of every engine op, forward and backward: the CPU oracle.
//
// Built by //reference/eigen:reference (depends on Eigen alone, never on engine code: an oracle
// that shares code with what it checks proves nothing). Every function takes row-major
// contiguous double arrays and returns fresh ones. Backward functions take the forward inputs
// (and, where cheaper, the forward output) plus the gradient of the output, and return the
// gradient of every differentiable input, in argument order, each with that input's shape.
// Broadcasting follows NumPy/PyTorch: shapes are right-aligned, size-1 dims stretch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ref {

using Shape = std::vector<int64_t>;

// A row-major contiguous N-d array of doubles.
struct Array {
  Shape shape;
  std::vector<double> data;  // product(shape) elements, row-major
};

int64_t numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "(3, 4)"
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Sums `grad` (of shape broadcast(target, ...)) down to `target` shape.
Array sum_to(const Array& grad, const Shape& target);

// ---- elementwise, broadcasting binary ----
Array add(const Array& a, const Array& b);
Array sub(const Array& a, const Array& b);
Array mul(const Array& a, const Array& b);
Array div(const Array& a, const Array& b);
std::vector<Array> add_backward(const Array& a, const Array& b, const Array& grad_out);
std::vector<Array> sub_backward(const Array& a, const Array& b, const Array& grad_out);
std::vector<Array> mul_backward(const Array& a, const Array& b, const Array& grad_out);
std::vector<Array> div_backward(const Array& a, const Array& b, const Array& grad_out);

// ---- elementwise unary ----
Array neg(const Array& x);
Array pow_scalar(const Array& x, double exponent);  // x^exponent
Array exp(const Array& x);
Array log(const Array& x);
Array sqrt(const Array& x);
Array tanh(const Array& x);
Array sigmoid(const Array& x);
Array relu(const Array& x);       // grad at 0 is 0
Array gelu_tanh(const Array& x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
Array gelu_erf(const Array& x);   // 0.5 x (1 + erf(x / sqrt(2)))
Array neg_backward(const Array& x, const Array& grad_out);
Array pow_scalar_backward(const Array& x, double exponent, const Array& grad_out);
Array exp_backward(const Array& x, const Array& grad_out);
Array log_backward(const Array& x, const Array& grad_out);
Array sqrt_backward(const Array& x, const Array& grad_out);
Array tanh_backward(const Array& x, const Array& grad_out);
Array sigmoid_backward(const Array& x, const Array& grad_out);
Array relu_backward(const Array& x, const Array& grad_out);
Array gelu_tanh_backward(const Array& x, const Array& grad_out);
Array gelu_erf_backward(const Array& x, const Array& grad_out);
// Fused bias + GELU: gelu_tanh(x + bias), x (..., C), bias (C). Backward: {dx, dbias}.
Array bias_gelu(const Array& x, const Array& bias);
std::vector<Array> bias_gelu_backward(const Array& x, const Array& bias, const Array& grad_out);

// ---- bfloat16 ----
// Each value rounded to the nearest bfloat16 (8 significant bits, float32's exponent range),
// ties to even; past the largest bfloat16 (about 3.39e38) it becomes infinity. Computed in
// double with frexp/nearbyint/ldexp, independent of the engine's bit manipulation
// (engine/kernels/defs.h). Subnormal float32 inputs are not supported (the sweep draws none).
Array round_bf16(const Array& x);

// ---- matmul: a (..., M, K) @ b (..., K, N) -> (..., M, N), batch dims broadcast; both >= 2-D ----
Array matmul(const Array& a, const Array& b);
std::vector<Array> matmul_backward(const Array& a, const Array& b, const Array& grad_out);
// linear: x (..., in) @ weight^T (weight (out, in)) + bias (out); x >= 1-D. The backward gives
// {dx, dweight, dbias}.
Array linear(const Array& x, const Array& weight, const Array& bias);
std::vector<Array> linear_backward(const Array& x, const Array& weight, const Array& bias,
                                   const Array& grad_out);

// ---- shape ops (dims already non-negative) ----
Array transpose(const Array& x, int dim0, int dim1);
Array transpose_backward(const Array& grad_out, int dim0, int dim1);
Array permute(const Array& x, const std::vector<int>& dims);
Array permute_backward(const Array& grad_out, const std::vector<int>& dims);
Array reshape(const Array& x, const Shape& shape);  // shape fully specified (no -1)
Array reshape_backward(const Array& grad_out, const Shape& input_shape);
Array slice(const Array& x, int dim, int64_t start, int64_t end);  // [start, end), step 1
Array slice_backward(const Array& grad_out, const Shape& input_shape, int dim, int64_t start);
Array concat(const std::vector<Array>& xs, int dim);
std::vector<Array> concat_backward(const std::vector<Shape>& input_shapes, int dim,
                                   const Array& grad_out);
Array stack(const std::vector<Array>& xs, int dim);  // new dim at `dim`
std::vector<Array> stack_backward(int count, int dim, const Array& grad_out);
// Consecutive pieces of the given sizes along `dim` (sizes sum to x.shape[dim]).
std::vector<Array> split(const Array& x, const std::vector<int64_t>& sizes, int dim);
// grad_outs[i] has the shape of piece i.
Array split_backward(const std::vector<Array>& grad_outs, int dim);
// Broadcast x to `shape` (expand).
Array expand(const Array& x, const Shape& shape);
Array expand_backward(const Array& grad_out, const Shape& input_shape);

// ---- reductions (dims sorted, unique, non-negative; empty dims = reduce over all) ----
Array sum(const Array& x, const std::vector<int>& dims, bool keepdim);
Array sum_backward(const Array& x, const std::vector<int>& dims, bool keepdim,
                   const Array& grad_out);
Array mean(const Array& x, const std::vector<int>& dims, bool keepdim);
Array mean_backward(const Array& x, const std::vector<int>& dims, bool keepdim,
                    const Array& grad_out);
// Max over one dim; the gradient goes to the first index that attains the max.
Array max(const Array& x, int dim, bool keepdim);
Array max_backward(const Array& x, int dim, bool keepdim, const Array& grad_out);
// Variance over dims with Bessel-style `correction` (divide by count - correction).
Array var(const Array& x, const std::vector<int>& dims, int64_t correction, bool keepdim);
Array var_backward(const Array& x, const std::vector<int>& dims, int64_t correction, bool keepdim,
                   const Array& grad_out);

// ---- normalisation, softmax, losses ----
Array softmax(const Array& x, int dim);
Array softmax_backward(const Array& x, int dim, const Array& grad_out);
Array log_softmax(const Array& x, int dim);
Array log_softmax_backward(const Array& x, int dim, const Array& grad_out);
// Normalises over the trailing gamma.shape.size() dims; gamma and beta have that shape.
// y = (x - mean) / sqrt(var_biased + eps) * gamma + beta.
Array layer_norm(const Array& x, const Array& gamma, const Array& beta, double eps);
// Returns {dx, dgamma, dbeta}.
std::vector<Array> layer_norm_backward(const Array& x, const Array& gamma, const Array& beta,
                                       double eps, const Array& grad_out);
// RMSNorm over the trailing gamma.shape.size() dims (gamma has that shape):
// y = x / sqrt(mean(x^2) + eps) * gamma, no centring and no bias.
Array rms_norm(const Array& x, const Array& gamma, double eps);
// Returns {dx, dgamma}.
std::vector<Array> rms_norm_backward(const Array& x, const Array& gamma, double eps,
                                     const Array& grad_out);
// mean((a - b)^2) over all elements, shapes equal; returns a 0-d array (shape {}).
Array mse_loss(const Array& a, const Array& b);
std::vector<Array> mse_loss_backward(const Array& a, const Array& b, const Array& grad_out);
// logits (N, C), targets N class indices in [0, C); mean over N of -log_softmax[n, t_n]. 0-d.
Array cross_entropy(const Array& logits, const std::vector<int64_t>& targets);
Array cross_entropy_backward(const Array& logits, const std::vector<int64_t>& targets,
                             const Array& grad_out);

// ---- dropout with a given keep mask (1 = keep, 0 = drop, shape of x): x * mask / (1 - p) ----
Array dropout(const Array& x, const Array& mask, double p);
Array dropout_backward(const Array& mask, double p, const Array& grad_out);

// ---- embedding: weight (V, E), indices of any shape S -> S + (E) ----
Array embedding(const Array& weight, const std::vector<int64_t>& indices,
                const Shape& indices_shape);
Array embedding_backward(const Shape& weight_shape, const std::vector<int64_t>& indices,
                         const Array& grad_out);

// ---- masked_fill / where; masks are 0/1 doubles that broadcast against x ----
Array masked_fill(const Array& x, const Array& mask, double value);  // mask 1 -> value
Array masked_fill_backward(const Array& x, const Array& mask, const Array& grad_out);
Array where(const Array& condition, const Array& a, const Array& b);  // cond 1 -> a else b
std::vector<Array> where_backward(const Array& condition, const Array& a, const Array& b,
                                  const Array& grad_out);  // {da, db}

// ---- scaled dot-product attention ----
// q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv) -> (B, H, Nq, Dv).
// scores = q k^T * scale; causal masks key j > query i; key_padding_mask (B, Nk) of 0/1,
// 1 = padded key (masked), empty array = none. A query row whose keys are all masked
// outputs zeros and passes no gradient.
Array sdpa(const Array& q, const Array& k, const Array& v, bool causal,
           const Array& key_padding_mask, double scale);
std::vector<Array> sdpa_backward(const Array& q, const Array& k, const Array& v, bool causal,
                                 const Array& key_padding_mask, double scale,
                                 const Array& grad_out);  // {dq, dk, dv}

}  // namespace ref
