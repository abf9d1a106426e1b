// PyTorch interop of weight files: the parameters PyTorch recorded for a 2-layer encoder
// (reference/pytorch/cases/encoder_2layer.safetensors, names straight from its state_dict) load
// into the engine's TransformerEncoder, and the engine saves under exactly those names.
#include "engine/train/weights.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/nn/transformer.h"
#include "engine/tests/test_util.h"

namespace pa::train {
namespace {

using ::pa::testing::temp_path;

io::NamedTensors recorded_case() {
  return io::load_safetensors(
      ::pa::testing::runfile("reference/pytorch/cases/encoder_2layer.safetensors"));
}

// The state dict PyTorch recorded: the case's "param.<name>" tensors under "<name>".
std::map<std::string, Tensor> pytorch_state(const io::NamedTensors& recorded) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : recorded.tensors) {
    if (name.rfind("param.", 0) == 0) state[name.substr(6)] = value;
  }
  return state;
}

nn::TransformerConfig encoder_config(const io::NamedTensors& recorded) {
  const auto config = nlohmann::json::parse(recorded.metadata.at("config"));
  nn::TransformerConfig c;
  c.d_model = config.at("d_model");
  c.nhead = config.at("nhead");
  c.dim_feedforward = config.at("dim_feedforward");
  return c;
}

TEST(Weights, PyTorchStateDictLoadsAndSavesUnderTheSameNames) {
  const io::NamedTensors recorded = recorded_case();
  const std::map<std::string, Tensor> state = pytorch_state(recorded);
  ASSERT_EQ(state.size(), 24u);
  const std::string pytorch_file = temp_path("pytorch_weights.safetensors");
  io::save_safetensors(pytorch_file, {state, {{"framework", "pt"}}});

  nn::TransformerEncoder encoder(encoder_config(recorded), 2);
  EXPECT_EQ(load_weights(pytorch_file, encoder).at("framework"), "pt");
  for (const auto& [name, value] : encoder.named_parameters()) {
    EXPECT_EQ(value.to_vector(), state.at(name).to_vector()) << name;
  }

  const std::string engine_file = temp_path("engine_weights.safetensors");
  save_weights(engine_file, encoder, {{"source", "pureattention"}});
  const io::NamedTensors saved = io::load_safetensors(engine_file);
  ASSERT_EQ(saved.tensors.size(), state.size());
  for (const auto& [name, value] : state) {
    ASSERT_EQ(saved.tensors.count(name), 1u) << name;
    EXPECT_EQ(saved.tensors.at(name).shape(), value.shape()) << name;
    EXPECT_EQ(saved.tensors.at(name).to_vector(), value.to_vector()) << name;
  }
}

TEST(Weights, WrongModelListsEveryProblem) {
  const io::NamedTensors recorded = recorded_case();
  const std::string file = temp_path("pytorch_weights_2.safetensors");
  io::save_safetensors(file, {pytorch_state(recorded), {}});
  nn::TransformerEncoder one_layer(encoder_config(recorded), 1);
  try {
    load_weights(file, one_layer);
    FAIL() << "a 1-layer encoder accepted 2-layer weights";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("12 problem(s)"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected: layers.1.linear1.weight"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(load_weights(file, one_layer, /*strict=*/false));
}

}  // namespace
}  // namespace pa::train
