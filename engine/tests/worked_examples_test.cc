// The worked examples from the Transformer-layer notes, with their exact numbers: FFN
// backpropagation by hand, the 2x2-block tiled matmul, and the split of Q into two heads.
// All values are small integers, so float32 results must match exactly.
#include <gtest/gtest.h>

#include "engine/pa.h"

namespace pa {
namespace {

TEST(WorkedExamples, FeedForwardBackprop) {
  // Forward: V = X W1 + b1.
  const Tensor X = from_vector({1, 0, 2, 1, 0, 1, 1, 0}, {2, 4});
  const Tensor W1 = from_vector({1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0}, {4, 3},
                                TensorOptions().with_requires_grad(true));
  const Tensor b1 = from_vector({0, 1, 0}, {3}, TensorOptions().with_requires_grad(true));
  const Tensor V = matmul(X, W1) + b1;  // (2, 3)
  EXPECT_EQ(V.to_vector(), (std::vector<float>{3, 2, 1, 1, 2, 1}));

  // Y = V W2 + b2 with W2 chosen so that Y is the notes' output [[4,2,5,2],[2,2,3,2]].
  const Tensor W2 = from_vector({1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0}, {3, 4},
                                TensorOptions().with_requires_grad(true));
  const Tensor b2 = zeros({4}, TensorOptions().with_requires_grad(true));
  const Tensor Y = matmul(V, W2) + b2;  // (2, 4)
  EXPECT_EQ(Y.to_vector(), (std::vector<float>{4, 2, 5, 2, 2, 2, 3, 2}));

  const Tensor T = from_vector({1, 0, 0, 1, 0, 0, 1, 1}, {2, 4});
  const Tensor L = 0.5f * sum(pow(Y - T, 2.0f));
  L.backward();
  // dL/dY = Y - T = [[3,2,5,1],[2,2,2,1]]; dW2 = V^T dY; db2 = column sums of dY.
  EXPECT_EQ(W2.grad().to_vector(), (std::vector<float>{11, 8, 17, 4, 10, 8, 14, 4, 5, 4, 7, 2}));
  EXPECT_EQ(b2.grad().to_vector(), (std::vector<float>{5, 4, 7, 2}));

  // dL/dY itself, seen from a leaf copy of Y.
  const Tensor Y_leaf = Y.detach().set_requires_grad(true);
  (0.5f * sum(pow(Y_leaf - T, 2.0f))).backward();
  EXPECT_EQ(Y_leaf.grad().to_vector(), (std::vector<float>{3, 2, 5, 1, 2, 2, 2, 1}));
}

TEST(WorkedExamples, TiledMatmul) {
  const Tensor A = arange(1, 17).reshape({4, 4});  // rows [1..4], [5..8], [9..12], [13..16]
  const Tensor B = from_vector({1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}, {4, 4});
  auto block = [](const Tensor& m, int64_t row, int64_t col) {  // 2x2 block (row, col)
    return slice(slice(m, 0, 2 * row, 2 * row + 2), 1, 2 * col, 2 * col + 2);
  };
  const Tensor A00_B00 = matmul(block(A, 0, 0), block(B, 0, 0));
  const Tensor A01_B10 = matmul(block(A, 0, 1), block(B, 1, 0));
  EXPECT_EQ(A00_B00.to_vector(), (std::vector<float>{5, 5, 17, 17}));
  EXPECT_EQ(A01_B10.to_vector(), (std::vector<float>{25, 25, 53, 53}));
  EXPECT_EQ((A00_B00 + A01_B10).to_vector(), (std::vector<float>{30, 30, 70, 70}));
  // The blocks assemble into the untiled product.
  const Tensor C = matmul(A, B);
  EXPECT_EQ(block(C, 0, 0).contiguous().to_vector(), (std::vector<float>{30, 30, 70, 70}));
  EXPECT_EQ(C.to_vector(), (std::vector<float>{30, 30, 30, 30, 70, 70, 70, 70, 110, 110, 110, 110,
                                               150, 150, 150, 150}));
}

TEST(WorkedExamples, HeadSplit) {
  const Tensor Q = from_vector({1, 2, 3, 4, 5, 6, 7, 8,  //
                                2, 1, 0, 1, 3, 3, 2, 2,  //
                                0, 1, 1, 0, 9, 8, 7, 6},
                               {3, 8});
  // (N, H*D) -> (N, H, D) -> (H, N, D): two heads of 3x4.
  const Tensor heads = transpose(reshape(Q, {3, 2, 4}), 0, 1);
  ASSERT_EQ(heads.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(slice(heads, 0, 0, 1).contiguous().to_vector(),
            (std::vector<float>{1, 2, 3, 4, 2, 1, 0, 1, 0, 1, 1, 0}));
  EXPECT_EQ(slice(heads, 0, 1, 2).contiguous().to_vector(),
            (std::vector<float>{5, 6, 7, 8, 3, 3, 2, 2, 9, 8, 7, 6}));
  // Concatenating the heads back restores Q.
  const std::vector<Tensor> pieces = split(heads, int64_t{1}, 0);
  const Tensor merged = concat({reshape(pieces[0], {3, 4}), reshape(pieces[1], {3, 4})}, 1);
  EXPECT_EQ(merged.to_vector(), Q.to_vector());
}

}  // namespace
}  // namespace pa
