// Whole-file and positioned reads, and atomic writes: the byte layer under the safetensors and
// .npy readers and writers. Every failure is a pa::Error naming the caller's op, the path and
// the system's reason (strerror).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pa::io {

// Writes bytes to path atomically (temp file in the same directory + fsync + rename).
// The temp file is "<path>.tmp.<pid>"; on any failure it is removed and a pa::Error is thrown,
// so `path` holds either its old contents or all of `bytes`, never a torn file.
void write_file_atomically(const std::string& path, const std::string& bytes,
                           const std::string& op);

// The whole file; a clear pa::Error if it is missing, a directory or unreadable.
std::string read_file(const std::string& path, const std::string& op);

// A file opened for reading at any offset, so large files can be read piece by piece straight
// into tensors. Closes itself.
class InputFile {
 public:
  InputFile(const std::string& path, const std::string& op);  // throws like read_file
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const { return size_; }
  // Reads exactly `bytes` bytes starting at `offset`; throws if the file ends first.
  void read_at(uint64_t offset, void* destination, size_t bytes) const;

 private:
  std::string path_;
  std::string op_;
  int descriptor_ = -1;
  uint64_t size_ = 0;
};

}  // namespace pa::io
