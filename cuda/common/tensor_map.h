// Host side of the tensor memory accelerator (tma.cuh): a tensor map describing a row-major bf16
// (or fp32, read as tf32 by wgmma) matrix to the copy engine, read in boxes of (box_rows, box_cols)
// elements with the 128-byte swizzle that wgmma reads (wgmma.cuh). The driver's encoder is looked
// up through the runtime (no link against libcuda).
#pragma once

#include <cuda.h>

#include <cstdint>

namespace pa::cuda {

// True when a matrix at `base` with leading dimension `ld` (elements of `element_bytes`) can be
// described: the copy engine needs a 16-byte aligned start and row pitch.
bool tensor_map_compatible(const void* base, int64_t ld, int element_bytes = 2);

// A (rows, cols) matrix at `base`, `ld` elements from one row to the next, in boxes of box_rows x
// box_cols (box_cols * element size <= 128 bytes: one swizzled row). Elements past the matrix
// read as zeros. Throws std::invalid_argument naming the sizes when the layout cannot be
// described, and std::runtime_error when the driver refuses it.
// With count > 1: a batch of `count` such matrices, `batch_stride` elements apart (a multiple of
// 16 bytes), a three-dimensional map read by tma::load_3d; one matrix is a two-dimensional map
// (tma::load_2d).
CUtensorMap make_tensor_map_bf16(const void* base, int64_t rows, int64_t cols, int64_t ld,
                                 int box_rows, int box_cols, int64_t count = 1,
                                 int64_t batch_stride = 0);
CUtensorMap make_tensor_map_fp32(const void* base, int64_t rows, int64_t cols, int64_t ld,
                                 int box_rows, int box_cols, int64_t count = 1,
                                 int64_t batch_stride = 0);

}  // namespace pa::cuda
