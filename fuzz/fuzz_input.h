// Helpers for the fuzz targets (fuzz/README.md): the fuzz input as a file for readers that take
// a path, and the rule every target follows: a pa::Error is the expected rejection of bad bytes;
// anything else (a crash, a sanitizer report, any other exception) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pa::fuzz {

// An in-memory file (memfd) that a reader opens by path ("/proc/self/fd/<n>"); no disk I/O.
// One per process: each input replaces the previous contents.
class MemoryFile {
 public:
  explicit MemoryFile(const std::string& name);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents with `size` bytes from `data`; returns the path to open.
  const std::string& write(const uint8_t* data, size_t size);

 private:
  int descriptor_ = -1;
  std::string path_;
};

}  // namespace pa::fuzz
