// Tensor metadata, raw copies, factories and printing. No autograd graph is built here.
#include "engine/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "engine/core/checked.h"

#ifdef PA_WITH_CUDA
#include "cuda/common/copy.h"
#endif

namespace pa {

void copy_strided(const Shape& shape, const char* src, const Shape& src_strides, char* dst,
                  const Shape& dst_strides, size_t element) {
  // Coalesce: drop size-1 dims, merge a dim into the next inner one when both layouts step
  // over it as one run; the loops below then see as few, as long dims as possible.
  std::vector<int64_t> sizes, from, to;  // outermost first
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;
    sizes.push_back(shape[d]);
    from.push_back(src_strides[d]);
    to.push_back(dst_strides[d]);
  }
  for (size_t d = sizes.size(); d-- > 1;) {
    if (from[d - 1] == from[d] * sizes[d] && to[d - 1] == to[d] * sizes[d]) {
      sizes[d - 1] *= sizes[d];
      from[d - 1] = from[d];
      to[d - 1] = to[d];
      sizes.erase(sizes.begin() + d);
      from.erase(from.begin() + d);
      to.erase(to.begin() + d);
    }
  }
  if (sizes.empty()) {  // a single element
    std::memcpy(dst, src, element);
    return;
  }
  const size_t ndim = sizes.size();
  const int64_t inner = sizes.back(), inner_from = from.back(), inner_to = to.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < ndim; ++d) rows *= sizes[d];
  std::vector<int64_t> index(ndim, 0);
  int64_t src_offset = 0, dst_offset = 0;  // in elements
  for (int64_t row = 0; row < rows; ++row) {
    const char* in = src + src_offset * static_cast<int64_t>(element);
    char* out = dst + dst_offset * static_cast<int64_t>(element);
    if (inner_from == 1 && inner_to == 1) {
      std::memcpy(out, in, inner * element);
    } else if (element == 4) {
      const auto* in4 = reinterpret_cast<const uint32_t*>(in);
      auto* out4 = reinterpret_cast<uint32_t*>(out);
      for (int64_t i = 0; i < inner; ++i) out4[i * inner_to] = in4[i * inner_from];
    } else {
      for (int64_t i = 0; i < inner; ++i) {
        std::memcpy(out + i * inner_to * static_cast<int64_t>(element),
                    in + i * inner_from * static_cast<int64_t>(element), element);
      }
    }
    for (size_t d = ndim - 1; d-- > 0;) {  // next row: odometer over the outer dims
      if (++index[d] < sizes[d]) {
        src_offset += from[d];
        dst_offset += to[d];
        break;
      }
      src_offset -= from[d] * (sizes[d] - 1);
      dst_offset -= to[d] * (sizes[d] - 1);
      index[d] = 0;
    }
  }
}

namespace {

// Host gather of a strided CPU tensor into contiguous `dst`.
void gather_host(const Tensor& src, void* dst) {
  copy_strided(
      src.shape(),
      static_cast<const char*>(src.storage()->data()) + src.offset() * dtype_size(src.dtype()),
      src.strides(), static_cast<char*>(dst), contiguous_strides(src.shape()),
      dtype_size(src.dtype()));
}

// A host copy of `tensor` (same layout), so host code can read a CUDA tensor.
Tensor host_view(const Tensor& tensor) {
  if (tensor.device().is_cpu()) return tensor;
  auto storage = std::make_shared<Storage>(tensor.storage()->bytes(), Device::cpu());
  copy_bytes(storage->data(), Device::cpu(), tensor.storage()->data(), tensor.device(),
             tensor.storage()->bytes());
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = tensor.shape();
  impl->strides = tensor.strides();
  impl->offset = tensor.offset();
  impl->dtype = tensor.dtype();
  return Tensor(impl);
}

void check_dtype(const Tensor& tensor, DType expected, const char* op) {
  PA_CHECK(tensor.dtype() == expected, op,
           "expected " << dtype_name(expected) << " but the tensor " << shape_str(tensor.shape())
                       << " is " << dtype_name(tensor.dtype()),
           "convert the data or use the matching accessor");
}

}  // namespace

// ---- metadata ----

const TensorImpl& Tensor::checked() const {
  if (!impl_) throw Error("Tensor", "use of an undefined tensor", "assign a tensor first");
  return *impl_;
}

int64_t Tensor::size(int64_t dim) const { return shape()[normalize_dim("size", dim, this->dim())]; }

int64_t Tensor::numel() const { return shape_numel(shape()); }

bool Tensor::is_contiguous() const {
  const Shape& s = shape();
  const Shape& st = strides();
  if (shape_numel(s) == 0) return true;  // no elements: any strides describe the same layout
  int64_t expected = 1;
  for (size_t d = s.size(); d-- > 0;) {
    if (s[d] != 1 && st[d] != expected) return false;
    expected *= s[d];
  }
  return true;
}

template <typename T>
T* Tensor::data() const {
  static_assert(std::is_same_v<std::remove_const_t<T>, float> ||
                    std::is_same_v<std::remove_const_t<T>, double> ||
                    std::is_same_v<std::remove_const_t<T>, int64_t> ||
                    std::is_same_v<std::remove_const_t<T>, uint16_t>,
                "unsupported element type");
  constexpr DType expected = std::is_same_v<std::remove_const_t<T>, float>     ? DType::Float32
                             : std::is_same_v<std::remove_const_t<T>, double>  ? DType::Float64
                             : std::is_same_v<std::remove_const_t<T>, int64_t> ? DType::Int64
                                                                               : DType::BFloat16;
  check_dtype(*this, expected, "data");
  return static_cast<T*>(storage()->data()) + offset();
}
template float* Tensor::data<float>() const;
template const float* Tensor::data<const float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;
template const int64_t* Tensor::data<const int64_t>() const;
template uint16_t* Tensor::data<uint16_t>() const;

// ---- values ----

float Tensor::item() const {
  PA_CHECK(numel() == 1, "item",
           "tensor of shape " << shape_str(shape()) << " has " << numel()
                              << " elements, item() needs exactly one",
           "reduce it first, e.g. with sum() or mean()");
  return to_vector()[0];
}

std::vector<float> Tensor::to_vector() const {
  check_dtype(*this, DType::Float32, "to_vector");
  std::vector<float> values(numel());
  gather_host(host_view(*this), values.data());
  return values;
}

std::vector<int64_t> Tensor::to_int_vector() const {
  check_dtype(*this, DType::Int64, "to_int_vector");
  std::vector<int64_t> values(numel());
  gather_host(host_view(*this), values.data());
  return values;
}

std::string Tensor::str() const {
  std::ostringstream out;
  out << *this;
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  if (!tensor.defined()) return out << "tensor(undefined)";
  constexpr int64_t kEdge = 3;  // elements shown at each end of a long dim
  std::vector<double> values;
  if (tensor.dtype() == DType::Float32) {
    for (float v : tensor.to_vector()) values.push_back(v);
  } else if (tensor.dtype() == DType::Int64) {
    for (int64_t v : tensor.to_int_vector()) values.push_back(static_cast<double>(v));
  }
  const Shape& shape = tensor.shape();
  const Shape strides = contiguous_strides(shape);
  std::ostringstream body;
  body << std::setprecision(4) << std::fixed;
  // Recursive printer over dims, eliding the middle of dims longer than 2 * kEdge.
  auto print = [&](auto&& self, size_t dim, int64_t base) -> void {
    if (dim == shape.size()) {
      if (tensor.dtype() == DType::Int64) {
        body << static_cast<int64_t>(values[base]);
      } else if (values.empty()) {
        body << "?";
      } else {
        body << values[base];
      }
      return;
    }
    body << "[";
    for (int64_t i = 0; i < shape[dim]; ++i) {
      if (shape[dim] > 2 * kEdge && i == kEdge) {
        body << "..., ";
        i = shape[dim] - kEdge - 1;
        continue;
      }
      self(self, dim + 1, base + i * strides[dim]);
      if (i + 1 < shape[dim]) body << (dim + 1 == shape.size() ? ", " : ",\n ");
    }
    body << "]";
  };
  print(print, 0, 0);
  out << "tensor(" << body.str() << ", shape=" << shape_str(shape)
      << ", dtype=" << dtype_name(tensor.dtype()) << ", device=" << tensor.device().str();
  if (tensor.requires_grad()) out << ", requires_grad=true";
  return out << ")";
}

// ---- autograd slots ----

Tensor& Tensor::set_requires_grad(bool value) {
  PA_CHECK(is_leaf(), "set_requires_grad",
           "tensor " << shape_str(shape()) << " is the output of an op, not a leaf",
           "call detach() first to make a new leaf");
  PA_CHECK(
      !value || dtype() == DType::Float32 || dtype() == DType::BFloat16, "set_requires_grad",
      "only float32 and bfloat16 tensors can require grad, this one is " << dtype_name(dtype()),
      "gradients are computed in float32 or bfloat16; convert with pa::to_dtype");
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return checked().grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::zero_grad() {
  checked();
  impl_->grad.reset();
}

Tensor Tensor::detach() const {
  const TensorImpl& self = checked();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = self.storage;
  impl->shape = self.shape;
  impl->strides = self.strides;
  impl->offset = self.offset;
  impl->dtype = self.dtype;
  return Tensor(impl);
}

// ---- shape helpers ----

int64_t shape_numel(const Shape& shape) { return checked_numel(shape, "shape"); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

int64_t normalize_dim(const std::string& op, int64_t dim, int64_t ndim) {
  const int64_t wrapped = dim < 0 ? dim + ndim : dim;
  PA_CHECK(wrapped >= 0 && wrapped < ndim, op,
           "dim " << dim << " is out of range for a tensor with " << ndim << " dims",
           "use a dim in [" << -ndim << ", " << ndim - 1 << "]");
  return wrapped;
}

// ---- raw constructors ----

Tensor empty(const Shape& shape, const TensorOptions& options) {
  const int64_t bytes = checked_bytes(shape, dtype_size(options.dtype), "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(bytes), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  Tensor tensor(impl);
  if (options.requires_grad) tensor.set_requires_grad(true);
  return tensor;
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(impl);
}

Tensor contiguous_copy(const Tensor& tensor) {
  Tensor out = empty(tensor.shape(),
                     TensorOptions().with_dtype(tensor.dtype()).with_device(tensor.device()));
  copy_into_view(out, tensor);
  return out;
}

void copy_into_view(const Tensor& dst, const Tensor& src) {
  PA_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "copy",
           "destination " << shape_str(dst.shape()) << " " << dtype_name(dst.dtype())
                          << " and source " << shape_str(src.shape()) << " "
                          << dtype_name(src.dtype()) << " differ",
           "copy between tensors of one shape and dtype");
  PA_CHECK(dst.device() == src.device(), "copy",
           "destination on " << dst.device().str() << ", source on " << src.device().str(),
           "move one of them with .to(device) first");
  const size_t element = dtype_size(src.dtype());
  const char* from = static_cast<const char*>(src.storage()->data()) + src.offset() * element;
  char* to = static_cast<char*>(dst.storage()->data()) + dst.offset() * element;
  if (src.device().is_cpu()) {
    copy_strided(src.shape(), from, src.strides(), to, dst.strides(), element);
    return;
  }
#ifdef PA_WITH_CUDA
  if (src.dim() <= cuda::kMaxCopyDims) {
    cuda::strided_copy(from, src.strides().data(), to, dst.strides().data(), src.shape().data(),
                       static_cast<int>(src.dim()), static_cast<int>(element));
    return;
  }
#endif
  // More dims than the device kernel takes: through the host.
  const Tensor host = copy_to_device(src, Device::cpu());
  const Tensor staged = copy_to_device(host, dst.device());  // contiguous on the device
  PA_CHECK(dst.is_contiguous(), "copy",
           src.dim() << " dims into a strided CUDA view " << shape_str(dst.shape()),
           "use at most " << 8 << " dims on the GPU");
  copy_bytes(to, dst.device(), staged.storage()->data(), dst.device(), staged.numel() * element);
}

Tensor copy_to_device(const Tensor& tensor, Device device) {
  Tensor host = tensor.device().is_cpu() ? tensor : host_view(tensor);
  Tensor packed = empty(tensor.shape(), TensorOptions().with_dtype(tensor.dtype()));
  gather_host(host, packed.storage()->data());
  if (device.is_cpu()) return packed;
  Tensor out =
      empty(tensor.shape(), TensorOptions().with_dtype(tensor.dtype()).with_device(device));
  copy_bytes(out.storage()->data(), device, packed.storage()->data(), Device::cpu(),
             packed.numel() * dtype_size(packed.dtype()));
  return out;
}

// ---- factories ----

namespace {
Tensor finish_factory(Tensor host, const TensorOptions& options) {
  Tensor out = options.device.is_cpu() ? host : copy_to_device(host, options.device);
  if (options.requires_grad) out.set_requires_grad(true);
  return out;
}

Tensor host_float(const Shape& shape, const TensorOptions& options, const char* op) {
  PA_CHECK(options.dtype == DType::Float32, op,
           "dtype " << dtype_name(options.dtype) << " is not supported here",
           "create a float32 tensor");
  return empty(shape);
}
}  // namespace

Tensor full(const Shape& shape, float value, const TensorOptions& options) {
#ifdef PA_WITH_CUDA
  if (options.device.is_cuda() && options.dtype == DType::Float32) {  // filled on the device
    Tensor out = empty(shape, options);
    cuda::fill(out.data<float>(), out.numel(), value);
    if (options.requires_grad) out.set_requires_grad(true);
    return out;
  }
#endif
  Tensor host = host_float(shape, options, "full");
  float* data = host.data<float>();
  std::fill(data, data + host.numel(), value);
  return finish_factory(host, options);
}

Tensor zeros(const Shape& shape, const TensorOptions& options) {
  return full(shape, 0.0f, options);
}

Tensor ones(const Shape& shape, const TensorOptions& options) { return full(shape, 1.0f, options); }

Tensor arange(float start, float end, float step, const TensorOptions& options) {
  PA_CHECK(step != 0.0f && std::isfinite(step), "arange", "step is " << step,
           "use a finite, non-zero step");
  const double count_real = std::ceil((static_cast<double>(end) - start) / step);
  const int64_t count = count_real > 0 ? static_cast<int64_t>(count_real) : 0;
  Tensor host = host_float({count}, options, "arange");
  float* data = host.data<float>();
  for (int64_t i = 0; i < count; ++i) data[i] = static_cast<float>(start + i * double(step));
  return finish_factory(host, options);
}

Tensor rand(const Shape& shape, Generator& generator, const TensorOptions& options) {
  Tensor host = host_float(shape, options, "rand");
  float* data = host.data<float>();
  for (int64_t i = 0; i < host.numel(); ++i) data[i] = generator.uniform();
  return finish_factory(host, options);
}

Tensor randn(const Shape& shape, Generator& generator, const TensorOptions& options) {
  Tensor host = host_float(shape, options, "randn");
  float* data = host.data<float>();
  for (int64_t i = 0; i < host.numel(); ++i) data[i] = generator.normal();
  return finish_factory(host, options);
}

Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                   const TensorOptions& options) {
  const int64_t numel = checked_numel(shape, "from_vector");
  PA_CHECK(static_cast<int64_t>(values.size()) == numel, "from_vector",
           values.size() << " values do not fill shape " << shape_str(shape) << " (" << numel
                         << " elements)",
           "pass exactly as many values as the shape holds");
  Tensor host = host_float(shape, options, "from_vector");
  // An empty vector's data() may be null, which memcpy must never get, even for 0 bytes.
  if (!values.empty()) {
    std::memcpy(host.data<float>(), values.data(), values.size() * sizeof(float));
  }
  return finish_factory(host, options);
}

Tensor from_indices(const std::vector<int64_t>& values, const Shape& shape, Device device) {
  PA_CHECK(static_cast<int64_t>(values.size()) == checked_numel(shape, "from_indices"),
           "from_indices", values.size() << " values do not fill shape " << shape_str(shape),
           "pass exactly as many values as the shape holds");
  Tensor host = empty(shape, TensorOptions().with_dtype(DType::Int64));
  if (!values.empty()) {
    std::memcpy(host.data<int64_t>(), values.data(), values.size() * sizeof(int64_t));
  }
  return device.is_cpu() ? host : copy_to_device(host, device);
}

}  // namespace pa
