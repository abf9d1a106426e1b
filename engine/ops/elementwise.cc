// Elementwise ops: unary maps, broadcasting binary ops, where / masked_fill. The forward runs
// the kernel of the inputs' backend (dispatch.h); the backward of the binary ops is written with
// ops, so it runs wherever the forward ran.
#include <cmath>

#include "engine/ops/internal.h"
#include "engine/ops/ops.h"

namespace pa {

using autograd::record;
using kernels::BinaryKind;
using kernels::UnaryKind;
using ops_internal::broadcast_shapes;
using ops_internal::broadcast_strides;
using ops_internal::check_inputs;

namespace {

// dx = dy * f'(x), on x's device; x, y, dy contiguous.
Tensor unary_backward_kernel(const Kernels& k, UnaryKind kind, const Tensor& x, const Tensor& y,
                             const Tensor& dy_in, float scalar) {
  const Tensor dy = contiguous(dy_in);
  Tensor dx = empty(x.shape(), TensorOptions().with_device(x.device()));
  k.unary_backward(kind, x.data<float>(), y.data<float>(), dy.data<float>(), dx.data<float>(),
                   x.numel(), scalar);
  return dx;
}

Tensor unary_op(OpId op, UnaryKind kind, const Tensor& input, float scalar = 0) {
  const Kernels& k = check_inputs(op, {input}, {"x"});
  const Tensor x = contiguous(input).detach();
  Tensor y = empty(x.shape(), TensorOptions().with_device(x.device()));
  k.unary_forward(kind, x.data<float>(), y.data<float>(), x.numel(), scalar);
  return record(y, op, {input},
                [&k, kind, scalar, x, y = y.detach()](const Tensor& grad) -> std::vector<Tensor> {
                  return {unary_backward_kernel(k, kind, x, y, grad, scalar)};
                });
}

// out = a (op) b with broadcasting; no graph.
Tensor binary_kernel(OpId op, BinaryKind kind, const Tensor& a, const Tensor& b) {
  const Kernels& k = check_inputs(op, {a, b}, {"a", "b"});
  const Shape shape = broadcast_shapes(op_name(op), a.shape(), b.shape());
  const Shape a_strides = broadcast_strides(a, shape);
  const Shape b_strides = broadcast_strides(b, shape);
  Tensor out = empty(shape, TensorOptions().with_device(a.device()));
  const int ndim = static_cast<int>(shape.size());
  PA_CHECK(ndim <= k.elementwise_max_dims(), op_name(op),
           "this backend's elementwise kernels take at most " << k.elementwise_max_dims()
                                                              << " dims, got " << ndim,
           "reshape to fewer dims");
  k.binary_forward(kind, a.data<float>(), a_strides.data(), b.data<float>(), b_strides.data(),
                   out.data<float>(), shape.data(), ndim);
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
  Tensor out = binary_kernel(OpId::add, BinaryKind::Add, a, b);
  return record(out, OpId::add, {a, b},
                [sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(grad, sa) : Tensor(),
                                             gb ? sum_to(grad, sb) : Tensor()};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(OpId::sub, BinaryKind::Sub, a, b);
  return record(out, OpId::sub, {a, b},
                [sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(grad, sa) : Tensor(),
                                             gb ? sum_to(neg(grad), sb) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(OpId::mul, BinaryKind::Mul, a, b);
  return record(out, OpId::mul, {a, b},
                [a = a.detach(), b = b.detach(), ga = a.requires_grad(),
                 gb = b.requires_grad()](const Tensor& grad) {
                  return std::vector<Tensor>{ga ? sum_to(mul(grad, b), a.shape()) : Tensor(),
                                             gb ? sum_to(mul(grad, a), b.shape()) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(OpId::div, BinaryKind::Div, a, b);
  return record(out, OpId::div, {a, b},
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
  check_inputs(OpId::add, {a}, {"a"});
  return add(a, scalar_like(a, b));
}
Tensor mul(const Tensor& a, float b) {
  check_inputs(OpId::mul, {a}, {"a"});
  return mul(a, scalar_like(a, b));
}

// ---- unary ----

Tensor neg(const Tensor& x) { return unary_op(OpId::neg, UnaryKind::Neg, x); }
Tensor pow(const Tensor& x, float exponent) {
  return unary_op(OpId::pow, UnaryKind::Pow, x, exponent);
}
Tensor exp(const Tensor& x) { return unary_op(OpId::exp, UnaryKind::Exp, x); }
Tensor log(const Tensor& x) { return unary_op(OpId::log, UnaryKind::Log, x); }
Tensor sqrt(const Tensor& x) { return unary_op(OpId::sqrt, UnaryKind::Sqrt, x); }
Tensor tanh(const Tensor& x) { return unary_op(OpId::tanh, UnaryKind::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op(OpId::sigmoid, UnaryKind::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op(OpId::relu, UnaryKind::Relu, x); }
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  return approximation == GeluApproximation::Tanh
             ? unary_op(OpId::gelu_tanh, UnaryKind::GeluTanh, x)
             : unary_op(OpId::gelu_erf, UnaryKind::GeluErf, x);
}

// Fused bias + GELU (tanh form): one pass where Linear + GELU would take two.
Tensor bias_gelu(const Tensor& x_in, const Tensor& bias_in) {
  const Kernels& k = check_inputs(OpId::bias_gelu, {x_in, bias_in}, {"x", "bias"});
  PA_CHECK(bias_in.dim() == 1 && x_in.dim() >= 1 && x_in.size(-1) == bias_in.size(0), "bias_gelu",
           "x " << shape_str(x_in.shape()) << " and bias " << shape_str(bias_in.shape()),
           "bias is (C) for x (..., C): one value per feature of the last dim");
  const TensorOptions options = TensorOptions().with_device(x_in.device());
  const Tensor x = contiguous(x_in).detach();
  const Tensor bias = contiguous(bias_in).detach();
  const int64_t C = bias.numel(), rows = C > 0 ? x.numel() / C : 0;
  Tensor y = empty(x.shape(), options);
  k.bias_gelu_forward(x.data<const float>(), bias.data<const float>(), y.data<float>(), rows, C);
  return record(y, OpId::bias_gelu, {x_in, bias_in},
                [&k, x, bias, rows, C, options](const Tensor& grad) {
                  const Tensor upstream = contiguous(grad).detach();
                  Tensor dx = empty(x.shape(), options);
                  k.bias_gelu_backward(x.data<const float>(), bias.data<const float>(),
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
Tensor where_kernel(OpId op, const Tensor& condition, const Tensor& a, const Tensor& b) {
  const Kernels& k = check_inputs(op, {condition, a, b}, {"condition", "a", "b"});
  const char* name = op_name(op);
  const Shape shape =
      broadcast_shapes(name, broadcast_shapes(name, condition.shape(), a.shape()), b.shape());
  const Shape c_strides = broadcast_strides(condition, shape);
  const Shape a_strides = broadcast_strides(a, shape);
  const Shape b_strides = broadcast_strides(b, shape);
  Tensor out = empty(shape, TensorOptions().with_device(a.device()));
  PA_CHECK(static_cast<int64_t>(shape.size()) <= k.elementwise_max_dims(), name,
           "this backend's elementwise kernels take at most " << k.elementwise_max_dims()
                                                              << " dims, got " << shape.size(),
           "reshape to fewer dims");
  k.where_forward(condition.data<float>(), c_strides.data(), a.data<float>(), a_strides.data(),
                  b.data<float>(), b_strides.data(), out.data<float>(), shape.data(),
                  static_cast<int>(shape.size()));
  return out;
}
}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor out = where_kernel(OpId::where, condition, a, b);
  return record(out, OpId::where, {a, b},
                [c = condition.detach(), sa = a.shape(), sb = b.shape()](const Tensor& grad) {
                  const Tensor zero = scalar_like(grad, 0.0f);
                  return std::vector<Tensor>{sum_to(where_kernel(OpId::where, c, grad, zero), sa),
                                             sum_to(where_kernel(OpId::where, c, zero, grad), sb)};
                });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  Tensor out = where_kernel(OpId::masked_fill, mask, scalar_like(x, value), x);
  PA_CHECK(out.shape() == x.shape(), "masked_fill",
           "mask " << shape_str(mask.shape()) << " must broadcast to x " << shape_str(x.shape())
                   << " without growing it",
           "give the mask x's shape or fewer/size-1 dims");
  return record(out, OpId::masked_fill, {x}, [m = mask.detach()](const Tensor& grad) {
    return std::vector<Tensor>{where_kernel(OpId::masked_fill, m, scalar_like(grad, 0.0f), grad)};
  });
}

}  // namespace pa
