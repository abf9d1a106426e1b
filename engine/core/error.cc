// pa::Error formatting and quoting user data into messages.
#include "engine/core/error.h"

#include <algorithm>

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

namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The length of the well-formed, printable UTF-8 sequence at text[at] (2 to 4 bytes), or 0 for an
// invalid or truncated one, an overlong form, a surrogate or a C1 control character.
size_t utf8_sequence(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    if (lead == 0xC2) low = 0xA0;  // U+0080..U+009F are C1 control characters
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (at + length > text.size() || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
  }
  return length;
}

void append_escaped(std::string& out, unsigned char byte) {
  constexpr char kHex[] = "0123456789abcdef";
  switch (byte) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\\':
    case '\'':
      out += '\\';
      out += static_cast<char>(byte);
      return;
    default:
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
  }
}

}  // namespace

std::string quote_input(std::string_view text, size_t max_bytes) {
  std::string out = "'";
  size_t at = 0;
  while (at < text.size()) {
    const auto byte = static_cast<unsigned char>(text[at]);
    const size_t sequence = byte < 0x80 ? 0 : utf8_sequence(text, at);  // 0: a single byte
    const size_t length = std::max<size_t>(sequence, 1);
    if (at + length > max_bytes) break;
    if (sequence > 0) {
      out.append(text.substr(at, length));
    } else if (byte >= 0x20 && byte < 0x7F && byte != '\\' && byte != '\'') {
      out += static_cast<char>(byte);
    } else {
      append_escaped(out, byte);
    }
    at += length;
  }
  out += "'";
  if (at < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace pa
