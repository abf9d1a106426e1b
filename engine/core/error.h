// pa::Error: the one exception type the engine throws for bad input. Every message names the
// op, the shapes/dtypes/devices involved and a hint, e.g.
//   pa::matmul: inner dims differ: a (3, 4) vs b (5, 2). Hint: a's last dim must equal b's
//   second-to-last dim; transpose one of them?
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pa {

class Error : public std::runtime_error {
 public:
  Error(const std::string& op, const std::string& what, const std::string& hint = "");
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

// An op reached a device and dtype it has no kernel for (engine/ops/dispatch.h): the message
// names the op, the device and the dtype. A pa::Error, so callers that catch Error catch it.
class NotImplemented : public Error {
 public:
  using Error::Error;
};

// "(3, 4)" for {3, 4}; "()" for a 0-d shape.
std::string shape_str(const std::vector<int64_t>& shape);

// User data (a CSV field, a file's header, a tensor name, a flag's value) as it goes into a
// message: in single quotes, at most `max_bytes` bytes of it, then "... (N bytes)" when longer,
// so a 50 MB field cannot flood the message; NUL, control characters, invalid UTF-8, quotes and
// backslashes escaped (\x00, \n, \', \\), so the message is never cut or garbled. Valid UTF-8
// text stays as it is: quote_input("größe") is 'größe'.
std::string quote_input(std::string_view text, size_t max_bytes = 40);

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
