// The one list of ops: every op that records an autograd node, with the backends that must run
// it. From it come the OpId every op records and dispatches by (record() takes an OpId, so an
// op missing here does not compile), the names in errors and in the graph, and the coverage
// check of the op sweep (engine/tests/ops_sweep_test.cc): every op has a case, and on each
// backend it must run on, at least one of its cases ran and none was skipped.
// To add an op: follow the README's "How to add an op".
#pragma once

#include <cstdint>

// X(name, backends): `backends` is the set of backends that must implement the op (kCpuAndCuda:
// both; the sweep fails on a backend that skips it).
#define PA_FOR_EACH_OP(X)       \
  X(add, kCpuAndCuda)           \
  X(sub, kCpuAndCuda)           \
  X(mul, kCpuAndCuda)           \
  X(div, kCpuAndCuda)           \
  X(neg, kCpuAndCuda)           \
  X(pow, kCpuAndCuda)           \
  X(exp, kCpuAndCuda)           \
  X(log, kCpuAndCuda)           \
  X(sqrt, kCpuAndCuda)          \
  X(tanh, kCpuAndCuda)          \
  X(sigmoid, kCpuAndCuda)       \
  X(relu, kCpuAndCuda)          \
  X(gelu_tanh, kCpuAndCuda)     \
  X(gelu_erf, kCpuAndCuda)      \
  X(bias_gelu, kCpuAndCuda)     \
  X(matmul, kCpuAndCuda)        \
  X(linear, kCpuAndCuda)        \
  X(transpose, kCpuAndCuda)     \
  X(permute, kCpuAndCuda)       \
  X(reshape, kCpuAndCuda)       \
  X(slice, kCpuAndCuda)         \
  X(expand, kCpuAndCuda)        \
  X(contiguous, kCpuAndCuda)    \
  X(to, kCpuAndCuda)            \
  X(to_dtype, kCpuAndCuda)      \
  X(concat, kCpuAndCuda)        \
  X(split, kCpuAndCuda)         \
  X(stack, kCpuAndCuda)         \
  X(sum, kCpuAndCuda)           \
  X(mean, kCpuAndCuda)          \
  X(max, kCpuAndCuda)           \
  X(var, kCpuAndCuda)           \
  X(softmax, kCpuAndCuda)       \
  X(log_softmax, kCpuAndCuda)   \
  X(layer_norm, kCpuAndCuda)    \
  X(rms_norm, kCpuAndCuda)      \
  X(mse_loss, kCpuAndCuda)      \
  X(cross_entropy, kCpuAndCuda) \
  X(dropout, kCpuAndCuda)       \
  X(embedding, kCpuAndCuda)     \
  X(masked_fill, kCpuAndCuda)   \
  X(where, kCpuAndCuda)         \
  X(scaled_dot_product_attention, kCpuAndCuda)

// The ops that also take bfloat16 tensors, on every backend the list above names for them (all
// others take float32 only; kernels_for refuses bfloat16 for them with NotImplemented). The
// sweep runs each of them in bfloat16 too. Mixed precision (issue 21) widens this list.
#define PA_FOR_EACH_BF16_OP(X) \
  X(matmul)                    \
  X(linear)                    \
  X(to_dtype)

namespace pa {

// The backends an op must run on (a bit set).
enum OpBackends : unsigned { kCpuOnly = 1u, kCudaOnly = 2u, kCpuAndCuda = 3u };

enum class OpId : int {
#define PA_OP_ID(name, backends) name,
  PA_FOR_EACH_OP(PA_OP_ID)
#undef PA_OP_ID
};

#define PA_OP_COUNT(name, backends) +1
inline constexpr int kOpCount = 0 PA_FOR_EACH_OP(PA_OP_COUNT);
#undef PA_OP_COUNT

// "softmax" for OpId::softmax.
constexpr const char* op_name(OpId op) {
  switch (op) {
#define PA_OP_NAME(name, backends) \
  case OpId::name:                 \
    return #name;
    PA_FOR_EACH_OP(PA_OP_NAME)
#undef PA_OP_NAME
  }
  return "?";
}

// The backends `op` must run on.
constexpr unsigned op_backends(OpId op) {
  switch (op) {
#define PA_OP_BACKENDS(name, backends) \
  case OpId::name:                     \
    return backends;
    PA_FOR_EACH_OP(PA_OP_BACKENDS)
#undef PA_OP_BACKENDS
  }
  return 0;
}

// Whether `op` takes bfloat16 tensors (PA_FOR_EACH_BF16_OP).
constexpr bool op_takes_bf16(OpId op) {
#define PA_OP_BF16(name) \
  if (op == OpId::name) return true;
  PA_FOR_EACH_BF16_OP(PA_OP_BF16)
#undef PA_OP_BF16
  return false;
}

}  // namespace pa
