// pa::Error formatting.
#include "engine/core/error.h"

namespace pa {

namespace {
std::string format_message(const std::string& op, const std::string& what,
                           const std::string& hint) {
  std::string message = "pa::" + op + ": " + what;
  if (!hint.empty()) message += ". Hint: " + hint;
  return message;
}
}  // namespace

Error::Error(const std::string& op, const std::string& what, const std::string& hint)
    : std::runtime_error(format_message(op, what, hint)), op_(op) {}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + ")";
}

}  // namespace pa
