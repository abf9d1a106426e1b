// The data sets in data/: every file matches data/SHA256SUMS, the checksums the programs carry
// (experiments/common/datasets.h) are the same list, and verification names the file on a
// missing or changed copy.
#include "experiments/common/datasets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "engine/tests/test_util.h"
#include "engine/train/sha256.h"

namespace pa::experiments {
namespace {

using ::pa::testing::runfile;
using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;

// data/SHA256SUMS as file -> sha256 (the `sha256sum` format: "<hex>  <name>").
std::map<std::string, std::string> listed_checksums() {
  std::ifstream in(runfile("data/SHA256SUMS"));
  EXPECT_TRUE(in.good()) << "cannot open data/SHA256SUMS";
  std::map<std::string, std::string> listed;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sha256, file;
    fields >> sha256 >> file;
    EXPECT_EQ(sha256.size(), 64u) << "bad line in data/SHA256SUMS: " << line;
    listed[file] = sha256;
  }
  return listed;
}

TEST(DataSets, FilesMatchTheirListedChecksums) {
  const auto listed = listed_checksums();
  ASSERT_EQ(listed.size(), data_sets().size());
  for (const DataSet& data_set : data_sets()) {
    SCOPED_TRACE(data_set.file);
    ASSERT_EQ(listed.count(data_set.file), 1u) << "data/SHA256SUMS does not list it";
    EXPECT_EQ(listed.at(data_set.file), data_set.sha256);
    const std::string path = runfile(std::string("data/") + data_set.file);
    EXPECT_EQ(train::sha256_file(path), data_set.sha256);
    EXPECT_NO_THROW(verify_data_file(path, data_set));
  }
}

TEST(DataSets, MissingOrChangedFileIsAnErrorNamingIt) {
  const std::string missing = temp_path("no_such_housing.csv");
  EXPECT_TRUE(ThrowsPaError([&] { verify_data_file(missing, kCaliforniaHousing); },
                            {"no_such_housing.csv", "california_housing.csv", "Hint:"}));

  // One byte changed in a copy of the real file.
  std::ifstream in(runfile("data/tinyshakespeare.txt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 1;
  const std::string changed = temp_path("tinyshakespeare_changed.txt");
  std::ofstream(changed, std::ios::binary) << bytes;
  EXPECT_TRUE(ThrowsPaError([&] { verify_data_file(changed, kTinyShakespeare); },
                            {"tinyshakespeare_changed.txt", "fails its checksum",
                             kTinyShakespeare.sha256, train::sha256_hex(bytes), "--no-checksum"}));
}

}  // namespace
}  // namespace pa::experiments
