// Checkpoints: round trip, bit-exact resume (N steps straight == N/2, save, load into a fresh
// model and optimizer, N/2), the extra metadata read without a model, and clear errors for
// truncated, foreign and mismatched files.
#include "engine/train/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "engine/io/safetensors.h"
#include "engine/nn/transformer.h"
#include "engine/pa.h"
#include "engine/tests/test_util.h"

namespace pa::train {
namespace {

using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;

namespace fs = std::filesystem;

nn::TransformerConfig config(int64_t d_model = 8) {
  nn::TransformerConfig c;
  c.d_model = d_model;
  c.nhead = 2;
  c.dim_feedforward = 16;
  c.dropout = 0.1f;  // exercises the generator state
  return c;
}

// A training run whose randomness (init, dropout, data) comes from two generators.
struct TrainingRun {
  explicit TrainingRun(uint64_t seed, int64_t d_model = 8)
      : model_generator(seed),
        data_generator(seed + 1),
        model(config(d_model), 2, model_generator),
        adam(model.parameters(), optim::AdamOptions()) {}
  float step() {
    adam.zero_grad();
    const Tensor x = randn({2, 5, model.head->in_features()}, data_generator);
    const Tensor loss = mse_loss(model(x), x * 0.5f);
    loss.backward();
    adam.step();
    return loss.item();
  }
  Generators generators() { return {{"model", &model_generator}, {"data", &data_generator}}; }
  std::vector<float> flat_parameters() const {
    std::vector<float> all;
    for (const Tensor& p : model.parameters()) {
      const std::vector<float> values = p.to_vector();
      all.insert(all.end(), values.begin(), values.end());
    }
    return all;
  }
  Generator model_generator, data_generator;
  nn::DenoisingTransformer model;
  optim::Adam adam;
};

TEST(Checkpoint, ResumeIsBitIdentical) {
  const int N = 8;
  TrainingRun straight(1);
  std::vector<float> straight_losses;
  for (int i = 0; i < N; ++i) straight_losses.push_back(straight.step());

  const std::string path = temp_path("resume.safetensors");
  std::vector<float> resumed_losses;
  {
    TrainingRun first(1);
    for (int i = 0; i < N / 2; ++i) resumed_losses.push_back(first.step());
    save_checkpoint(path, first.model, first.adam, N / 2, first.generators(), {{"note", "half"}});
  }
  TrainingRun second(
      99);  // different init, different generator states: all must come from the file
  const LoadedCheckpoint loaded =
      load_checkpoint(path, second.model, second.adam, second.generators());
  EXPECT_EQ(loaded.step, N / 2);
  EXPECT_EQ(loaded.extra.at("note"), "half");
  for (int i = N / 2; i < N; ++i) resumed_losses.push_back(second.step());
  EXPECT_EQ(resumed_losses, straight_losses);  // bit-identical
  EXPECT_EQ(second.flat_parameters(), straight.flat_parameters());
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST(Checkpoint, FileHoldsModelOptimizerStepAndRng) {
  TrainingRun run(2);
  run.step();
  const std::string path = temp_path("contents.safetensors");
  save_checkpoint(path, run.model, run.adam, 1, run.generators());
  const io::NamedTensors contents = io::load_safetensors(path);
  EXPECT_EQ(contents.metadata.at("format"), "pureattention-checkpoint-v1");
  EXPECT_EQ(contents.metadata.at("step"), "1");
  EXPECT_EQ(contents.metadata.at("optimizer.optimizer"), "Adam");
  EXPECT_EQ(contents.metadata.at("optimizer.state.0.step"), "1");
  EXPECT_EQ(contents.tensors.count("model.encoder.layers.0.self_attn.in_proj_weight"), 1u);
  EXPECT_EQ(contents.tensors.count("optimizer.state.0.exp_avg_sq"), 1u);
  EXPECT_EQ(contents.tensors.at("rng.data").dtype(), DType::Int64);
}

TEST(Checkpoint, ExtraIsReadWithoutAModel) {
  TrainingRun run(9);
  const std::string path = temp_path("extra.safetensors");
  save_checkpoint(path, run.model, run.adam, 2, run.generators(), {{"training", "3"}});
  EXPECT_EQ(checkpoint_extra(path), (std::map<std::string, std::string>{{"training", "3"}}));
  const std::string foreign = temp_path("extra_foreign.safetensors");
  io::save_safetensors(foreign, {{{"x", ones({2})}}, {{"extra.training", "3"}}});
  EXPECT_TRUE(ThrowsPaError([&] { checkpoint_extra(foreign); },
                            {"train::load_checkpoint", "not a PureAttention checkpoint"}));
}

TEST(Checkpoint, TruncatedFileIsAClearError) {
  TrainingRun run(3);
  const std::string path = temp_path("truncated.safetensors");
  save_checkpoint(path, run.model, run.adam, 0, run.generators());
  fs::resize_file(path, fs::file_size(path) - 100);
  EXPECT_TRUE(ThrowsPaError([&] { load_checkpoint(path, run.model, run.adam, run.generators()); },
                            {"truncated.safetensors", "Hint:"}));
}

TEST(Checkpoint, ForeignFileIsNotACheckpoint) {
  TrainingRun run(4);
  const std::string path = temp_path("foreign.safetensors");
  io::save_safetensors(path, {{{"x", ones({2})}}, {{"module", "Linear"}}});
  EXPECT_TRUE(ThrowsPaError([&] { load_checkpoint(path, run.model, run.adam, run.generators()); },
                            {"train::load_checkpoint", "not a PureAttention checkpoint", "Hint:"}));
}

TEST(Checkpoint, MismatchedModelNamesTheTensorAndChangesNothing) {
  TrainingRun small(5, 8), large(6, 12);
  small.step();
  large.step();
  const std::string path = temp_path("small.safetensors");
  save_checkpoint(path, small.model, small.adam, 1, small.generators());
  const std::vector<float> before = large.flat_parameters();
  const auto adam_before = large.adam.state_tensors().at("state.0.exp_avg").to_vector();
  const auto rng_before = large.data_generator.state();
  EXPECT_TRUE(
      ThrowsPaError([&] { load_checkpoint(path, large.model, large.adam, large.generators()); },
                    {"state.0.exp_avg", "(24, 8)", "(36, 12)"}));
  EXPECT_EQ(large.flat_parameters(), before);
  EXPECT_EQ(large.adam.state_tensors().at("state.0.exp_avg").to_vector(), adam_before);
  EXPECT_EQ(large.data_generator.state(), rng_before);
}

TEST(Checkpoint, MissingGeneratorAndBadStepAreNamed) {
  TrainingRun run(7);
  const std::string path = temp_path("generators.safetensors");
  save_checkpoint(path, run.model, run.adam, 3, {{"model", &run.model_generator}});
  EXPECT_TRUE(ThrowsPaError([&] { load_checkpoint(path, run.model, run.adam, run.generators()); },
                            {"rng.data", "Hint:"}));
  io::NamedTensors contents = io::load_safetensors(path);
  contents.metadata["step"] = "three";
  io::save_safetensors(path, contents);
  EXPECT_TRUE(ThrowsPaError(
      [&] {
        load_checkpoint(path, run.model, run.adam, {{"model", &run.model_generator}});
      },
      {"'step'", "three"}));
}

TEST(Checkpoint, UnwritableDirectoryLeavesNoFile) {
  TrainingRun run(8);
  const std::string path = temp_path("no/such/dir/ckpt.safetensors");
  EXPECT_THROW(save_checkpoint(path, run.model, run.adam, 0, run.generators()), Error);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace pa::train
