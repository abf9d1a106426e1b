// .npy writer and reader (the format is described in npy.h). The header dict is parsed by a
// small hand-written parser that accepts what NumPy writes: quoted keys in any order, True or
// False, an integer tuple (with Python 2's "L" suffixes), spaces anywhere, a trailing comma.
#include "engine/io/npy.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/io/file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              ".npy data is little-endian ('<') and is copied as host memory");

namespace pa::io {

namespace {

constexpr const char* kSaveOp = "io::save_npy";
constexpr const char* kLoadOp = "io::load_npy";
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kAlignment = 64;  // NumPy's ARRAY_ALIGN: the data starts on this boundary
constexpr const char* kSupportedDescrs = "'<f4' (float32), '<f8' (float64), '<i8' (int64)";
constexpr size_t kQuotedHeaderBytes = 160;  // NumPy's headers are shorter; a corrupt one is cut

std::optional<std::string> descr_of(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::Int64:
      return "<i8";
    case DType::BFloat16:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<DType> dtype_of(const std::string& descr) {
  if (descr == "<f4") return DType::Float32;
  if (descr == "<f8") return DType::Float64;
  if (descr == "<i8") return DType::Int64;
  return std::nullopt;
}

// Python's repr of a shape tuple: "()", "(3,)", "(2, 3)".
std::string shape_tuple(const Shape& shape) {
  if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
  return shape_str(shape);
}

[[noreturn]] void fail_load(const std::string& path, const std::string& what,
                            const std::string& hint) {
  throw Error(kLoadOp, "file '" + path + "': " + what, hint);
}

struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Parses the header dict; every error names the file and quotes (the start of) the header.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  Header parse() {
    Header header;
    bool has_descr = false, has_fortran_order = false, has_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string("a dict key");
      expect(':');
      if (key == "descr") {
        skip_spaces();
        if (position_ < text_.size() && text_[position_] != '\'' && text_[position_] != '"') {
          fail("'descr' is not a simple type string; structured dtypes are not supported",
               std::string("save a plain array of ") + kSupportedDescrs);
        }
        header.descr = parse_string("the 'descr' value");
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        has_fortran_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        has_shape = true;
      } else {
        fail("unexpected key " + quote_input(key),
             "a .npy header holds descr, fortran_order, shape");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_spaces();
    if (position_ != text_.size()) fail("text after the closing '}'", kCorruptHint);
    if (!has_descr || !has_fortran_order || !has_shape) {
      fail("the header lacks one of 'descr', 'fortran_order', 'shape'", kCorruptHint);
    }
    return header;
  }

 private:
  static constexpr const char* kCorruptHint = "the header is corrupt; re-save the array";

  [[noreturn]] void fail(const std::string& what, const std::string& hint) const {
    fail_load(path_, what + " in header " + quote_input(text_, kQuotedHeaderBytes), hint);
  }

  void skip_spaces() {
    while (position_ < text_.size() && std::strchr(" \t\r\n", text_[position_]) != nullptr) {
      ++position_;
    }
  }

  bool consume(char expected) {
    skip_spaces();
    if (position_ < text_.size() && text_[position_] == expected) {
      ++position_;
      return true;
    }
    return false;
  }

  void expect(char expected) {
    if (!consume(expected)) {
      fail(std::string("expected '") + expected + "' at character " + std::to_string(position_),
           kCorruptHint);
    }
  }

  std::string parse_string(const std::string& what) {
    skip_spaces();
    if (position_ >= text_.size() || (text_[position_] != '\'' && text_[position_] != '"')) {
      fail("expected a quoted string for " + what + " at character " + std::to_string(position_),
           kCorruptHint);
    }
    const char quote = text_[position_++];
    const size_t close = text_.find(quote, position_);
    if (close == std::string::npos) fail("unterminated string for " + what, kCorruptHint);
    std::string value = text_.substr(position_, close - position_);
    position_ = close + 1;
    return value;
  }

  bool parse_bool() {
    skip_spaces();
    for (const auto& [word, value] :
         {std::pair<const char*, bool>{"True", true}, {"False", false}}) {
      if (text_.compare(position_, std::strlen(word), word) == 0) {
        position_ += std::strlen(word);
        return value;
      }
    }
    fail("'fortran_order' is not True or False", kCorruptHint);
  }

  Shape parse_shape() {
    Shape shape;
    expect('(');
    while (!consume(')')) {
      skip_spaces();
      if (position_ < text_.size() && text_[position_] == '-') {
        fail("the shape has a negative dim", kCorruptHint);
      }
      const size_t start = position_;
      int64_t size = 0;
      while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
        if (__builtin_mul_overflow(size, 10, &size) ||
            __builtin_add_overflow(size, text_[position_] - '0', &size)) {
          fail("a dim of the shape does not fit in 64 bits", kCorruptHint);
        }
        ++position_;
      }
      if (position_ == start) {
        fail("expected a dim of the shape at character " + std::to_string(position_), kCorruptHint);
      }
      if (position_ < text_.size() && text_[position_] == 'L') ++position_;
      shape.push_back(size);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const std::string& text_;
  const std::string& path_;
  size_t position_ = 0;
};

uint64_t little_endian(const unsigned char* bytes, int count) {
  uint64_t value = 0;
  for (int byte = count - 1; byte >= 0; --byte) value = (value << 8) | bytes[byte];
  return value;
}

}  // namespace

void save_npy(const std::string& path, const Tensor& tensor) {
  PA_CHECK(tensor.defined(), kSaveOp, "file '" << path << "': the tensor is undefined",
           "pass a tensor");
  const std::optional<std::string> descr = descr_of(tensor.dtype());
  PA_CHECK(descr.has_value(), kSaveOp,
           "file '" << path << "': .npy has no " << dtype_name(tensor.dtype()) << " type",
           "save float32, float64 or int64 (or use safetensors, which stores bfloat16)");
  const std::string dict = "{'descr': '" + *descr +
                           "', 'fortran_order': False, 'shape': " + shape_tuple(tensor.shape()) +
                           ", }";
  // As NumPy's _wrap_header: the 8-byte magic+version, the length field, the dict, 1..64
  // spaces and '\n' make the data start at a multiple of 64; version 2.0 only when 1.0's
  // 2-byte length field cannot hold the header.
  std::string prefix;
  size_t padded_bytes = 0;
  for (int length_bytes : {2, 4}) {
    const size_t unpadded = kMagicBytes + 2 + length_bytes + dict.size() + 1;
    padded_bytes = dict.size() + 1 + kAlignment - unpadded % kAlignment;
    if (length_bytes == 4 || padded_bytes <= std::numeric_limits<uint16_t>::max()) {
      prefix =
          std::string(kMagic, kMagicBytes) + static_cast<char>(length_bytes == 2 ? 1 : 2) + '\0';
      for (int byte = 0; byte < length_bytes; ++byte) {
        prefix.push_back(static_cast<char>((padded_bytes >> (8 * byte)) & 0xff));
      }
      break;
    }
  }
  const Tensor host = tensor.device().is_cpu() && tensor.is_contiguous()
                          ? tensor
                          : copy_to_device(tensor, Device::cpu());
  const size_t data_bytes = host.numel() * dtype_size(host.dtype());
  std::string file = prefix + dict;
  file.append(padded_bytes - dict.size() - 1, ' ');
  file.push_back('\n');
  file.append(
      static_cast<const char*>(host.storage()->data()) + host.offset() * dtype_size(host.dtype()),
      data_bytes);
  write_file_atomically(path, file, kSaveOp);
}

Tensor load_npy(const std::string& path) {
  InputFile file(path, kLoadOp);
  unsigned char prefix[12] = {};  // magic, version, and a length field of 2 or 4 bytes
  file.read_at(0, prefix, std::min<uint64_t>(file.size(), sizeof(prefix)));
  if (file.size() < kMagicBytes + 2 || std::memcmp(prefix, kMagic, kMagicBytes) != 0) {
    fail_load(path, "not a .npy file: it does not start with the magic \"\\x93NUMPY\"",
              "write it with np.save (np.savez makes a .npz zip, which is not supported)");
  }
  const int major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail_load(
        path,
        "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor),
        "versions 1.0, 2.0 and 3.0 are supported; re-save it with np.save");
  }
  const int length_bytes = major == 1 ? 2 : 4;
  const uint64_t header_start = kMagicBytes + 2 + length_bytes;
  if (file.size() < header_start) {
    fail_load(path, "the file ends inside the header length field",
              "the file is truncated; re-save it");
  }
  const uint64_t header_bytes = little_endian(prefix + kMagicBytes + 2, length_bytes);
  if (header_bytes > file.size() - header_start) {
    fail_load(path,
              "the header length is " + std::to_string(header_bytes) + " bytes but only " +
                  std::to_string(file.size() - header_start) + " bytes follow",
              "the file is truncated; re-save it");
  }
  std::string text(header_bytes, '\0');
  file.read_at(header_start, text.data(), text.size());
  const Header header = HeaderParser(text, path).parse();

  const std::optional<DType> dtype = dtype_of(header.descr);
  if (!dtype) {
    const bool big_endian = !header.descr.empty() && header.descr[0] == '>';
    fail_load(path,
              "dtype " + quote_input(header.descr) + " is not supported" +
                  (big_endian ? " (big-endian data)" : "") + "; supported: " + kSupportedDescrs,
              big_endian ? "convert it with array.astype(array.dtype.newbyteorder('<')) first"
                         : "convert it with array.astype(np.float32) (or float64, int64) first");
  }
  if (header.fortran_order) {
    fail_load(path, "the array is stored in Fortran (column-major) order",
              "save np.ascontiguousarray(array) instead");
  }
  const uint64_t data_bytes = static_cast<uint64_t>(checked_bytes(
      header.shape, dtype_size(*dtype), kLoadOp, "file '" + path + "': the header's shape"));
  const uint64_t data_start = header_start + header_bytes;
  const uint64_t available = file.size() - data_start;
  if (data_bytes > available) {
    fail_load(path,
              "the data is truncated: shape " + shape_str(header.shape) + " of '" + header.descr +
                  "' needs " + std::to_string(data_bytes) + " bytes but only " +
                  std::to_string(available) + " follow the header",
              "the file may be truncated; re-save it");
  }
  Tensor tensor = empty(header.shape, TensorOptions().with_dtype(*dtype));
  file.read_at(data_start, tensor.storage()->data(), data_bytes);
  return tensor;
}

}  // namespace pa::io
