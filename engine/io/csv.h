// A CSV reader (RFC 4180 plus what real files carry): a header row, then rows of string fields,
// each with the 1-based line of the file where it starts, so that whoever interprets the fields
// can name the line of a bad value. Accepts quoted fields ("a, b", "say ""hi""", fields spanning
// lines), LF or CRLF line ends, a UTF-8 byte-order mark and blank lines (skipped, as pandas
// does). Every row must have as many fields as the header; a wrong field count, an unterminated
// quote or text after a closing quote is a pa::Error naming the file and the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pa::io {

struct CsvRow {
  int64_t line = 0;  // 1-based line of the file where the row starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string source;  // the file's path (or the name given to parse_csv)
  std::vector<std::string> header;
  int64_t header_line = 0;
  std::vector<CsvRow> rows;
};

// Reads and parses a whole file; a missing or unreadable file is a pa::Error naming it.
// `op` names the caller in error messages (e.g. "data::load_housing").
CsvTable read_csv(const std::string& path, const std::string& op = "io::read_csv");

// Parses CSV text; `source` names it in error messages.
CsvTable parse_csv(const std::string& text, const std::string& source,
                   const std::string& op = "io::read_csv");

}  // namespace pa::io
