// Oracle comparison helpers for the op sweep.
#include "engine/tests/oracle_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace pa::testing {

Input random_input(const Shape& shape, std::mt19937_64& rng, double low, double high,
                   bool differentiable) {
  std::uniform_real_distribution<double> uniform(low, high);
  std::vector<float> values(shape_numel(shape));
  for (float& v : values) v = static_cast<float>(uniform(rng));
  Input input;
  input.tensor = from_vector(values, shape);
  if (differentiable) input.tensor.set_requires_grad(true);
  input.array = to_array(input.tensor);
  input.differentiable = differentiable;
  return input;
}

Input random_mask(const Shape& shape, std::mt19937_64& rng, double ones_fraction) {
  std::bernoulli_distribution bit(ones_fraction);
  std::vector<float> values(shape_numel(shape));
  for (float& v : values) v = bit(rng) ? 1.0f : 0.0f;
  Input input;
  input.tensor = from_vector(values, shape);
  input.array = to_array(input.tensor);
  input.differentiable = false;
  return input;
}

ref::Array to_array(const Tensor& tensor) {
  ref::Array array;
  array.shape = tensor.shape();
  for (float v : tensor.to_vector()) array.data.push_back(v);
  return array;
}

Tensor to_tensor(const ref::Array& array) {
  std::vector<float> values(array.data.begin(), array.data.end());
  return from_vector(values, array.shape);
}

std::string compare(const std::string& what, const Tensor& actual, const ref::Array& expected,
                    const Tolerance& tolerance) {
  std::ostringstream out;
  if (!actual.defined()) return what + ": no tensor (gradient missing?)";
  if (actual.shape() != expected.shape) {
    out << what << ": shape " << shape_str(actual.shape()) << " but the reference has "
        << shape_str(expected.shape);
    return out.str();
  }
  const std::vector<float> values = actual.dtype() == DType::Float32
                                        ? actual.to_vector()
                                        : to_dtype(actual.detach(), DType::Float32).to_vector();
  double worst_excess = 0.0;
  int64_t worst = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == expected.data[i]) continue;  // equal, infinities included
    const double error = std::abs(values[i] - expected.data[i]);
    const double allowed = tolerance.atol + tolerance.rtol * std::abs(expected.data[i]);
    const bool bad = !(error <= allowed);  // NaN fails
    if (bad && (worst < 0 || !(error - allowed <= worst_excess))) {
      worst = static_cast<int64_t>(i);
      worst_excess = error - allowed;
    }
  }
  if (worst < 0) return "";
  out << what << ": worst element at flat index " << worst << " of " << shape_str(expected.shape)
      << ": engine " << values[worst] << " vs reference " << expected.data[worst]
      << " (|diff| = " << std::abs(values[worst] - expected.data[worst]) << ", atol "
      << tolerance.atol << ", rtol " << tolerance.rtol << ")";
  return out.str();
}

Device sweep_device() {
  const char* text = std::getenv("PA_SWEEP_DEVICE");
  return text != nullptr && std::string(text) == "cuda" ? Device::cuda(0) : Device::cpu();
}

SweepTally& sweep_tally() {
  static SweepTally tally;
  return tally;
}

void expect_swept(OpId op, const SweepTally& tally) {
  const Device device = sweep_device();
  if ((op_backends(op) & (device.is_cpu() ? kCpuOnly : kCudaOnly)) == 0) return;
  EXPECT_GT(tally.ran, 0) << op_name(op) << " ran no sweep case on " << device.str()
                          << ", a backend the op list says must run it";
  EXPECT_EQ(tally.skipped, 0) << op_name(op) << " skipped " << tally.skipped << " sweep case(s) on "
                              << device.str() << ", a backend the op list says must run it";
  if (op_takes_bf16(op)) {
    EXPECT_GT(tally.ran_bf16, 0) << op_name(op) << " ran no bfloat16 sweep case on " << device.str()
                                 << ", a dtype the op list says it takes";
  }
}

namespace {
void run_case(const std::string& name, const std::vector<Input>& inputs, const EngineFn& engine,
              const ReferenceFn& reference, const ReferenceBackwardFn& reference_backward,
              std::mt19937_64& rng, const Tolerance& tolerance, Device device, DType dtype);
}  // namespace

void check_op(const std::string& name, const std::vector<Input>& inputs, const EngineFn& engine,
              const ReferenceFn& reference, const ReferenceBackwardFn& reference_backward,
              std::mt19937_64& rng, const Tolerance& tolerance, Device requested, DType dtype) {
  const Device device = requested.is_cpu() ? sweep_device() : requested;
  // A backend without a kernel for the op says so with the one typed error: the case is
  // reported and counted as skipped (expect_swept fails a required op that skips), never passed.
  try {
    run_case(name, inputs, engine, reference, reference_backward, rng, tolerance, device, dtype);
    ++sweep_tally().ran;
    if (dtype == DType::BFloat16) ++sweep_tally().ran_bf16;
  } catch (const NotImplemented& error) {
    ++sweep_tally().skipped;
    const std::string what = error.what();
    std::cout << "[ SKIP ] " << name << " on " << device.str() << ": "
              << what.substr(0, what.find('\n')) << std::endl;
  }
}

namespace {

void run_case(const std::string& name, const std::vector<Input>& inputs, const EngineFn& engine,
              const ReferenceFn& reference, const ReferenceBackwardFn& reference_backward,
              std::mt19937_64& rng, const Tolerance& tolerance, Device device, DType dtype) {
  SCOPED_TRACE(name + " on " + device.str() + " in " + dtype_name(dtype));
  std::vector<Tensor> tensors;
  std::vector<ref::Array> arrays;
  for (const Input& input : inputs) {
    Tensor tensor = input.tensor;
    ref::Array array = input.array;
    if (dtype != DType::Float32) {
      tensor = to_dtype(input.tensor.detach(), dtype).to(device);  // a new leaf
      array = ref::round_bf16(array);
      if (input.differentiable) tensor.set_requires_grad(true);
    } else if (device != tensor.device()) {
      tensor = input.tensor.detach().to(device);
      if (input.differentiable) tensor.set_requires_grad(true);
    }
    tensors.push_back(tensor);
    arrays.push_back(array);
  }
  const std::vector<Tensor> outputs = engine(tensors);
  const std::vector<ref::Array> expected = reference(arrays);
  ASSERT_EQ(outputs.size(), expected.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string message =
        compare(name + " forward output " + std::to_string(i), outputs[i], expected[i], tolerance);
    EXPECT_TRUE(message.empty()) << message;
  }
  if (!reference_backward) return;

  // L = sum_i sum(out_i * W_i): every output element carries its own weight.
  std::vector<ref::Array> weights;
  std::vector<Tensor> weight_tensors;
  for (const Tensor& output : outputs) {
    const Input weight = random_input(output.shape(), rng, -1.0, 1.0, false);
    if (output.dtype() == DType::BFloat16) {  // a bf16 output takes a bf16 gradient
      weights.push_back(ref::round_bf16(weight.array));
      weight_tensors.push_back(to_dtype(weight.tensor, DType::BFloat16).to(device));
    } else {
      weights.push_back(weight.array);
      weight_tensors.push_back(weight.tensor.to(device));
    }
  }
  for (Tensor& t : tensors) {
    if (t.requires_grad()) t.zero_grad();
  }
  if (outputs.size() == 1) {
    outputs[0].backward(weight_tensors[0]);
  } else {
    Tensor loss = sum(mul(outputs[0], weight_tensors[0]));
    for (size_t i = 1; i < outputs.size(); ++i) {
      loss = add(loss, sum(mul(outputs[i], weight_tensors[i])));
    }
    loss.backward();
  }
  const std::vector<ref::Array> grads = reference_backward(arrays, weights);
  size_t next = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].differentiable) continue;
    ASSERT_LT(next, grads.size()) << "reference returned too few gradients";
    const std::string message = compare(name + " gradient of input " + std::to_string(i),
                                        tensors[i].grad(), grads[next++], tolerance);
    EXPECT_TRUE(message.empty()) << message;
  }
}

}  // namespace

uint64_t case_seed(const std::string& case_name) {
  uint64_t base = 0x9a7e5eedULL;
  if (const char* text = std::getenv("PA_TEST_SEED")) base = std::strtoull(text, nullptr, 10);
  return base ^ std::hash<std::string>{}(case_name);
}

}  // namespace pa::testing
