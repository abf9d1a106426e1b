// The shared flag validators (see flags.h).
#include "cli/flags.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace pa::cli {
namespace {

// Reads a decimal integer as sign and magnitude; false unless `text` is one (an optional sign,
// then digits only) that fits 64 bits.
bool read_integer(const std::string& text, bool& negative, uint64_t& magnitude, bool& overflow) {
  size_t i = 0;
  negative = false;
  overflow = false;
  magnitude = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  if (i == text.size()) return false;
  if (text[i] == '0' && i + 1 < text.size()) return false;  // strtoll would read 010 as octal
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
    magnitude = magnitude * 10 + digit;
  }
  return true;
}

bool looks_fractional(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && std::isfinite(value);
}

std::string below_message(int64_t min) {
  if (min == 1) return "must be a positive whole number";
  if (min == 0) return "must be zero or more";
  return "must be at least " + std::to_string(min);
}

// "" when `value` is a whole number in [min, max]; otherwise the problem.
std::string check_whole(const std::string& value, int64_t min, uint64_t max) {
  bool negative = false, overflow = false;
  uint64_t magnitude = 0;
  if (!read_integer(value, negative, magnitude, overflow)) {
    return "must be a whole number, got " + value;
  }
  const std::string range_hint = "between " + std::to_string(min) + " and " + std::to_string(max);
  if (negative && magnitude != 0) {
    const uint64_t min_magnitude = min < 0 ? 0 - static_cast<uint64_t>(min) : 0;
    if (min >= 0 || overflow || magnitude > min_magnitude) {
      return below_message(min) + " (" + range_hint + "), got " + value;
    }
    return "";
  }
  if (overflow || magnitude > max) {
    return "must be at most " + std::to_string(max) + ", got " + value;
  }
  if (min > 0 && magnitude < static_cast<uint64_t>(min)) {
    return below_message(min) + ", got " + value;
  }
  return "";
}

CLI::Validator real_check(const std::string& name, double min, double max, bool open_min,
                          const std::string& requirement) {
  return CLI::Validator(
      [=](std::string& input) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(input.c_str(), &end);
        if (input.empty() || end != input.c_str() + input.size()) {
          return "must be a number, got " + input;
        }
        if (!std::isfinite(value)) return "must be a finite number, got " + input;
        if (value < min || value > max || (open_min && value == min)) {
          return "must be " + requirement + ", got " + input;
        }
        return "";
      },
      name);
}

}  // namespace

CLI::Validator whole_number(int64_t min, uint64_t max, const std::string& description) {
  const std::string name = !description.empty()
                               ? description
                               : "INT in " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        std::string problem = check_whole(input, min, max);
        if (problem.rfind("must be a whole number", 0) == 0 && looks_fractional(input)) {
          problem =
              "must be a whole number (decimal digits only: no fraction, exponent or "
              "leading zero), got " +
              input;
        }
        return problem;
      },
      name);
}

const CLI::Validator& positive_integer() {
  static const CLI::Validator check =
      whole_number(1, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "POSITIVE INT");
  return check;
}

const CLI::Validator& non_negative_integer() {
  static const CLI::Validator check = whole_number(
      0, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "NONNEGATIVE INT");
  return check;
}

const CLI::Validator& any_unsigned() {
  static const CLI::Validator check =
      whole_number(0, std::numeric_limits<uint64_t>::max(), "UINT64");
  return check;
}

const CLI::Validator& positive_number() {
  static const CLI::Validator check =
      real_check("POSITIVE", 0.0, std::numeric_limits<double>::max(), true, "a positive number");
  return check;
}

const CLI::Validator& non_negative_number() {
  static const CLI::Validator check =
      real_check("NONNEGATIVE", 0.0, std::numeric_limits<double>::max(), false, "zero or more");
  return check;
}

CLI::Validator number_in(double min, double max) {
  std::ostringstream from, to;
  from << min;
  to << max;
  return real_check("NUMBER in " + from.str() + " to " + to.str(), min, max, false,
                    "between " + from.str() + " and " + to.str());
}

std::optional<int64_t> parse_whole_number(const std::string& text, int64_t min, int64_t max,
                                          std::string* problem) {
  std::string value = text;
  const std::string found = whole_number(min, static_cast<uint64_t>(max))(value);
  if (!found.empty()) {
    if (problem != nullptr) *problem = found;
    return std::nullopt;
  }
  return std::stoll(value);
}

}  // namespace pa::cli
