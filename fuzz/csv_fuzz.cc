// Fuzz target: io::parse_csv (the text layer under io::read_csv) on arbitrary bytes: quotes,
// doubled quotes, line breaks in fields, CR/LF, byte-order marks, blank lines, field counts.
// A pa::Error is the expected rejection; a table that parses must keep the reader's promises:
// every row has as many fields as the header, and rows start on increasing lines after it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/core/error.h"
#include "engine/io/csv.h"

namespace {

[[noreturn]] void broken_promise(const char* what) {
  std::fprintf(stderr, "csv_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const pa::io::CsvTable table = pa::io::parse_csv(text, "fuzz.csv");
    int64_t previous_line = table.header_line;
    for (const pa::io::CsvRow& row : table.rows) {
      if (row.fields.size() != table.header.size()) broken_promise("a row's field count differs");
      if (row.line <= previous_line) broken_promise("row lines do not increase");
      previous_line = row.line;
    }
  } catch (const pa::Error&) {
  }
  return 0;
}
