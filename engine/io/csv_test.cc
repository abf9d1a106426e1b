// The CSV reader: plain, quoted, CRLF and BOM input, blank lines, line numbers of rows that
// follow multi-line fields, and one test per malformed input (each message names the file and
// the line).
#include "engine/io/csv.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/tests/test_util.h"

namespace pa::io {
namespace {

using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;
using Fields = std::vector<std::string>;

TEST(Csv, PlainRowsWithLineNumbers) {
  const CsvTable table = parse_csv("a,b,c\n1,2,3\n4,,6\n", "plain.csv");
  EXPECT_EQ(table.source, "plain.csv");
  EXPECT_EQ(table.header, (Fields{"a", "b", "c"}));
  EXPECT_EQ(table.header_line, 1);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].line, 2);
  EXPECT_EQ(table.rows[0].fields, (Fields{"1", "2", "3"}));
  EXPECT_EQ(table.rows[1].line, 3);
  EXPECT_EQ(table.rows[1].fields, (Fields{"4", "", "6"}));
}

TEST(Csv, QuotedFieldsEscapesAndLineBreaksInside) {
  const CsvTable table = parse_csv(
      "name,note\n\"Smith, J\",\"say \"\"hi\"\"\"\n\"two\nlines\",x\n\"\",\"<1H OCEAN\"\nlast,1\n",
      "quoted.csv");
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"Smith, J", "say \"hi\""}));
  EXPECT_EQ(table.rows[1].fields, (Fields{"two\nlines", "x"}));
  EXPECT_EQ(table.rows[1].line, 3);
  EXPECT_EQ(table.rows[2].fields, (Fields{"", "<1H OCEAN"}));
  EXPECT_EQ(table.rows[2].line, 5);  // the quoted line break moved every later row down
  EXPECT_EQ(table.rows[3].line, 6);
}

TEST(Csv, CrlfBomBlankLinesAndNoFinalNewline) {
  const CsvTable crlf = parse_csv("\xEF\xBB\xBFx,y\r\n1,2\r\n\r\n3,\"4\"\r\n\r\n", "crlf.csv");
  EXPECT_EQ(crlf.header, (Fields{"x", "y"}));
  ASSERT_EQ(crlf.rows.size(), 2u);
  EXPECT_EQ(crlf.rows[0].fields, (Fields{"1", "2"}));
  EXPECT_EQ(crlf.rows[1].fields, (Fields{"3", "4"}));
  EXPECT_EQ(crlf.rows[1].line, 4);

  const CsvTable unterminated_line = parse_csv("x,y\n1,2", "last.csv");
  ASSERT_EQ(unterminated_line.rows.size(), 1u);
  EXPECT_EQ(unterminated_line.rows[0].fields, (Fields{"1", "2"}));

  const CsvTable lone_carriage_return = parse_csv("x,y\n1,2\r", "cr.csv");
  EXPECT_EQ(lone_carriage_return.rows[0].fields, (Fields{"1", "2"}));

  const CsvTable header_only = parse_csv("x,y\n", "header.csv");
  EXPECT_EQ(header_only.header, (Fields{"x", "y"}));
  EXPECT_TRUE(header_only.rows.empty());
}

TEST(Csv, ReadsAFile) {
  const std::string path = temp_path("table.csv");
  std::ofstream(path) << "a,b\n1,2\n";
  const CsvTable table = read_csv(path);
  EXPECT_EQ(table.source, path);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].fields, (Fields{"1", "2"}));
}

TEST(Csv, WrongFieldCountNamesTheLine) {
  EXPECT_TRUE(
      ThrowsPaError([] { parse_csv("a,b,c\n1,2,3\n\n4,5\n", "short.csv"); },
                    {"pa::io::read_csv", "short.csv", "line 4", "2 fields, expected 3", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { parse_csv("a,b\n1,2,3\n", "long.csv", "my_op"); },
                            {"pa::my_op", "long.csv", "line 2", "3 fields, expected 2"}));
}

TEST(Csv, UnterminatedQuoteNamesTheLineItOpensOn) {
  EXPECT_TRUE(ThrowsPaError([] { parse_csv("a,b\n1,2\n3,\"open\n4,5\n", "open.csv"); },
                            {"open.csv", "line 3", "never closed", "Hint:"}));
}

TEST(Csv, TextAfterClosingQuoteIsAnError) {
  EXPECT_TRUE(ThrowsPaError([] { parse_csv("a,b\n\"x\"y,2\n", "after.csv"); },
                            {"after.csv", "line 2", "after the closing quote"}));
}

// A NUL byte or a 50 MB field in the way: the message quotes a short, escaped excerpt, so it is
// neither cut at the NUL (what() is a C string) nor 50 MB long.
TEST(Csv, MessagesQuoteBoundedEscapedExcerpts) {
  const std::string huge_field(50'000'000, 'x');
  for (const std::string& text :
       {std::string("a,b\n\"x\"\0,2\n", 11),
        "a,b\n\"" + huge_field + std::string("\"\0", 2) + huge_field + "\n"}) {
    try {
      parse_csv(text, "nul.csv");
      ADD_FAILURE() << "did not throw";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_LT(message.size(), 1000u);
      EXPECT_NE(message.find("unexpected character '\\x00' after the closing quote"),
                std::string::npos)
          << message;
      EXPECT_NE(message.find("Hint:"), std::string::npos) << message;
    }
  }
}

TEST(Csv, EmptyAndMissingFiles) {
  EXPECT_TRUE(ThrowsPaError([] { parse_csv("", "empty.csv"); }, {"empty.csv", "no header row"}));
  EXPECT_TRUE(ThrowsPaError([] { parse_csv("\n\r\n", "blank.csv"); }, {"no header row"}));
  EXPECT_TRUE(ThrowsPaError([] { read_csv(temp_path("missing.csv")); },
                            {"pa::io::read_csv", "missing.csv", "Hint:"}));
  EXPECT_TRUE(ThrowsPaError([] { read_csv(temp_path("")); }, {"directory"}));
}

}  // namespace
}  // namespace pa::io
