// Tensor: a shape, strides and an offset into a shared Storage, plus its autograd slots.
//
// A Tensor is a cheap handle (shared_ptr to TensorImpl); copies alias. Views (reshape of
// contiguous data, transpose, permute, slice, expand) share storage and differ only in
// shape/strides/offset. Ops that build the autograd graph live in engine/ops; the members
// below that compute (contiguous, to, backward, the arithmetic sugar) are defined there and
// in engine/autograd, so link //engine:pa rather than this target alone.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/core/allocator.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/core/storage.h"

namespace pa {

using Shape = std::vector<int64_t>;

namespace autograd {
class Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;         // leaves only
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
};

struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  bool requires_grad = false;

  TensorOptions& with_dtype(DType value) {
    dtype = value;
    return *this;
  }
  TensorOptions& with_device(Device value) {
    device = value;
    return *this;
  }
  TensorOptions& with_requires_grad(bool value) {
    requires_grad = value;
    return *this;
  }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- metadata ----
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  int64_t offset() const { return checked().offset; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const;
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return checked().storage; }

  // Pointer to the first element (storage + offset). Checks the element type.
  template <typename T>
  T* data() const;

  // ---- values (copy to host) ----
  float item() const;                          // numel must be 1
  std::vector<float> to_vector() const;        // float32, row-major order
  std::vector<int64_t> to_int_vector() const;  // int64, row-major order
  std::string str() const;

  // ---- autograd ----
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& set_requires_grad(bool value);  // leaves only
  Tensor grad() const;                    // undefined until a backward reaches this leaf
  void zero_grad();                       // drops the accumulated gradient
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked().grad_fn; }
  Tensor detach() const;  // same storage, no graph
  // Defined in engine/autograd. `gradient` may be omitted only for a one-element tensor.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  // ---- ops sugar, defined in engine/ops ----
  Tensor contiguous() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;  // pa::to_dtype
  Tensor reshape(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor sum() const;
  Tensor mean() const;

 private:
  const TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// ---- shape helpers ----
// The element count; a pa::Error for a negative size or a count beyond int64 (checked.h).
int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// Wraps a possibly negative dim into [0, ndim); throws for out-of-range dims.
int64_t normalize_dim(const std::string& op, int64_t dim, int64_t ndim);

// ---- raw constructors (no autograd) ----
// Uninitialised storage for a contiguous tensor.
Tensor empty(const Shape& shape, const TensorOptions& options = {});
// A view of `base`'s storage with new metadata; the caller guarantees it stays in bounds.
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
// Host copy of a strided layout: element i of `shape` goes from src + offset(src_strides) to
// dst + offset(dst_strides) (strides in elements, pointers at element 0). Contiguous runs are
// copied with memcpy after merging the dims both layouts step over as one.
void copy_strided(const Shape& shape, const char* src, const Shape& src_strides, char* dst,
                  const Shape& dst_strides, size_t element);
// Copies src into dst, a view of the same shape, dtype and device (either may be strided), on
// the host or with a device kernel; no autograd. pa::Error when they do not match.
void copy_into_view(const Tensor& dst, const Tensor& src);
// A contiguous copy on the same device (always copies); no autograd.
Tensor contiguous_copy(const Tensor& tensor);
// A contiguous copy on `device` (always copies); no autograd.
Tensor copy_to_device(const Tensor& tensor, Device device);

// ---- factories ----
Tensor zeros(const Shape& shape, const TensorOptions& options = {});
Tensor ones(const Shape& shape, const TensorOptions& options = {});
Tensor full(const Shape& shape, float value, const TensorOptions& options = {});
Tensor arange(float start, float end, float step = 1.0f, const TensorOptions& options = {});
Tensor rand(const Shape& shape, Generator& generator = default_generator(),
            const TensorOptions& options = {});  // uniform [0, 1)
Tensor randn(const Shape& shape, Generator& generator = default_generator(),
             const TensorOptions& options = {});  // standard normal
Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                   const TensorOptions& options = {});
Tensor from_indices(const std::vector<int64_t>& values, const Shape& shape,
                    Device device = Device::cpu());  // int64

}  // namespace pa
