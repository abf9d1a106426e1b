// Learning-rate schedules: a schedule maps the step count to a learning rate, and
// LRScheduler applies it to an optimizer. Formulas (base = the optimizer's lr at construction):
//   StepLR:                base * gamma^floor(step / step_size)       (torch.optim.lr_scheduler)
//   LinearWarmup:          base * min(1, (step + 1) / warmup_steps)
//   CosineWithWarmup:      linear warmup as above, then
//                          min_lr + (base - min_lr) * (1 + cos(pi * progress)) / 2,
//                          progress = (step - warmup) / (total - warmup), clamped to [0, 1].
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/optim/optimizer.h"

namespace pa::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr_at(int64_t step, double base_lr) const = 0;
  virtual std::string describe() const = 0;
};

std::unique_ptr<Schedule> step_lr(int64_t step_size, double gamma);
std::unique_ptr<Schedule> linear_warmup(int64_t warmup_steps);
std::unique_ptr<Schedule> cosine_with_warmup(int64_t warmup_steps, int64_t total_steps,
                                             double min_lr = 0.0);

// Sets the optimizer's lr to schedule(step) at construction (step 0) and after every step().
class LRScheduler {
 public:
  LRScheduler(Optimizer& optimizer, std::unique_ptr<Schedule> schedule);
  void step();  // advances one step and updates the optimizer's lr
  int64_t step_count() const { return step_; }
  void set_step_count(int64_t step);  // for resuming from a checkpoint
  double base_lr() const { return base_lr_; }

 private:
  Optimizer& optimizer_;
  std::unique_ptr<Schedule> schedule_;
  double base_lr_;
  int64_t step_ = 0;
};

}  // namespace pa::optim
