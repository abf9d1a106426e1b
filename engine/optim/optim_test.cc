// Optimizer tests: properties that hold whatever the implementation (Adam's first step moves
// every coordinate by lr, AdamW's decay with a zero gradient, clipping's norm), schedules against
// their formulas, state save/restore, and bad input. The exact trajectories are checked against
// recorded PyTorch runs (reference/pytorch/cases/optim_*.safetensors, //reference:golden_test).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/optim/optimizer.h"
#include "engine/optim/schedule.h"
#include "engine/pa.h"
#include "engine/tests/test_util.h"

namespace pa::optim {
namespace {

using ::pa::testing::ThrowsPaError;

Tensor leaf(const std::vector<float>& values) {
  Tensor t = from_vector(values, {static_cast<int64_t>(values.size())});
  t.set_requires_grad(true);
  return t;
}

// Sets p.grad to `values` through a backward of sum(p * values).
void set_grad(Tensor& p, const std::vector<float>& values) {
  p.zero_grad();
  (p * from_vector(values, p.shape())).sum().backward();
}

TEST(Adam, FirstStepMovesEachCoordinateByLr) {
  Tensor p = leaf({1.0f, -2.0f, 3.0f, 0.5f});
  AdamOptions options;
  options.lr = 0.01;
  Adam adam({p}, options);
  set_grad(p, {10.0f, -0.3f, 1e-3f, -5.0f});
  adam.step();
  // m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g).
  const std::vector<float> after = p.to_vector();
  const std::vector<float> expected = {0.99f, -1.99f, 2.99f, 0.51f};
  for (size_t i = 0; i < after.size(); ++i) EXPECT_NEAR(after[i], expected[i], 1e-6) << i;
  EXPECT_EQ(adam.step_count(0), 1);
}

TEST(AdamW, ZeroGradientOnlyDecays) {
  Tensor p = leaf({1.0f, -2.0f});
  AdamOptions options;
  options.lr = 0.1;
  options.weight_decay = 0.5f;
  AdamW adamw({p}, options);
  set_grad(p, {0.0f, 0.0f});
  adamw.step();
  EXPECT_NEAR(p.to_vector()[0], 1.0f * (1 - 0.05f), 1e-7);
  EXPECT_NEAR(p.to_vector()[1], -2.0f * (1 - 0.05f), 1e-7);
}

TEST(Adam, ConvergesOnAQuadratic) {
  Tensor p = leaf({5.0f, -3.0f});
  AdamOptions options;
  options.lr = 0.1;
  Adam adam({p}, options);
  for (int step = 0; step < 500; ++step) {
    adam.zero_grad();
    ((p - from_vector({1.0f, 2.0f}, {2})) * (p - from_vector({1.0f, 2.0f}, {2}))).sum().backward();
    adam.step();
  }
  EXPECT_NEAR(p.to_vector()[0], 1.0f, 1e-2);
  EXPECT_NEAR(p.to_vector()[1], 2.0f, 1e-2);
}

TEST(Optimizer, ParametersWithoutGradientsAreSkipped) {
  Tensor a = leaf({1.0f}), b = leaf({2.0f});
  Adam adam({a, b}, AdamOptions());
  set_grad(a, {1.0f});
  adam.step();
  EXPECT_NE(a.to_vector()[0], 1.0f);
  EXPECT_EQ(b.to_vector()[0], 2.0f);
  EXPECT_EQ(adam.step_count(1), 0);
}

TEST(SGD, StateRoundTripResumesExactly) {
  auto run = [](int steps_before, bool reload) {
    Tensor p = leaf({1.0f, 2.0f, 3.0f});
    SGDOptions options;
    options.lr = 0.1;
    options.momentum = 0.9f;
    SGD sgd({p}, options);
    for (int step = 0; step < 6; ++step) {
      if (step == steps_before && reload) {
        const auto tensors = sgd.state_tensors();
        const auto scalars = sgd.state_scalars();
        SGD fresh({p}, options);
        fresh.load_state(tensors, scalars);
        sgd.load_state(fresh.state_tensors(), fresh.state_scalars());
      }
      set_grad(p, {static_cast<float>(step), 1.0f, -2.0f});
      sgd.step();
    }
    return p.to_vector();
  };
  EXPECT_EQ(run(3, true), run(3, false));
}

TEST(Adam, StateRoundTripResumesExactly) {
  auto make_grad = [](int step) {
    return std::vector<float>{std::sin(step * 1.0f), std::cos(step * 0.5f)};
  };
  Tensor straight = leaf({1.0f, 2.0f});
  Adam adam_straight({straight}, AdamOptions());
  for (int step = 0; step < 8; ++step) {
    set_grad(straight, make_grad(step));
    adam_straight.step();
  }
  Tensor resumed = leaf({1.0f, 2.0f});
  Adam first({resumed}, AdamOptions());
  for (int step = 0; step < 4; ++step) {
    set_grad(resumed, make_grad(step));
    first.step();
  }
  Adam second({resumed}, AdamOptions());
  second.load_state(first.state_tensors(), first.state_scalars());
  for (int step = 4; step < 8; ++step) {
    set_grad(resumed, make_grad(step));
    second.step();
  }
  EXPECT_EQ(resumed.to_vector(), straight.to_vector());
}

TEST(Optimizer, LoadStateErrorsNameTheEntry) {
  Tensor p = leaf({1.0f, 2.0f});
  Adam adam({p}, AdamOptions());
  set_grad(p, {1.0f, 1.0f});
  adam.step();
  auto tensors = adam.state_tensors();
  auto scalars = adam.state_scalars();
  Adam other({leaf({0.0f, 0.0f})}, AdamOptions());
  tensors["state.0.exp_avg"] = zeros({3});
  EXPECT_TRUE(ThrowsPaError([&] { other.load_state(tensors, scalars); },
                            {"state.0.exp_avg", "(3)", "(2)", "Hint:"}));
  tensors.erase("state.0.exp_avg");
  EXPECT_TRUE(ThrowsPaError([&] { other.load_state(tensors, scalars); },
                            {"lacks tensor 'state.0.exp_avg'"}));
  SGD sgd({leaf({0.0f, 0.0f})}, SGDOptions());
  EXPECT_TRUE(ThrowsPaError([&] { sgd.load_state(adam.state_tensors(), scalars); },
                            {"'Adam'", "'SGD'", "Hint:"}));
  scalars["state.0.step"] = "two";
  EXPECT_TRUE(ThrowsPaError([&] { other.load_state(adam.state_tensors(), scalars); },
                            {"state.0.step", "not a number"}));
}

TEST(Optimizer, BadConstruction) {
  EXPECT_TRUE(ThrowsPaError([] { Adam({}, AdamOptions()); }, {"optim::Adam", "no parameters"}));
  EXPECT_TRUE(ThrowsPaError([] { SGD({ones({2})}, SGDOptions()); },
                            {"optim::SGD", "requires grad", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        SGDOptions options;
        options.nesterov = true;
        SGD({leaf({1.0f})}, options);
      },
      {"Nesterov", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        AdamOptions options;
        options.beta1 = 1.0f;
        Adam({leaf({1.0f})}, options);
      },
      {"betas", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError(
      [] {
        SGDOptions options;
        options.lr = -1;
        SGD({leaf({1.0f})}, options);
      },
      {"learning rate -1"}));
}

TEST(ClipGradNorm, ScalesOnlyAboveTheBound) {
  Tensor a = leaf({3.0f, 0.0f}), b = leaf({4.0f});
  set_grad(a, {3.0f, 0.0f});
  set_grad(b, {4.0f});
  EXPECT_NEAR(clip_grad_norm({a, b}, 10.0), 5.0, 1e-12);
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>({3.0f, 0.0f}));
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(a.grad().to_vector()[0], 0.6f, 1e-6);
  EXPECT_NEAR(b.grad().to_vector()[0], 0.8f, 1e-6);
  Tensor c = leaf({1.0f});
  set_grad(c, {std::numeric_limits<float>::infinity()});
  EXPECT_TRUE(std::isinf(clip_grad_norm({c}, 1.0)));
  EXPECT_TRUE(ThrowsPaError([&] { clip_grad_norm({c}, 0.0); }, {"max_norm", "Hint:"}));
}

TEST(Schedules, FollowTheirFormulas) {
  Tensor p = leaf({0.0f});
  SGDOptions options;
  options.lr = 0.1;
  SGD sgd({p}, options);
  {
    LRScheduler scheduler(sgd, step_lr(3, 0.5));
    std::vector<double> seen = {sgd.lr()};
    for (int i = 0; i < 6; ++i) scheduler.step(), seen.push_back(sgd.lr());
    const std::vector<double> expected = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_NEAR(seen[i], expected[i], 1e-15) << i;
  }
  sgd.set_lr(0.1);
  {
    LRScheduler scheduler(sgd, cosine_with_warmup(4, 14, 0.01));
    EXPECT_NEAR(sgd.lr(), 0.1 * 1 / 4, 1e-15);  // warmup: (step + 1) / warmup
    scheduler.set_step_count(3);
    EXPECT_NEAR(sgd.lr(), 0.1, 1e-15);
    scheduler.set_step_count(4);  // start of the cosine: the base lr
    EXPECT_NEAR(sgd.lr(), 0.1, 1e-15);
    scheduler.set_step_count(9);  // halfway: the mean of base and min
    EXPECT_NEAR(sgd.lr(), 0.055, 1e-12);
    scheduler.set_step_count(14);
    EXPECT_NEAR(sgd.lr(), 0.01, 1e-15);
    scheduler.set_step_count(100);
    EXPECT_NEAR(sgd.lr(), 0.01, 1e-15);
  }
  sgd.set_lr(0.2);
  {
    LRScheduler scheduler(sgd, linear_warmup(5));
    EXPECT_NEAR(sgd.lr(), 0.04, 1e-15);
    scheduler.set_step_count(10);
    EXPECT_NEAR(sgd.lr(), 0.2, 1e-15);
  }
  EXPECT_TRUE(ThrowsPaError([] { cosine_with_warmup(10, 5); }, {"warmup_steps 10", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { step_lr(0, 0.5); }, {"step_size 0", "Hint:"}));
}

}  // namespace
}  // namespace pa::optim
