// engine/autograd: gradient accumulation (reuse, diamonds, repeated backward calls),
// requires_grad propagation, leaves vs non-leaves, detach, zero_grad, NoGradGuard,
// retain_graph and the release of saved tensors, backward's argument checks, a long chain
// (no recursion) and gradients flowing through views to the base leaf.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/pa.h"

namespace pa {
namespace {

using autograd::grad_enabled;
using autograd::NoGradGuard;

Tensor leaf(const std::vector<float>& values, const Shape& shape) {
  return from_vector(values, shape, TensorOptions().with_requires_grad(true));
}

// The accumulated gradient of `x` as a flat vector; fails the test if there is none.
std::vector<float> grad_of(const Tensor& x) {
  EXPECT_TRUE(x.grad().defined()) << "no gradient reached this tensor";
  return x.grad().defined() ? x.grad().to_vector() : std::vector<float>{};
}

// ---- accumulation ----

TEST(Autograd, TensorUsedTwiceAccumulates) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = x * x + x;  // dy/dx = 2x + 1
  y.sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{3, 5, 7}));
}

TEST(Autograd, AccumulatesAcrossBackwardCalls) {
  Tensor x = leaf({1, 2}, {2});
  (x * x).sum().backward();  // 2x
  EXPECT_EQ(grad_of(x), (std::vector<float>{2, 4}));
  (x * 3.0f).sum().backward();  // + 3
  EXPECT_EQ(grad_of(x), (std::vector<float>{5, 7}));
}

TEST(Autograd, DiamondGraphs) {
  Tensor x = leaf({1, 2}, {2});
  Tensor a = x * 2.0f;
  Tensor b = x * 3.0f;
  (a * b).sum().backward();  // 6 x^2 -> 12 x
  EXPECT_EQ(grad_of(x), (std::vector<float>{12, 24}));

  Tensor z = leaf({1, 2}, {2});
  Tensor h = z * z;
  (h + h * h).sum().backward();  // z^2 + z^4 -> 2 z + 4 z^3
  EXPECT_EQ(grad_of(z), (std::vector<float>{6, 36}));
}

// ---- graph bookkeeping ----

TEST(Autograd, RequiresGradPropagates) {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor c = from_vector({1, 1, 1, 1}, {2, 2});
  EXPECT_FALSE(c.requires_grad());

  Tensor constant = c * c;
  EXPECT_FALSE(constant.requires_grad());
  EXPECT_EQ(constant.grad_fn(), nullptr);

  Tensor mixed = x * c;
  EXPECT_TRUE(mixed.requires_grad());
  ASSERT_NE(mixed.grad_fn(), nullptr);
  EXPECT_EQ(mixed.grad_fn()->name(), "mul");

  EXPECT_TRUE(transpose(x, 0, 1).requires_grad());
  EXPECT_TRUE(slice(x, 0, 0, 1).requires_grad());
  EXPECT_TRUE(reshape(x, {4}).requires_grad());
  EXPECT_TRUE(sum(exp(x)).requires_grad());
  EXPECT_FALSE(transpose(c, 0, 1).requires_grad());
}

TEST(Autograd, OnlyLeavesGetGrad) {
  Tensor x = leaf({1, 2}, {2});
  Tensor c = from_vector({5, 6}, {2});
  Tensor hidden = x * c;
  EXPECT_TRUE(x.is_leaf());
  EXPECT_TRUE(c.is_leaf());
  EXPECT_FALSE(hidden.is_leaf());
  hidden.sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{5, 6}));
  EXPECT_FALSE(hidden.grad().defined());
  EXPECT_FALSE(c.grad().defined());  // a leaf that does not require grad
}

TEST(Autograd, SetRequiresGradOnlyOnFloatLeaves) {
  Tensor x = leaf({1, 2}, {2});
  Tensor hidden = x * 2.0f;
  EXPECT_THROW(hidden.set_requires_grad(false), Error);
  EXPECT_THROW(from_indices({1}, {1}).set_requires_grad(true), Error);

  Tensor c = from_vector({1, 2}, {2});
  c.set_requires_grad(true);
  EXPECT_TRUE(c.requires_grad());
  c.set_requires_grad(false);
  EXPECT_FALSE(c.requires_grad());
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = leaf({1, 2}, {2});
  Tensor z = x * 2.0f;
  Tensor d = z.detach();
  EXPECT_EQ(d.storage(), z.storage());
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  // With d a constant, d(d * x)/dx = d = 2x; through z it would be 4x.
  (d * x).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{2, 4}));
}

TEST(Autograd, ZeroGradClears) {
  Tensor x = leaf({1, 2}, {2});
  (x * x).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  (x * 5.0f).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{5, 5}));  // not 2x + 5
}

TEST(Autograd, NoGradGuardBuildsNoGraph) {
  Tensor x = leaf({1, 2}, {2});
  ASSERT_TRUE(grad_enabled());
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Tensor y = exp(x * 2.0f);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(transpose(reshape(x, {2, 1}), 0, 1).requires_grad());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE((x * 2.0f).requires_grad());
}

TEST(Autograd, NestedNoGradGuardsRestore) {
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      EXPECT_FALSE(grad_enabled());
    }
    EXPECT_FALSE(grad_enabled());  // the inner guard restores "off", not "on"
  }
  EXPECT_TRUE(grad_enabled());
}

// ---- retain_graph and releasing saved tensors ----

TEST(Autograd, SecondBackwardWithoutRetainGraphThrows) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = (x * x).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "a second backward through a freed graph did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("retain_graph"), std::string::npos) << error.what();
  }
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_EQ(grad_of(x), (std::vector<float>{2, 4}));
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{4, 8}));
}

TEST(Autograd, SavedTensorsReleasedAfterBackward) {
  Tensor x = leaf({1, 2}, {2});
  Tensor hidden = x * x;
  Tensor y = exp(hidden).sum();
  EXPECT_FALSE(hidden.grad_fn()->released());
  y.backward();
  EXPECT_TRUE(hidden.grad_fn()->released());
  EXPECT_TRUE(y.grad_fn()->released());
}

TEST(Autograd, RetainGraphKeepsSavedTensors) {
  Tensor x = leaf({1, 2}, {2});
  Tensor hidden = x * x;
  Tensor y = exp(hidden).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_FALSE(hidden.grad_fn()->released());
  EXPECT_FALSE(y.grad_fn()->released());
}

// ---- backward's arguments ----

TEST(Autograd, NonScalarNeedsAGradient) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = x * x;
  EXPECT_THROW(y.backward(), Error);
  y.backward(from_vector({1, 0.5f, -1}, {3}));  // dL/dx = 2 x g
  EXPECT_EQ(grad_of(x), (std::vector<float>{2, 2, -6}));
}

TEST(Autograd, GradientOfTheWrongShapeThrows) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = x * x;
  EXPECT_THROW(y.backward(ones({2})), Error);
  EXPECT_THROW(y.backward(ones({3, 1})), Error);
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, BackwardWithoutRequiresGradThrows) {
  Tensor c = from_vector({1, 2}, {2});
  EXPECT_THROW(c.sum().backward(), Error);
  Tensor x = leaf({1, 2}, {2});
  NoGradGuard guard;
  EXPECT_THROW((x * x).sum().backward(), Error);
}

TEST(Autograd, LongChainHasNoRecursion) {
  constexpr int kSteps = 20000;
  Tensor x = leaf({0.5f}, {1});
  Tensor y = x;
  for (int i = 0; i < kSteps; ++i) y = add(y, 1.0f);
  EXPECT_FLOAT_EQ(y.item(), 0.5f + kSteps);
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{1}));
  EXPECT_TRUE(y.grad_fn()->released());
  y = Tensor();  // frees the whole chain here, which must not recurse either (see ~Node)
}

// ---- gradients through views reach the base leaf ----

TEST(AutogradViews, Slice) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  Tensor window = slice(x, 1, 1, 3);  // columns 1 and 2
  (window * from_vector({1, 2, 3, 4}, {2, 2})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{0, 1, 2, 0, 0, 3, 4, 0}));
}

TEST(AutogradViews, Transpose) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = transpose(x, 0, 1);  // (3, 2)
  (t * from_vector({1, 2, 3, 4, 5, 6}, {3, 2})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{1, 3, 5, 2, 4, 6}));  // the weights transposed
}

TEST(AutogradViews, Permute) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5}, {1, 2, 3});
  Tensor p = permute(x, {2, 0, 1});  // (3, 1, 2): p[k][0][i] = x[0][i][k]
  (p * from_vector({1, 2, 3, 4, 5, 6}, {3, 1, 2})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(AutogradViews, Reshape) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor r = reshape(x, {3, 2});
  (r * from_vector({1, 2, 3, 4, 5, 6}, {3, 2})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(AutogradViews, ReshapeOfNonContiguousCopy) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor flat = reshape(transpose(x, 0, 1), {6});  // x00 x10 x01 x11 x02 x12
  (flat * from_vector({1, 2, 3, 4, 5, 6}, {6})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(AutogradViews, ExpandSumsOverTheBroadcastDim) {
  Tensor b = leaf({1, 2, 3}, {1, 3});
  Tensor e = expand(b, {2, 3});
  (e * from_vector({1, 2, 3, 4, 5, 6}, {2, 3})).sum().backward();
  EXPECT_EQ(grad_of(b), (std::vector<float>{5, 7, 9}));
}

TEST(AutogradViews, SliceOfTranspose) {
  Tensor x = leaf({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor rows = slice(transpose(x, 0, 1), 0, 1, 3);  // rows 1, 2 of x^T: columns 1, 2 of x
  (rows * from_vector({1, 2, 3, 4}, {2, 2})).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<float>{0, 1, 3, 0, 2, 4}));
}

}  // namespace
}  // namespace pa
