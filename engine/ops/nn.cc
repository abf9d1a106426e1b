// Row-wise and model-level ops: softmax, log_softmax, layer_norm (one fused op saving mean and
// rstd), rms_norm (saving rstd), mse_loss, cross_entropy, dropout, embedding and
// scaled_dot_product_attention (one op, so that fused kernels can replace its implementation
// without touching callers). Each calls its backend's kernels through the table check_inputs
// returns (dispatch.h): one path for every device and dtype.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/core/checked.h"
#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;
using kernels::AttentionMask;
using kernels::AttentionShape;
using ops_internal::check_inputs;
using ops_internal::split_around;

namespace {

TensorOptions on(const Tensor& x) { return TensorOptions().with_device(x.device()); }

Tensor softmax_op(OpId op, const Tensor& x_in, int64_t dim, bool log) {
  const Kernels& k = check_inputs(op, {x_in}, {"x"});
  const int64_t d = normalize_dim(op_name(op), dim, x_in.dim() == 0 ? 1 : x_in.dim());
  const ops_internal::RowSplit rows = split_around(x_in.dim() == 0 ? Shape{1} : x_in.shape(), d);
  const Tensor x = contiguous(x_in).detach();
  Tensor y = empty(x.shape(), on(x));
  k.softmax_forward(x.data<float>(), y.data<float>(), rows.outer, rows.D, rows.inner, log);
  return record(y, op, {x_in}, [&k, y = y.detach(), rows, log](const Tensor& grad_in) {
    const Tensor grad = contiguous(grad_in);
    Tensor dx = empty(y.shape(), on(y));
    k.softmax_backward(y.data<float>(), grad.data<float>(), dx.data<float>(), rows.outer, rows.D,
                       rows.inner, log);
    return std::vector<Tensor>{dx};
  });
}

// Attention as a composition of engine ops, for shapes the backend's fused kernels do not cover
// (attention_fits false: on the GPU, head dims above 128): S = Q K^T * scale (B, H, Nq, Nk) plus
// a mask bias (-1e30 on hidden keys: exp gives exactly 0, and a row with every key hidden stays
// finite), softmax, P V; rows with every key hidden are multiplied by 0, so they output zeros
// and get zero gradients, as the fused kernels do. Autograd differentiates the composition.
// O(N^2) memory.
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

// A contiguous, detached copy of x whose data starts on a 16-byte boundary, as the GPU
// attention kernels' vector loads need (a contiguous view at an odd offset is copied).
Tensor aligned_rows(const Tensor& x) {
  const Tensor packed = contiguous(x).detach();
  return reinterpret_cast<std::uintptr_t>(packed.data<float>()) % 16 == 0 ? packed
                                                                          : contiguous_copy(packed);
}

// Attention through the backend's fused kernels: O(N) extra memory, the row log-sum-exp saved
// for the backward's recomputation.
Tensor sdpa_fused(const Kernels& kern, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                  const AttentionShape& shape, bool causal, const Tensor& padding, float scale) {
  const Tensor q = aligned_rows(q_in);  // (B, H, Nq, D)
  const Tensor k = aligned_rows(k_in);  // (B, H, Nk, D)
  const Tensor v = aligned_rows(v_in);  // (B, H, Nk, Dv)
  Tensor out = empty({shape.B, shape.H, shape.Nq, shape.Dv}, on(q));
  Tensor lse =
      empty({shape.B, shape.H, shape.Nq}, on(q));  // all the backward keeps besides q, k, v
  const AttentionMask mask{padding.defined() ? padding.data<float>() : nullptr, causal};
  kern.attention_forward(shape, q.data<float>(), k.data<float>(), v.data<float>(), mask, scale,
                         out.data<float>(), lse.data<float>());
  return record(
      out, OpId::scaled_dot_product_attention, {q_in, k_in, v_in},
      [&kern, q, k, v, out = out.detach(), lse, padding, shape, causal,
       scale](const Tensor& grad_in) {
        const Tensor grad = aligned_rows(grad_in);
        Tensor dq = empty(q.shape(), on(q));
        Tensor dk = empty(k.shape(), on(q));
        Tensor dv = empty(v.shape(), on(q));
        const int64_t floats = kern.attention_workspace(shape);
        Tensor workspace = empty({floats}, on(q));
        const AttentionMask mask{padding.defined() ? padding.data<float>() : nullptr, causal};
        kern.attention_backward(shape, q.data<float>(), k.data<float>(), v.data<float>(),
                                out.data<float>(), lse.data<float>(), grad.data<float>(), mask,
                                scale, dq.data<float>(), dk.data<float>(), dv.data<float>(),
                                floats > 0 ? workspace.data<float>() : nullptr);
        return std::vector<Tensor>{dq, dk, dv};
      });
}

// The ids in `indices` (int64, any device) checked against [0, limit) on the host (a copy back
// from the GPU: one synchronisation); returns the host copy.
Tensor checked_ids(OpId op, const Tensor& indices, int64_t limit, const char* what,
                   const std::string& hint) {
  const Tensor host = indices.device().is_cpu() ? indices : indices.to(Device::cpu());
  const int64_t* ids = host.data<int64_t>();
  for (int64_t i = 0; i < host.numel(); ++i) {
    PA_CHECK(ids[i] >= 0 && ids[i] < limit, op_name(op),
             what << " " << ids[i] << " at position " << i << " is outside [0, " << limit << ")",
             hint);
  }
  return host;
}

// x (..., normalised dims) and its parameters (weight, and bias for LayerNorm), each of the
// shape of x's trailing normalised dims.
void check_norm_shapes(OpId op, const std::vector<Tensor>& inputs,
                       const std::vector<std::string>& names) {
  const Tensor& x = inputs[0];
  const Tensor& weight = inputs[1];
  bool parameters_agree = weight.dim() >= 1 && weight.dim() <= x.dim();
  for (size_t i = 2; i < inputs.size(); ++i) {
    parameters_agree = parameters_agree && inputs[i].shape() == weight.shape();
  }
  PA_CHECK(parameters_agree, op_name(op),
           "bad parameter shapes: " << ops_internal::describe(inputs, names),
           (inputs.size() > 2 ? "weight and bias must both have" : "weight must have")
               << " the shape of x's trailing normalised dims");
  const int64_t lead = x.dim() - weight.dim();
  for (int64_t i = 0; i < weight.dim(); ++i) {
    PA_CHECK(x.shape()[lead + i] == weight.shape()[i], op_name(op),
             "x's trailing dims do not match weight: " << ops_internal::describe(inputs, names),
             "normalized_shape must equal the last dims of x");
  }
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op(OpId::softmax, x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_op(OpId::log_softmax, x, dim, true);
}

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, float eps) {
  const std::vector<std::string> names = {"x", "weight", "bias"};
  const Kernels& k = check_inputs(OpId::layer_norm, {x_in, weight, bias}, names);
  check_norm_shapes(OpId::layer_norm, {x_in, weight, bias}, names);
  const int64_t D = weight.numel();
  const int64_t rows = D > 0 ? x_in.numel() / D : 0;
  const Tensor x = contiguous(x_in).detach();        // (rows, D)
  const Tensor gamma = contiguous(weight).detach();  // (D)
  const Tensor beta = contiguous(bias).detach();     // (D)
  Tensor y = empty(x.shape(), on(x));
  Tensor mean = empty({rows}, on(x));
  Tensor rstd = empty({rows}, on(x));
  k.layer_norm_forward(x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(),
                       mean.data<float>(), rstd.data<float>(), rows, D, eps);
  return record(y, OpId::layer_norm, {x_in, weight, bias},
                [&k, x, gamma, mean, rstd, rows, D](const Tensor& grad_in) {
                  const Tensor grad = contiguous(grad_in).detach();
                  Tensor dx = empty(x.shape(), on(x));
                  Tensor dgamma = empty(gamma.shape(), on(x));
                  Tensor dbeta = empty(gamma.shape(), on(x));
                  k.layer_norm_backward(x.data<float>(), gamma.data<float>(), mean.data<float>(),
                                        rstd.data<float>(), grad.data<float>(), dx.data<float>(),
                                        dgamma.data<float>(), dbeta.data<float>(), rows, D);
                  return std::vector<Tensor>{dx, dgamma, dbeta};
                });
}

Tensor rms_norm(const Tensor& x_in, const Tensor& weight, float eps) {
  const std::vector<std::string> names = {"x", "weight"};
  const Kernels& k = check_inputs(OpId::rms_norm, {x_in, weight}, names);
  check_norm_shapes(OpId::rms_norm, {x_in, weight}, names);
  const int64_t D = weight.numel();
  const int64_t rows = D > 0 ? x_in.numel() / D : 0;
  const Tensor x = contiguous(x_in).detach();        // (rows, D)
  const Tensor gamma = contiguous(weight).detach();  // (D)
  Tensor y = empty(x.shape(), on(x));
  Tensor rstd = empty({rows}, on(x));
  k.rms_norm_forward(x.data<float>(), gamma.data<float>(), y.data<float>(), rstd.data<float>(),
                     rows, D, eps);
  return record(
      y, OpId::rms_norm, {x_in, weight}, [&k, x, gamma, rstd, rows, D](const Tensor& grad_in) {
        const Tensor grad = contiguous(grad_in).detach();
        Tensor dx = empty(x.shape(), on(x));
        Tensor dgamma = empty(gamma.shape(), on(x));
        k.rms_norm_backward(x.data<float>(), gamma.data<float>(), rstd.data<float>(),
                            grad.data<float>(), dx.data<float>(), dgamma.data<float>(), rows, D);
        return std::vector<Tensor>{dx, dgamma};
      });
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  const Kernels& k = check_inputs(OpId::mse_loss, {input, target}, {"input", "target"});
  PA_CHECK(input.shape() == target.shape(), "mse_loss",
           "input " << shape_str(input.shape()) << " and target " << shape_str(target.shape())
                    << " differ",
           "give the target the prediction's shape (no broadcasting in losses)");
  const Tensor a = contiguous(input).detach();
  const Tensor b = contiguous(target).detach();
  const int64_t n = a.numel();
  // The loss stays on the tensors' device (no synchronisation on the GPU).
  const int64_t doubles = k.mse_loss_workspace(n);
  Tensor workspace = empty({doubles}, TensorOptions(on(a)).with_dtype(DType::Float64));
  Tensor out = empty({}, on(a));
  k.mse_loss_forward(a.data<float>(), b.data<float>(), n,
                     doubles > 0 ? workspace.data<double>() : nullptr, out.data<float>());
  return record(out, OpId::mse_loss, {input, target}, [&k, a, b, n](const Tensor& grad_in) {
    const Tensor grad = contiguous(grad_in);  // a scalar, read by the kernel where it lives
    Tensor da = empty(a.shape(), on(a));
    k.mse_loss_backward(a.data<float>(), b.data<float>(), grad.data<float>(), da.data<float>(), n);
    autograd::NoGradGuard no_grad;
    return std::vector<Tensor>{da, neg(da)};
  });
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets_in) {
  const Kernels& k = check_inputs(OpId::cross_entropy, {logits_in}, {"logits"});
  ops_internal::check_index(OpId::cross_entropy, targets_in, logits_in);
  PA_CHECK(logits_in.dim() == 2 && targets_in.dim() == 1 && targets_in.size(0) == logits_in.size(0),
           "cross_entropy",
           "expects logits (N, C) and targets (N), got logits "
               << shape_str(logits_in.shape()) << " and targets " << shape_str(targets_in.shape()),
           "flatten (B, T, C) logits to (B*T, C) and targets to (B*T)");
  const int64_t N = logits_in.size(0), C = logits_in.size(1);
  PA_CHECK(N > 0, "cross_entropy", "empty batch (N = 0)", "pass at least one example");
  const Tensor targets = contiguous_copy(targets_in);
  checked_ids(
      OpId::cross_entropy, targets, C, "target",
      "class indices must be in [0, C) for logits (N, C) = " + shape_str(logits_in.shape()));
  const Tensor logits = contiguous(logits_in).detach();
  Tensor log_probs = empty({N, C}, on(logits));
  Tensor loss = empty({}, on(logits));  // stays on the device
  k.cross_entropy_forward(logits.data<float>(), targets.data<int64_t>(), log_probs.data<float>(),
                          loss.data<float>(), N, C);
  return record(loss, OpId::cross_entropy, {logits_in},
                [&k, log_probs, targets, N, C](const Tensor& grad_in) {
                  const Tensor grad = contiguous(grad_in);  // a scalar, read where it lives
                  Tensor dlogits = empty({N, C}, on(log_probs));
                  k.cross_entropy_backward(log_probs.data<float>(), targets.data<int64_t>(),
                                           grad.data<float>(), dlogits.data<float>(), N, C);
                  return std::vector<Tensor>{dlogits};
                });
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& generator) {
  check_inputs(OpId::dropout, {x}, {"x"});
  PA_CHECK(p >= 0.0f && p <= 1.0f, "dropout", "probability p = " << p << " is outside [0, 1]",
           "p is the chance of zeroing an element");
  if (!training || p == 0.0f) return x;
  // mask holds 0 (dropped) or 1 / (1 - p) (kept); p = 1 drops everything. Drawn on the host, so
  // every backend drops the same elements for one seed.
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Tensor mask = empty(x.shape());
  float* m = mask.data<float>();
  for (int64_t i = 0; i < mask.numel(); ++i) m[i] = generator.uniform() < p ? 0.0f : keep_scale;
  return mul(x, to_device(mask, x.device()));
}

Tensor embedding(const Tensor& weight, const Tensor& indices_in) {
  const Kernels& k = check_inputs(OpId::embedding, {weight}, {"weight"});
  ops_internal::check_index(OpId::embedding, indices_in, weight);
  PA_CHECK(weight.dim() == 2, "embedding",
           "weight must be (V, E), got " << shape_str(weight.shape()),
           "an embedding table has one row per token id");
  const int64_t V = weight.size(0), E = weight.size(1);
  const Tensor indices = contiguous_copy(indices_in);
  const Tensor host_indices =
      checked_ids(OpId::embedding, indices, V, "index",
                  "token ids must be smaller than the vocabulary size V = " + std::to_string(V));
  const int64_t count = indices.numel();
  const Tensor table = contiguous(weight).detach();
  Shape out_shape = indices.shape();
  out_shape.push_back(E);
  Tensor out = empty(out_shape, on(table));  // S + (E)
  k.embedding_forward(table.data<float>(), indices.data<int64_t>(), out.data<float>(), count, E);
  if (!autograd::needs_grad({weight})) return out;  // no backward: no row lists
  // The backward's row lists: for each row, the positions reading it, ascending (a counting
  // sort on the host), as one int64 tensor [offsets (V + 1), positions (count)] on the device.
  Tensor host_rows = empty({V + 1 + count}, TensorOptions().with_dtype(DType::Int64));
  int64_t* rows = host_rows.data<int64_t>();
  std::fill(rows, rows + V + 1 + count, int64_t{0});
  const int64_t* ids = host_indices.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) ++rows[ids[i] + 1];
  for (int64_t v = 0; v < V; ++v) rows[v + 1] += rows[v];
  std::vector<int64_t> next(rows, rows + V);
  for (int64_t i = 0; i < count; ++i) rows[V + 1 + next[ids[i]]++] = i;
  const Tensor row_lists = host_rows.to(weight.device());
  return record(out, OpId::embedding, {weight}, [&k, row_lists, V, E](const Tensor& grad_in) {
    const Tensor grad = contiguous(grad_in);
    Tensor dweight = empty({V, E}, on(row_lists));
    const int64_t* lists = row_lists.data<int64_t>();
    k.embedding_backward(grad.data<float>(), lists, lists + V + 1, dweight.data<float>(), V, E);
    return std::vector<Tensor>{dweight};
  });
}

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    bool causal, const Tensor& key_padding_mask, float scale) {
  const std::vector<std::string> names = {"q", "k", "v"};
  const Kernels& kern = check_inputs(OpId::scaled_dot_product_attention, {q_in, k_in, v_in}, names);
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
    check_inputs(OpId::scaled_dot_product_attention, {q_in, key_padding_mask},
                 {"q", "key_padding_mask"});
    PA_CHECK(key_padding_mask.shape() == (Shape{B, Nk}), "scaled_dot_product_attention",
             "key_padding_mask " << shape_str(key_padding_mask.shape())
                                 << " must be (B, Nk) = " << shape_str({B, Nk}),
             "1 marks a padded key position of each sequence");
    padding = aligned_rows(key_padding_mask);
  }
  for (const Shape& result : {Shape{B, H, Nq, Nk}, Shape{B, H, Nq, Dv}}) {  // scores, output
    if (!numel_fits(result)) {
      checked_numel(result, "scaled_dot_product_attention", shapes + " give the result shape");
    }
  }
  const float used_scale = scale > 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(D));
  const AttentionShape shape{B, H, Nq, Nk, D, Dv};
  // The fused kernels where the backend covers the shape (the CPU: every shape; the GPU: head
  // dims 1 to 128, B * H up to 65535, and the device's shared memory), the composition otherwise.
  if (kern.attention_fits(shape)) {
    return sdpa_fused(kern, q_in, k_in, v_in, shape, causal, padding, used_scale);
  }
  return sdpa_composed(q_in, k_in, v_in, causal, padding, used_scale);
}

}  // namespace pa
