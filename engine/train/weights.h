// Model weights as a plain safetensors file under PyTorch's names: the file a PyTorch user gets
// from `safetensors.torch.save_file(model.state_dict(), path)` loads into the matching engine
// module, and save_weights writes one that `model.load_state_dict(load_file(path))` accepts.
#pragma once

#include <map>
#include <string>

#include "engine/nn/module.h"

namespace pa::train {

// Writes every parameter and buffer (float32) atomically, with optional string metadata.
void save_weights(const std::string& path, const nn::Module& model,
                  const std::map<std::string, std::string>& metadata = {});

// Loads a file written by save_weights or by PyTorch; errors (op "nn::load_state_dict") list
// every missing, unexpected or mis-shaped name. Returns the file's metadata.
std::map<std::string, std::string> load_weights(const std::string& path, nn::Module& model,
                                                bool strict = true);

}  // namespace pa::train
