// //cli: run_program passes arguments literally (no shell), reports exit statuses and programs
// that cannot start; the flag validators reject what CLI11 would clamp, wrap or misread; run_main
// turns every exception into an exit code.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/main.h"
#include "cli/process.h"
#include "engine/core/error.h"

namespace pa::cli {
namespace {

TEST(RunProgram, PassesShellSyntaxLiterally) {
  const std::vector<std::string> arguments = {
      "a;b",  "$(echo injected)",      "'quoted'", "\"double\"", "two words",
      "`id`", "x && y | z > /dev/null"};
  std::vector<std::string> argv = {"printf", "%s\\n"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const ProgramResult result = run_program(argv);
  ASSERT_TRUE(result.ok()) << result.status();
  std::string expected;
  for (const std::string& argument : arguments) expected += argument + "\n";
  EXPECT_EQ(result.output, expected);
}

TEST(RunProgram, ReportsExitStatusAndCapturesStderr) {
  const ProgramResult failed =
      run_program({"sh", "-c", "echo out; echo err >&2; exit 3"}, StderrMode::kCapture);
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(failed.signaled);
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_EQ(failed.status(), "exit status 3");
  EXPECT_EQ(failed.output, "out\nerr\n");
  const ProgramResult discarded =
      run_program({"sh", "-c", "echo out; echo err >&2"}, StderrMode::kDiscard);
  EXPECT_TRUE(discarded.ok());
  EXPECT_EQ(discarded.output, "out\n");
  const ProgramResult killed = run_program({"sh", "-c", "kill -9 $$"});
  EXPECT_TRUE(killed.signaled);
  EXPECT_EQ(killed.status(), "killed by signal 9");
}

TEST(RunProgram, MissingProgramIsAClearError) {
  try {
    run_program({"/nonexistent/pa-helper", "--flag"});
    FAIL() << "no error for a missing program";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("cannot start '/nonexistent/pa-helper'"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  }
  EXPECT_THROW(run_program({"pa-no-such-program-on-path"}), Error);
  EXPECT_THROW(run_program({}), Error);
}

TEST(Excerpt, BoundedAndEscaped) {
  EXPECT_EQ(excerpt(""), "nothing");
  EXPECT_EQ(excerpt("a\nb\x01"), "'a\\nb\\x01'");
  EXPECT_EQ(excerpt(std::string(1000, 'x'), 10), "'xxxxxxxxxx' (990 more bytes)");
}

// The validator's verdict on `input`: "" or the problem.
std::string check(const CLI::Validator& validator, std::string& input) { return validator(input); }

TEST(Flags, WholeNumbers) {
  std::string value = "10";
  EXPECT_EQ(check(positive_integer(), value), "");
  for (const char* bad : {"1.5", "1e3", "abc", "", "0x10", "010", "12abc", "+", " 3"}) {
    value = bad;
    EXPECT_NE(check(positive_integer(), value).find("must be a whole number"), std::string::npos)
        << bad;
  }
  value = "1.5";
  EXPECT_NE(check(positive_integer(), value).find("no fraction"), std::string::npos);
  value = "010";  // CLI11 (strtoll, base 0) would read 8
  EXPECT_NE(check(positive_integer(), value).find("leading zero"), std::string::npos);
  value = "99999999999999999999";
  EXPECT_NE(check(positive_integer(), value).find("at most 9223372036854775807"),
            std::string::npos);
  value = "9223372036854775808";
  EXPECT_NE(check(positive_integer(), value), "");
  value = "9223372036854775807";
  EXPECT_EQ(check(positive_integer(), value), "");
  value = "0";
  EXPECT_NE(check(positive_integer(), value).find("positive"), std::string::npos);
  value = "-1";
  EXPECT_NE(check(non_negative_integer(), value).find("zero or more"), std::string::npos);
  value = "-1";
  EXPECT_NE(check(any_unsigned(), value), "");  // never wrapped to 2^64 - 1
  value = "18446744073709551615";
  EXPECT_EQ(check(any_unsigned(), value), "");
  value = "18446744073709551616";
  EXPECT_NE(check(any_unsigned(), value), "");
  value = "-5";
  EXPECT_EQ(check(whole_number(-10, 10), value), "");
  value = "257";
  EXPECT_NE(check(whole_number(0, 256), value).find("at most 256"), std::string::npos);
}

TEST(Flags, ParseWholeNumber) {
  EXPECT_EQ(parse_whole_number("42", 1, 100), 42);
  std::string problem;
  EXPECT_EQ(parse_whole_number("abc", 1, 100, &problem), std::nullopt);
  EXPECT_NE(problem.find("must be a whole number, got abc"), std::string::npos);
  EXPECT_EQ(parse_whole_number("0", 1, 100, &problem), std::nullopt);
  EXPECT_EQ(parse_whole_number("101", 1, 100, &problem), std::nullopt);
}

TEST(Flags, RealNumbers) {
  for (const char* bad : {"nan", "inf", "-inf", "abc", "", "1e999"}) {
    std::string value = bad;
    EXPECT_NE(check(non_negative_number(), value), "") << bad;
    value = bad;
    EXPECT_NE(check(positive_number(), value), "") << bad;
    value = bad;
    EXPECT_NE(check(number_in(0.0, 0.5), value), "") << bad;
  }
  std::string value = "0";
  EXPECT_EQ(check(non_negative_number(), value), "");
  EXPECT_NE(check(positive_number(), value), "");
  value = "0.6";
  EXPECT_NE(check(number_in(0.0, 0.5), value).find("between 0 and 0.5"), std::string::npos);
}

TEST(Flags, ParsedThroughCli11) {
  CLI::App app{"test", "tool"};
  int64_t steps = 5;
  uint64_t seed = 0;
  app.add_option("--steps", steps)->check(positive_integer());
  app.add_option("--seed", seed)->check(any_unsigned());
  const char* good[] = {"tool", "--steps", "10", "--seed", "18446744073709551615"};
  app.parse(5, const_cast<char**>(good));
  EXPECT_EQ(steps, 10);
  EXPECT_EQ(seed, std::numeric_limits<uint64_t>::max());
  const char* overflow[] = {"tool", "--steps", "99999999999999999999"};
  EXPECT_THROW(app.parse(3, const_cast<char**>(overflow)), CLI::ValidationError);
  const char* negative_seed[] = {"tool", "--seed", "-1"};
  EXPECT_THROW(app.parse(3, const_cast<char**>(negative_seed)), CLI::ValidationError);
}

TEST(ParseFlags, MessagesNameTheTool) {
  CLI::App app{"test", "tool"};
  int64_t steps = 5;
  app.add_option("--steps", steps)->check(positive_integer());
  const char* bogus[] = {"tool", "--bogus"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse_flags(app, 2, const_cast<char**>(bogus)), kExitUsage);
  EXPECT_EQ(testing::internal::GetCapturedStderr().rfind("tool: The following argument", 0), 0u);
  const char* help[] = {"tool", "--help"};
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse_flags(app, 2, const_cast<char**>(help)), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--steps"), std::string::npos);
}

TEST(RunMain, EveryExceptionBecomesAnExitCode) {
  EXPECT_EQ(run_main("tool", [] { return 0; }), 0);
  EXPECT_EQ(run_main("tool", [] { return 3; }), 3);
  EXPECT_EQ(run_main("tool", []() -> int { throw Error("op", "bad"); }), 1);
  EXPECT_EQ(run_main("tool", []() -> int { throw UsageError("bad flag"); }), 2);
  EXPECT_EQ(run_main("tool", []() -> int { throw std::bad_alloc(); }), 1);
  EXPECT_EQ(run_main("tool", []() -> int { throw std::runtime_error("x"); }), 1);
  EXPECT_EQ(run_main("tool", []() -> int { throw 42; }), 1);
  testing::internal::CaptureStderr();
  run_main("tool", []() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "tool: error: boom\n");
}

}  // namespace
}  // namespace pa::cli
