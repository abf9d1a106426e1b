// The CSV reader (see csv.h): one pass over the text, field by field, counting lines as it goes
// (including line breaks inside quoted fields) so that every row knows the line it starts on.
#include "engine/io/csv.h"

#include "engine/core/error.h"
#include "engine/io/file.h"

namespace pa::io {

namespace {

// Reads records from CSV text one at a time.
class CsvScanner {
 public:
  CsvScanner(const std::string& text, const std::string& source, const std::string& op)
      : text_(text), source_(source), op_(op) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) position_ = 3;  // UTF-8 byte-order mark
  }

  bool done() const { return position_ >= text_.size(); }
  int64_t line() const { return line_; }

  // The fields of the next record; `blank` is set when the record is an empty line.
  std::vector<std::string> next_record(bool& blank) {
    std::vector<std::string> fields;
    bool quoted_any = false;
    while (true) {
      std::string field;
      if (peek() == '"') {
        read_quoted(field);
        quoted_any = true;
      } else {
        read_unquoted(field);
      }
      fields.push_back(std::move(field));
      if (peek() == ',') {
        ++position_;
        continue;
      }
      skip_line_end();
      break;
    }
    blank = !quoted_any && fields.size() == 1 && fields[0].empty();
    return fields;
  }

 private:
  // The current character, or '\0' at the end of the text.
  char peek() const { return position_ < text_.size() ? text_[position_] : '\0'; }

  // A line ends at "\n", "\r\n", or a "\r" that is the last character of the text.
  bool at_line_end() const {
    if (done() || text_[position_] == '\n') return true;
    return text_[position_] == '\r' &&
           (position_ + 1 == text_.size() || text_[position_ + 1] == '\n');
  }

  void skip_line_end() {
    if (peek() == '\r') ++position_;
    if (peek() == '\n') {
      ++position_;
      ++line_;
    }
  }

  void read_unquoted(std::string& field) {
    while (!at_line_end() && text_[position_] != ',') field += text_[position_++];
  }

  // A field in double quotes; "" inside stands for one quote, line breaks are part of the field.
  void read_quoted(std::string& field) {
    const int64_t opened_at = line_;
    ++position_;  // the opening quote
    while (true) {
      PA_CHECK(!done(), op_,
               "file '" << source_ << "', line " << opened_at
                        << ": a quoted field is never closed (the file ends inside it)",
               "a quote inside a quoted field must be doubled (\"\"); check that line for a stray "
               "quote");
      const char c = text_[position_++];
      if (c == '"') {
        if (peek() != '"') break;
        ++position_;
      } else if (c == '\n') {
        ++line_;
      }
      field += c;
    }
    PA_CHECK(peek() == ',' || at_line_end(), op_,
             "file '" << source_ << "', line " << line_ << ": unexpected character "
                      << quote_input(std::string(1, peek()))
                      << " after the closing quote of a field",
             "a quoted field must be followed by a comma or the end of the line; double any "
             "quote inside it (\"\")");
  }

  const std::string& text_;
  const std::string& source_;
  const std::string& op_;
  size_t position_ = 0;
  int64_t line_ = 1;
};

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& source, const std::string& op) {
  CsvTable table;
  table.source = source;
  CsvScanner scanner(text, source, op);
  bool have_header = false;
  while (!scanner.done()) {
    const int64_t line = scanner.line();
    bool blank = false;
    std::vector<std::string> fields = scanner.next_record(blank);
    if (blank) continue;
    if (!have_header) {
      table.header = std::move(fields);
      table.header_line = line;
      have_header = true;
      continue;
    }
    PA_CHECK(fields.size() == table.header.size(), op,
             "file '" << source << "', line " << line << ": " << fields.size()
                      << " fields, expected " << table.header.size() << " as in the header (line "
                      << table.header_line << ")",
             "a field that contains a comma must be quoted; check the line for a missing or "
             "extra value");
    table.rows.push_back({line, std::move(fields)});
  }
  PA_CHECK(have_header, op, "file '" << source << "' is empty: no header row",
           "a CSV file starts with a header line naming its columns");
  return table;
}

CsvTable read_csv(const std::string& path, const std::string& op) {
  return parse_csv(read_file(path, op), path, op);
}

}  // namespace pa::io
