// Checked size arithmetic (see checked.h).
#include "engine/core/checked.h"

#include "engine/core/error.h"

namespace pa {

namespace {

constexpr const char* kTooLargeHint =
    "the sizes are far beyond any memory; check the shape, the flags or the file header they "
    "came from";

[[noreturn]] void fail_shape(const std::vector<int64_t>& shape, const std::string& op,
                             const std::string& what, const std::string& problem) {
  throw Error(op, what + " " + shape_str(shape) + ", " + problem, kTooLargeHint);
}

void check_non_negative(int64_t a, int64_t b, const std::string& op, const std::string& what) {
  PA_CHECK(a >= 0 && b >= 0, op, what << ": negative size in " << a << ", " << b,
           "sizes must be >= 0");
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const std::string& op, const std::string& what) {
  check_non_negative(a, b, op, what);
  int64_t product = 0;
  PA_CHECK(!__builtin_mul_overflow(a, b, &product), op,
           what << ": " << a << " * " << b << " does not fit a 64-bit size", kTooLargeHint);
  return product;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& op, const std::string& what) {
  check_non_negative(a, b, op, what);
  int64_t sum = 0;
  PA_CHECK(!__builtin_add_overflow(a, b, &sum), op,
           what << ": " << a << " + " << b << " does not fit a 64-bit size", kTooLargeHint);
  return sum;
}

bool numel_fits(const std::vector<int64_t>& shape) {
  int64_t nonzero_product = 1;
  for (int64_t size : shape) {
    if (size < 0 ||
        __builtin_mul_overflow(nonzero_product, size == 0 ? 1 : size, &nonzero_product)) {
      return false;
    }
  }
  return true;
}

int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& op,
                      const std::string& what) {
  if (!numel_fits(shape)) {
    for (int64_t size : shape) {
      PA_CHECK(size >= 0, op, what << " " << shape_str(shape) << " has a negative size",
               "sizes must be >= 0");
    }
    fail_shape(shape, op, what, "more elements than a 64-bit count holds");
  }
  int64_t count = 1;
  for (int64_t size : shape) count *= size;
  return count;
}

int64_t checked_bytes(const std::vector<int64_t>& shape, size_t element_size, const std::string& op,
                      const std::string& what) {
  const int64_t numel = checked_numel(shape, op, what);
  int64_t bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<int64_t>(element_size), &bytes)) {
    fail_shape(shape, op, what,
               std::to_string(numel) + " elements of " + std::to_string(element_size) +
                   " bytes: more bytes than a 64-bit size holds");
  }
  return bytes;
}

}  // namespace pa
