// The least-squares experiment (see least_squares.h).
#include "experiments/least_squares.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "engine/nn/layers.h"
#include "engine/pa.h"
#include "experiments/common/checkpointing.h"

namespace pa::experiments {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

MatrixD to_eigen(const Tensor& tensor, int64_t rows, int64_t cols) {
  const std::vector<float> values = tensor.to_vector();
  MatrixD matrix(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) matrix.data()[i] = values[i];
  return matrix;
}

// argmin over (W, b) of |X W^T + 1 b^T - Y|^2: append a column of ones to X and solve with a
// column-pivoting QR (no normal equations, so no squared condition number).
struct ClosedForm {
  MatrixD weight;  // (out, in)
  MatrixD bias;    // (1, out)
  double loss;     // the MSE it reaches on the batch
};

ClosedForm solve_least_squares(const MatrixD& x, const MatrixD& y) {
  const int64_t n = x.rows(), in = x.cols();
  MatrixD design(n, in + 1);  // (N, in + 1)
  design << x, Eigen::VectorXd::Ones(n);
  const MatrixD theta = design.colPivHouseholderQr().solve(y);  // (in + 1, out)
  ClosedForm solution;
  solution.weight = theta.topRows(in).transpose();
  solution.bias = theta.bottomRows(1);
  solution.loss = (design * theta - y).squaredNorm() / static_cast<double>(y.size());
  return solution;
}

}  // namespace

nlohmann::json LeastSquaresConfig::to_json() const {
  return {{"common", common.to_json()}, {"inputs", inputs},
          {"outputs", outputs},         {"noise", noise},
          {"optim", optim.to_json()},   {"tolerance", tolerance}};
}

nlohmann::json run_least_squares(const LeastSquaresConfig& config, Run& run) {
  const CommonFlags& flags = config.common;
  const int64_t n = flags.batch, in = config.inputs, out = config.outputs;
  Generator generator(flags.seed);

  // The one batch: X (N, in) ~ N(0, 1), y = X W_true^T + b_true + noise.
  const Tensor x = randn({n, in}, generator);              // (N, in)
  const Tensor true_weight = randn({out, in}, generator);  // (out, in)
  const Tensor true_bias = randn({out}, generator);        // (out)
  const Tensor noise = mul(randn({n, out}, generator), static_cast<float>(config.noise));
  const Tensor y = add(add(matmul(x, transpose(true_weight, 0, 1)), true_bias), noise);  // (N, out)
  const ClosedForm best = solve_least_squares(to_eigen(x, n, in), to_eigen(y, n, out));

  nn::Linear model(in, out, true, generator);
  model.to(run.device());
  const Tensor x_dev = x.to(run.device()), y_dev = y.to(run.device());
  AdamTrainer trainer(model.parameters(), flags.lr, config.optim, flags.steps);
  trainer.set_parameter_names(model.named_parameters());
  trainer.set_on_nan(parse_on_nan(flags.on_nan));

  auto distance = [&] {
    const MatrixD weight = to_eigen(model.weight.to(Device::cpu()), out, in);
    const MatrixD bias = to_eigen(model.bias.to(Device::cpu()), 1, out);
    return std::array<double, 3>{(weight - best.weight).cwiseAbs().maxCoeff(),
                                 (bias - best.bias).cwiseAbs().maxCoeff(),
                                 (weight - best.weight).norm()};
  };

  // Nothing in the loop draws random numbers (the batch is fixed): no generators to save.
  Checkpointing checkpoints(run, flags, model, trainer, /*generators=*/{});
  double loss_value = 0;
  checkpoints.track("loss", loss_value);
  const int64_t resumed_step = checkpoints.resume();
  auto summary = [&]() -> nlohmann::json {
    const auto [weight_diff, bias_diff, weight_distance] = distance();
    return {{"final_loss", loss_value},
            {"closed_form_loss", best.loss},
            {"weight_max_abs_diff", weight_diff},
            {"bias_max_abs_diff", bias_diff},
            {"weight_distance", weight_distance},
            {"tolerance", config.tolerance},
            {"converged", weight_diff <= config.tolerance && bias_diff <= config.tolerance}};
  };

  run.start_progress(flags.steps);
  for (int64_t step = resumed_step + 1; step <= flags.steps; ++step) {
    const Tensor loss = mse_loss(model.forward(x_dev), y_dev);
    const double lr = trainer.lr();
    trainer.step(loss);
    loss_value = loss.item();
    if (step % flags.log_every == 0 || step == flags.steps || step == 1) {
      const auto [weight_diff, bias_diff, weight_distance] = distance();
      run.log({{"step", step},
               {"loss", loss_value},
               {"closed_form_loss", best.loss},
               {"weight_max_abs_diff", weight_diff},
               {"bias_max_abs_diff", bias_diff},
               {"weight_distance", weight_distance},
               {"lr", lr}});
      std::ostringstream status;
      status << std::scientific << std::setprecision(2) << "loss " << loss_value << "  |W-W*| "
             << weight_diff;
      run.progress().update(step, status.str());
    }
    checkpoints.after_step(step, summary);
  }
  const nlohmann::json result = summary();
  std::ostringstream status;
  status << (result["converged"].get<bool>() ? "converged" : "NOT converged") << ": max |W-W*| "
         << std::scientific << std::setprecision(2) << result["weight_max_abs_diff"].get<double>()
         << ", max |b-b*| " << result["bias_max_abs_diff"].get<double>();
  run.progress().finish(status.str());
  return run.finish(result);
}

}  // namespace pa::experiments
