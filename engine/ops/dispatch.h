// How an op reaches a kernel: one table of kernels per device type, looked up in one place.
// The CPU kernels (engine/cpu) and the CUDA kernels (cuda/) have identical signatures — the
// table's slots are typed from the CPU ones, and the CUDA table (dispatch_cuda.cc, linked in
// --config=cuda builds only) assigns its own functions to them, so a signature that drifts does
// not compile. A slot's types say its dtype (run_gemm: float32, run_gemm_bf16: bfloat16); the
// op list (op_list.h) says which dtypes each op takes. An op calls check_inputs (internal.h),
// which validates its inputs and returns the table for their device, or throws NotImplemented
// naming the op, the device and the dtype.
#pragma once

#include "engine/core/dtype.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/nn_kernels.h"
#include "engine/ops/op_list.h"

// Every kernel an op calls through the table; a backend's table fills every slot
// (register_kernels checks it), so an op calls k.name(...) directly.
#define PA_FOR_EACH_KERNEL(X) \
  X(elementwise_max_dims)     \
  X(unary_forward)            \
  X(unary_backward)           \
  X(binary_forward)           \
  X(where_forward)            \
  X(bias_gelu_forward)        \
  X(bias_gelu_backward)       \
  X(sum_rows)                 \
  X(sum_columns)              \
  X(max_along)                \
  X(max_along_backward)       \
  X(softmax_forward)          \
  X(softmax_backward)         \
  X(layer_norm_forward)       \
  X(layer_norm_backward)      \
  X(rms_norm_forward)         \
  X(rms_norm_backward)        \
  X(mse_loss_workspace)       \
  X(mse_loss_forward)         \
  X(mse_loss_backward)        \
  X(cross_entropy_forward)    \
  X(cross_entropy_backward)   \
  X(embedding_forward)        \
  X(embedding_backward)       \
  X(float_to_bf16)            \
  X(bf16_to_float)            \
  X(gemm_reads_views)         \
  X(gemm_fits)                \
  X(run_gemm)                 \
  X(run_gemm_bf16)            \
  X(attention_fits)           \
  X(attention_workspace)      \
  X(attention_forward)        \
  X(attention_backward)

namespace pa {

struct Kernels {
  const char* backend = "";  // "cpu"
#define PA_KERNEL_SLOT(name) decltype(&::pa::cpu::name) name = nullptr;
  PA_FOR_EACH_KERNEL(PA_KERNEL_SLOT)
#undef PA_KERNEL_SLOT
};

// Makes `kernels` (which must outlive the program, every slot filled: std::logic_error
// otherwise) the table of `type`; called once per backend from a static initialiser. Returns
// true.
bool register_kernels(DeviceType type, const Kernels* kernels);

// The table of `type`, or null.
const Kernels* find_kernels(DeviceType type);

// The table for `op` on `device` in `dtype`; throws NotImplemented (naming the op, device and
// dtype) when the op list does not put the op on that backend or does not let it take the
// dtype, or no backend is registered.
const Kernels& kernels_for(OpId op, Device device, DType dtype);

}  // namespace pa
