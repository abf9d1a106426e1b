// SHA-256 (FIPS 180-4) of bytes and files, for the provenance of experiment outputs (which data
// file, exactly, a result came from). Small and dependency-free.
#pragma once

#include <string>

namespace pa::train {

std::string sha256_hex(const std::string& bytes);
// Streams the file; throws pa::Error (op "train::sha256_file") naming it when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace pa::train
