// pa::Error: the one exception type the engine throws for bad input. Every message names the
// op, the shapes/dtypes/devices involved and a hint, e.g.
//   pa::matmul: inner dims differ: a (3, 4) vs b (5, 2). Hint: a's last dim must equal b's
//   second-to-last dim; transpose one of them?
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pa {

class Error : public std::runtime_error {
 public:
  Error(const std::string& op, const std::string& what, const std::string& hint = "");
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

// "(3, 4)" for {3, 4}; "()" for a 0-d shape.
std::string shape_str(const std::vector<int64_t>& shape);

// Throws pa::Error unless `cond`; `what` and `hint` are stream expressions:
//   PA_CHECK(n > 0, "split", "chunk size " << n, "use a positive chunk size");
#define PA_CHECK(cond, op, what, hint)                                     \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::ostringstream pa_check_what_, pa_check_hint_;                   \
      pa_check_what_ << what;                                              \
      pa_check_hint_ << hint;                                              \
      throw ::pa::Error((op), pa_check_what_.str(), pa_check_hint_.str()); \
    }                                                                      \
  } while (0)

}  // namespace pa
