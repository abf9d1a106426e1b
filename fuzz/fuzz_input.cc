// The in-memory file of the fuzz targets (see fuzz_input.h).
#include "fuzz/fuzz_input.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pa::fuzz {

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "fuzz::MemoryFile: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

}  // namespace

MemoryFile::MemoryFile(const std::string& name) {
  descriptor_ = ::memfd_create(name.c_str(), MFD_CLOEXEC);
  if (descriptor_ < 0) die("memfd_create");
  path_ = "/proc/self/fd/" + std::to_string(descriptor_);
}

MemoryFile::~MemoryFile() { ::close(descriptor_); }

const std::string& MemoryFile::write(const uint8_t* data, size_t size) {
  if (::ftruncate(descriptor_, 0) != 0) die("ftruncate");
  size_t written = 0;
  while (written < size) {
    const ssize_t count =
        ::pwrite(descriptor_, data + written, size - written, static_cast<off_t>(written));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) die("pwrite");
    written += static_cast<size_t>(count);
  }
  return path_;
}

}  // namespace pa::fuzz
