// Row-wise and model-level ops: softmax, log_softmax, layer_norm (one fused op saving mean and
// rstd), mse_loss, cross_entropy, dropout, embedding and scaled_dot_product_attention (one op,
// so that fused kernels can replace its CPU implementation without touching callers).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "engine/core/checked.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/nn_kernels.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

#ifdef PA_WITH_CUDA
#include "cuda/attention/flash_attention.h"
#include "cuda/kernels/rowwise.h"
#endif

namespace pa {

using autograd::record;
using ops_internal::check_inputs;
using ops_internal::no_cuda_kernel;

namespace {

void split_around(const Shape& shape, int64_t dim, int64_t& outer, int64_t& D, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  D = shape[dim];
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
}

#ifdef PA_WITH_CUDA
// Softmax on the GPU: the dim moved last (a contiguous copy when it is not), the row kernel,
// and the result permuted back.
Tensor softmax_cuda(const char* name, const Tensor& x_in, int64_t d, bool log) {
  const Tensor x0 = x_in.dim() == 0 ? reshape(x_in.detach(), {1}) : x_in.detach();
  std::vector<int64_t> order(x0.dim()), inverse(x0.dim());
  std::iota(order.begin(), order.end(), 0);
  order.erase(order.begin() + d);
  order.push_back(d);  // the softmax dim last
  for (int64_t i = 0; i < x0.dim(); ++i) inverse[order[i]] = i;
  const int64_t D = x0.size(d), rows = D > 0 ? x0.numel() / D : 0;
  Tensor y_rows, y;
  {
    autograd::NoGradGuard no_grad;
    const Tensor x_rows = contiguous(permute(x0, order));  // (rows, D)
    y_rows = empty(x_rows.shape(), TensorOptions().with_device(x0.device()));
    cuda::softmax_forward(x_rows.data<float>(), y_rows.data<float>(), rows, D, log);
    y = reshape(contiguous(permute(y_rows, inverse)), x_in.shape());
  }
  return record(
      y, name, {x_in},
      [y_rows, order, inverse, rows, D, log, shape = x_in.shape()](const Tensor& grad_in) {
        autograd::NoGradGuard no_grad;
        const Tensor grad =
            contiguous(permute(grad_in.dim() == 0 ? reshape(grad_in, {1}) : grad_in, order));
        Tensor dx = empty(grad.shape(), TensorOptions().with_device(grad.device()));
        cuda::softmax_backward(y_rows.data<float>(), grad.data<float>(), dx.data<float>(), rows, D,
                               log);
        return std::vector<Tensor>{reshape(contiguous(permute(dx, inverse)), shape)};
      });
}
#endif

Tensor softmax_op(const char* name, const Tensor& x_in, int64_t dim, bool log) {
  check_inputs(name, {x_in}, {"x"});
  const int64_t d = normalize_dim(name, dim, x_in.dim() == 0 ? 1 : x_in.dim());
  if (!x_in.device().is_cpu()) {
#ifdef PA_WITH_CUDA
    return softmax_cuda(name, x_in, d, log);
#else
    no_cuda_kernel(name, {x_in});
#endif
  }
  int64_t outer, D, inner;
  split_around(x_in.dim() == 0 ? Shape{1} : x_in.shape(), d, outer, D, inner);
  const Tensor x = contiguous(x_in).detach();
  Tensor y = empty(x.shape());
  cpu::softmax_forward(x.data<float>(), y.data<float>(), outer, D, inner, log);
  return record(y, name, {x_in}, [y = y.detach(), outer, D, inner, log](const Tensor& grad_in) {
    const Tensor grad = contiguous(grad_in);
    Tensor dx = empty(y.shape());
    cpu::softmax_backward(y.data<float>(), grad.data<float>(), dx.data<float>(), outer, D, inner,
                          log);
    return std::vector<Tensor>{dx};
  });
}

#ifdef PA_WITH_CUDA
// Attention on the GPU as a composition of engine ops, for head dims the fused kernels do not
// cover (above 128): S = Q K^T * scale (B, H, Nq, Nk) plus a mask bias (-1e30 on hidden
// keys: exp gives exactly 0, and a row with every key hidden stays finite), softmax, P V; rows
// with every key hidden are multiplied by 0, so they output zeros and get zero gradients, as on
// the CPU. Autograd differentiates the composition. O(N^2) memory, unlike the CPU kernel.
Tensor sdpa_composed(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                     const Tensor& padding, float scale) {
  const int64_t B = q.size(0), Nq = q.size(2), Nk = k.size(2);
  Tensor scores = mul(matmul(q, transpose(k, -1, -2)), scale);  // (B, H, Nq, Nk)
  if (!causal && !padding.defined()) return matmul(softmax(scores, -1), v);
  // The mask as an additive bias and each row's visibility, built on the host.
  const std::vector<float> pad = padding.defined() ? padding.to_vector() : std::vector<float>();
  std::vector<float> bias(B * Nq * Nk, 0.0f), visible(B * Nq, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < Nq; ++i) {
      for (int64_t j = 0; j < Nk; ++j) {
        const bool hidden = (causal && j > i) || (!pad.empty() && pad[b * Nk + j] != 0.0f);
        bias[(b * Nq + i) * Nk + j] = hidden ? -1e30f : 0.0f;
        if (!hidden) visible[b * Nq + i] = 1.0f;
      }
    }
  }
  const Tensor bias_tensor = from_vector(bias, {B, 1, Nq, Nk}).to(q.device());
  const Tensor visible_tensor = from_vector(visible, {B, 1, Nq, 1}).to(q.device());
  return mul(matmul(softmax(add(scores, bias_tensor), -1), v), visible_tensor);
}

// A contiguous, detached copy of x whose data starts on a 16-byte boundary, as the attention
// kernels' vector loads need (a contiguous view at an odd offset is copied).
Tensor aligned_rows(const Tensor& x) {
  const Tensor packed = contiguous(x).detach();
  return reinterpret_cast<std::uintptr_t>(packed.data<float>()) % 16 == 0 ? packed
                                                                          : contiguous_copy(packed);
}

// Attention on the GPU through cuda/attention's FlashAttention-2 kernels (head dims up to 128):
// O(N) extra memory, the row log-sum-exp saved for the backward's recomputation.
Tensor sdpa_flash(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, bool causal,
                  const Tensor& padding, float scale) {
  const Tensor q = aligned_rows(q_in);  // (B, H, Nq, D)
  const Tensor k = aligned_rows(k_in);  // (B, H, Nk, D)
  const Tensor v = aligned_rows(v_in);  // (B, H, Nk, Dv)
  const cuda::AttentionShape shape{q.size(0), q.size(1), q.size(2),
                                   k.size(2), q.size(3), v.size(3)};
  const TensorOptions options = TensorOptions().with_device(q.device());
  Tensor out = empty({shape.B, shape.H, shape.Nq, shape.Dv}, options);
  Tensor lse = empty({shape.B, shape.H, shape.Nq}, options);
  const float* mask = padding.defined() ? padding.data<float>() : nullptr;
  cuda::flash_attention_forward(shape, q.data<float>(), k.data<float>(), v.data<float>(), mask,
                                causal, scale, out.data<float>(), lse.data<float>());
  return record(out, "scaled_dot_product_attention", {q_in, k_in, v_in},
                [q, k, v, out = out.detach(), lse, padding, shape, causal, scale,
                 options](const Tensor& grad_in) {
                  const Tensor grad = aligned_rows(grad_in);
                  Tensor dq = empty(q.shape(), options);
                  Tensor dk = empty(k.shape(), options);
                  Tensor dv = empty(v.shape(), options);
                  Tensor delta = empty(lse.shape(), options);
                  cuda::flash_attention_backward(
                      shape, q.data<float>(), k.data<float>(), v.data<float>(),
                      padding.defined() ? padding.data<float>() : nullptr, causal, scale,
                      out.data<float>(), lse.data<float>(), grad.data<float>(), delta.data<float>(),
                      dq.data<float>(), dk.data<float>(), dv.data<float>());
                  return std::vector<Tensor>{dq, dk, dv};
                });
}
#endif

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", x, dim, true); }

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, float eps) {
  check_inputs("layer_norm", {x_in, weight, bias}, {"x", "weight", "bias"});
  const std::vector<std::string> names = {"x", "weight", "bias"};
  PA_CHECK(weight.shape() == bias.shape() && weight.dim() >= 1 && weight.dim() <= x_in.dim(),
           "layer_norm",
           "bad parameter shapes: " << ops_internal::describe({x_in, weight, bias}, names),
           "weight and bias must both have the shape of x's trailing normalised dims");
  const int64_t lead = x_in.dim() - weight.dim();
  for (int64_t i = 0; i < weight.dim(); ++i) {
    PA_CHECK(x_in.shape()[lead + i] == weight.shape()[i], "layer_norm",
             "x's trailing dims do not match weight: " << ops_internal::describe(
                 {x_in, weight, bias}, names),
             "normalized_shape must equal the last dims of x");
  }
  ops_internal::check_backend("layer_norm", {x_in, weight, bias});
  const bool on_gpu = !x_in.device().is_cpu();
  const TensorOptions options = TensorOptions().with_device(x_in.device());
  const int64_t D = weight.numel();
  const int64_t rows = D > 0 ? x_in.numel() / D : 0;
  const Tensor x = contiguous(x_in).detach();        // (rows, D)
  const Tensor gamma = contiguous(weight).detach();  // (D)
  const Tensor beta = contiguous(bias).detach();     // (D)
  Tensor y = empty(x.shape(), options);
  Tensor mean = empty({rows}, options);
  Tensor rstd = empty({rows}, options);
  auto forward = PA_KERNEL(on_gpu, layer_norm_forward);
  forward(x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(),
          mean.data<float>(), rstd.data<float>(), rows, D, eps);
  return record(y, "layer_norm", {x_in, weight, bias},
                [x, gamma, mean, rstd, rows, D, on_gpu, options](const Tensor& grad_in) {
                  const Tensor grad = contiguous(grad_in).detach();
                  Tensor dx = empty(x.shape(), options);
                  Tensor dgamma = empty(gamma.shape(), options);
                  Tensor dbeta = empty(gamma.shape(), options);
                  auto backward = PA_KERNEL(on_gpu, layer_norm_backward);
                  backward(x.data<float>(), gamma.data<float>(), mean.data<float>(),
                           rstd.data<float>(), grad.data<float>(), dx.data<float>(),
                           dgamma.data<float>(), dbeta.data<float>(), rows, D);
                  return std::vector<Tensor>{dx, dgamma, dbeta};
                });
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  check_inputs("mse_loss", {input, target}, {"input", "target"});
  PA_CHECK(input.shape() == target.shape(), "mse_loss",
           "input " << shape_str(input.shape()) << " and target " << shape_str(target.shape())
                    << " differ",
           "give the target the prediction's shape (no broadcasting in losses)");
  ops_internal::check_backend("mse_loss", {input, target});
  const bool on_gpu = !input.device().is_cpu();
  const TensorOptions options = TensorOptions().with_device(input.device());
  const Tensor a = contiguous(input).detach();
  const Tensor b = contiguous(target).detach();
  const int64_t n = a.numel();
  Tensor out;
  if (on_gpu) {
#ifdef PA_WITH_CUDA
    // The mean stays on the device (no synchronisation): partials, then one block's sum.
    const int64_t blocks = cuda::squared_error_workspace(n);
    const Tensor workspace = empty({blocks + 1}, TensorOptions(options).with_dtype(DType::Float64));
    out = empty({}, options);
    cuda::squared_error_sum(a.data<const float>(), b.data<const float>(), n,
                            workspace.data<double>(), workspace.data<double>() + blocks, false,
                            out.data<float>(), n > 0 ? 1.0 / static_cast<double>(n) : NAN);
#endif
  } else {
    const double total = cpu::squared_error_sum(a.data<const float>(), b.data<const float>(), n);
    out = full({}, n > 0 ? static_cast<float>(total / n) : NAN, options);
  }
  return record(out, "mse_loss", {input, target}, [a, b, n, on_gpu, options](const Tensor& grad) {
    if (on_gpu) {  // da = (a - b) * (2 / n) * grad, with grad left on the device (no sync)
      autograd::NoGradGuard no_grad;
      const Tensor da = mul(sub(a, b), mul(grad, 2.0f / static_cast<float>(n)));
      return std::vector<Tensor>{da, neg(da)};
    }
    const float scale = 2.0f * grad.item() / static_cast<float>(n);
    Tensor da = empty(a.shape(), options);
    cpu::scaled_difference(a.data<const float>(), b.data<const float>(), scale, da.data<float>(),
                           n);  // da = scale (a - b)
    return std::vector<Tensor>{da, neg(da)};
  });
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets_in) {
  check_inputs("cross_entropy", {logits_in}, {"logits"});
  ops_internal::check_index("cross_entropy", targets_in, logits_in);
  PA_CHECK(logits_in.dim() == 2 && targets_in.dim() == 1 && targets_in.size(0) == logits_in.size(0),
           "cross_entropy",
           "expects logits (N, C) and targets (N), got logits "
               << shape_str(logits_in.shape()) << " and targets " << shape_str(targets_in.shape()),
           "flatten (B, T, C) logits to (B*T, C) and targets to (B*T)");
  ops_internal::check_backend("cross_entropy", {logits_in});
  const bool on_gpu = !logits_in.device().is_cpu();
  const int64_t N = logits_in.size(0), C = logits_in.size(1);
  PA_CHECK(N > 0, "cross_entropy", "empty batch (N = 0)", "pass at least one example");
  const Tensor targets = contiguous_copy(targets_in);
  // The targets are checked on the host (a copy back from the GPU: one synchronisation).
  const Tensor host_targets = on_gpu ? targets.to(Device::cpu()) : targets;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t t = host_targets.data<int64_t>()[n];
    PA_CHECK(
        t >= 0 && t < C, "cross_entropy",
        "target " << t << " at position " << n << " is outside [0, " << C << ")",
        "class indices must be in [0, C) for logits (N, C) = " << shape_str(logits_in.shape()));
  }
  const TensorOptions options = TensorOptions().with_device(logits_in.device());
  const Tensor logits = contiguous(logits_in).detach();
  Tensor log_probs = empty({N, C}, options);
  Tensor loss;
  if (on_gpu) {
#ifdef PA_WITH_CUDA
    loss = empty({}, options);  // stays on the device
    cuda::cross_entropy_forward(logits.data<float>(), targets.data<int64_t>(),
                                log_probs.data<float>(), loss.data<float>(), N, C);
#endif
  } else {
    loss = full({}, cpu::cross_entropy_forward(logits.data<float>(), targets.data<int64_t>(),
                                               log_probs.data<float>(), N, C));
  }
  return record(loss, "cross_entropy", {logits_in},
                [log_probs, targets, N, C, on_gpu, options](const Tensor& grad_in) {
                  Tensor dlogits = empty({N, C}, options);
                  if (on_gpu) {
#ifdef PA_WITH_CUDA
                    const Tensor grad = contiguous(grad_in);
                    cuda::cross_entropy_backward(log_probs.data<float>(), targets.data<int64_t>(),
                                                 grad.data<float>(), dlogits.data<float>(), N, C);
#endif
                  } else {
                    cpu::cross_entropy_backward(log_probs.data<float>(), targets.data<int64_t>(),
                                                grad_in.item(), dlogits.data<float>(), N, C);
                  }
                  return std::vector<Tensor>{dlogits};
                });
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& generator) {
  check_inputs("dropout", {x}, {"x"});
  PA_CHECK(p >= 0.0f && p <= 1.0f, "dropout", "probability p = " << p << " is outside [0, 1]",
           "p is the chance of zeroing an element");
  if (!training || p == 0.0f) return x;
  // mask holds 0 (dropped) or 1 / (1 - p) (kept); p = 1 drops everything.
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Tensor mask = empty(x.shape());
  float* m = mask.data<float>();
  for (int64_t i = 0; i < mask.numel(); ++i) m[i] = generator.uniform() < p ? 0.0f : keep_scale;
  return mul(x, to_device(mask, x.device()));
}

Tensor embedding(const Tensor& weight, const Tensor& indices_in) {
  check_inputs("embedding", {weight}, {"weight"});
  ops_internal::check_index("embedding", indices_in, weight);
  PA_CHECK(weight.dim() == 2, "embedding",
           "weight must be (V, E), got " << shape_str(weight.shape()),
           "an embedding table has one row per token id");
  ops_internal::check_backend("embedding", {weight});
  const bool on_gpu = !weight.device().is_cpu();
  const int64_t V = weight.size(0), E = weight.size(1);
  const Tensor indices = contiguous_copy(indices_in);
  // The ids are checked on the host (a copy back from the GPU: one synchronisation).
  const Tensor host_indices = on_gpu ? indices.to(Device::cpu()) : indices;
  const int64_t count = indices.numel();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t id = host_indices.data<int64_t>()[i];
    PA_CHECK(id >= 0 && id < V, "embedding",
             "index " << id << " at position " << i << " is outside [0, " << V << ")",
             "token ids must be smaller than the vocabulary size V = " << V);
  }
  const TensorOptions options = TensorOptions().with_device(weight.device());
  const Tensor table = contiguous(weight).detach();
  Shape out_shape = indices.shape();
  out_shape.push_back(E);
  Tensor out = empty(out_shape, options);  // S + (E)
  if (on_gpu) {
#ifdef PA_WITH_CUDA
    cuda::embedding_forward(table.data<float>(), indices.data<int64_t>(), out.data<float>(), count,
                            E);
    if (!autograd::needs_grad({weight})) return out;  // no backward: no row lists
    // The backward's row lists: for each row, the positions reading it, ascending (a counting
    // sort on the host), as one int64 tensor [offsets (V + 1), positions (count)] on the GPU.
    std::vector<int64_t> rows(V + 1 + count, 0);
    const int64_t* ids = host_indices.data<int64_t>();
    for (int64_t i = 0; i < count; ++i) ++rows[ids[i] + 1];
    for (int64_t v = 0; v < V; ++v) rows[v + 1] += rows[v];
    std::vector<int64_t> next(rows.begin(), rows.begin() + V);
    for (int64_t i = 0; i < count; ++i) rows[V + 1 + next[ids[i]]++] = i;
    Tensor host_rows = empty({V + 1 + count}, TensorOptions().with_dtype(DType::Int64));
    std::copy(rows.begin(), rows.end(), host_rows.data<int64_t>());
    const Tensor row_lists = host_rows.to(weight.device());
    return record(out, "embedding", {weight}, [row_lists, V, E, options](const Tensor& grad_in) {
      const Tensor grad = contiguous(grad_in);
      Tensor dweight = empty({V, E}, options);
      const int64_t* lists = row_lists.data<int64_t>();
      cuda::embedding_backward(grad.data<float>(), lists, lists + V + 1, dweight.data<float>(), V,
                               E);
      return std::vector<Tensor>{dweight};
    });
#endif
  }
  cpu::embedding_forward(table.data<float>(), indices.data<int64_t>(), out.data<float>(), count, E);
  return record(out, "embedding", {weight}, [indices, V, E, count](const Tensor& grad_in) {
    const Tensor grad = contiguous(grad_in);
    Tensor dweight = empty({V, E});
    cpu::embedding_backward(grad.data<float>(), indices.data<int64_t>(), dweight.data<float>(),
                            count, V, E);
    return std::vector<Tensor>{dweight};
  });
}

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    bool causal, const Tensor& key_padding_mask, float scale) {
  const std::vector<std::string> names = {"q", "k", "v"};
  check_inputs("scaled_dot_product_attention", {q_in, k_in, v_in}, names);
  const std::string shapes = ops_internal::describe({q_in, k_in, v_in}, names);
  PA_CHECK(q_in.dim() == 4 && k_in.dim() == 4 && v_in.dim() == 4, "scaled_dot_product_attention",
           "q, k, v must be 4-D (B, H, N, D), got " << shapes,
           "split heads first: (B, N, H*D) -> reshape (B, N, H, D) -> transpose(1, 2)");
  const int64_t B = q_in.size(0), H = q_in.size(1), Nq = q_in.size(2), D = q_in.size(3);
  const int64_t Nk = k_in.size(2), Dv = v_in.size(3);
  PA_CHECK(k_in.size(0) == B && v_in.size(0) == B && k_in.size(1) == H && v_in.size(1) == H &&
               k_in.size(3) == D && v_in.size(2) == Nk,
           "scaled_dot_product_attention", "mismatched shapes: " << shapes,
           "q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv)");
  PA_CHECK(!causal || Nq == Nk, "scaled_dot_product_attention",
           "causal masking needs Nq == Nk, got " << shapes,
           "pass equal query and key lengths or causal = false");
  Tensor padding;
  if (key_padding_mask.defined()) {
    check_inputs("scaled_dot_product_attention", {q_in, key_padding_mask},
                 {"q", "key_padding_mask"});
    PA_CHECK(key_padding_mask.shape() == (Shape{B, Nk}), "scaled_dot_product_attention",
             "key_padding_mask " << shape_str(key_padding_mask.shape())
                                 << " must be (B, Nk) = " << shape_str({B, Nk}),
             "1 marks a padded key position of each sequence");
    padding = contiguous_copy(key_padding_mask);
  }
  for (const Shape& result : {Shape{B, H, Nq, Nk}, Shape{B, H, Nq, Dv}}) {  // scores, output
    if (!numel_fits(result)) {
      checked_numel(result, "scaled_dot_product_attention", shapes + " give the result shape");
    }
  }
  const float used_scale = scale > 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(D));
  if (!q_in.device().is_cpu()) {
#ifdef PA_WITH_CUDA
    // The fused kernels cover head dims 1 to 128, B * H up to 65535 (a grid dimension) and need
    // the device's shared memory (flash_attention_fits); anything else runs the composition.
    if (cuda::flash_attention_fits(cuda::AttentionShape{B, H, Nq, Nk, D, Dv})) {
      return sdpa_flash(q_in, k_in, v_in, causal, padding, used_scale);
    }
    return sdpa_composed(q_in, k_in, v_in, causal, padding, used_scale);
#else
    no_cuda_kernel("scaled_dot_product_attention", {q_in, k_in, v_in});
#endif
  }
  const Tensor q = contiguous(q_in).detach();  // (B, H, Nq, D)
  const Tensor k = contiguous(k_in).detach();  // (B, H, Nk, D)
  const Tensor v = contiguous(v_in).detach();  // (B, H, Nk, Dv)
  const cpu::AttentionShape shape{B, H, Nq, Nk, D, Dv};
  const cpu::AttentionMask mask{padding.defined() ? padding.data<float>() : nullptr, causal};
  Tensor out = empty({B, H, Nq, Dv});
  Tensor lse = empty({B, H, Nq});  // the row logsumexp: all the backward keeps besides q, k, v
  cpu::attention_forward(shape, q.data<float>(), k.data<float>(), v.data<float>(), mask, used_scale,
                         out.data<float>(), lse.data<float>());
  return record(
      out, "scaled_dot_product_attention", {q_in, k_in, v_in},
      [q, k, v, out = out.detach(), lse, padding, shape, causal,
       used_scale](const Tensor& grad_in) {
        const Tensor grad = contiguous(grad_in);
        Tensor dq = empty(q.shape());
        Tensor dk = empty(k.shape());
        Tensor dv = empty(v.shape());
        const cpu::AttentionMask mask{padding.defined() ? padding.data<float>() : nullptr, causal};
        cpu::attention_backward(shape, q.data<float>(), k.data<float>(), v.data<float>(),
                                out.data<float>(), lse.data<float>(), grad.data<float>(), mask,
                                used_scale, dq.data<float>(), dk.data<float>(), dv.data<float>());
        return std::vector<Tensor>{dq, dk, dv};
      });
}

}  // namespace pa
