// Checkpoint save/load (see checkpoint.h).
#include "engine/train/checkpoint.h"

#include <cstring>

#include "engine/io/safetensors.h"

namespace pa::train {

namespace {

constexpr const char* kFormat = "pureattention-checkpoint-v1";
constexpr const char* kLoadOp = "train::load_checkpoint";

std::map<std::string, Tensor> strip(const std::map<std::string, Tensor>& tensors,
                                    const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, value] : tensors) {
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = value;
  }
  return out;
}

// The metadata "extra.<key>" entries of a checkpoint file's contents, once its format is checked.
std::map<std::string, std::string> checked_extra(const io::NamedTensors& contents,
                                                 const std::string& path) {
  auto format = contents.metadata.find("format");
  PA_CHECK(format != contents.metadata.end() && format->second == kFormat, kLoadOp,
           path << " is not a PureAttention checkpoint (metadata 'format' is "
                << (format == contents.metadata.end() ? std::string("absent")
                                                      : quote_input(format->second))
                << ")",
           "pass a file written by train::save_checkpoint");
  std::map<std::string, std::string> extra;
  for (const auto& [key, value] : contents.metadata) {
    if (key.rfind("extra.", 0) == 0) extra[key.substr(6)] = value;
  }
  return extra;
}

}  // namespace

Generators default_generators() { return {{"default", &default_generator()}}; }

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, int64_t step, const Generators& generators,
                     const std::map<std::string, std::string>& extra) {
  io::NamedTensors contents;
  for (const auto& [name, value] : model.state_dict()) contents.tensors["model." + name] = value;
  for (const auto& [key, value] : optimizer.state_tensors()) {
    contents.tensors["optimizer." + key] = value;
  }
  for (const auto& [name, generator] : generators) {
    const std::array<uint64_t, 4> state = generator->state();
    Tensor words = empty({4}, TensorOptions().with_dtype(DType::Int64));
    std::memcpy(words.data<int64_t>(), state.data(), sizeof(state));
    contents.tensors["rng." + name] = words;
  }
  contents.metadata["format"] = kFormat;
  contents.metadata["step"] = std::to_string(step);
  for (const auto& [key, value] : optimizer.state_scalars()) {
    contents.metadata["optimizer." + key] = value;
  }
  for (const auto& [key, value] : extra) contents.metadata["extra." + key] = value;
  io::save_safetensors(path, contents);
}

LoadedCheckpoint load_checkpoint(const std::string& path, nn::Module& model,
                                 optim::Optimizer& optimizer, const Generators& generators) {
  const io::NamedTensors contents = io::load_safetensors(path);
  LoadedCheckpoint loaded;
  loaded.extra = checked_extra(contents, path);
  auto step = contents.metadata.find("step");
  try {
    PA_CHECK(step != contents.metadata.end(), kLoadOp, path << ": metadata lacks 'step'",
             "the checkpoint is damaged; use an earlier one");
    size_t used = 0;
    loaded.step = std::stoll(step->second, &used);
    PA_CHECK(used == step->second.size() && loaded.step >= 0, kLoadOp,
             path << ": metadata 'step' = " << quote_input(step->second),
             "the checkpoint is damaged; use an earlier one");
  } catch (const std::logic_error&) {
    throw Error(kLoadOp,
                path + ": metadata 'step' = " + quote_input(step->second) + " is not a number",
                "the checkpoint is damaged; use an earlier one");
  }
  std::map<std::string, std::array<uint64_t, 4>> states;
  for (const auto& [name, generator] : generators) {
    auto found = contents.tensors.find("rng." + name);
    PA_CHECK(found != contents.tensors.end(), kLoadOp,
             path << ": lacks tensor 'rng." << name << "' (generator '" << name << "')",
             "resume with the generators the run was saved with");
    PA_CHECK(found->second.dtype() == DType::Int64 && found->second.shape() == Shape({4}), kLoadOp,
             path << ": tensor 'rng." << name << "' is " << shape_str(found->second.shape()) << " "
                  << dtype_name(found->second.dtype()),
             "a generator state is int64 (4)");
    std::memcpy(states[name].data(), found->second.data<int64_t>(), sizeof(states[name]));
  }
  std::map<std::string, std::string> scalars;
  for (const auto& [key, value] : contents.metadata) {
    if (key.rfind("optimizer.", 0) == 0) scalars[key.substr(10)] = value;
  }
  // Both loads validate everything before they change anything; if the model's fails after
  // the optimizer's succeeded, the optimizer's previous state is put back.
  const std::map<std::string, Tensor> previous_tensors = optimizer.state_tensors();
  const std::map<std::string, std::string> previous_scalars = optimizer.state_scalars();
  optimizer.load_state(strip(contents.tensors, "optimizer."), scalars);
  try {
    model.load_state_dict(strip(contents.tensors, "model."));
  } catch (const Error&) {
    optimizer.load_state(previous_tensors, previous_scalars);
    throw;
  }
  for (const auto& [name, generator] : generators) generator->set_state(states.at(name));
  return loaded;
}

std::map<std::string, std::string> checkpoint_extra(const std::string& path) {
  return checked_extra(io::load_safetensors(path), path);
}

}  // namespace pa::train
