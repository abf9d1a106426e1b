// The main() of the fuzz targets outside --config=fuzz: replays inputs instead of fuzzing.
// Every argument that names a file (or a directory: each file in it) is read and passed to
// LLVMFuzzerTestOneInput once; arguments starting with '-' (libFuzzer flags) are ignored, so
// `bazel run //fuzz:<target>` in the default build replays the seeds and regressions. An input
// that crashes or throws anything but pa::Error (the targets catch that) ends the run: it is a
// finding. At least one input is required, so a replay test that lost its files fails.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool replay(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument.empty() || argument[0] == '-') continue;
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(argument)) {
      for (const auto& entry : std::filesystem::directory_iterator(argument)) {
        if (entry.is_regular_file()) paths.push_back(entry.path());
      }
    } else {
      paths.emplace_back(argument);
    }
    for (const auto& path : paths) {
      if (!replay(path)) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return 2;
      }
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no inputs given (pass files or directories)\n");
    return 2;
  }
  std::fprintf(stderr, "replay: %d inputs, no findings\n", replayed);
  return 0;
}
