// Bad input: every misuse below must throw a pa::Error whose message names the op, the shapes
// (or dims/dtypes) involved and a hint -- never crash or return garbage. Also checks that NaN
// inputs come out as NaN (exp, add, relu, max) rather than being silently hidden.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/checked.h"
#include "engine/pa.h"
#include "engine/tests/test_util.h"

namespace pa {
namespace {

using ::pa::testing::ThrowsPaError;

Tensor filled(const Shape& shape) { return ones(shape); }

// ---- elementwise and matmul ----

TEST(Errors, AddNonBroadcastable) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        add(filled({2, 3}), filled({4}));
      },
      {"pa::add", "(2, 3)", "(4)", "broadcast", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        filled({2, 3}) * filled({3, 2});
      },
      {"pa::mul", "(2, 3)", "(3, 2)", "Hint:"}));
}

TEST(Errors, AddInt64NamesTheDtype) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        add(from_indices({1, 2}, {2}), filled({2}));
      },
      {"pa::add", "int64", "float32", "Hint:"}));
}

// An op given a dtype no backend computes in throws the one typed error, NotImplemented (a
// pa::Error), naming the op, the device and the dtype.
TEST(Errors, AnOpWithoutAKernelForTheDtypeIsNotImplemented) {
  const Tensor x = empty({2, 3}, TensorOptions().with_dtype(DType::Float64));
  EXPECT_TRUE(ThrowsPaError([&] { exp(x); }, {"pa::exp", "float64", "cpu", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([&] { softmax(x, -1); }, {"pa::softmax", "float64", "cpu"}));
  EXPECT_TRUE(ThrowsPaError([&] { matmul(x, transpose(x, 0, 1)); }, {"pa::matmul", "float64"}));
  EXPECT_THROW(layer_norm(x, empty({3}, TensorOptions().with_dtype(DType::Float64)),
                          empty({3}, TensorOptions().with_dtype(DType::Float64))),
               NotImplemented);
}

// bfloat16: the GEMM ops and to_dtype take it (engine/ops/op_list.h); any other op names the
// dtype and says how to convert; mixing dtypes or converting to int64 is a clear error.
TEST(Errors, Bfloat16OutsideTheGemmOpsIsAClearError) {
  const Tensor x = to_dtype(filled({2, 3}), DType::BFloat16);
  EXPECT_TRUE(ThrowsPaError([&] { softmax(x, -1); },
                            {"pa::softmax", "bfloat16", "cpu", "to_dtype(x, DType::Float32)"}));
  EXPECT_THROW(exp(x), NotImplemented);
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        matmul(x, filled({3, 2}));
      },
      {"pa::matmul", "different dtypes", "bfloat16", "float32", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        linear(filled({2, 3}), transpose(x, 0, 1).contiguous());
      },
      {"pa::linear", "bfloat16", "float32"}));
  EXPECT_TRUE(ThrowsPaError([&] { to_dtype(x, DType::Int64); },
                            {"pa::to_dtype", "int64", "float32 and bfloat16"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        to_dtype(from_indices({1, 2}, {2}), DType::BFloat16);
      },
      {"pa::to_dtype", "int64"}));
  // A bf16 leaf may require grad; an int64 one may not.
  Tensor leaf = to_dtype(filled({2}), DType::BFloat16);
  EXPECT_NO_THROW(leaf.set_requires_grad(true));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        from_indices({1, 2}, {2}).set_requires_grad(true);
      },
      {"pa::set_requires_grad", "int64", "Hint:"}));
}

TEST(Errors, MatmulInnerDims) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        matmul(filled({3, 4}), filled({5, 2}));
      },
      {"pa::matmul", "(3, 4)", "(5, 2)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        matmul(filled({2, 3, 4}), filled({2, 3, 4}));
      },
      {"pa::matmul", "(2, 3, 4)", "Hint:"}));
}

TEST(Errors, MatmulOneDimensional) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        matmul(filled({4}), filled({4, 2}));
      },
      {"pa::matmul", "(4)", "(4, 2)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        matmul(filled({2, 4}), filled({4}));
      },
      {"pa::matmul", "(2, 4)", "(4)", "Hint:"}));
}

// ---- shape ops ----

TEST(Errors, ReshapeWrongCount) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        reshape(filled({2, 3}), {4, 2});
      },
      {"pa::reshape", "(2, 3)", "(4, 2)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        reshape(filled({2, 3}), {4, -1});
      },
      {"pa::reshape", "(4, -1)", "6", "Hint:"}));
}

TEST(Errors, ReshapeTwoInferredDims) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        reshape(filled({2, 3}), {-1, -1});
      },
      {"pa::reshape", "(-1, -1)", "Hint:"}));
}

TEST(Errors, DimOutOfRange) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        transpose(filled({2, 3}), 0, 2);
      },
      {"pa::transpose", "dim 2", "2 dims", "Hint:", "[-2, 1]"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        permute(filled({2, 3}), {0, -3});
      },
      {"pa::permute", "dim -3", "2 dims", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        softmax(filled({2, 3}), 5);
      },
      {"pa::softmax", "dim 5", "2 dims", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        slice(filled({2, 3}), 3, 0, 1);
      },
      {"pa::slice", "dim 3", "2 dims", "Hint:"}));
}

TEST(Errors, PermuteNotAPermutation) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        permute(filled({2, 3, 4}), {0, 1, 1});
      },
      {"pa::permute", "dim 1 appears twice", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        permute(filled({2, 3, 4}), {1, 0});
      },
      {"pa::permute", "(2, 3, 4)", "Hint:"}));
}

TEST(Errors, ExpandNonSingletonDim) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        expand(filled({2, 3}), {4, 3});
      },
      {"pa::expand", "(2, 3)", "(4, 3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        expand(filled({2, 3}), {3});
      },
      {"pa::expand", "(2, 3)", "(3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { expand(filled({1}), {-2}); }, {"pa::expand", "(-2)", "Hint:"}));
}

TEST(Errors, Concat) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        concat({filled({2, 3}), filled({2, 4})}, 0);
      },
      {"pa::concat", "(2, 3)", "(2, 4)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { concat({}, 0); }, {"pa::concat", "no tensors", "Hint:"}));
}

TEST(Errors, SplitSizesMustSum) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        split(filled({2, 5}), std::vector<int64_t>{2, 2}, 1);
      },
      {"pa::split", "sum to 4", "(2, 5)", "Hint:"}));
}

TEST(Errors, StackDifferentShapes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        stack({filled({2, 3}), filled({3, 2})}, 0);
      },
      {"pa::stack", "(2, 3)", "(3, 2)", "Hint:"}));
}

// ---- normalisation, losses, lookup ----

TEST(Errors, BiasGeluShapes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        bias_gelu(filled({2, 4}), filled({3}));
      },
      {"pa::bias_gelu", "(2, 4)", "(3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        bias_gelu(filled({2, 4}), filled({1, 4}));
      },
      {"pa::bias_gelu", "(1, 4)", "Hint:"}));
  EXPECT_TRUE(
      ThrowsPaError([] { bias_gelu(filled({}), filled({1})); }, {"pa::bias_gelu", "()", "Hint:"}));
}

TEST(Errors, LinearShapes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        linear(filled({2, 4}), filled({3, 5}));
      },
      {"pa::linear", "(2, 4)", "(3, 5)", "Hint:"}));  // in differs
  EXPECT_TRUE(ThrowsPaError(
      [] {
        linear(filled({2, 4}), filled({3, 4}), filled({4}));
      },
      {"pa::linear", "bias", "(4)", "Hint:"}));  // bias is not (out)
  EXPECT_TRUE(ThrowsPaError(
      [] {
        linear(filled({}), filled({3, 1}));
      },
      {"pa::linear", "()", "Hint:"}));  // x 0-D
  EXPECT_TRUE(ThrowsPaError(
      [] {
        linear(filled({2, 4}), filled({4}));
      },
      {"pa::linear", "weight (4)", "Hint:"}));  // weight 1-D
}

TEST(Errors, LayerNormWeightShape) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        layer_norm(filled({2, 4}), filled({3}), filled({3}));
      },
      {"pa::layer_norm", "(2, 4)", "(3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        layer_norm(filled({2, 4}), filled({4}), filled({3}));
      },
      {"pa::layer_norm", "(4)", "(3)", "Hint:"}));
}

TEST(Errors, MseLossShapes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        mse_loss(filled({2, 3}), filled({3, 2}));
      },
      {"pa::mse_loss", "(2, 3)", "(3, 2)", "Hint:"}));
}

TEST(Errors, CrossEntropy) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        cross_entropy(filled({2, 3}), from_indices({0, 3}, {2}));
      },
      {"pa::cross_entropy", "target 3", "[0, 3)", "(2, 3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        cross_entropy(filled({2, 3}), from_indices({-1, 0}, {2}));
      },
      {"pa::cross_entropy", "target -1", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        cross_entropy(filled({2, 3, 4}), from_indices({0, 1}, {2}));
      },
      {"pa::cross_entropy", "(2, 3, 4)", "(2)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        cross_entropy(filled({2, 3}), from_indices({0, 1, 2}, {3}));
      },
      {"pa::cross_entropy", "(2, 3)", "(3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        cross_entropy(filled({2, 3}), filled({2}));
      },
      {"pa::cross_entropy", "int64", "float32", "Hint:"}));
}

TEST(Errors, Embedding) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        embedding(filled({5, 2}), from_indices({1, 5}, {2}));
      },
      {"pa::embedding", "index 5", "[0, 5)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        embedding(filled({5, 2}), filled({2}));
      },
      {"pa::embedding", "int64", "float32", "Hint:"}));
}

// ---- attention and dropout ----

TEST(Errors, AttentionShapes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        scaled_dot_product_attention(filled({2, 3, 4}), filled({2, 3, 4}), filled({2, 3, 4}));
      },
      {"pa::scaled_dot_product_attention", "4-D", "(2, 3, 4)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        scaled_dot_product_attention(filled({1, 2, 3, 4}), filled({1, 3, 3, 4}),
                                     filled({1, 3, 3, 4}));
      },
      {"pa::scaled_dot_product_attention", "(1, 2, 3, 4)", "(1, 3, 3, 4)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        scaled_dot_product_attention(filled({1, 2, 3, 4}), filled({1, 2, 3, 4}),
                                     filled({1, 2, 3, 4}), false, zeros({1, 4}));
      },
      {"pa::scaled_dot_product_attention", "key_padding_mask (1, 4)", "(1, 3)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        scaled_dot_product_attention(filled({1, 2, 3, 4}), filled({1, 2, 5, 4}),
                                     filled({1, 2, 5, 4}), /*causal=*/true);
      },
      {"pa::scaled_dot_product_attention", "causal", "(1, 2, 3, 4)", "(1, 2, 5, 4)", "Hint:"}));
}

TEST(Errors, DropoutProbability) {
  EXPECT_TRUE(ThrowsPaError([] { dropout(filled({4}), 1.5f); }, {"pa::dropout", "1.5", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { dropout(filled({4}), -0.1f); }, {"pa::dropout", "-0.1", "Hint:"}));
}

// ---- factories, values, undefined tensors ----

TEST(Errors, FromVectorCount) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        from_vector({1, 2, 3}, {2, 2});
      },
      {"pa::from_vector", "3 values", "(2, 2)", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        from_indices({1, 2, 3}, {2});
      },
      {"pa::from_indices", "3 values", "(2)", "Hint:"}));
}

TEST(Errors, ItemOfManyElements) {
  EXPECT_TRUE(ThrowsPaError([] { filled({2, 3}).item(); }, {"pa::item", "(2, 3)", "Hint:"}));
}

TEST(Errors, UndefinedTensor) {
  EXPECT_TRUE(ThrowsPaError([] { Tensor().shape(); }, {"pa::Tensor", "undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { Tensor().item(); }, {"undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { Tensor().backward(); }, {"undefined", "Hint:"}));
  EXPECT_TRUE(
      ThrowsPaError([] { add(filled({2}), Tensor()); }, {"pa::add", "b is undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { exp(Tensor()); }, {"pa::exp", "undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { reshape(Tensor(), {1}); }, {"pa::reshape", "undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        matmul(Tensor(), filled({2, 2}));
      },
      {"pa::matmul", "undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { add(Tensor(), 1.0f); }, {"pa::add", "undefined", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { Tensor() * 2.0f; }, {"pa::mul", "undefined", "Hint:"}));
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
}

// ---- NaN is propagated, not hidden ----

// ---- sizes that overflow 64 bits: a quick pa::Error, never a wrapped count or a hang ----

constexpr int64_t kHuge = int64_t{1} << 32;

TEST(Overflow, EmptyShapeOrBytes) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        empty({kHuge, kHuge, 16});
      },
      {"pa::empty", "(4294967296, 4294967296, 16)", "64-bit", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        empty({kHuge, kHuge / 4});
      },  // 2^62 elements, 2^64 bytes
      {"pa::empty", "bytes", "64-bit"}));
  EXPECT_TRUE(ThrowsPaError([] { empty({0, kHuge, kHuge}); }, {"pa::empty", "64-bit"}));
  EXPECT_TRUE(ThrowsPaError([] { empty({2, -3}); }, {"pa::empty", "(2, -3)", "negative"}));
  EXPECT_TRUE(ThrowsPaError([] { zeros({kHuge, kHuge}); }, {"64-bit"}));
}

TEST(Overflow, BroadcastOfTwoViews) {
  const Tensor column = expand(filled({1, 1}), {kHuge, 1});  // (2^32, 1), no memory behind it
  const Tensor row = expand(filled({1, 1}), {1, kHuge});     // (1, 2^32)
  EXPECT_TRUE(ThrowsPaError([&] { add(column, row); },
                            {"pa::add", "broadcasting (4294967296, 1) with (1, 4294967296)",
                             "(4294967296, 4294967296)", "64-bit", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([&] { expand(column, {kHuge, kHuge}); }, {"pa::expand", "64-bit"}));
  const Tensor batch_a = expand(filled({1, 1, 1, 1}), {kHuge, 1, 1, 1});
  const Tensor batch_b = expand(filled({1, 1, 1, 1}), {1, kHuge, 1, 1});
  EXPECT_TRUE(ThrowsPaError([&] { matmul(batch_a, batch_b); }, {"pa::matmul", "64-bit"}));
}

TEST(Overflow, ReshapeTargets) {
  EXPECT_TRUE(ThrowsPaError(
      [] {
        reshape(filled({4}), {-1, kHuge, kHuge});
      },
      {"pa::reshape", "64-bit"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        reshape(filled({4}), {kHuge, kHuge, 0});
      },
      {"pa::reshape", "64-bit"}));
}

TEST(Overflow, AllocatorRefusesHugeRequestsQuickly) {
  EXPECT_TRUE(
      ThrowsPaError([] { host_allocator().allocate(std::numeric_limits<size_t>::max()); },
                    {"pa::host_allocator", "cannot allocate 18446744073709551615 bytes", "Hint:"}));
  EXPECT_TRUE(
      ThrowsPaError([] { host_allocator().allocate((size_t{1} << 63) + 1); }, {"cannot allocate"}));
  EXPECT_TRUE(
      ThrowsPaError([] { CachingAllocator::size_class(size_t{3} << 62); }, {"cannot allocate"}));
  EXPECT_EQ(CachingAllocator::size_class(size_t{1} << 62), size_t{1} << 62);
  EXPECT_EQ(CachingAllocator::size_class(std::numeric_limits<int64_t>::max()), size_t{1} << 63);
}

TEST(Overflow, CheckedArithmetic) {
  EXPECT_EQ(checked_mul(3, 4, "op", "x"), 12);
  EXPECT_EQ(checked_add(3, 4, "op", "x"), 7);
  EXPECT_TRUE(ThrowsPaError([] { checked_mul(kHuge, kHuge, "my_op", "rows * cols"); },
                            {"pa::my_op", "rows * cols: 4294967296 * 4294967296", "64-bit"}));
  EXPECT_TRUE(ThrowsPaError(
      [] { checked_add(std::numeric_limits<int64_t>::max(), 1, "my_op", "offset + size"); },
      {"pa::my_op", "offset + size", "64-bit"}));
  EXPECT_TRUE(ThrowsPaError([] { checked_mul(-1, 4, "my_op", "rows * cols"); }, {"negative"}));
  EXPECT_EQ(checked_numel({}, "op"), 1);
  EXPECT_EQ(checked_numel({3, 0, 5}, "op"), 0);
  EXPECT_EQ(checked_bytes({3, 5}, 8, "op"), 120);
}

// ---- quoting user data into messages ----

TEST(QuoteInput, BoundedAndEscaped) {
  EXPECT_EQ(quote_input("abc"), "'abc'");
  EXPECT_EQ(quote_input(""), "''");
  EXPECT_EQ(quote_input(std::string("a\0b\n\t\x7f'\\", 8)), "'a\\x00b\\n\\t\\x7f\\'\\\\'");
  EXPECT_EQ(quote_input("gr\xc3\xb6\xc3\x9f\x65 \xe2\x82\xac"),
            "'gr\xc3\xb6\xc3\x9f\x65 \xe2\x82\xac'");
  EXPECT_EQ(quote_input("\xff\xc3(\xc2\x85\xed\xa0\x80"),
            "'\\xff\\xc3(\\xc2\\x85\\xed\\xa0\\x80'");  // invalid, C1, surrogate
  EXPECT_EQ(quote_input(std::string(50'000'000, 'x')),
            "'" + std::string(40, 'x') + "'... (50000000 bytes)");
  EXPECT_EQ(quote_input("abcdef", 4), "'abcd'... (6 bytes)");
  EXPECT_EQ(quote_input("ab\xc3\xb6", 3), "'ab'... (4 bytes)");  // never half a character
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(NaN, ElementwisePropagates) {
  const std::vector<float> exps = exp(from_vector({kNaN, 0.0f}, {2})).to_vector();
  EXPECT_TRUE(std::isnan(exps[0]));
  EXPECT_EQ(exps[1], 1.0f);
  const std::vector<float> sums = add(from_vector({kNaN, 1.0f}, {2}), filled({2})).to_vector();
  EXPECT_TRUE(std::isnan(sums[0]));
  EXPECT_EQ(sums[1], 2.0f);
  EXPECT_TRUE(std::isnan(add(filled({2}), kNaN).to_vector()[1]));  // broadcast scalar
  const std::vector<float> relus = relu(from_vector({kNaN, -1.0f}, {2})).to_vector();
  EXPECT_TRUE(std::isnan(relus[0]));
  EXPECT_EQ(relus[1], 0.0f);
}

TEST(NaN, MaxOverARowWithNaN) {
  // NaN first, in the middle, last; the last row has none.
  const Tensor x = from_vector({kNaN, 5, 1, 2, kNaN, 7, 3, 9, kNaN, 4, 8, 6}, {4, 3});
  const std::vector<float> row_max = max(x, 1).to_vector();
  ASSERT_EQ(row_max.size(), 4u);
  EXPECT_TRUE(std::isnan(row_max[0]));
  EXPECT_TRUE(std::isnan(row_max[1]));
  EXPECT_TRUE(std::isnan(row_max[2]));
  EXPECT_EQ(row_max[3], 8.0f);
  EXPECT_TRUE(std::isnan(sum(x).item()));
}

}  // namespace
}  // namespace pa
