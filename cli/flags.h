// Flag validators shared by every program's command line (CLI11), with plain messages that
// name the flag and the value: "--steps: must be a whole number, got 1.5". CLI11's own
// conversions clamp an integer beyond its type's range, wrap "-1" into an unsigned one and read
// "010" as octal, and its Range validator lets nan through: integer flags take whole_number()
// (decimal digits only, no leading zero, checked against the range before CLI11 converts it)
// and real flags one of the finite checks.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace pa::cli {

// A decimal integer (optional sign, digits, no leading zero) within [min, max]; `description` is
// what
// --help shows (default "INT in MIN to MAX").
CLI::Validator whole_number(int64_t min, uint64_t max, const std::string& description = "");
// whole_number over the rest of int64 (positive_integer: >= 1; non_negative_integer: >= 0).
const CLI::Validator& positive_integer();
const CLI::Validator& non_negative_integer();
// Any uint64 (seeds).
const CLI::Validator& any_unsigned();

// Finite real numbers: > 0, >= 0, or within [min, max].
const CLI::Validator& positive_number();
const CLI::Validator& non_negative_number();
CLI::Validator number_in(double min, double max);

// The integer `text` means, or nullopt when it is not a decimal integer within [min, max]
// (0 <= max);
// `problem` (if given) says why, e.g. "must be a whole number, got 1.5".
std::optional<int64_t> parse_whole_number(const std::string& text, int64_t min, int64_t max,
                                          std::string* problem = nullptr);

}  // namespace pa::cli
