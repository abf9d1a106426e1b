// The denoising experiment (see denoising.h).
#include "experiments/denoising.h"

#include <filesystem>
#include <iomanip>
#include <limits>
#include <sstream>

#include "engine/autograd/node.h"
#include "engine/data/signals.h"
#include "engine/io/npy.h"
#include "engine/pa.h"
#include "engine/train/weights.h"
#include "experiments/common/checkpointing.h"

namespace pa::experiments {

nlohmann::json DenoisingConfig::to_json() const {
  return {{"common", common.to_json()}, {"model", model.to_json()}, {"optim", optim.to_json()},
          {"seq_len", seq_len},         {"eval_batch", eval_batch}, {"predictions", predictions}};
}

nlohmann::json run_denoising(const DenoisingConfig& config, Run& run) {
  const CommonFlags& flags = config.common;
  const int64_t S = config.seq_len, E = config.model.d_model;
  const Device device = run.device();
  // Three independent streams: initialisation, training batches, the held-out set.
  // Seeds mixed with distinct constants, so no stream of one seed is another seed's.
  Generator init_generator(flags.seed ^ 0x1a1a1a1a1a1a1a1aULL),
      data_generator(flags.seed ^ 0x2b2b2b2b2b2b2b2bULL),
      eval_generator(flags.seed ^ 0x3c3c3c3c3c3c3c3cULL);

  nn::DenoisingTransformer model(config.model.config(), config.model.layers, init_generator);
  model.to(device);
  AdamTrainer trainer(model.parameters(), flags.lr, config.optim, flags.steps);
  trainer.set_parameter_names(model.named_parameters());
  trainer.set_on_nan(parse_on_nan(flags.on_nan));
  // What a checkpoint holds besides model and optimizer: the streams still drawn from (the
  // training batches; the process-wide generator, which dropout draws from).
  Checkpointing checkpoints(run, flags, model, trainer,
                            {{"data", &data_generator}, {"default", &default_generator()}});

  const data::SignalBatch eval = data::denoising_batch(eval_generator, config.eval_batch, S, E);
  const Tensor eval_input = eval.input.to(device), eval_target = eval.target.to(device);
  const double copy_loss = mse_loss(eval.input, eval.target).item();  // the copy-the-input MSE

  auto evaluate = [&] {
    autograd::NoGradGuard no_grad;
    model.eval();
    const double loss = mse_loss(model.forward(eval_input), eval_target).item();
    model.train();
    return loss;
  };

  double best_eval = std::numeric_limits<double>::infinity(), last_eval = 0, train_loss = 0;
  int64_t best_step = 0;
  checkpoints.track("best_eval", best_eval);
  checkpoints.track("best_step", best_step);
  checkpoints.track("last_eval", last_eval);
  checkpoints.track("train_loss", train_loss);
  const int64_t resumed_step = checkpoints.resume();
  auto summary = [&]() -> nlohmann::json {
    return {{"final_eval_loss", last_eval},
            {"best_eval_loss", best_eval},
            {"best_step", best_step},
            {"final_train_loss", train_loss},
            {"copy_floor", data::kDenoisingCopyFloor},
            {"copy_loss_eval_set", copy_loss},
            {"ratio_to_floor", last_eval / data::kDenoisingCopyFloor},
            {"below_floor", last_eval < data::kDenoisingCopyFloor},
            {"skipped_steps", trainer.skipped_steps()},
            {"resumed_from_step", resumed_step},
            {"parameters", model.num_parameters()}};
  };

  run.start_progress(flags.steps);
  for (int64_t step = resumed_step + 1; step <= flags.steps; ++step) {
    const data::SignalBatch batch = data::denoising_batch(data_generator, flags.batch, S, E);
    const Tensor prediction = model.forward(batch.input.to(device));  // (B, S, E)
    const Tensor loss = mse_loss(prediction, batch.target.to(device));
    const double lr = trainer.lr();
    const double grad_norm = trainer.step(loss);
    train_loss = loss.item();
    if (step % flags.log_every == 0 || step == flags.steps || step == 1) {
      last_eval = evaluate();
      if (last_eval < best_eval) best_eval = last_eval, best_step = step;
      run.log({{"step", step},
               {"train_loss", train_loss},
               {"eval_loss", last_eval},
               {"copy_loss", copy_loss},
               {"lr", lr},
               {"grad_norm", grad_norm}});
      std::ostringstream status;
      status << std::fixed << std::setprecision(4) << "train " << train_loss << "  eval "
             << last_eval << "  (copy " << copy_loss << ")";
      run.progress().update(step, status.str());
    }
    checkpoints.after_step(step, summary);
  }

  // Example predictions for the figure, and the trained weights (PyTorch names).
  const int64_t K = std::min(config.predictions, config.eval_batch);
  if (K > 0) {
    autograd::NoGradGuard no_grad;
    model.eval();
    std::error_code error;
    std::filesystem::create_directories(run.path("predictions"), error);
    PA_CHECK(!error, "denoising",
             "cannot create " << run.path("predictions") << ": " << error.message(),
             "pass a writable --out folder");
    const Tensor predicted = model.forward(slice(eval_input, 0, 0, K)).to(Device::cpu());
    io::save_npy(run.path("predictions/noisy.npy"), slice(eval.input, 0, 0, K).contiguous());
    io::save_npy(run.path("predictions/clean.npy"), slice(eval.target, 0, 0, K).contiguous());
    io::save_npy(run.path("predictions/predicted.npy"), predicted.contiguous());
  }
  train::save_weights(run.path("model.safetensors"), model, {{"experiment", "denoising"}});

  const bool below_floor = last_eval < data::kDenoisingCopyFloor;
  std::ostringstream status;
  status << std::fixed << std::setprecision(4) << "eval MSE " << last_eval << " vs copy floor "
         << data::kDenoisingCopyFloor << (below_floor ? " (below)" : " (NOT below)");
  run.progress().finish(status.str());
  return run.finish(summary());
}

}  // namespace pa::experiments
