// The California Housing experiment (see housing.h): data, the linear baseline in closed form,
// the MLP's training loop and the summary.
#include "experiments/housing.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>

#include "engine/autograd/node.h"
#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/data/batching.h"
#include "engine/data/housing.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "experiments/common/checkpointing.h"

namespace pa::experiments {

namespace {

constexpr const char* kOp = "experiments::housing";
// --seed is mixed with these to seed the initialisation and the minibatch order; the split
// uses --seed itself (the same split as data::load_housing with that seed).
constexpr uint64_t kInitStream = 0x696e6974'00000001ULL;
constexpr uint64_t kBatchStream = 0x62617463'00000002ULL;

struct Errors {
  double train_mse, val_mse, test_mse;
  nlohmann::json to_json() const {
    return {{"train_mse", train_mse},         {"val_mse", val_mse},
            {"test_mse", test_mse},           {"train_rmse", std::sqrt(train_mse)},
            {"val_rmse", std::sqrt(val_mse)}, {"test_rmse", std::sqrt(test_mse)}};
  }
};

// [features | 1] of a split, in double: the design matrix of least squares with an intercept.
Eigen::MatrixXd design_matrix(const data::HousingSplit& split) {
  const std::vector<float> features = split.features.to_vector();  // (N, F)
  const Eigen::Index rows = split.features.size(0), columns = split.features.size(1);
  Eigen::MatrixXd design(rows, columns + 1);  // (N, F + 1)
  design.leftCols(columns) =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          features.data(), rows, columns)
          .cast<double>();
  design.col(columns).setOnes();
  return design;
}

Eigen::VectorXd target_vector(const data::HousingSplit& split) {
  const std::vector<float> targets = split.targets.to_vector();  // (N, 1)
  return Eigen::Map<const Eigen::VectorXf>(targets.data(), split.rows()).cast<double>();
}

double mean_squared_error(const Eigen::MatrixXd& design, const Eigen::VectorXd& weights,
                          const Eigen::VectorXd& targets) {
  return (design * weights - targets).squaredNorm() / static_cast<double>(targets.size());
}

// Ordinary least squares with an intercept, solved by a complete orthogonal decomposition: the
// five one-hot columns sum to the intercept column, so the design matrix has rank F, not F + 1,
// and the minimum-norm solution is the well-defined one.
struct LinearFit {
  Errors errors;
  nlohmann::json weights;  // by feature name, plus "intercept"
  int64_t rank;            // of the design matrix
};

LinearFit fit_linear_regression(const data::HousingData& data) {
  const Eigen::MatrixXd train = design_matrix(data.train);  // (N_train, F + 1)
  const Eigen::VectorXd train_targets = target_vector(data.train);
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> decomposition(train);
  const Eigen::VectorXd weights = decomposition.solve(train_targets);  // (F + 1)
  LinearFit fit;
  fit.errors = {mean_squared_error(train, weights, train_targets),
                mean_squared_error(design_matrix(data.val), weights, target_vector(data.val)),
                mean_squared_error(design_matrix(data.test), weights, target_vector(data.test))};
  for (size_t i = 0; i < data.feature_names.size(); ++i) {
    fit.weights[data.feature_names[i]] = weights(static_cast<Eigen::Index>(i));
  }
  fit.weights["intercept"] = weights(weights.size() - 1);
  fit.rank = decomposition.rank();
  return fit;
}

// The MLP's mean squared error over a whole split.
double evaluate(nn::Module& model, const data::HousingSplit& split, Device device) {
  autograd::NoGradGuard no_grad;
  const Tensor predictions = model(split.features.to(device));  // (N, 1)
  return mse_loss(predictions, split.targets.to(device)).item();
}

std::string fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

// The MLP and what its training loop saw.
struct TrainedMlp {
  std::shared_ptr<nn::Sequential> model;
  std::vector<int64_t> layer_sizes;
  double final_train_loss = 0.0;  // mean batch loss over the last logging interval
  double final_val_loss = 0.0;
  double best_val_loss = std::numeric_limits<double>::infinity();
  int64_t best_val_step = 0;
};

// Trains the MLP on minibatches of the training split with Adam (and the schedule), logging a
// metrics row every --log-every steps and at the last step; checkpoints, resumes and stops at
// Ctrl-C through Checkpointing, writing `summarize(the MLP so far)` as the summary.
TrainedMlp train_mlp(const HousingConfig& config, const data::HousingData& data, Run& run,
                     const std::function<nlohmann::json(const TrainedMlp&)>& summarize) {
  const CommonFlags& flags = config.common;
  PA_CHECK(
      flags.batch <= data.train.rows(), kOp,
      "--batch " << flags.batch << " is larger than the " << data.train.rows() << " training rows",
      "use a smaller --batch (the default is " << HousingConfig().common.batch << ")");
  TrainedMlp trained;
  trained.layer_sizes = {data::kHousingFeatures};
  trained.layer_sizes.insert(trained.layer_sizes.end(), config.hidden.begin(), config.hidden.end());
  trained.layer_sizes.push_back(1);
  Generator init_generator(flags.seed ^ kInitStream);
  trained.model = nn::mlp(trained.layer_sizes, nn::Activation::ReLU, init_generator);
  nn::Module& model = *trained.model;
  model.to(run.device());
  AdamTrainer trainer(model.parameters(), flags.lr, config.optim, flags.steps, config.weight_decay);
  trainer.set_parameter_names(model.named_parameters());
  trainer.set_on_nan(parse_on_nan(flags.on_nan));
  data::RowBatcher batches(data.train.features, data.train.targets, flags.batch,
                           flags.seed ^ kBatchStream);
  // Nothing else in the loop draws random numbers: a resumed run replays the minibatch order
  // (RowBatcher::skip) instead of saving generators.
  Checkpointing checkpoints(run, flags, model, trainer, /*generators=*/{});
  double loss_sum = 0.0;
  int64_t losses = 0;
  checkpoints.track("loss_sum", loss_sum);
  checkpoints.track("losses", losses);
  checkpoints.track("final_train_loss", trained.final_train_loss);
  checkpoints.track("final_val_loss", trained.final_val_loss);
  checkpoints.track("best_val_loss", trained.best_val_loss);
  checkpoints.track("best_val_step", trained.best_val_step);
  const int64_t resumed_step = checkpoints.resume();
  batches.skip(resumed_step);
  auto describe = [&] {
    return "train " + fixed(trained.final_train_loss, 4) + " val " +
           fixed(trained.final_val_loss, 4);
  };
  std::string status = resumed_step >= flags.log_every ? describe() : "";
  train::Progress& progress = run.start_progress(flags.steps);
  for (int64_t step = resumed_step + 1; step <= flags.steps; ++step) {
    auto [features, targets] = batches.next();                            // (B, F), (B, 1)
    const Tensor predictions = model(features.to(run.device()));          // (B, 1)
    const Tensor loss = mse_loss(predictions, targets.to(run.device()));  // ()
    const double batch_loss = loss.item();
    const double lr = trainer.lr();  // the rate of this step
    trainer.step(loss);
    loss_sum += batch_loss;
    ++losses;

    if (step % flags.log_every == 0 || step == flags.steps) {
      trained.final_train_loss = loss_sum / static_cast<double>(losses);
      trained.final_val_loss = evaluate(model, data.val, run.device());
      loss_sum = 0.0;
      losses = 0;
      if (trained.final_val_loss < trained.best_val_loss) {
        trained.best_val_loss = trained.final_val_loss;
        trained.best_val_step = step;
      }
      run.log({{"step", step},
               {"train_loss", trained.final_train_loss},
               {"val_loss", trained.final_val_loss},
               {"lr", lr}});
      status = describe();
    }
    if (step < flags.steps) progress.update(step, status);
    checkpoints.after_step(step, [&] { return summarize(trained); });
  }
  progress.finish(status);
  return trained;
}

}  // namespace

nlohmann::json HousingConfig::to_json() const {
  nlohmann::json json = common.to_json();
  json["data"] = data;
  json["verify_checksum"] = verify_checksum;
  json["hidden"] = hidden;
  json["optim"] = optim.to_json();
  json["weight_decay"] = weight_decay;
  json["val_fraction"] = val_fraction;
  json["test_fraction"] = test_fraction;
  return json;
}

std::string check_housing_config(const HousingConfig& config) {
  if (config.hidden.empty()) return "--hidden: give at least one hidden layer width, e.g. 64,64";
  for (int64_t width : config.hidden) {
    if (width <= 0) return "--hidden: width " + std::to_string(width) + " is not positive";
  }
  if (auto problem = config.optim.check(config.common.steps); !problem.empty()) return problem;
  if (!(config.weight_decay >= 0.0)) return "--weight-decay: must be >= 0";
  if (!(config.val_fraction > 0.0 && config.test_fraction > 0.0 &&
        config.val_fraction + config.test_fraction < 1.0)) {
    std::ostringstream problem;
    problem << "--val-fraction " << config.val_fraction << " and --test-fraction "
            << config.test_fraction << ": each must be > 0 and their sum below 1";
    return problem.str();
  }
  return "";
}

nlohmann::json run_housing(const HousingConfig& config, Run& run) {
  const std::string problem = check_housing_config(config);
  PA_CHECK(problem.empty(), kOp, problem, "see `housing --help` for the settings");
  const CommonFlags& flags = config.common;
  const std::string path =
      config.data.empty() ? default_data_path(kCaliforniaHousing) : config.data;
  if (config.verify_checksum) verify_data_file(path, kCaliforniaHousing);

  const data::HousingData data =
      data::load_housing(path, {flags.seed, config.val_fraction, config.test_fraction});
  run.add_data_file("california_housing", path);

  const LinearFit linear = fit_linear_regression(data);
  auto summarize = [&](const TrainedMlp& trained) -> nlohmann::json {
    nn::Module& model = *trained.model;
    const Errors mlp = {evaluate(model, data.train, run.device()), trained.final_val_loss,
                        evaluate(model, data.test, run.device())};
    nlohmann::json categories = nlohmann::json::object();
    for (size_t i = 0; i < data::kHousingCategories.size(); ++i) {
      categories[data::kHousingCategories[i]] = data.category_counts[i];
    }
    nlohmann::json mlp_json = mlp.to_json();
    mlp_json["layer_sizes"] = trained.layer_sizes;
    mlp_json["parameters"] = model.num_parameters();
    mlp_json["final_train_loss"] = trained.final_train_loss;
    mlp_json["best_val_loss"] = trained.best_val_loss;
    mlp_json["best_val_step"] = trained.best_val_step;
    nlohmann::json linear_json = linear.errors.to_json();
    linear_json["weights"] = linear.weights;
    linear_json["design_rank"] = linear.rank;
    return {
        {"rows", data.rows},
        {"imputed_total_bedrooms", data.imputed_total_bedrooms},
        {"total_bedrooms_median", data.total_bedrooms_median},
        {"split",
         {{"train", data.train.rows()}, {"val", data.val.rows()}, {"test", data.test.rows()}}},
        {"categories", categories},
        {"feature_names", data.feature_names},
        {"numeric_means", data.numeric_means},
        {"numeric_stds", data.numeric_stds},
        {"steps", flags.steps},
        {"mlp", mlp_json},
        {"linear", linear_json},
        {"beats_linear", mlp.test_mse < linear.errors.test_mse},
    };
  };
  return run.finish(summarize(train_mlp(config, data, run, summarize)));
}

}  // namespace pa::experiments
