// The one list of differentiable ops. The sweep test checks that every entry has a case
// against the Eigen reference (forward and backward); the profiler names ops from it.
// To add an op: add it here, declare it in ops.h, implement it beside its kin in this folder,
// add its reference in reference/eigen and its case in engine/ops/ops_sweep_test.cc.
#pragma once

#define PA_FOR_EACH_OP(X) \
  X(add)                  \
  X(sub)                  \
  X(mul)                  \
  X(div)                  \
  X(neg)                  \
  X(pow)                  \
  X(exp)                  \
  X(log)                  \
  X(sqrt)                 \
  X(tanh)                 \
  X(sigmoid)              \
  X(relu)                 \
  X(gelu_tanh)            \
  X(gelu_erf)             \
  X(bias_gelu)            \
  X(matmul)               \
  X(linear)               \
  X(transpose)            \
  X(permute)              \
  X(reshape)              \
  X(slice)                \
  X(expand)               \
  X(concat)               \
  X(split)                \
  X(stack)                \
  X(sum)                  \
  X(mean)                 \
  X(max)                  \
  X(var)                  \
  X(softmax)              \
  X(log_softmax)          \
  X(layer_norm)           \
  X(mse_loss)             \
  X(cross_entropy)        \
  X(dropout)              \
  X(embedding)            \
  X(masked_fill)          \
  X(where)                \
  X(scaled_dot_product_attention)
