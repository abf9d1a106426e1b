// Plain weight files under PyTorch's names (see weights.h).
#include "engine/train/weights.h"

#include "engine/io/safetensors.h"

namespace pa::train {

void save_weights(const std::string& path, const nn::Module& model,
                  const std::map<std::string, std::string>& metadata) {
  io::NamedTensors contents;
  contents.metadata = metadata;
  for (const auto& [name, value] : model.state_dict()) contents.tensors[name] = value;
  io::save_safetensors(path, contents);
}

std::map<std::string, std::string> load_weights(const std::string& path, nn::Module& model,
                                                bool strict) {
  io::NamedTensors contents = io::load_safetensors(path);
  model.load_state_dict(contents.tensors, strict);
  return contents.metadata;
}

}  // namespace pa::train
