// Checkpoints: model parameters, optimizer state, the step count and RNG states in one
// safetensors file, written atomically (temporary file, fsync, rename), so that a crash never
// leaves a torn checkpoint. Loading into the same model and optimizer and continuing gives a
// bit-identical continuation on the CPU.
//
// File layout: tensors "model.<parameter name>" (PyTorch's names), "optimizer.<key>"
// (Optimizer::state_tensors), "rng.<name>" (int64 (4): a generator's xoshiro state);
// metadata "format" = "pureattention-checkpoint-v1", "step", "optimizer.<key>"
// (Optimizer::state_scalars) and any caller-supplied "extra.<key>".
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/core/rng.h"
#include "engine/nn/module.h"
#include "engine/optim/optimizer.h"

namespace pa::train {

// The generators a run draws from, by name; the process-wide one by default.
using Generators = std::map<std::string, Generator*>;
Generators default_generators();

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, int64_t step,
                     const Generators& generators = default_generators(),
                     const std::map<std::string, std::string>& extra = {});

struct LoadedCheckpoint {
  int64_t step = 0;
  std::map<std::string, std::string> extra;
};

// Restores model, optimizer and generators in place. Throws pa::Error (op
// "train::load_checkpoint") naming the file and the entry for a file that is not a checkpoint,
// a missing generator, or any model/optimizer mismatch; nothing is modified when the model or
// optimizer state does not fit.
LoadedCheckpoint load_checkpoint(const std::string& path, nn::Module& model,
                                 optim::Optimizer& optimizer,
                                 const Generators& generators = default_generators());

// The caller-supplied "extra" metadata of a checkpoint, read without loading it into a model
// (a run of several trainings learns from it which one to continue). Throws pa::Error (op
// "train::load_checkpoint") for a file that is not a checkpoint, as load_checkpoint does.
std::map<std::string, std::string> checkpoint_extra(const std::string& path);

}  // namespace pa::train
