// Every differentiable op of the engine, forward and backward, with PyTorch semantics
// (broadcasting, negative dims, keepdim). Inputs may live on the CPU or the GPU (same device
// for all inputs); a GPU input runs the CUDA kernel where one exists and otherwise fails with
// a pa::Error that says so. All ops compute in float32; indices are int64 tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/autograd/node.h"
#include "engine/core/tensor.h"

namespace pa {

// ---- elementwise (broadcasting binary ops) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float b);
Tensor mul(const Tensor& a, float b);
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
enum class GeluApproximation { Tanh, Erf };
Tensor gelu(const Tensor& x, GeluApproximation approximation = GeluApproximation::Tanh);
// gelu(x + bias) (tanh form) in one fused pass; x (..., C), bias (C).
Tensor bias_gelu(const Tensor& x, const Tensor& bias);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator*(float a, const Tensor& b);

// Whether float32 matmul and linear on CUDA may run on the tensor cores in TF32 (operands
// rounded to 10 significand bits, fp32 accumulation; about 8x the fp32 throughput on an H100).
// Off by default, as in PyTorch (torch.backends.cuda.matmul.allow_tf32); the CPU ignores it.
void set_allow_tf32(bool allow);
bool allow_tf32();

// ---- matmul: (M, K) @ (K, N), or batched (..., M, K) @ (..., K, N) with broadcast batches ----
Tensor matmul(const Tensor& a, const Tensor& b);
// x (..., in) @ weight^T + bias: weight (out, in), bias (out) or undefined (no bias). nn::Linear's
// op: on CUDA one GEMM with the bias added in its epilogue.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- shape and view ops ----
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);      // view
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);  // view
// A view when x is contiguous, else a copy. One entry may be -1 (inferred).
Tensor reshape(const Tensor& x, const Shape& shape);
// x[..., start:end, ...] along dim (view); negative start/end count from the end, and both are
// clamped to [0, size] as Python slicing does.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast view; -1 keeps a size
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t chunk, int64_t dim);  // equal chunks
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
Tensor contiguous(const Tensor& x);                // x itself when already contiguous
Tensor to_device(const Tensor& x, Device device);  // x itself when already there
// x converted between float32 and bfloat16 (round to nearest even; x itself when already in
// `dtype`); the gradient is converted back.
Tensor to_dtype(const Tensor& x, DType dtype);

// ---- reductions; empty dims = all dims ----
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
// Variance with `correction` (1 = unbiased, as torch.var's default).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
           bool keepdim = false);
// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting); a bfloat16 x is
// summed in float32 and rounded once.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- normalisation, activations over a dim, losses ----
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Normalises over the trailing weight.dim() dims; weight and bias have those dims' shape.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// RMSNorm over the trailing weight.dim() dims: x / sqrt(mean(x^2) + eps) * weight (no centring,
// no bias).
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);
Tensor mse_loss(const Tensor& input, const Tensor& target);  // mean over all elements
// logits (N, C), targets (N) int64 class indices; mean over N.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

// ---- stochastic, lookup, masking ----
// Zeroes each element with probability p (seeded from `generator`), scales the rest by
// 1 / (1 - p). Identity when !training or p == 0.
Tensor dropout(const Tensor& x, float p, bool training = true,
               Generator& generator = default_generator());
// weight (V, E), indices int64 of any shape S -> S + (E).
Tensor embedding(const Tensor& weight, const Tensor& indices);
// mask: float 0/1 broadcasting against x; 1 -> value.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);
// condition: float 0/1; all three broadcast together; 1 -> a else b.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// ---- attention ----
// q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv) -> (B, H, Nq, Dv).
// causal hides key j > query i; key_padding_mask (B, Nk) float 0/1 (1 = padded key, hidden),
// or undefined for none. scale defaults to 1/sqrt(D) when <= 0. A query row with every key
// hidden outputs zeros.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal = false, const Tensor& key_padding_mask = Tensor(),
                                    float scale = 0.0f);

}  // namespace pa
