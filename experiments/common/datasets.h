// The project's real data sets (data/ in the repository): where a program finds them by
// default and the sha256 each must have. data/SHA256SUMS lists the same checksums (the test
// //experiments:datasets_test keeps the two and the files in agreement).
#pragma once

#include <string>
#include <vector>

namespace pa::experiments {

struct DataSet {
  const char* file;    // the name under data/
  const char* sha256;  // lowercase hex
};

inline constexpr DataSet kCaliforniaHousing{
    "california_housing.csv", "8a3727f4cf54ac1a327f69b1d5b4db54c5834ea81c6e4efc0d163300022a685e"};
inline constexpr DataSet kTinyShakespeare{
    "tinyshakespeare.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"};
// Every data set above, for the test and for tools that list them.
const std::vector<DataSet>& data_sets();

// <workspace>/data/<file>: the in-repository copy (the workspace under `bazel run`, else the
// current folder, which is the runfiles or execution root under `bazel test` and build actions).
std::string default_data_path(const DataSet& data_set);

// Throws pa::Error (op "data") naming the file when it is missing or its sha256 differs from
// the data set's, with both checksums and the hint to pass --no-checksum for a copy changed
// on purpose.
void verify_data_file(const std::string& path, const DataSet& data_set);

}  // namespace pa::experiments
