// The Hopper path of the bf16 FlashAttention-2 forward (flash_attention_bf16.h), internal to
// cuda/attention: the same contract as flash_attention_forward_bf16, on warpgroup MMA (wgmma).
#pragma once

#include <cuda_bf16.h>

#include "cuda/attention/flash_attention.h"

namespace pa::cuda::bf16_attention {

struct Params;

// Whether the current device runs the wgmma kernels (compute capability 9.0: H100, H200; their
// sm_90a code does not run on later GPUs, which take the mma.sync path). Read once per device.
bool wgmma_device();

// The wgmma forward for head dims 64 and 128 (D == Dv), arguments checked by the caller.
void forward_sm90(const AttentionShape& shape, const Params& p);

}  // namespace pa::cuda::bf16_attention
