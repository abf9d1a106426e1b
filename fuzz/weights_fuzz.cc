// Fuzz target: train::load_weights on arbitrary bytes, into a TransformerEncoderLayer
// (E 12, H 2, feed-forward 24, post-norm, relu: the golden case encoder_layer_post_relu's
// shapes), strict: the safetensors layer, then load_state_dict's name, shape and dtype checks.
// A pa::Error is the expected rejection; after weights load, a forward pass must run.
#include "engine/core/error.h"
#include "engine/nn/transformer.h"
#include "engine/pa.h"
#include "engine/train/weights.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pa::fuzz::MemoryFile file("weights");
  const std::string& path = file.write(data, size);
  pa::Generator generator(7);
  pa::nn::TransformerConfig config;
  config.d_model = 12;
  config.nhead = 2;
  config.dim_feedforward = 24;
  pa::nn::TransformerEncoderLayer model(config, generator);
  try {
    pa::train::load_weights(path, model);
    const pa::Tensor x = pa::randn({2, 3, 12}, generator);  // (B, S, E)
    model.forward(x);
  } catch (const pa::Error&) {
  }
  return 0;
}
