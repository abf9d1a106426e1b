// Learning-rate schedules (see schedule.h).
#include "engine/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace pa::optim {

namespace {

class StepLR : public Schedule {
 public:
  StepLR(int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {}
  double lr_at(int64_t step, double base_lr) const override {
    return base_lr * std::pow(gamma_, static_cast<double>(step / step_size_));
  }
  std::string describe() const override {
    std::ostringstream out;
    out << "step_lr(step_size=" << step_size_ << ", gamma=" << gamma_ << ")";
    return out.str();
  }

 private:
  int64_t step_size_;
  double gamma_;
};

double warmup_factor(int64_t step, int64_t warmup_steps) {
  if (warmup_steps <= 0 || step >= warmup_steps) return 1.0;
  return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
}

class LinearWarmup : public Schedule {
 public:
  explicit LinearWarmup(int64_t warmup_steps) : warmup_steps_(warmup_steps) {}
  double lr_at(int64_t step, double base_lr) const override {
    return base_lr * warmup_factor(step, warmup_steps_);
  }
  std::string describe() const override {
    return "linear_warmup(warmup_steps=" + std::to_string(warmup_steps_) + ")";
  }

 private:
  int64_t warmup_steps_;
};

class CosineWithWarmup : public Schedule {
 public:
  CosineWithWarmup(int64_t warmup_steps, int64_t total_steps, double min_lr)
      : warmup_steps_(warmup_steps), total_steps_(total_steps), min_lr_(min_lr) {}
  double lr_at(int64_t step, double base_lr) const override {
    if (step < warmup_steps_) return base_lr * warmup_factor(step, warmup_steps_);
    const double span = static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
    const double progress = std::clamp((step - warmup_steps_) / span, 0.0, 1.0);
    return min_lr_ + (base_lr - min_lr_) * 0.5 * (1.0 + std::cos(M_PI * progress));
  }
  std::string describe() const override {
    std::ostringstream out;
    out << "cosine_with_warmup(warmup_steps=" << warmup_steps_ << ", total_steps=" << total_steps_
        << ", min_lr=" << min_lr_ << ")";
    return out.str();
  }

 private:
  int64_t warmup_steps_, total_steps_;
  double min_lr_;
};

}  // namespace

std::unique_ptr<Schedule> step_lr(int64_t step_size, double gamma) {
  PA_CHECK(step_size > 0 && gamma > 0.0, "optim::step_lr",
           "step_size " << step_size << ", gamma " << gamma,
           "step_size must be positive and gamma > 0 (e.g. 100 and 0.5)");
  return std::make_unique<StepLR>(step_size, gamma);
}

std::unique_ptr<Schedule> linear_warmup(int64_t warmup_steps) {
  PA_CHECK(warmup_steps >= 0, "optim::linear_warmup", "warmup_steps " << warmup_steps,
           "use a non-negative number of warmup steps");
  return std::make_unique<LinearWarmup>(warmup_steps);
}

std::unique_ptr<Schedule> cosine_with_warmup(int64_t warmup_steps, int64_t total_steps,
                                             double min_lr) {
  PA_CHECK(
      warmup_steps >= 0 && total_steps > warmup_steps && min_lr >= 0.0, "optim::cosine_with_warmup",
      "warmup_steps " << warmup_steps << ", total_steps " << total_steps << ", min_lr " << min_lr,
      "need 0 <= warmup_steps < total_steps and min_lr >= 0");
  return std::make_unique<CosineWithWarmup>(warmup_steps, total_steps, min_lr);
}

LRScheduler::LRScheduler(Optimizer& optimizer, std::unique_ptr<Schedule> schedule)
    : optimizer_(optimizer), schedule_(std::move(schedule)), base_lr_(optimizer.lr()) {
  PA_CHECK(schedule_ != nullptr, "optim::LRScheduler", "the schedule is null",
           "pass step_lr(...), linear_warmup(...) or cosine_with_warmup(...)");
  optimizer_.set_lr(schedule_->lr_at(0, base_lr_));
}

void LRScheduler::step() { set_step_count(step_ + 1); }

void LRScheduler::set_step_count(int64_t step) {
  PA_CHECK(step >= 0, "optim::LRScheduler", "step count " << step, "use a non-negative step");
  step_ = step;
  optimizer_.set_lr(schedule_->lr_at(step_, base_lr_));
}

}  // namespace pa::optim
