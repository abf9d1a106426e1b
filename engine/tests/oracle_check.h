// Test support: run an engine op and its Eigen reference on the same random inputs and compare
// outputs and input gradients element by element (atol + rtol * |ref|), printing the worst
// element on failure.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/pa.h"
#include "reference/eigen/reference.h"

namespace pa::testing {

struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-4;
};

// An input drawn once and handed to both sides: the engine tensor and its double copy.
struct Input {
  Tensor tensor;
  ref::Array array;
  bool differentiable = true;
};

// Uniform in [low, high); never all zeros. requires_grad when differentiable.
Input random_input(const Shape& shape, std::mt19937_64& rng, double low = -1.0, double high = 1.0,
                   bool differentiable = true);
// A 0/1 mask input (float), not differentiable.
Input random_mask(const Shape& shape, std::mt19937_64& rng, double ones_fraction = 0.3);

ref::Array to_array(const Tensor& tensor);
Tensor to_tensor(const ref::Array& array);

// Compares an engine tensor with a reference array; returns "" or a failure message naming
// the worst element.
std::string compare(const std::string& what, const Tensor& actual, const ref::Array& expected,
                    const Tolerance& tolerance);

using EngineFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
using ReferenceFn = std::function<std::vector<ref::Array>(const std::vector<ref::Array>&)>;
// (inputs, grad_outs) -> one gradient per differentiable input, in order.
using ReferenceBackwardFn = std::function<std::vector<ref::Array>(const std::vector<ref::Array>&,
                                                                  const std::vector<ref::Array>&)>;

// Runs forward on both sides, then the engine backward of L = sum_i sum(out_i * W_i) with
// random W_i (a single output is seeded with W directly) and the reference backward with
// grad_outs W_i. The engine side runs on `device`: inputs are copied there as new leaves.
// dtype bfloat16: the engine gets the inputs rounded to bfloat16 (new bf16 leaves) and the
// reference the same rounded values; a bfloat16 output is seeded with W rounded to bfloat16
// (the reference gets that W), and bf16 outputs and gradients are compared in float32.
// Uses gtest assertions.
void check_op(const std::string& name, const std::vector<Input>& inputs, const EngineFn& engine,
              const ReferenceFn& reference, const ReferenceBackwardFn& reference_backward,
              std::mt19937_64& rng, const Tolerance& tolerance = {}, Device device = Device::cpu(),
              DType dtype = DType::Float32);

// The tolerance of a bfloat16 GEMM against the double reference fed the same bf16 inputs: each
// result is rounded once to bf16 (at most half a step, 2^-9 relative; 2^-8 allowed) after an
// fp32 accumulation (atol 1e-3 covers its error at the sweep's sizes, K <= 257, |values| <= 1).
inline constexpr Tolerance kBf16GemmTolerance{1e-3, 1.0 / 256};

// The cases check_op ran and skipped (a NotImplemented error: no kernel for the device and
// dtype, reported as "[ SKIP ]") since the tally was last reset; SWEEP resets it per op.
struct SweepTally {
  int ran = 0;
  int skipped = 0;
  int ran_bf16 = 0;  // of `ran`, the cases run in bfloat16
};
SweepTally& sweep_tally();
// Fails the current test unless `op` ran at least one case on sweep_device() and skipped none,
// where the op list (engine/ops/op_list.h) says the backend must implement it, and at least
// one of them in bfloat16 where the list says the op takes it.
void expect_swept(OpId op, const SweepTally& tally);

// Where check_op runs the cases that ask for the CPU: the CPU, or the GPU when the environment
// sets PA_SWEEP_DEVICE=cuda (the op sweep on the CUDA backend, tools/gpu_tests.sh).
Device sweep_device();

// A distinct, reproducible seed per case (override the base with PA_TEST_SEED=<n>).
uint64_t case_seed(const std::string& case_name);

}  // namespace pa::testing
