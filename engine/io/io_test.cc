// engine/io tests: safetensors and .npy round trips of every dtype (0-d, empty, strided),
// files written byte by byte here as Python's safetensors and NumPy write them, one test per
// kind of corrupt file (each message must name the file, the tensor where one applies, and
// carry a hint), and atomic writes (no torn or temp file is ever left behind).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/io/file.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/tests/test_util.h"

namespace pa::io {
namespace {

using ::pa::testing::ThrowsPaError;

namespace fs = std::filesystem;

// A fresh, empty directory for the running test, under Bazel's TEST_TMPDIR.
std::string test_dir() {
  const char* root = std::getenv("TEST_TMPDIR");
  const fs::path dir = fs::path(root != nullptr ? root : fs::temp_directory_path().string()) /
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string little_endian_u64(uint64_t value) {
  std::string bytes;
  for (int byte = 0; byte < 8; ++byte) bytes.push_back(static_cast<char>(value >> (8 * byte)));
  return bytes;
}

// A safetensors file from its header text and data buffer, exactly as given.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return little_endian_u64(header.size()) + header + data;
}

// The row-major bytes of any tensor.
std::string bytes_of(const Tensor& tensor) {
  const Tensor host = copy_to_device(tensor, Device::cpu());
  return std::string(static_cast<const char*>(host.storage()->data()),
                     host.numel() * dtype_size(host.dtype()));
}

// A contiguous tensor of `dtype` filled with random bit patterns (any value, NaNs included).
Tensor random_bits(const Shape& shape, DType dtype, uint64_t seed) {
  Tensor tensor = empty(shape, TensorOptions().with_dtype(dtype));
  Generator generator(seed);
  auto* bytes = static_cast<unsigned char*>(tensor.storage()->data());
  for (size_t i = 0; i < tensor.storage()->bytes(); ++i) {
    bytes[i] = static_cast<unsigned char>(generator.next_u64());
  }
  return tensor;
}

// (rows, cols) -> its transpose as a strided view of the same storage.
Tensor transposed(const Tensor& matrix) {
  return make_view(matrix, {matrix.shape()[1], matrix.shape()[0]},
                   {matrix.strides()[1], matrix.strides()[0]}, matrix.offset());
}

void expect_same_tensor(const Tensor& expected, const Tensor& actual, const std::string& name) {
  ASSERT_TRUE(actual.defined()) << name;
  EXPECT_EQ(actual.dtype(), expected.dtype()) << name;
  EXPECT_EQ(actual.shape(), expected.shape()) << name;
  EXPECT_TRUE(actual.device().is_cpu()) << name;
  EXPECT_EQ(actual.strides(), contiguous_strides(actual.shape())) << name;
  EXPECT_EQ(bytes_of(actual), bytes_of(expected)) << name;
}

// ---- safetensors: round trips and the byte layout ----

TEST(Safetensors, RoundTripEveryDtypeAndLayout) {
  const std::string path = test_dir() + "/all.safetensors";
  NamedTensors saved;
  saved.tensors["f32"] = random_bits({2, 3}, DType::Float32, 1);
  saved.tensors["f64"] = random_bits({3, 1, 2}, DType::Float64, 2);
  saved.tensors["bf16"] = random_bits({5}, DType::BFloat16, 3);
  saved.tensors["i64"] = random_bits({2, 2}, DType::Int64, 4);
  saved.tensors["scalar_f32"] = random_bits({}, DType::Float32, 5);
  saved.tensors["scalar_i64"] = random_bits({}, DType::Int64, 6);
  saved.tensors["empty_f32"] = empty({0, 4});
  saved.tensors["empty_bf16"] = empty({3, 0}, TensorOptions().with_dtype(DType::BFloat16));
  saved.tensors["transposed_f32"] = transposed(random_bits({3, 4}, DType::Float32, 7));
  saved.tensors["transposed_bf16"] = transposed(random_bits({5, 2}, DType::BFloat16, 8));
  const Tensor rows = random_bits({4, 3}, DType::Int64, 9);  // rows 1..2: an offset view
  saved.tensors["offset_i64"] = make_view(rows, {2, 3}, {3, 1}, 3);
  saved.metadata = {{"format", "pt"},
                    {"config", "{\"d_model\": 4}"},
                    {"empty", ""},
                    {"unicode", "d\xc3\xa9j\xc3\xa0 vu"}};
  ASSERT_FALSE(saved.tensors["transposed_f32"].is_contiguous());

  save_safetensors(path, saved);
  const NamedTensors loaded = load_safetensors(path);

  EXPECT_EQ(loaded.metadata, saved.metadata);
  ASSERT_EQ(loaded.tensors.size(), saved.tensors.size());
  for (const auto& [name, tensor] : saved.tensors) {
    ASSERT_EQ(loaded.tensors.count(name), 1u) << name;
    expect_same_tensor(tensor, loaded.tensors.at(name), name);
  }
}

TEST(Safetensors, WriterBytesMatchTheReferenceLayout) {
  const std::string path = test_dir() + "/layout.safetensors";
  NamedTensors saved;
  saved.tensors["b"] = from_indices({-1, 5}, {2});
  saved.tensors["a"] = from_vector({1.0f, -2.0f}, {2});
  saved.metadata["k"] = "v";
  save_safetensors(path, saved);

  // Metadata first, then tensors packed in name order; header padded with spaces to 8 bytes.
  std::string header =
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string data = std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +
                           std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) +
                           std::string("\x05\x00\x00\x00\x00\x00\x00\x00", 8);
  EXPECT_EQ(read_raw(path), safetensors_bytes(header, data));
  EXPECT_EQ(header.size() % 8, 0u);
}

TEST(Safetensors, ReadsAFileWrittenByHand) {
  // As Python's safetensors lays it out: widest dtypes first, metadata last, spaces to pad.
  const std::string path = test_dir() + "/hand.safetensors";
  const std::string header =
      "{\"d\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}, "
      "\"b\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [8, 24]},\n"
      "\"a\": {\"shape\": [2, 2], \"dtype\": \"F32\", \"data_offsets\": [24, 40]}, "
      "\"c\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [40, 42]}, "
      "\"e\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [42, 42]}, "
      "\"__metadata__\": {\"format\": \"pt\"}}     ";
  const std::string data = std::string("\x00\x00\x00\x00\x00\x00\xf8\x3f", 8) +  // 1.5
                           std::string("\xfe\xff\xff\xff\xff\xff\xff\xff", 8) +  // -2
                           std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8) +  // 7
                           std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +  // 1, -2
                           std::string("\x00\x00\x00\x3f\x00\x00\x40\x40", 8) +  // 0.5, 3
                           std::string("\x80\x3f", 2);                           // bf16 1.0
  write_raw(path, safetensors_bytes(header, data));

  const NamedTensors loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(loaded.tensors.size(), 5u);
  const Tensor& d = loaded.tensors.at("d");
  EXPECT_EQ(d.dtype(), DType::Float64);
  EXPECT_EQ(d.data<double>()[0], 1.5);
  EXPECT_EQ(loaded.tensors.at("b").to_int_vector(), (std::vector<int64_t>{-2, 7}));
  const Tensor& a = loaded.tensors.at("a");
  EXPECT_EQ(a.shape(), (Shape{2, 2}));
  EXPECT_EQ(a.to_vector(), (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));
  const Tensor& c = loaded.tensors.at("c");
  EXPECT_EQ(c.dtype(), DType::BFloat16);
  EXPECT_EQ(c.dim(), 0);
  EXPECT_EQ(c.data<uint16_t>()[0], 0x3f80);
  EXPECT_EQ(loaded.tensors.at("e").shape(), (Shape{0, 3}));
}

TEST(Safetensors, EmptyTensorInsideAnotherIsNotAnOverlap) {
  const std::string path = test_dir() + "/empty_inside.safetensors";
  write_raw(path,
            safetensors_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                              std::string(8, '\0')));
  const NamedTensors loaded = load_safetensors(path);
  EXPECT_EQ(loaded.tensors.at("z").numel(), 0);
  EXPECT_EQ(loaded.tensors.at("w").to_vector(), (std::vector<float>{0.0f, 0.0f}));
}

TEST(Safetensors, SavesAndLoadsNothing) {
  const std::string path = test_dir() + "/nothing.safetensors";
  save_safetensors(path, NamedTensors{});
  EXPECT_EQ(read_raw(path), safetensors_bytes("{}      ", ""));
  const NamedTensors loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.tensors.empty());
  EXPECT_TRUE(loaded.metadata.empty());
}

TEST(Safetensors, SavesCudaTensors) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU in this build or on this machine";
  const std::string path = test_dir() + "/cuda.safetensors";
  const Tensor host = random_bits({3, 5}, DType::Float32, 10);
  NamedTensors saved;
  saved.tensors["gpu"] = copy_to_device(host, Device::cuda());
  saved.tensors["gpu_transposed"] = transposed(saved.tensors["gpu"]);
  save_safetensors(path, saved);
  const NamedTensors loaded = load_safetensors(path);
  expect_same_tensor(host, loaded.tensors.at("gpu"), "gpu");
  expect_same_tensor(transposed(host), loaded.tensors.at("gpu_transposed"), "gpu_transposed");
}

// ---- safetensors: corrupt files, one per check ----

// A file whose one tensor "w" has this entry (and 8 data bytes, unless `data` says otherwise);
// the load must fail naming the file, the tensor "w", each of `parts`, and with a hint.
void expect_corrupt_entry(const std::string& entry, const std::vector<std::string>& parts,
                          const std::string& data = std::string(8, '\0')) {
  const std::string path = test_dir() + "/corrupt.safetensors";
  write_raw(path, safetensors_bytes("{\"w\": " + entry + "}", data));
  std::vector<std::string> all = {"pa::io::load_safetensors", path, "tensor 'w'", "Hint:"};
  all.insert(all.end(), parts.begin(), parts.end());
  EXPECT_TRUE(ThrowsPaError([&] { load_safetensors(path); }, all)) << entry;
}

// A file with this header text and data; the load must fail naming the file, with a hint.
void expect_corrupt_file(const std::string& bytes, const std::vector<std::string>& parts) {
  const std::string path = test_dir() + "/corrupt.safetensors";
  write_raw(path, bytes);
  std::vector<std::string> all = {"pa::io::load_safetensors", path, "Hint:"};
  all.insert(all.end(), parts.begin(), parts.end());
  EXPECT_TRUE(ThrowsPaError([&] { load_safetensors(path); }, all));
}

TEST(SafetensorsErrors, MissingFile) {
  const std::string path = test_dir() + "/absent.safetensors";
  EXPECT_TRUE(ThrowsPaError([&] { load_safetensors(path); },
                            {"pa::io::load_safetensors", path, "No such file", "Hint:"}));
}

TEST(SafetensorsErrors, DirectoryInsteadOfFile) {
  const std::string path = test_dir();
  EXPECT_TRUE(ThrowsPaError([&] { load_safetensors(path); },
                            {"pa::io::load_safetensors", path, "directory", "Hint:"}));
}

TEST(SafetensorsErrors, ShorterThanTheLengthField) {
  expect_corrupt_file("", {"0 bytes", "fewer than the 8-byte header length"});
  expect_corrupt_file(std::string("\x10\x00\x00", 3),
                      {"3 bytes", "fewer than the 8-byte header length"});
}

TEST(SafetensorsErrors, HeaderLengthLargerThanTheFile) {
  expect_corrupt_file(little_endian_u64(1000) + "{}", {"1000", "only 2 bytes", "truncated"});
}

TEST(SafetensorsErrors, HeaderLengthAbsurd) {
  expect_corrupt_file(little_endian_u64(100'000'001) + "{}", {"100000001", "100 MB"});
  expect_corrupt_file(little_endian_u64(~uint64_t{0}) + "{}", {"100 MB"});
}

TEST(SafetensorsErrors, HeaderNotJson) {
  expect_corrupt_file(safetensors_bytes("{\"w\": {\"dtype\": ", ""), {"not valid JSON"});
  expect_corrupt_file(safetensors_bytes("\x01\x02garbage", ""), {"not valid JSON"});
}

TEST(SafetensorsErrors, HeaderNotAnObject) {
  expect_corrupt_file(safetensors_bytes("[1, 2]", ""), {"array", "not an object"});
  expect_corrupt_file(safetensors_bytes("\"w\"", ""), {"string", "not an object"});
}

TEST(SafetensorsErrors, NameUsedTwice) {
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
      "\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}",
      {"more than once"});
}

TEST(SafetensorsErrors, EntryNotAnObject) {
  expect_corrupt_entry("[0, 8]", {"array", "not an object"});
}

TEST(SafetensorsErrors, EntryMissingAField) {
  expect_corrupt_entry("{\"shape\": [2], \"data_offsets\": [0, 8]}", {"no \"dtype\""});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"data_offsets\": [0, 8]}", {"no \"shape\""});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2]}", {"no \"data_offsets\""});
}

TEST(SafetensorsErrors, EntryFieldsOfWrongJsonTypes) {
  expect_corrupt_entry("{\"dtype\": 32, \"shape\": [2], \"data_offsets\": [0, 8]}",
                       {"\"dtype\" is a JSON number", "not a string"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": \"2\", \"data_offsets\": [0, 8]}",
                       {"\"shape\" is a JSON string"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}",
                       {"dim 0 of the shape", "not an integer"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}",
                       {"dim 0 of the shape", "not an integer"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": {\"begin\": 0}}",
                       {"\"data_offsets\" is a JSON object"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, \"8\"]}",
                       {"data_offsets end", "not an integer"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0.0, 8]}",
                       {"data_offsets begin", "not an integer"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  expect_corrupt_entry("{\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [0, 8]}",
                       {"'F16' is not supported", "F32, F64, BF16, I64"});
}

TEST(SafetensorsErrors, NegativeOrHugeDim) {
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}",
                       {"dim 0 of the shape is negative"});
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [9223372036854775808], \"data_offsets\": [0, 8]}",
      {"dim 0 of the shape is 9223372036854775808, too large"});
}

TEST(SafetensorsErrors, OffsetsNotAPair) {
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8]}", {"not 2"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8, 8]}",
                       {"not 2"});
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}",
                       {"data_offsets begin is negative"});
}

TEST(SafetensorsErrors, OffsetsBeginAfterEnd) {
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}",
                       {"begin > end"});
}

TEST(SafetensorsErrors, OffsetsEndBeyondTheData) {
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}",
                       {"past the end of the data buffer (8 bytes)", "truncated"});
}

TEST(SafetensorsErrors, OffsetsDoNotMatchTheShape) {
  expect_corrupt_entry("{\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}",
                       {"span 8 bytes", "(3)", "needs 3 * 4"});
  expect_corrupt_entry("{\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 8]}",
                       {"span 8 bytes", "needs 2 * 8"});
}

// Sizes that overflow: a shape whose element or byte count exceeds int64 (even with a zero dim,
// which would leave the strides uncountable), and one that just fits but is far bigger than the
// file. Each is a pa::Error before anything is allocated.
TEST(SafetensorsErrors, ShapesWhoseSizeOverflows) {
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], \"data_offsets\": [0, 8]}",
      {"tensor 'w': shape (4294967296, 4294967296, 16)", "64-bit"});
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [2305843009213693952, 2], \"data_offsets\": [0, 8]}",
      {"(2305843009213693952, 2)", "bytes", "64-bit"});
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [0, 4294967296, 4294967296], \"data_offsets\": [0, 0]}",
      {"(0, 4294967296, 4294967296)", "64-bit"});
  expect_corrupt_entry(
      "{\"dtype\": \"F32\", \"shape\": [2305843009213693951], \"data_offsets\": [0, "
      "9223372036854775804]}",
      {"past the end of the data buffer (8 bytes)"});
}

TEST(SafetensorsErrors, HugeOrBinaryNamesAreQuotedBounded) {
  const std::string path = test_dir() + "/long_name.safetensors";
  write_raw(path,
            safetensors_bytes("{\"" + std::string("bad\\u0001") + std::string(1'000'000, 'n') +
                                  "\": {\"dtype\": \"X9\", \"shape\": [1], "
                                  "\"data_offsets\": [0, 4]}}",
                              std::string(4, '\0')));
  try {
    load_safetensors(path);
    ADD_FAILURE() << "did not throw";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_LT(message.size(), 1000u) << message.substr(0, 1000);
    EXPECT_NE(message.find("tensor 'bad\\x01nnn"), std::string::npos) << message;
    EXPECT_NE(message.find("... (1000004 bytes)"), std::string::npos) << message;
    EXPECT_NE(message.find("dtype 'X9' is not supported"), std::string::npos) << message;
  }
}

TEST(SafetensorsErrors, OverlappingTensors) {
  const std::string path = test_dir() + "/overlap.safetensors";
  write_raw(path,
            safetensors_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                              std::string(12, '\0')));
  EXPECT_TRUE(ThrowsPaError([&] { load_safetensors(path); },
                            {"pa::io::load_safetensors", path, "tensor 'b'", "overlap tensor 'a'",
                             "[4, 12)", "[0, 8)", "Hint:"}));
}

TEST(SafetensorsErrors, MetadataNotStrings) {
  const std::string tensor = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  const std::string data(8, '\0');
  expect_corrupt_file(safetensors_bytes("{\"__metadata__\":{\"epochs\":3}," + tensor + "}", data),
                      {"metadata value of 'epochs'", "number", "not a string"});
  expect_corrupt_file(
      safetensors_bytes("{\"__metadata__\":{\"a\":\"ok\",\"b\":null}," + tensor + "}", data),
      {"metadata value of 'b'", "null", "not a string"});
  expect_corrupt_file(safetensors_bytes("{\"__metadata__\":[\"a\"]," + tensor + "}", data),
                      {"\"__metadata__\" is a JSON array"});
}

TEST(SafetensorsErrors, TruncatedFile) {
  const std::string dir = test_dir();
  const std::string path = dir + "/whole.safetensors";
  NamedTensors saved;
  saved.tensors["w"] = random_bits({4, 4}, DType::Float32, 11);
  save_safetensors(path, saved);
  const std::string whole = read_raw(path);

  const std::string cut_data = dir + "/cut_data.safetensors";
  write_raw(cut_data, whole.substr(0, whole.size() - 3));
  EXPECT_TRUE(
      ThrowsPaError([&] { load_safetensors(cut_data); },
                    {"pa::io::load_safetensors", cut_data, "tensor 'w'", "truncated", "Hint:"}));

  const std::string cut_header = dir + "/cut_header.safetensors";
  write_raw(cut_header, whole.substr(0, 20));
  EXPECT_TRUE(ThrowsPaError(
      [&] { load_safetensors(cut_header); },
      {"pa::io::load_safetensors", cut_header, "only 12 bytes follow", "truncated", "Hint:"}));
}

// ---- safetensors: bad input to the writer, and atomic writes ----

TEST(SafetensorsSave, RejectsUndefinedAndReservedNames) {
  const std::string path = test_dir() + "/bad.safetensors";
  NamedTensors undefined;
  undefined.tensors["w"] = Tensor();
  EXPECT_TRUE(
      ThrowsPaError([&] { save_safetensors(path, undefined); },
                    {"pa::io::save_safetensors", path, "tensor 'w'", "undefined", "Hint:"}));
  NamedTensors reserved;
  reserved.tensors["__metadata__"] = ones({1});
  EXPECT_TRUE(ThrowsPaError([&] { save_safetensors(path, reserved); },
                            {"pa::io::save_safetensors", path, "__metadata__", "Hint:"}));
  NamedTensors not_utf8;
  not_utf8.tensors["w\xff"] = ones({1});
  EXPECT_TRUE(ThrowsPaError([&] { save_safetensors(path, not_utf8); },
                            {"pa::io::save_safetensors", path, "UTF-8", "Hint:"}));
  EXPECT_FALSE(fs::exists(path));
}

TEST(SafetensorsSave, IntoAMissingDirectoryThrowsAndLeavesNoFile) {
  const std::string dir = test_dir();
  const std::string path = dir + "/no/such/dir/model.safetensors";
  NamedTensors saved;
  saved.tensors["w"] = ones({2});
  EXPECT_TRUE(ThrowsPaError([&] { save_safetensors(path, saved); },
                            {"pa::io::save_safetensors", path, "No such file", "Hint:"}));
  EXPECT_FALSE(fs::exists(dir + "/no"));
  EXPECT_TRUE(entries_of(dir).empty());
}

TEST(SafetensorsSave, ReplacesAnExistingFileAndLeavesNoTempFile) {
  const std::string dir = test_dir();
  const std::string path = dir + "/model.safetensors";
  write_raw(path, "an older, longer file that is not safetensors at all");
  NamedTensors saved;
  saved.tensors["w"] = from_vector({3.0f}, {1});
  save_safetensors(path, saved);
  EXPECT_EQ(load_safetensors(path).tensors.at("w").to_vector(), (std::vector<float>{3.0f}));
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"model.safetensors"}));
}

TEST(SafetensorsSave, FailedRenameRemovesTheTempFile) {
  // The target is a directory: the temp file is written, the rename over it fails.
  const std::string dir = test_dir();
  const std::string path = dir + "/model.safetensors";
  fs::create_directory(path);
  NamedTensors saved;
  saved.tensors["w"] = ones({2});
  EXPECT_TRUE(ThrowsPaError([&] { save_safetensors(path, saved); },
                            {"pa::io::save_safetensors", path, "renaming", "Hint:"}));
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"model.safetensors"}));
  EXPECT_TRUE(fs::is_directory(path));
}

TEST(SafetensorsSave, IntoAReadOnlyDirectoryThrowsAndKeepsTheOldFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  const std::string dir = test_dir();
  const std::string path = dir + "/model.safetensors";
  NamedTensors good;
  good.tensors["w"] = from_vector({1.0f, 2.0f}, {2});
  save_safetensors(path, good);
  const std::string before = read_raw(path);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  good.tensors["w"] = from_vector({3.0f, 4.0f}, {2});
  EXPECT_TRUE(ThrowsPaError([&] { save_safetensors(path, good); },
                            {"pa::io::save_safetensors", path, "Permission denied", "Hint:"}));
  fs::permissions(dir, fs::perms::owner_all);
  EXPECT_EQ(read_raw(path), before);
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"model.safetensors"}));
}

TEST(SafetensorsSave, FailedSaveKeepsTheOldFile) {
  const std::string dir = test_dir();
  const std::string path = dir + "/model.safetensors";
  NamedTensors good;
  good.tensors["w"] = from_vector({1.0f, 2.0f}, {2});
  save_safetensors(path, good);
  const std::string before = read_raw(path);
  NamedTensors bad = good;
  bad.tensors["x"] = Tensor();
  EXPECT_THROW(save_safetensors(path, bad), Error);
  EXPECT_EQ(read_raw(path), before);
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"model.safetensors"}));
}

// ---- file layer ----

TEST(File, ReadFileAndAtomicWrite) {
  const std::string dir = test_dir();
  const std::string path = dir + "/bytes.bin";
  const std::string bytes("a\0b\xff", 4);
  write_file_atomically(path, bytes, "test_op");
  EXPECT_EQ(read_file(path, "test_op"), bytes);
  write_file_atomically(path, "", "test_op");
  EXPECT_EQ(read_file(path, "test_op"), "");
  EXPECT_EQ(entries_of(dir), (std::vector<std::string>{"bytes.bin"}));
  EXPECT_TRUE(ThrowsPaError([&] { read_file(dir + "/absent", "test_op"); },
                            {"pa::test_op", dir + "/absent", "No such file", "Hint:"}));
}

TEST(File, ReadAtPastTheEndThrows) {
  const std::string path = test_dir() + "/short.bin";
  write_raw(path, "12345");
  const InputFile file(path, "test_op");
  EXPECT_EQ(file.size(), 5u);
  char buffer[8];
  file.read_at(1, buffer, 4);
  EXPECT_EQ(std::string(buffer, 4), "2345");
  EXPECT_TRUE(ThrowsPaError([&] { file.read_at(2, buffer, 4); },
                            {"pa::test_op", path, "ended at byte 5", "Hint:"}));
}

// ---- npy ----

// A .npy file with the given version, header dict text (written as given) and data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const int length_bytes = major == 1 ? 2 : 4;
  for (int byte = 0; byte < length_bytes; ++byte) {
    bytes.push_back(static_cast<char>(dict.size() >> (8 * byte)));
  }
  return bytes + dict + data;
}

TEST(Npy, RoundTripEveryDtypeAndLayout) {
  const std::string dir = test_dir();
  const std::vector<std::pair<std::string, Tensor>> cases = {
      {"f32_2d", random_bits({2, 3}, DType::Float32, 20)},
      {"f64_1d", random_bits({7}, DType::Float64, 21)},
      {"i64_3d", random_bits({2, 1, 3}, DType::Int64, 22)},
      {"f32_0d", random_bits({}, DType::Float32, 23)},
      {"i64_0d", random_bits({}, DType::Int64, 24)},
      {"f64_empty", empty({0}, TensorOptions().with_dtype(DType::Float64))},
      {"f32_empty_2d", empty({3, 0})},
      {"f32_transposed", transposed(random_bits({3, 5}, DType::Float32, 25))},
  };
  for (const auto& [name, tensor] : cases) {
    const std::string path = dir + "/" + name + ".npy";
    save_npy(path, tensor);
    const std::string bytes = read_raw(path);
    ASSERT_GE(bytes.size(), 10u) << name;
    EXPECT_EQ(bytes[6], '\x01') << name;
    EXPECT_EQ(bytes.size() - tensor.numel() * dtype_size(tensor.dtype()), 128u) << name;
    expect_same_tensor(tensor, load_npy(path), name);
  }
}

TEST(Npy, WriterBytesMatchNumpy) {
  // np.save(path, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)): 128 header bytes.
  const std::string dir = test_dir();
  save_npy(dir + "/a.npy", from_vector({1, 2, 3, 4, 5, 6}, {2, 3}));
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  dict += std::string(118 - dict.size() - 1, ' ') + "\n";
  std::string data;
  for (float value : {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}) {
    data.append(reinterpret_cast<const char*>(&value), 4);
  }
  EXPECT_EQ(read_raw(dir + "/a.npy"), npy_bytes(1, dict, data));

  save_npy(dir + "/b.npy", from_indices({7}, {1}));
  EXPECT_NE(
      read_raw(dir + "/b.npy").find("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"),
      std::string::npos);
  save_npy(dir + "/c.npy", random_bits({}, DType::Float64, 26));
  EXPECT_NE(
      read_raw(dir + "/c.npy").find("{'descr': '<f8', 'fortran_order': False, 'shape': (), }"),
      std::string::npos);
}

TEST(Npy, WritesVersion2WhenTheHeaderNeedsIt) {
  // 22000 dims of size 1: the shape tuple alone is longer than 1.0's 65535-byte limit.
  const std::string path = test_dir() + "/many_dims.npy";
  const Tensor tensor = from_vector({2.5f}, Shape(22000, 1));
  save_npy(path, tensor);
  const std::string bytes = read_raw(path);
  EXPECT_EQ(bytes[6], '\x02');
  const uint64_t header_bytes = static_cast<unsigned char>(bytes[8]) |
                                static_cast<unsigned char>(bytes[9]) << 8 |
                                static_cast<unsigned char>(bytes[10]) << 16 |
                                static_cast<uint64_t>(static_cast<unsigned char>(bytes[11])) << 24;
  EXPECT_GT(header_bytes, 65535u);
  EXPECT_EQ((12 + header_bytes) % 64, 0u);
  const Tensor loaded = load_npy(path);
  EXPECT_EQ(loaded.shape(), tensor.shape());
  EXPECT_EQ(loaded.to_vector(), (std::vector<float>{2.5f}));
}

TEST(Npy, ReadsHandMadeHeaders) {
  const std::string dir = test_dir();
  // Version 1.0, NumPy's own layout: -1 and 3 as '<i8'.
  const std::string data_i64 = std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) +
                               std::string("\x03\x00\x00\x00\x00\x00\x00\x00", 8);
  write_raw(dir + "/v1.npy",
            npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", data_i64));
  EXPECT_EQ(load_npy(dir + "/v1.npy").to_int_vector(), (std::vector<int64_t>{-1, 3}));

  // Version 1.0 as an old writer might produce it: other key order, double quotes, Python 2
  // longs, no trailing comma, no alignment padding.
  const std::string data_f32 = std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) +
                               std::string("\x00\x00\x00\x3f\x00\x00\x40\x40", 8);
  write_raw(
      dir + "/v1_old.npy",
      npy_bytes(1, "{\"shape\": (2L, 2L), 'fortran_order': False, \"descr\": '<f4'}\n", data_f32));
  const Tensor old = load_npy(dir + "/v1_old.npy");
  EXPECT_EQ(old.shape(), (Shape{2, 2}));
  EXPECT_EQ(old.to_vector(), (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}));

  // Versions 2.0 and 3.0 (4-byte header length): a 0-d float64 1.5.
  const std::string data_f64("\x00\x00\x00\x00\x00\x00\xf8\x3f", 8);
  for (int major : {2, 3}) {
    const std::string path = dir + "/v" + std::to_string(major) + ".npy";
    write_raw(path, npy_bytes(major, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }  \n",
                              data_f64));
    const Tensor scalar = load_npy(path);
    EXPECT_EQ(scalar.dim(), 0) << major;
    EXPECT_EQ(scalar.data<double>()[0], 1.5) << major;
  }
}

// A .npy file with this v1.0 dict and data; the load must fail naming the file, with a hint.
void expect_bad_npy(const std::string& bytes, const std::vector<std::string>& parts) {
  const std::string path = test_dir() + "/bad.npy";
  write_raw(path, bytes);
  std::vector<std::string> all = {"pa::io::load_npy", path, "Hint:"};
  all.insert(all.end(), parts.begin(), parts.end());
  EXPECT_TRUE(ThrowsPaError([&] { load_npy(path); }, all));
}

std::string npy_dict(const std::string& descr, const std::string& fortran_order,
                     const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran_order + ", 'shape': " + shape +
         ", }\n";
}

TEST(NpyErrors, BadMagic) {
  expect_bad_npy("PK\x03\x04 a zip file, not npy", {"not a .npy file", "\\x93NUMPY"});
  expect_bad_npy("\x93NUM", {"not a .npy file"});
  expect_bad_npy("", {"not a .npy file"});
}

TEST(NpyErrors, UnsupportedVersion) {
  expect_bad_npy(npy_bytes(4, npy_dict("<f4", "False", "(1,)"), std::string(4, '\0')),
                 {"version 4.0"});
}

TEST(NpyErrors, FortranOrder) {
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "True", "(2, 2)"), std::string(16, '\0')),
                 {"Fortran", "np.ascontiguousarray"});
}

TEST(NpyErrors, UnsupportedDtypes) {
  expect_bad_npy(npy_bytes(1, npy_dict(">f4", "False", "(2,)"), std::string(8, '\0')),
                 {"'>f4'", "big-endian", "'<f4'"});
  expect_bad_npy(npy_bytes(1, npy_dict("<i4", "False", "(2,)"), std::string(8, '\0')),
                 {"'<i4' is not supported", "'<f4' (float32)"});
  expect_bad_npy(npy_bytes(1, npy_dict("|b1", "False", "(2,)"), std::string(2, '\0')),
                 {"'|b1' is not supported"});
  expect_bad_npy(
      npy_bytes(1, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }\n",
                std::string(4, '\0')),
      {"structured dtypes"});
}

TEST(NpyErrors, TruncatedData) {
  expect_bad_npy(npy_bytes(1, npy_dict("<f8", "False", "(2, 3)"), std::string(47, '\0')),
                 {"truncated", "(2, 3)", "needs 48 bytes but only 47"});
  const std::string path = test_dir() + "/whole.npy";
  save_npy(path, random_bits({4}, DType::Float32, 27));
  const std::string whole = read_raw(path);
  expect_bad_npy(whole.substr(0, whole.size() - 1), {"needs 16 bytes but only 15"});
  expect_bad_npy(whole.substr(0, 40), {"header length is 118 bytes but only 30", "truncated"});
  expect_bad_npy(whole.substr(0, 9), {"inside the header length field"});
}

TEST(NpyErrors, MalformedHeader) {
  expect_bad_npy(npy_bytes(1, "{'descr': '<f4', 'shape': (1,), }\n", std::string(4, '\0')),
                 {"lacks one of"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "(-1,)"), ""), {"negative dim"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "Maybe", "(1,)"), std::string(4, '\0')),
                 {"not True or False"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "[1]"), std::string(4, '\0')),
                 {"expected '('"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "(99999999999999999999,)"), ""),
                 {"does not fit in 64 bits"});
  expect_bad_npy(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n",
                           std::string(4, '\0')),
                 {"unexpected key 'x'"});
}

TEST(NpyErrors, ShapesWhoseSizeOverflows) {
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "(4294967296, 4294967296, 16)"), ""),
                 {"shape (4294967296, 4294967296, 16)", "64-bit"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f8", "False", "(576460752303423488, 8)"), ""),
                 {"(576460752303423488, 8)", "bytes", "64-bit"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "(0, 4294967296, 4294967296)"), ""),
                 {"(0, 4294967296, 4294967296)", "64-bit"});
  expect_bad_npy(npy_bytes(1, npy_dict("<f4", "False", "(2305843009213693951,)"), ""),
                 {"needs 9223372036854775804 bytes but only 0", "truncated"});
}

TEST(NpyErrors, CorruptHeaderIsQuotedBoundedAndEscaped) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), " +
                           std::string("'x\0y", 4) + std::string(100'000, 'z') + "': 1}\n";
  const std::string path = test_dir() + "/binary_header.npy";
  write_raw(path, npy_bytes(2, dict, std::string(4, '\0')));
  try {
    load_npy(path);
    ADD_FAILURE() << "did not throw";
  } catch (const Error& error) {
    const std::string message = error.what();  // as a C string: a NUL would cut it
    EXPECT_LT(message.size(), 1000u);
    EXPECT_NE(message.find("unexpected key 'x\\x00yzzz"), std::string::npos) << message;
    EXPECT_NE(message.find("Hint:"), std::string::npos) << message;
  }
}

TEST(NpyErrors, MissingFile) {
  const std::string path = test_dir() + "/absent.npy";
  EXPECT_TRUE(
      ThrowsPaError([&] { load_npy(path); }, {"pa::io::load_npy", path, "No such file", "Hint:"}));
}

TEST(NpySave, RejectsBfloat16AndLeavesNoFile) {
  const std::string dir = test_dir();
  const std::string path = dir + "/bf16.npy";
  EXPECT_TRUE(ThrowsPaError(
      [&] { save_npy(path, empty({2}, TensorOptions().with_dtype(DType::BFloat16))); },
      {"pa::io::save_npy", path, "bfloat16", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([&] { save_npy(dir + "/missing/x.npy", ones({1})); },
                            {"pa::io::save_npy", dir + "/missing/x.npy", "Hint:"}));
  EXPECT_TRUE(entries_of(dir).empty());
}

}  // namespace
}  // namespace pa::io
