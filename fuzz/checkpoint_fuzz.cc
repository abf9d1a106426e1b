// Fuzz target: train::load_checkpoint on arbitrary bytes, into a Linear(4, 3) with Adam and one
// generator ("default"): the safetensors layer, then the checkpoint's own checks (format, step,
// generator states, optimizer scalars and buffers, model parameters). A pa::Error is the
// expected rejection; after a checkpoint loads, one training step must run.
#include "engine/core/error.h"
#include "engine/nn/layers.h"
#include "engine/optim/optimizer.h"
#include "engine/pa.h"
#include "engine/train/checkpoint.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pa::fuzz::MemoryFile file("checkpoint");
  const std::string& path = file.write(data, size);
  pa::Generator generator(7);
  pa::nn::Linear model(4, 3, true, generator);
  pa::optim::Adam optimizer(model.parameters(), pa::optim::AdamOptions{});
  try {
    pa::train::load_checkpoint(path, model, optimizer, {{"default", &generator}});
    const pa::Tensor x = pa::randn({2, 4}, generator);  // (B, in_features)
    optimizer.zero_grad();
    pa::mean(pa::pow(model.forward(x), 2.0f)).backward();
    optimizer.step();
  } catch (const pa::Error&) {
  }
  return 0;
}
