// safetensors writer and reader (the format is described in safetensors.h). The reader checks
// every header field before it allocates or reads tensor data, so a corrupt file fails with a
// message naming the file, the tensor and what is wrong, never a crash or a huge allocation.
#include "engine/io/safetensors.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/io/file.h"
#include "nlohmann/json.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied as host memory");

namespace pa::io {

namespace {

using Json = nlohmann::json;

constexpr const char* kSaveOp = "io::save_safetensors";
constexpr const char* kLoadOp = "io::load_safetensors";
constexpr const char* kMetadataKey = "__metadata__";
constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr const char* kSupportedDtypes = "F32, F64, BF16, I64";
constexpr size_t kQuotedJsonBytes = 80;  // how much of a JSON value an error message quotes

std::string dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
    case DType::BFloat16:
      return "BF16";
    case DType::Int64:
      return "I64";
  }
  return "?";
}

std::optional<DType> parse_dtype_code(const std::string& code) {
  if (code == "F32") return DType::Float32;
  if (code == "F64") return DType::Float64;
  if (code == "BF16") return DType::BFloat16;
  if (code == "I64") return DType::Int64;
  return std::nullopt;
}

// ---- load errors: every one names the file, and the tensor where one applies ----
// Names, dtype codes and JSON values from the header are quoted with quote_input: bounded and
// escaped, however long or binary the corrupt header is.

// `value` as JSON text, quoted for a message.
std::string quoted_json(const Json& value) {
  return quote_input(value.dump(-1, ' ', false, Json::error_handler_t::replace), kQuotedJsonBytes);
}

// "file 'x.safetensors', tensor 'w'" (the name quoted).
std::string where(const std::string& path, const std::string& name) {
  return "file '" + path + "', tensor " + quote_input(name);
}

[[noreturn]] void fail_file(const std::string& path, const std::string& what,
                            const std::string& hint) {
  throw Error(kLoadOp, "file '" + path + "': " + what, hint);
}

[[noreturn]] void fail_tensor(const std::string& path, const std::string& name,
                              const std::string& what, const std::string& hint) {
  throw Error(kLoadOp, where(path, name) + ": " + what, hint);
}

constexpr const char* kCorruptHint = "the header is corrupt; re-save the file";
constexpr const char* kTruncatedHint = "the file may be truncated; re-save it";

// A tensor entry of the header, checked.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;
  uint64_t end;
};

// `entry[field]`, which must exist and pass `has_type`; `expected` words the type for errors.
const Json& required_field(const std::string& path, const std::string& name, const Json& entry,
                           const char* field, bool (Json::*has_type)() const noexcept,
                           const char* expected) {
  const auto found = entry.find(field);
  if (found == entry.end()) {
    fail_tensor(path, name, std::string("the entry has no \"") + field + "\"",
                "every tensor entry needs \"dtype\", \"shape\" and \"data_offsets\"; " +
                    std::string(kCorruptHint));
  }
  if (!((*found).*has_type)()) {
    fail_tensor(path, name,
                std::string("\"") + field + "\" is a JSON " + found->type_name() + ", not " +
                    expected + ": " + quoted_json(*found),
                kCorruptHint);
  }
  return *found;
}

// A non-negative JSON integer; `what` names it in errors ("dim 1 of shape").
uint64_t non_negative_integer(const std::string& path, const std::string& name, const Json& value,
                              const std::string& what) {
  if (!value.is_number_integer()) {
    fail_tensor(path, name,
                what + " is a JSON " + std::string(value.type_name()) + " (" + quoted_json(value) +
                    "), not an integer",
                kCorruptHint);
  }
  if (!value.is_number_unsigned()) {
    fail_tensor(path, name, what + " is negative (" + quoted_json(value) + ")", kCorruptHint);
  }
  return value.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& entry,
                  uint64_t data_bytes) {
  if (!entry.is_object()) {
    fail_tensor(path, name,
                "the entry is a JSON " + std::string(entry.type_name()) +
                    ", not an object with \"dtype\", \"shape\" and \"data_offsets\"",
                kCorruptHint);
  }
  Entry out;
  out.name = name;

  const std::string code =
      required_field(path, name, entry, "dtype", &Json::is_string, "a string").get<std::string>();
  const std::optional<DType> dtype = parse_dtype_code(code);
  if (!dtype) {
    fail_tensor(
        path, name,
        "dtype " + quote_input(code) + " is not supported (supported: " + kSupportedDtypes + ")",
        "convert the tensor to float32, float64, bfloat16 or int64 before saving it");
  }
  out.dtype = *dtype;

  const Json& shape =
      required_field(path, name, entry, "shape", &Json::is_array, "an array of integers");
  for (size_t d = 0; d < shape.size(); ++d) {
    const uint64_t size =
        non_negative_integer(path, name, shape[d], "dim " + std::to_string(d) + " of the shape");
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail_tensor(path, name,
                  "dim " + std::to_string(d) + " of the shape is " + std::to_string(size) +
                      ", too large for a 64-bit size",
                  kCorruptHint);
    }
    out.shape.push_back(static_cast<int64_t>(size));
  }
  const uint64_t expected_bytes = static_cast<uint64_t>(
      checked_bytes(out.shape, dtype_size(out.dtype), kLoadOp, where(path, name) + ": shape"));

  const Json& offsets =
      required_field(path, name, entry, "data_offsets", &Json::is_array, "an array [begin, end]");
  if (offsets.size() != 2) {
    fail_tensor(path, name,
                "data_offsets " + quoted_json(offsets) + " has " + std::to_string(offsets.size()) +
                    " numbers, not 2 ([begin, end])",
                kCorruptHint);
  }
  out.begin = non_negative_integer(path, name, offsets[0], "data_offsets begin");
  out.end = non_negative_integer(path, name, offsets[1], "data_offsets end");
  if (out.begin > out.end) {
    fail_tensor(path, name, "data_offsets " + quoted_json(offsets) + " has begin > end",
                kCorruptHint);
  }
  if (out.end > data_bytes) {
    fail_tensor(path, name,
                "data_offsets " + quoted_json(offsets) +
                    " reach past the end of the data buffer (" + std::to_string(data_bytes) +
                    " bytes)",
                kTruncatedHint);
  }
  if (out.end - out.begin != expected_bytes) {
    fail_tensor(
        path, name,
        "data_offsets " + quoted_json(offsets) + " span " + std::to_string(out.end - out.begin) +
            " bytes, but shape " + shape_str(out.shape) + " of " + code + " needs " +
            std::to_string(shape_numel(out.shape)) + " * " + std::to_string(dtype_size(out.dtype)),
        kCorruptHint);
  }
  return out;
}

void parse_metadata(const std::string& path, const Json& metadata,
                    std::map<std::string, std::string>* out) {
  if (!metadata.is_object()) {
    fail_file(path,
              "\"__metadata__\" is a JSON " + std::string(metadata.type_name()) +
                  ", not an object of strings",
              "write metadata as a string->string map; " + std::string(kCorruptHint));
  }
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      fail_file(path,
                "metadata value of " + quote_input(key) + " is a JSON " +
                    std::string(value.type_name()) + " (" + quoted_json(value) + "), not a string",
                "safetensors metadata maps strings to strings; encode other values as JSON text");
    }
    (*out)[key] = value.get<std::string>();
  }
}

// Non-empty byte ranges may not share a byte; empty tensors occupy nothing.
void check_no_overlap(const std::string& path, std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* furthest = nullptr;  // the non-empty range seen so far that reaches furthest
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;
    if (furthest != nullptr && entry.begin < furthest->end) {
      fail_tensor(path, entry.name,
                  "its bytes [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                      ") overlap tensor " + quote_input(furthest->name) + " [" +
                      std::to_string(furthest->begin) + ", " + std::to_string(furthest->end) + ")",
                  kCorruptHint);
    }
    if (furthest == nullptr || entry.end > furthest->end) furthest = &entry;
  }
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& contents) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!contents.metadata.empty()) header[kMetadataKey] = contents.metadata;
  std::vector<Tensor> host_tensors;  // contiguous host copies (or the tensors themselves)
  uint64_t offset = 0;
  for (const auto& [name, tensor] : contents.tensors) {
    PA_CHECK(name != kMetadataKey, kSaveOp,
             "file '" << path << "': a tensor is named \"" << kMetadataKey << "\"",
             "that key holds the metadata; rename the tensor");
    PA_CHECK(tensor.defined(), kSaveOp,
             "file '" << path << "', tensor '" << name << "': the tensor is undefined",
             "assign every tensor before saving");
    const bool usable = tensor.device().is_cpu() && tensor.is_contiguous();
    host_tensors.push_back(usable ? tensor : copy_to_device(tensor, Device::cpu()));
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * dtype_size(tensor.dtype());
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = dtype_code(tensor.dtype());
    entry["shape"] = tensor.shape();
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, offset + bytes});
    header[name] = std::move(entry);
    offset += bytes;
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& error) {
    throw Error(kSaveOp,
                "file '" + path + "': a tensor name or metadata string is not valid UTF-8 (" +
                    error.what() + ")",
                "use UTF-8 names and metadata");
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // as the reference pads

  std::string file;
  file.reserve(8 + header_text.size() + offset);
  for (int byte = 0; byte < 8; ++byte) {
    file.push_back(static_cast<char>((header_text.size() >> (8 * byte)) & 0xff));
  }
  file += header_text;
  for (const Tensor& tensor : host_tensors) {
    const auto* bytes = static_cast<const char*>(tensor.storage()->data()) +
                        tensor.offset() * dtype_size(tensor.dtype());
    file.append(bytes, tensor.numel() * dtype_size(tensor.dtype()));
  }
  write_file_atomically(path, file, kSaveOp);
}

NamedTensors load_safetensors(const std::string& path) {
  InputFile file(path, kLoadOp);
  if (file.size() < 8) {
    fail_file(path,
              "the file has " + std::to_string(file.size()) +
                  " bytes, fewer than the 8-byte header length",
              "the file may be truncated or not a safetensors file; re-save it");
  }
  unsigned char length_bytes[8];
  file.read_at(0, length_bytes, 8);
  uint64_t header_bytes = 0;
  for (int byte = 7; byte >= 0; --byte) header_bytes = (header_bytes << 8) | length_bytes[byte];
  if (header_bytes > kMaxHeaderBytes) {
    fail_file(path,
              "the header length is " + std::to_string(header_bytes) +
                  " bytes, more than the 100 MB any safetensors header may have",
              "this is not a safetensors file, or its first 8 bytes are corrupt");
  }
  if (header_bytes > file.size() - 8) {
    fail_file(path,
              "the header length is " + std::to_string(header_bytes) + " bytes but only " +
                  std::to_string(file.size() - 8) + " bytes follow it",
              kTruncatedHint);
  }
  std::string header_text(header_bytes, '\0');
  file.read_at(8, header_text.data(), header_text.size());

  std::set<std::string> seen_names;
  std::optional<std::string> repeated_name;
  const auto note_repeats = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 &&
        !seen_names.insert(parsed.get<std::string>()).second) {
      repeated_name = parsed.get<std::string>();
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(header_text, note_repeats);
  } catch (const Json::exception& error) {  // parse_error; out_of_range for a number beyond double
    fail_file(path, "the header is not valid JSON: " + quote_input(error.what(), 200),
              kCorruptHint);
  }
  if (!header.is_object()) {
    fail_file(path, "the header is a JSON " + std::string(header.type_name()) + ", not an object",
              kCorruptHint);
  }
  if (repeated_name) {
    fail_tensor(path, *repeated_name, "the name appears more than once in the header",
                kCorruptHint);
  }

  NamedTensors out;
  const uint64_t data_start = 8 + header_bytes;
  const uint64_t data_bytes = file.size() - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      parse_metadata(path, value, &out.metadata);
    } else {
      entries.push_back(parse_entry(path, name, value, data_bytes));
    }
  }
  check_no_overlap(path, entries);
  for (const Entry& entry : entries) {
    Tensor tensor = empty(entry.shape, TensorOptions().with_dtype(entry.dtype));
    file.read_at(data_start + entry.begin, tensor.storage()->data(), entry.end - entry.begin);
    out.tensors.emplace(entry.name, std::move(tensor));
  }
  return out;
}

}  // namespace pa::io
