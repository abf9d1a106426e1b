// The sine inversion experiment (see sine_inversion.h).
#include "experiments/sine_inversion.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/data/signals.h"
#include "engine/pa.h"
#include "experiments/common/checkpointing.h"

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

// One training of the experiment: the run it belongs to, its optimisation and its seed.
struct Training {
  std::string name;  // "baseline" or "fixed"
  OptimFlags optim;
  uint64_t seed;
};

// What one training ends with; while it runs, its loop state.
struct TrainingResult {
  double final_loss = 0, best_loss = std::numeric_limits<double>::infinity();
  int64_t plateau_steps = 0, first_step_below_plateau = -1;
};

// Trains trainings[index] from the initialisation of its seed into results[index], logging its
// rows under its run's name. Its checkpoints hold which training runs and the results of all
// of them so far; with `resume` it continues from the checkpoint. At Ctrl-C the summary is
// `summarize(index)`: the trainings finished before this one.
void train_one(const SineInversionConfig& config, const std::vector<Training>& trainings,
               int64_t index, std::vector<TrainingResult>& results, const data::SignalBatch& batch,
               bool resume, const std::function<nlohmann::json(int64_t)>& summarize, Run& run) {
  const CommonFlags& flags = config.common;
  const Training& training = trainings[index];
  Generator init_generator(training.seed);
  std::shared_ptr<nn::Module> model;
  if (config.head) {
    model = std::make_shared<nn::DenoisingTransformer>(config.model.config(), config.model.layers,
                                                       init_generator);
  } else {
    model = std::make_shared<nn::TransformerEncoder>(config.model.config(), config.model.layers,
                                                     init_generator);
  }
  model->to(run.device());
  AdamTrainer trainer(model->parameters(), flags.lr, training.optim, flags.steps);
  trainer.set_parameter_names(model->named_parameters());
  trainer.set_on_nan(parse_on_nan(flags.on_nan));
  const Tensor input = batch.input.to(run.device()), target = batch.target.to(run.device());
  // The batch is fixed; dropout draws from the process-wide generator.
  Checkpointing checkpoints(run, flags, *model, trainer, {{"default", &default_generator()}});
  int64_t running = index;
  checkpoints.track("training", running);
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string key = "result." + std::to_string(i) + ".";
    checkpoints.track(key + "final_loss", results[i].final_loss);
    checkpoints.track(key + "best_loss", results[i].best_loss);
    checkpoints.track(key + "plateau_steps", results[i].plateau_steps);
    checkpoints.track(key + "first_step_below_plateau", results[i].first_step_below_plateau);
  }
  const int64_t resumed_step = resume ? checkpoints.resume() : 0;
  auto summary = [&] {
    nlohmann::json partial = summarize(index);
    partial["interrupted_training"] = {{"run", training.name}, {"seed", training.seed}};
    return partial;
  };

  TrainingResult& result = results[index];
  run.start_progress(flags.steps,
                     "sine_inversion " + training.name + " seed " + std::to_string(training.seed));
  for (int64_t step = resumed_step + 1; step <= flags.steps; ++step) {
    const Tensor loss = mse_loss(model->forward(input), target);
    const double lr = trainer.lr();
    const double grad_norm = trainer.step(loss);
    result.final_loss = loss.item();
    result.best_loss = std::min(result.best_loss, result.final_loss);
    if (std::abs(result.final_loss - config.plateau) <= config.plateau_band) {
      ++result.plateau_steps;
    }
    if (result.first_step_below_plateau < 0 &&
        result.final_loss < config.plateau - config.plateau_band) {
      result.first_step_below_plateau = step;
    }
    if (step % flags.log_every == 0 || step == flags.steps || step == 1) {
      run.log({{"run", training.name},
               {"seed", training.seed},
               {"step", step},
               {"loss", result.final_loss},
               {"lr", lr},
               {"grad_norm", grad_norm}});
      std::ostringstream status;
      status << std::fixed << std::setprecision(4) << "loss " << result.final_loss;
      run.progress().update(step, status.str());
    }
    checkpoints.after_step(step, summary);
  }
  std::ostringstream status;
  status << std::fixed << std::setprecision(4) << "final loss " << result.final_loss << ", "
         << result.plateau_steps << " steps on the plateau";
  run.progress().finish(status.str());
}

}  // namespace

nlohmann::json run_sine_inversion(const SineInversionConfig& config, Run& run) {
  const data::SignalBatch batch =
      data::inversion_batch(config.common.batch, config.seq_len, config.model.d_model);
  OptimFlags baseline;
  baseline.schedule = "none";
  baseline.clip = 0.0;
  const std::vector<std::pair<std::string, OptimFlags>> runs = {{"baseline", baseline},
                                                                {"fixed", config.fix}};
  // Every seed of the baseline run, then every seed of the fixed run.
  std::vector<Training> trainings;
  for (const auto& [name, optim] : runs) {
    for (int64_t r = 0; r < config.repeats; ++r) {
      trainings.push_back({name, optim, config.common.seed + r});
    }
  }
  std::vector<TrainingResult> results(trainings.size());
  const double target_mean_square = mse_loss(batch.target, zeros(batch.target.shape())).item();

  // The summary of the first `done` trainings, with the counts the README quotes per run.
  auto summarize = [&](int64_t done) -> nlohmann::json {
    auto run_summary = [&](const std::string& name, const OptimFlags& optim) -> nlohmann::json {
      nlohmann::json seeds = nlohmann::json::array();
      int64_t ended_on_plateau = 0, escaped = 0;
      for (int64_t i = 0; i < done; ++i) {
        if (trainings[i].name != name) continue;
        const TrainingResult& result = results[i];
        seeds.push_back({{"seed", trainings[i].seed},
                         {"final_loss", result.final_loss},
                         {"best_loss", result.best_loss},
                         {"plateau_steps", result.plateau_steps},
                         {"first_step_below_plateau", result.first_step_below_plateau}});
        ended_on_plateau += std::abs(result.final_loss - config.plateau) <= config.plateau_band;
        escaped += result.final_loss < config.escaped_below;
      }
      return {{"schedule", optim.schedule},
              {"warmup", optim.warmup},
              {"clip", optim.clip},
              {"seeds", seeds},
              {"ended_on_plateau", ended_on_plateau},
              {"escaped", escaped}};
    };
    nlohmann::json summary = {{"plateau", config.plateau},
                              {"repeats", config.repeats},
                              {"escaped_below", config.escaped_below},
                              {"target_mean_square", target_mean_square}};
    for (const auto& [name, optim] : runs) summary[name] = run_summary(name, optim);
    return summary;
  };

  // With --resume, the checkpoint's training continues; the ones before it are done. One
  // CtrlCGuard across all trainings, so that a Ctrl-C between two of them is not lost.
  CtrlCGuard ctrl_c;
  const int64_t first = Checkpointing::saved_integer(run, config.common, "training");
  PA_CHECK(first >= 0 && first < static_cast<int64_t>(trainings.size()), "sine_inversion",
           "the checkpoint names training " << first << " of " << trainings.size(),
           "the checkpoint is damaged; pass --overwrite to start over");
  for (int64_t index = first; index < static_cast<int64_t>(trainings.size()); ++index) {
    train_one(config, trainings, index, results, batch, /*resume=*/index == first, summarize, run);
  }
  return run.finish(summarize(static_cast<int64_t>(trainings.size())));
}

}  // namespace pa::experiments
