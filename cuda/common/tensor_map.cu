#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/tensor_map.h"

namespace pa::cuda {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 function = [] {
    void* pointer = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    PA_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &pointer, 12000,
                                                   cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || pointer == nullptr) {
      throw std::runtime_error(
          "make_tensor_map_bf16: the driver has no cuTensorMapEncodeTiled (CUDA 12 or later "
          "needed)");
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(pointer);
  }();
  return function;
}

// make_tensor_map_bf16 and _fp32: `name`, the element type and its size.
CUtensorMap make_tensor_map(const char* name, CUtensorMapDataType type, int element_bytes,
                            const void* base, int64_t rows, int64_t cols, int64_t ld, int box_rows,
                            int box_cols, int64_t count, int64_t batch_stride) {
  const std::string shape = "(" + std::to_string(rows) + ", " + std::to_string(cols) + "), ld " +
                            std::to_string(ld) + ", box (" + std::to_string(box_rows) + ", " +
                            std::to_string(box_cols) + "), " + std::to_string(count) +
                            " matrices " + std::to_string(batch_stride) + " apart";
  if (count == 1) batch_stride = rows * ld;  // unused: any valid stride
  if (!tensor_map_compatible(base, ld, element_bytes) || rows < 1 || cols < 1 || cols > ld ||
      rows >= (int64_t(1) << 32) || box_rows < 1 || box_rows > 256 || box_cols < 1 ||
      box_cols * element_bytes > 128 || count < 1 || count >= (int64_t(1) << 31) ||
      (batch_stride * element_bytes) % 16 != 0 || batch_stride < 1 ||
      batch_stride * element_bytes >= (int64_t(1) << 40)) {
    throw std::invalid_argument(std::string(name) + ": a matrix " + shape +
                                " the copy engine cannot read (it needs a 16-byte aligned start "
                                "and row pitch, and boxes of at most 256 rows and 128 bytes)");
  }
  CUtensorMap map;
  const cuuint64_t dims[3] = {cuuint64_t(cols), cuuint64_t(rows), cuuint64_t(count)};
  // Bytes between rows and between matrices.
  const cuuint64_t strides[2] = {cuuint64_t(ld) * element_bytes,
                                 cuuint64_t(batch_stride) * element_bytes};
  const cuuint32_t box[3] = {cuuint32_t(box_cols), cuuint32_t(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const cuuint32_t rank = count > 1 ? 3 : 2;  // one matrix: two dimensions (tma::load_2d)
  const CUresult result =
      encoder()(&map, type, rank, const_cast<void*>(base), dims, strides, box, element_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS) {
    throw std::runtime_error(std::string(name) + ": the driver refused the tensor map for " +
                             shape + " (CUresult " + std::to_string(int(result)) + ")");
  }
  return map;
}

}  // namespace

bool tensor_map_compatible(const void* base, int64_t ld, int element_bytes) {
  return reinterpret_cast<std::uintptr_t>(base) % 16 == 0 && ld > 0 &&
         (ld * element_bytes) % 16 == 0 && ld * element_bytes < (int64_t(1) << 40);
}

CUtensorMap make_tensor_map_bf16(const void* base, int64_t rows, int64_t cols, int64_t ld,
                                 int box_rows, int box_cols, int64_t count, int64_t batch_stride) {
  return make_tensor_map("make_tensor_map_bf16", CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, base, rows,
                         cols, ld, box_rows, box_cols, count, batch_stride);
}

CUtensorMap make_tensor_map_fp32(const void* base, int64_t rows, int64_t cols, int64_t ld,
                                 int box_rows, int box_cols, int64_t count, int64_t batch_stride) {
  return make_tensor_map("make_tensor_map_fp32", CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, base, rows,
                         cols, ld, box_rows, box_cols, count, batch_stride);
}

}  // namespace pa::cuda
