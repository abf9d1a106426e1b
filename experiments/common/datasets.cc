// The data sets' default paths and checksum verification (see datasets.h).
#include "experiments/common/datasets.h"

#include <filesystem>

#include "engine/core/error.h"
#include "engine/train/sha256.h"
#include "experiments/common/experiment.h"

namespace pa::experiments {

const std::vector<DataSet>& data_sets() {
  static const std::vector<DataSet> all = {kCaliforniaHousing, kTinyShakespeare};
  return all;
}

std::string default_data_path(const DataSet& data_set) {
  return workspace_dir() + "/data/" + data_set.file;
}

void verify_data_file(const std::string& path, const DataSet& data_set) {
  PA_CHECK(std::filesystem::is_regular_file(path), "data",
           "no file '" << path << "' (expected " << data_set.file << ")",
           "the repository carries it as data/" << data_set.file
                                                << "; pass --data PATH for another copy");
  const std::string found = train::sha256_file(path);
  PA_CHECK(found == data_set.sha256, "data",
           "'" << path << "' fails its checksum: sha256 " << found << ", expected "
               << data_set.sha256 << " (data/SHA256SUMS)",
           "the file is corrupt or not " << data_set.file
                                         << "; restore it (git checkout -- data/) or, to use a "
                                            "changed copy on purpose, pass --no-checksum");
}

}  // namespace pa::experiments
