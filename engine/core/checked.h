// Checked size arithmetic: every element count, byte count and file offset that comes from a
// shape, a file header or a flag is multiplied and added through these, so that a size too large
// for int64 is a pa::Error naming the op, the sizes and a hint, never a wrapped count (a huge
// tensor given a few bytes) or an allocator that loops forever. Negative sizes are errors too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pa {

// a * b and a + b for sizes >= 0; a pa::Error from `op` when either is negative or the result
// does not fit int64: "<what>: 1073741824 * 8589934592 does not fit a 64-bit size".
int64_t checked_mul(int64_t a, int64_t b, const std::string& op, const std::string& what);
int64_t checked_add(int64_t a, int64_t b, const std::string& op, const std::string& what);

// The element count of `shape`; a pa::Error from `op` naming the shape for a negative dim or a
// count beyond int64. The dims other than zeros must multiply to a 64-bit count too (as NumPy
// asks), so that the strides of an empty tensor are countable as well. `what` introduces the
// shape in the message: "pa::add: broadcasting (4294967296, 1) with (1, 4294967296) gives shape
// (4294967296, 4294967296), more elements than a 64-bit count holds".
int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& op,
                      const std::string& what = "shape");

// Whether checked_numel(shape) returns (no negative size, a countable product), for callers that
// build their message only when it does not.
bool numel_fits(const std::vector<int64_t>& shape);

// checked_numel(shape) * element_size, the bytes of a contiguous tensor, checked the same way.
int64_t checked_bytes(const std::vector<int64_t>& shape, size_t element_size, const std::string& op,
                      const std::string& what = "shape");

}  // namespace pa
