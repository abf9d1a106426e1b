// Transformer and optimisation flags (see model_flags.h).
#include "experiments/common/model_flags.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "engine/autograd/anomaly.h"
#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "experiments/common/experiment.h"

namespace pa::experiments {

void TransformerFlags::add_to(CLI::App& app) {
  app.add_option("--d-model", d_model, "model width E (= signal channels)")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--nhead", nhead, "attention heads (must divide --d-model)")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--ff", dim_feedforward, "feed-forward hidden width")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--layers", layers, "encoder layers")
      ->check(positive_integer())
      ->capture_default_str();
  app.add_option("--norm", norm, "pre (LayerNorm before each block) or post (the thesis)")
      ->check(CLI::IsMember({"pre", "post"}))
      ->capture_default_str();
  app.add_option("--activation", activation, "relu, gelu, gelu_tanh, tanh, sigmoid")
      ->check(CLI::IsMember({"relu", "gelu", "gelu_tanh", "tanh", "sigmoid"}))
      ->capture_default_str();
  app.add_option("--dropout", dropout, "dropout probability")
      ->check(CLI::Validator(
          [](std::string& input) -> std::string {
            double value = 0;
            if (!CLI::detail::lexical_cast(input, value) || !(value >= 0.0 && value <= 0.99)) {
              return "must be a probability in [0, 0.99], got " + quote_input(input);
            }
            return "";
          },
          "[0, 0.99]"))
      ->capture_default_str();
}

std::string TransformerFlags::check(int64_t batch, int64_t seq_len) const {
  if (d_model % nhead != 0) {
    return "--nhead " + std::to_string(nhead) + " must divide --d-model " + std::to_string(d_model);
  }
  // Every float32 tensor the sizes give must have a byte count that fits 64 bits: a width such
  // as 2^30 would overflow it (the last entry of each shape is the 4 bytes of a float32).
  const std::pair<const char*, Shape> tensors[] = {
      {"the attention weight (3 * E, E)", {3, d_model, d_model, 4}},
      {"the feed-forward weight (--ff, E)", {dim_feedforward, d_model, 4}},
      {"the activations (--batch, S, E)", {batch, seq_len, d_model, 4}},
      {"the attention scores (--batch, --nhead, S, S)", {batch, nhead, seq_len, seq_len, 4}}};
  for (const auto& [name, shape] : tensors) {
    if (!numel_fits(shape)) {
      return "--d-model " + std::to_string(d_model) + ", --ff " + std::to_string(dim_feedforward) +
             ", --batch " + std::to_string(batch) + ", sequence length S " +
             std::to_string(seq_len) + ": " + name +
             " needs more bytes than a 64-bit size holds; use smaller sizes";
    }
  }
  return "";
}

nn::TransformerConfig TransformerFlags::config() const {
  nn::TransformerConfig config;
  config.d_model = d_model;
  config.nhead = nhead;
  config.dim_feedforward = dim_feedforward;
  config.activation = nn::parse_activation(activation);
  config.norm_first = norm == "pre";
  config.dropout = static_cast<float>(dropout);
  return config;
}

nlohmann::json TransformerFlags::to_json() const {
  return {{"d_model", d_model}, {"nhead", nhead}, {"dim_feedforward", dim_feedforward},
          {"layers", layers},   {"norm", norm},   {"activation", activation},
          {"dropout", dropout}};
}

void OptimFlags::add_to(CLI::App& app) {
  app.add_option("--schedule", schedule, "learning-rate schedule: none, cosine, step")
      ->check(CLI::IsMember(kScheduleNames))
      ->capture_default_str();
  app.add_option("--warmup", warmup, "warmup steps of the cosine schedule")
      ->check(non_negative_integer())
      ->capture_default_str();
  app.add_option("--clip", clip, "max gradient norm (0: no clipping)")
      ->check(non_negative_number())
      ->capture_default_str();
}

std::string OptimFlags::check(int64_t steps, const std::string& prefix) const {
  if (schedule == "cosine" && warmup >= steps) {
    return prefix + "warmup " + std::to_string(warmup) + " must be below --steps " +
           std::to_string(steps) + " for the cosine schedule";
  }
  return "";
}

nlohmann::json OptimFlags::to_json() const {
  return {{"schedule", schedule}, {"warmup", warmup}, {"clip", clip}};
}

namespace {

optim::AdamOptions adam_options(double lr, double weight_decay) {
  optim::AdamOptions options;
  options.lr = lr;
  options.weight_decay = static_cast<float>(weight_decay);
  return options;
}

}  // namespace

AdamTrainer::AdamTrainer(const std::vector<Tensor>& parameters, double lr, const OptimFlags& flags,
                         int64_t total_steps, double weight_decay)
    : optimizer_(parameters, adam_options(lr, weight_decay)), clip_(flags.clip) {
  if (auto schedule = make_schedule(flags.schedule, total_steps, flags.warmup)) {
    scheduler_ = std::make_unique<optim::LRScheduler>(optimizer_, std::move(schedule));
  }
}

const std::vector<std::string> kOnNanNames = {"stop", "skip"};

OnNan parse_on_nan(const std::string& name) {
  if (name == "stop") return OnNan::kStop;
  if (name == "skip") return OnNan::kSkip;
  PA_CHECK(false, "experiments::parse_on_nan", "unknown --on-nan policy '" << name << "'",
           "use stop or skip");
  return OnNan::kStop;
}

void AdamTrainer::set_parameter_names(const nn::NamedTensors& named) {
  names_.clear();
  for (const auto& [name, parameter] : named) names_[parameter.storage().get()] = name;
}

void AdamTrainer::resume_at(int64_t steps, int64_t skipped) {
  steps_ = steps;
  skipped_ = skipped;
  skipped_in_a_row_ = 0;
  if (scheduler_) scheduler_->set_step_count(steps);
}

void AdamTrainer::stop(const std::string& what) const {
  throw Error("experiments::AdamTrainer",
              "step " + std::to_string(steps_ + 1) + ": " + what + " (learning rate " +
                  std::to_string(lr()) + ")",
              "training diverged: lower --lr or turn on --clip; --on-nan skip drops such steps; "
              "the last checkpoint written, if any, is kept");
}

bool AdamTrainer::skip(const std::string& what) {
  if (on_nan_ == OnNan::kStop) stop(what);
  constexpr int64_t kMaxInARow = 10;
  ++skipped_;
  if (++skipped_in_a_row_ >= kMaxInARow) {
    stop(what + "; " + std::to_string(kMaxInARow) + " steps in a row were skipped");
  }
  optimizer_.zero_grad();
  if (scheduler_) scheduler_->step();
  ++steps_;
  return true;
}

double AdamTrainer::step(const Tensor& loss) {
  const float value = loss.item();
  if (!std::isfinite(value)) {
    std::ostringstream what;
    what << "the loss became " << value
         << "; first non-finite value: " << autograd::trace_non_finite(loss, names_);
    skip(what.str());
    return std::numeric_limits<double>::quiet_NaN();
  }
  optimizer_.zero_grad();
  loss.backward();
  // With clipping off the norm is still measured (an infinite max norm scales nothing).
  const double norm = optim::clip_grad_norm(
      optimizer_.parameters(), clip_ > 0 ? clip_ : std::numeric_limits<double>::infinity());
  if (!std::isfinite(norm)) {
    std::string where = "a parameter";
    const std::vector<Tensor>& parameters = optimizer_.parameters();
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (autograd::all_finite(parameters[i].grad())) continue;
      auto name = names_.find(parameters[i].storage().get());
      where = "parameter '" + (name != names_.end() ? name->second : "#" + std::to_string(i)) +
              "' " + shape_str(parameters[i].shape());
      break;
    }
    skip("the gradient norm became " + std::to_string(norm) +
         "; first non-finite gradient: " + where);
    return std::numeric_limits<double>::quiet_NaN();
  }
  optimizer_.step();
  if (scheduler_) scheduler_->step();
  ++steps_;
  skipped_in_a_row_ = 0;
  return norm;
}

}  // namespace pa::experiments
