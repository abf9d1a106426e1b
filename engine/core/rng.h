// Generator: a seeded xoshiro256** stream. Same seed, same numbers on every machine; the whole
// state is four words, so checkpoints can save and restore it exactly.
#pragma once

#include <array>
#include <cstdint>

namespace pa {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  float uniform();  // [0, 1)
  float normal();   // standard normal (Box-Muller)
  std::array<uint64_t, 4> state() const { return state_; }
  void set_state(const std::array<uint64_t, 4>& state) { state_ = state; }

 private:
  std::array<uint64_t, 4> state_{};
};

// The process-wide generator used when an op is not handed one.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace pa
