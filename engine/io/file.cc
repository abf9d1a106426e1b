// POSIX implementation of the byte layer: open/pread for reading, and for writing a temp file
// beside the target that is written, fsync'd and renamed over it (rename is atomic within one
// directory), then the directory is fsync'd so the rename itself survives a crash.
#include "engine/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"

namespace pa::io {

namespace {

std::string system_reason() { return std::strerror(errno); }

// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR; false on error.
bool write_all(int descriptor, const char* bytes, size_t count) {
  while (count > 0) {
    const ssize_t written = ::write(descriptor, bytes, count);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes += written;
    count -= static_cast<size_t>(written);
  }
  return true;
}

// The directory part of `path` ("." when there is none), for the fsync after the rename.
std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes,
                           const std::string& op) {
  const std::string temp_path = path + ".tmp." + std::to_string(::getpid());
  const int descriptor = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (descriptor < 0) {
    throw Error(op, "cannot create '" + temp_path + "' to write '" + path + "': " + system_reason(),
                "check that the directory exists and is writable");
  }
  // Each step's failure removes the temp file, so no partial file is ever left behind.
  auto fail = [&](const std::string& step) {
    const std::string reason = system_reason();
    ::unlink(temp_path.c_str());
    throw Error(op, step + " '" + path + "' failed: " + reason,
                "check free disk space and permissions; the old file, if any, is unchanged");
  };
  if (!write_all(descriptor, bytes.data(), bytes.size())) {
    ::close(descriptor);
    fail("writing");
  }
  if (::fsync(descriptor) != 0) {
    ::close(descriptor);
    fail("flushing (fsync)");
  }
  if (::close(descriptor) != 0) fail("closing");
  if (::rename(temp_path.c_str(), path.c_str()) != 0) fail("renaming the temp file over");
  // The data is in place; syncing the directory makes the rename durable too. A directory that
  // cannot be opened or synced (some file systems refuse) does not undo the completed write.
  const int directory = ::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
}

std::string read_file(const std::string& path, const std::string& op) {
  InputFile file(path, op);
  std::string bytes(file.size(), '\0');
  file.read_at(0, bytes.data(), bytes.size());
  return bytes;
}

InputFile::InputFile(const std::string& path, const std::string& op) : path_(path), op_(op) {
  descriptor_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor_ < 0) {
    throw Error(op, "cannot open '" + path + "': " + system_reason(),
                "check the path (relative paths start at the working directory) and permissions");
  }
  struct stat info {};
  std::string problem;
  if (::fstat(descriptor_, &info) != 0) {
    problem = system_reason();
  } else if (S_ISDIR(info.st_mode)) {
    problem = "it is a directory";
  } else if (!S_ISREG(info.st_mode)) {
    problem = "it is not a regular file";
  }
  if (!problem.empty()) {
    ::close(descriptor_);
    throw Error(op, "cannot read '" + path + "': " + problem, "pass the path of a file");
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

InputFile::~InputFile() { ::close(descriptor_); }

void InputFile::read_at(uint64_t offset, void* destination, size_t bytes) const {
  auto* out = static_cast<char*>(destination);
  uint64_t position = offset;
  size_t remaining = bytes;
  while (remaining > 0) {
    const ssize_t count = ::pread(descriptor_, out, remaining, static_cast<off_t>(position));
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      throw Error(op_, "reading '" + path_ + "' failed: " + system_reason(),
                  "check that the file is readable and the disk is healthy");
    }
    if (count == 0) {
      throw Error(op_,
                  "'" + path_ + "' ended at byte " + std::to_string(position) + " while reading " +
                      std::to_string(bytes) + " bytes at offset " + std::to_string(offset),
                  "the file may be truncated or still being written; re-save it");
    }
    out += count;
    position += static_cast<uint64_t>(count);
    remaining -= static_cast<size_t>(count);
  }
}

}  // namespace pa::io
