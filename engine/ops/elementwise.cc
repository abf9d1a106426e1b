// Elementwise ops: unary maps, broadcasting binary ops, where / masked_fill.
// Forward runs the CPU or CUDA kernel; backward is written with ops (under no-grad), so it runs
// wherever the forward ran.
#include "engine/cpu/elementwise.h"

#include <cmath>

#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

#ifdef PA_WITH_CUDA
#include "cuda/kernels/elementwise.h"
#endif

namespace pa {

using autograd::record;
using ops_internal::broadcast_shapes;
using ops_internal::broadcast_strides;
using ops_internal::check_inputs;

namespace {

// The unary kinds, listed once; each backend's enum has the same names.
#define PA_UNARY_KINDS(X) \
  X(Neg) X(Pow) X(Exp) X(Log) X(Sqrt) X(Tanh) X(Sigmoid) X(Relu) X(GeluTanh) X(GeluErf)

#ifdef PA_WITH_CUDA
cuda::UnaryKind to_cuda(cpu::UnaryKind kind) {
  switch (kind) {
#define PA_CASE(name)        \
  case cpu::UnaryKind::name: \
    return cuda::UnaryKind::name;
    PA_UNARY_KINDS(PA_CASE)
#undef PA_CASE
  }
  return cuda::UnaryKind::Neg;
}

cuda::BinaryKind to_cuda(cpu::BinaryKind kind) {
  switch (kind) {
    case cpu::BinaryKind::Add:
      return cuda::BinaryKind::Add;
    case cpu::BinaryKind::Sub:
      return cuda::BinaryKind::Sub;
    case cpu::BinaryKind::Mul:
      return cuda::BinaryKind::Mul;
    case cpu::BinaryKind::Div:
      return cuda::BinaryKind::Div;
  }
  return cuda::BinaryKind::Add;
}
#endif

// dx = dy * f'(x), on x's device; x, y, dy contiguous.
Tensor unary_backward_kernel(cpu::UnaryKind kind, const Tensor& x, const Tensor& y,
                             const Tensor& dy_in, float scalar) {
  const Tensor dy = contiguous(dy_in);
  Tensor dx = empty(x.shape(), TensorOptions().with_device(x.device()));
  if (x.device().is_cpu()) {
    cpu::unary_backward(kind, x.data<float>(), y.data<float>(), dy.data<float>(), dx.data<float>(),
                        x.numel(), scalar);
  } else {
#ifdef PA_WITH_CUDA
    cuda::unary_backward(to_cuda(kind), x.data<float>(), y.data<float>(), dy.data<float>(),
                         dx.data<float>(), x.numel(), scalar);
#endif
  }
  return dx;
}

Tensor unary_op(const char* name, cpu::UnaryKind kind, const Tensor& input, float scalar = 0) {
  check_inputs(name, {input}, {"x"});
  const Tensor x = contiguous(input).detach();
  Tensor y = empty(x.shape(), TensorOptions().with_device(x.device()));
  if (x.device().is_cpu()) {
    cpu::unary_forward(kind, x.data<float>(), y.data<float>(), x.numel(), scalar);
  } else {
#ifdef PA_WITH_CUDA
    cuda::unary_forward(to_cuda(kind), x.data<float>(), y.data<float>(), x.numel(), scalar);
#endif
  }
  return record(y, name, {input},
                [kind, scalar, x, y = y.detach()](const Tensor& grad) -> std::vector<Tensor> {
                  return {unary_backward_kernel(kind, x, y, grad, scalar)};
                });
}

// out = a (op) b with broadcasting; no graph.
Tensor binary_kernel(const char* name, cpu::BinaryKind kind, const Tensor& a, const Tensor& b) {
  check_inputs(name, {a, b}, {"a", "b"});
  const Shape shape = broadcast_shapes(name, a.shape(), b.shape());
  const Shape a_strides = broadcast_strides(a, shape);
  const Shape b_strides = broadcast_strides(b, shape);
  Tensor out = empty(shape, TensorOptions().with_device(a.device()));
  const int ndim = static_cast<int>(shape.size());
  if (a.device().is_cpu()) {
    cpu::binary_forward(kind, a.data<float>(), a_strides.data(), b.data<float>(), b_strides.data(),
                        out.data<float>(), shape.data(), ndim);
  } else {
#ifdef PA_WITH_CUDA
    PA_CHECK(ndim <= cuda::kMaxDims, name, "CUDA elementwise ops take at most 8 dims, got " << ndim,
             "reshape to fewer dims");
    cuda::binary_forward(to_cuda(kind), a.data<float>(), a_strides.data(), b.data<float>(),
                         b_strides.data(), out.data<float>(), shape.data(), ndim);
#endif
  }
  return out;
}

Tensor scalar_like(const Tensor& x, float value) {
  return full({}, value, TensorOptions().with_device(x.device()));
}

}  // namespace

// ---- binary ----

// The backward closures compute only the gradients an input needs (ga / gb: a / b required
// grad when the op ran): a scalar operand such as mul(x, 0.5f)'s costs no reduction.
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("add", cpu::BinaryKind::Add, a, b);
  return record(out, "add", {a, b},
                [sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(grad, sa) : Tensor(),
                                             gb ? sum_to(grad, sb) : Tensor()};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("sub", cpu::BinaryKind::Sub, a, b);
  return record(out, "sub", {a, b},
                [sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(grad, sa) : Tensor(),
                                             gb ? sum_to(neg(grad), sb) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("mul", cpu::BinaryKind::Mul, a, b);
  return record(out, "mul", {a, b},
                [a = a.detach(), b = b.detach(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(mul(grad, b), a.shape()) : Tensor(),
                                             gb ? sum_to(mul(grad, a), b.shape()) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("div", cpu::BinaryKind::Div, a, b);
  return record(out, "div", {a, b},
                [a = a.detach(), b = b.detach(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  const Tensor grad_a = div(grad, b);  // dL/da = g / b
                  // dL/db = -g a / b^2 = -(g / b) * (a / b)
                  return std::vector<Tensor>{
                      ga ? sum_to(grad_a, a.shape()) : Tensor(),
                      gb ? sum_to(neg(mul(grad_a, div(a, b))), b.shape()) : Tensor()};
                });
}

// Checked before scalar_like reads a's device, so that an undefined `a` names the op.
Tensor add(const Tensor& a, float b) {
  check_inputs("add", {a}, {"a"});
  return add(a, scalar_like(a, b));
}
Tensor mul(const Tensor& a, float b) {
  check_inputs("mul", {a}, {"a"});
  return mul(a, scalar_like(a, b));
}

// ---- unary ----

Tensor neg(const Tensor& x) { return unary_op("neg", cpu::UnaryKind::Neg, x); }
Tensor pow(const Tensor& x, float exponent) {
  return unary_op("pow", cpu::UnaryKind::Pow, x, exponent);
}
Tensor exp(const Tensor& x) { return unary_op("exp", cpu::UnaryKind::Exp, x); }
Tensor log(const Tensor& x) { return unary_op("log", cpu::UnaryKind::Log, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", cpu::UnaryKind::Sqrt, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", cpu::UnaryKind::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", cpu::UnaryKind::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", cpu::UnaryKind::Relu, x); }
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  return approximation == GeluApproximation::Tanh
             ? unary_op("gelu_tanh", cpu::UnaryKind::GeluTanh, x)
             : unary_op("gelu_erf", cpu::UnaryKind::GeluErf, x);
}

// Fused bias + GELU (tanh form): one pass where Linear + GELU would take two.
Tensor bias_gelu(const Tensor& x_in, const Tensor& bias_in) {
  check_inputs("bias_gelu", {x_in, bias_in}, {"x", "bias"});
  PA_CHECK(bias_in.dim() == 1 && x_in.dim() >= 1 && x_in.size(-1) == bias_in.size(0), "bias_gelu",
           "x " << shape_str(x_in.shape()) << " and bias " << shape_str(bias_in.shape()),
           "bias is (C) for x (..., C): one value per feature of the last dim");
  ops_internal::check_backend("bias_gelu", {x_in, bias_in});
  const bool on_gpu = !x_in.device().is_cpu();
  auto forward = PA_KERNEL(on_gpu, bias_gelu_forward);
  auto backward = PA_KERNEL(on_gpu, bias_gelu_backward);
  const TensorOptions options = TensorOptions().with_device(x_in.device());
  const Tensor x = contiguous(x_in).detach();
  const Tensor bias = contiguous(bias_in).detach();
  const int64_t C = bias.numel(), rows = C > 0 ? x.numel() / C : 0;
  Tensor y = empty(x.shape(), options);
  forward(x.data<const float>(), bias.data<const float>(), y.data<float>(), rows, C);
  return record(y, "bias_gelu", {x_in, bias_in},
                [x, bias, rows, C, options, backward](const Tensor& grad) {
                  const Tensor upstream = contiguous(grad).detach();
                  Tensor dx = empty(x.shape(), options);
                  backward(x.data<const float>(), bias.data<const float>(),
                           upstream.data<const float>(), dx.data<float>(), rows, C);
                  return std::vector<Tensor>{dx, sum_to(dx, bias.shape())};  // (..., C), (C)
                });
}

// ---- operators ----

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, float b) { return add(a, b); }
Tensor operator-(const Tensor& a, float b) { return add(a, -b); }
Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
Tensor operator/(const Tensor& a, float b) { return mul(a, 1.0f / b); }
Tensor operator*(float a, const Tensor& b) { return mul(b, a); }

// ---- where / masked_fill ----

namespace {
// out = condition ? a : b with broadcasting over all three; no graph.
Tensor where_kernel(const char* name, const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_inputs(name, {condition, a, b}, {"condition", "a", "b"});
  ops_internal::check_backend(name, {condition, a, b});
  auto forward = PA_KERNEL(!a.device().is_cpu(), where_forward);
  const Shape shape =
      broadcast_shapes(name, broadcast_shapes(name, condition.shape(), a.shape()), b.shape());
  const Shape c_strides = broadcast_strides(condition, shape);
  const Shape a_strides = broadcast_strides(a, shape);
  const Shape b_strides = broadcast_strides(b, shape);
  Tensor out = empty(shape, TensorOptions().with_device(a.device()));
  forward(condition.data<float>(), c_strides.data(), a.data<float>(), a_strides.data(),
          b.data<float>(), b_strides.data(), out.data<float>(), shape.data(),
          static_cast<int>(shape.size()));
  return out;
}
}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor out = where_kernel("where", condition, a, b);
  return record(out, "where", {a, b},
                [c = condition.detach(), sa = a.shape(), sb = b.shape()](const Tensor& grad) {
                  const Tensor zero = scalar_like(grad, 0.0f);
                  return std::vector<Tensor>{sum_to(where_kernel("where", c, grad, zero), sa),
                                             sum_to(where_kernel("where", c, zero, grad), sb)};
                });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  Tensor out = where_kernel("masked_fill", mask, scalar_like(x, value), x);
  PA_CHECK(out.shape() == x.shape(), "masked_fill",
           "mask " << shape_str(mask.shape()) << " must broadcast to x " << shape_str(x.shape())
                   << " without growing it",
           "give the mask x's shape or fewer/size-1 dims");
  return record(out, "masked_fill", {x}, [m = mask.detach()](const Tensor& grad) {
    return std::vector<Tensor>{where_kernel("masked_fill", m, scalar_like(grad, 0.0f), grad)};
  });
}

}  // namespace pa
