// The sine inversion experiment (see sine_inversion.h).
#include "experiments/sine_inversion.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "engine/data/signals.h"
#include "engine/pa.h"

namespace pa::experiments {

nlohmann::json SineInversionConfig::to_json() const {
  return {{"common", common.to_json()},
          {"model", model.to_json()},
          {"fix", fix.to_json()},
          {"seq_len", seq_len},
          {"head", head},
          {"repeats", repeats},
          {"escaped_below", escaped_below},
          {"plateau", plateau},
          {"plateau_band", plateau_band}};
}

namespace {

// One training run from the initialisation of `seed`; logs its rows under `name`.
nlohmann::json train_one(const SineInversionConfig& config, const OptimFlags& optim,
                         const std::string& name, uint64_t seed, const data::SignalBatch& batch,
                         Run& run) {
  const CommonFlags& flags = config.common;
  Generator init_generator(seed);
  std::shared_ptr<nn::Module> model;
  if (config.head) {
    model = std::make_shared<nn::DenoisingTransformer>(config.model.config(), config.model.layers,
                                                       init_generator);
  } else {
    model = std::make_shared<nn::TransformerEncoder>(config.model.config(), config.model.layers,
                                                     init_generator);
  }
  model->to(run.device());
  AdamTrainer trainer(model->parameters(), flags.lr, optim, flags.steps);
  trainer.set_parameter_names(model->named_parameters());
  trainer.set_on_nan(parse_on_nan(flags.on_nan));
  const Tensor input = batch.input.to(run.device()), target = batch.target.to(run.device());

  run.start_progress(flags.steps, "sine_inversion " + name + " seed " + std::to_string(seed));
  double loss_value = 0, best = std::numeric_limits<double>::infinity();
  int64_t plateau_steps = 0, first_below_plateau = -1;
  for (int64_t step = 1; step <= flags.steps; ++step) {
    const Tensor loss = mse_loss(model->forward(input), target);
    const double lr = trainer.lr();
    const double grad_norm = trainer.step(loss);
    loss_value = loss.item();
    best = std::min(best, loss_value);
    if (std::abs(loss_value - config.plateau) <= config.plateau_band) ++plateau_steps;
    if (first_below_plateau < 0 && loss_value < config.plateau - config.plateau_band) {
      first_below_plateau = step;
    }
    if (step % flags.log_every == 0 || step == flags.steps || step == 1) {
      run.log({{"run", name},
               {"seed", seed},
               {"step", step},
               {"loss", loss_value},
               {"lr", lr},
               {"grad_norm", grad_norm}});
      std::ostringstream status;
      status << std::fixed << std::setprecision(4) << "loss " << loss_value;
      run.progress().update(step, status.str());
    }
  }
  std::ostringstream status;
  status << std::fixed << std::setprecision(4) << "final loss " << loss_value << ", "
         << plateau_steps << " steps on the plateau";
  run.progress().finish(status.str());
  return {{"seed", seed},
          {"final_loss", loss_value},
          {"best_loss", best},
          {"plateau_steps", plateau_steps},
          {"first_step_below_plateau", first_below_plateau}};
}

// All seeds of one run kind, with the counts the README quotes.
nlohmann::json train_all(const SineInversionConfig& config, const OptimFlags& optim,
                         const std::string& name, const data::SignalBatch& batch, Run& run) {
  nlohmann::json seeds = nlohmann::json::array();
  int64_t ended_on_plateau = 0, escaped = 0;
  for (int64_t r = 0; r < config.repeats; ++r) {
    seeds.push_back(train_one(config, optim, name, config.common.seed + r, batch, run));
    const double final_loss = seeds.back()["final_loss"].get<double>();
    ended_on_plateau += std::abs(final_loss - config.plateau) <= config.plateau_band;
    escaped += final_loss < config.escaped_below;
  }
  return {{"schedule", optim.schedule},
          {"warmup", optim.warmup},
          {"clip", optim.clip},
          {"seeds", seeds},
          {"ended_on_plateau", ended_on_plateau},
          {"escaped", escaped}};
}

}  // namespace

nlohmann::json run_sine_inversion(const SineInversionConfig& config, Run& run) {
  const data::SignalBatch batch =
      data::inversion_batch(config.common.batch, config.seq_len, config.model.d_model);
  OptimFlags baseline;
  baseline.schedule = "none";
  baseline.clip = 0.0;
  const nlohmann::json baseline_summary = train_all(config, baseline, "baseline", batch, run);
  const nlohmann::json fixed_summary = train_all(config, config.fix, "fixed", batch, run);
  return run.finish(
      {{"baseline", baseline_summary},
       {"fixed", fixed_summary},
       {"plateau", config.plateau},
       {"repeats", config.repeats},
       {"escaped_below", config.escaped_below},
       {"target_mean_square", mse_loss(batch.target, zeros(batch.target.shape())).item()}});
}

}  // namespace pa::experiments
