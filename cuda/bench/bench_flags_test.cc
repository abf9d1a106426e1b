// The GPU bench tools' command lines, parsed on the CPU as the tools parse them (bench_flags.h +
// pa::cli::parse_flags): defaults, --help exits 0, a bad flag or value exits 2 with a message
// naming the flag.
#include "cuda/bench/bench_flags.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/main.h"

namespace pa::cuda::bench {
namespace {

struct Parsed {
  std::optional<int> exit_code;  // nullopt: the tool goes on
  std::string output;            // stdout and stderr
};

Parsed parse(const std::string& tool, const std::function<void(CLI::App&)>& add_flags,
             std::vector<std::string> arguments) {
  CLI::App app{"test", tool};
  add_flags(app);
  arguments.insert(arguments.begin(), tool);
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  Parsed parsed;
  parsed.exit_code = pa::cli::parse_flags(app, static_cast<int>(argv.size()), argv.data());
  parsed.output = testing::internal::GetCapturedStdout();
  parsed.output += testing::internal::GetCapturedStderr();
  return parsed;
}

// A usage error: exit 2, and the message names `text` (the flag and what is wrong).
void expect_usage_error(const Parsed& parsed, const std::string& text) {
  ASSERT_TRUE(parsed.exit_code.has_value()) << "accepted; expected an error naming " << text;
  EXPECT_EQ(*parsed.exit_code, pa::cli::kExitUsage) << parsed.output;
  EXPECT_NE(parsed.output.find(text), std::string::npos) << parsed.output;
}

const std::vector<std::string> kVersions = {"v11_async_b_register_a", "v12_thread_tile_8x16"};

Parsed parse_gemm_ladder(GemmLadderFlags& flags, const std::vector<std::string>& arguments) {
  return parse(
      "gemm_ladder", [&](CLI::App& app) { add_gemm_ladder_flags(app, flags, kVersions); },
      arguments);
}

Parsed parse_attention_bench(AttentionBenchFlags& flags,
                             const std::vector<std::string>& arguments) {
  return parse(
      "attention_bench", [&](CLI::App& app) { add_attention_bench_flags(app, flags, 128); },
      arguments);
}

Parsed parse_attention_dump(AttentionDumpFlags& flags, const std::vector<std::string>& arguments) {
  return parse(
      "attention_dump", [&](CLI::App& app) { add_attention_dump_flags(app, flags); }, arguments);
}

class BenchFlags : public testing::Test {
 protected:
  void SetUp() override { unsetenv("PA_GIT_COMMIT"); }
  void TearDown() override { unsetenv("PA_GIT_COMMIT"); }
};

TEST_F(BenchFlags, GemmLadderDefaults) {
  GemmLadderFlags flags;
  const Parsed parsed = parse_gemm_ladder(flags, {});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(flags.out, ".");
  EXPECT_EQ(flags.commit, "");  // the tool records "unknown"
  EXPECT_EQ(flags.sizes, (std::vector<int>{128, 256, 512, 1024, 2048, 4096, 8192}));
  EXPECT_TRUE(flags.tall_k);
  EXPECT_TRUE(flags.bf16);
  EXPECT_TRUE(flags.variants.empty());
  EXPECT_TRUE(flags.shapes.empty());
}

TEST_F(BenchFlags, GemmLadderFlags) {
  setenv("PA_GIT_COMMIT", "from-environment", 1);
  GemmLadderFlags flags;
  const Parsed parsed = parse_gemm_ladder(
      flags, {"--out", "dir", "--sizes", "256,1024", "--variants", "v12_thread_tile_8x16",
              "--no-tall-k", "--no-bf16", "--shapes", "8192x2304x768,1x13x1"});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(flags.out, "dir");
  EXPECT_EQ(flags.commit, "from-environment");
  EXPECT_EQ(flags.sizes, (std::vector<int>{256, 1024}));
  EXPECT_EQ(flags.variants, (std::vector<std::string>{"v12_thread_tile_8x16"}));
  EXPECT_FALSE(flags.tall_k);
  EXPECT_FALSE(flags.bf16);
  EXPECT_EQ(flags.shapes, (std::vector<GemmShape>{{8192, 2304, 768}, {1, 13, 1}}));
  GemmLadderFlags overridden;
  parse_gemm_ladder(overridden, {"--commit", "abc123"});
  EXPECT_EQ(overridden.commit, "abc123");
}

TEST_F(BenchFlags, GemmLadderHelpAndBadFlags) {
  GemmLadderFlags flags;
  const Parsed help = parse_gemm_ladder(flags, {"--help"});
  ASSERT_TRUE(help.exit_code.has_value());
  EXPECT_EQ(*help.exit_code, 0);
  for (const char* flag :
       {"--out", "--commit", "--sizes", "--shapes", "--variants", "--no-tall-k", "--no-bf16"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag << " not in\n" << help.output;
  }
  GemmLadderFlags bad;
  expect_usage_error(parse_gemm_ladder(bad, {"--sizes", "abc"}),
                     "gemm_ladder: --sizes: must be a whole number, got abc");
  expect_usage_error(parse_gemm_ladder(bad, {"--sizes", "256,abc"}),
                     "--sizes: must be a whole number, got abc");
  expect_usage_error(parse_gemm_ladder(bad, {"--sizes", "0"}), "--sizes: must be a positive");
  expect_usage_error(parse_gemm_ladder(bad, {"--sizes", "99999999999999999999"}),
                     "--sizes: must be at most 65536");
  expect_usage_error(parse_gemm_ladder(bad, {"--variants", "v12_thread_tile_8x16,v99"}),
                     "--variants: no version named v99");
  expect_usage_error(parse_gemm_ladder(bad, {"--shapes", "8192x768"}),
                     "--shapes: must be MxNxK (three whole numbers joined by x), got '8192x768'");
  expect_usage_error(parse_gemm_ladder(bad, {"--shapes", "8x0x8"}),
                     "--shapes: N must be a positive");
  expect_usage_error(parse_gemm_ladder(bad, {"--shapes", "8x8x99999"}),
                     "--shapes: K must be at most 65536");
  expect_usage_error(parse_gemm_ladder(bad, {"--shapes", "8x8x8x"}), "must be MxNxK");
  expect_usage_error(parse_gemm_ladder(bad, {"--bogus"}), "not expected: --bogus");
  expect_usage_error(parse_gemm_ladder(bad, {"--out"}), "--out");
}

TEST_F(BenchFlags, AttentionBenchDefaultsAndFlags) {
  AttentionBenchFlags flags;
  Parsed parsed = parse_attention_bench(flags, {"--out", "dir"});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(flags.out, "dir");
  EXPECT_EQ(flags.python, "python3");
  EXPECT_FALSE(flags.skip_fp32);
  ASSERT_EQ(flags.shapes.size(), 4u);
  EXPECT_EQ(flags.shapes[0].text(), "4,48,4096,64");
  EXPECT_EQ(flags.shapes[3].text(), "1,8,16384,128");

  setenv("PA_GIT_COMMIT", "from-environment", 1);
  AttentionBenchFlags given;
  parsed = parse_attention_bench(given, {"--out", "dir", "--shapes", "2,3,100,32", "1,1,17,128",
                                         "--skip-fp32", "--python", "/usr/bin/python3"});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(given.commit, "from-environment");
  EXPECT_EQ(given.python, "/usr/bin/python3");
  EXPECT_TRUE(given.skip_fp32);
  ASSERT_EQ(given.shapes.size(), 2u);
  EXPECT_EQ(given.shapes[0].B, 2);
  EXPECT_EQ(given.shapes[0].H, 3);
  EXPECT_EQ(given.shapes[0].N, 100);
  EXPECT_EQ(given.shapes[0].D, 32);
  EXPECT_EQ(given.shapes[1].text(), "1,1,17,128");
}

TEST_F(BenchFlags, AttentionBenchHelpAndBadFlags) {
  AttentionBenchFlags flags;
  const Parsed help = parse_attention_bench(flags, {"--help"});
  ASSERT_TRUE(help.exit_code.has_value());
  EXPECT_EQ(*help.exit_code, 0);
  for (const char* flag : {"--out", "--commit", "--python", "--skip-fp32", "--shapes"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag << " not in\n" << help.output;
  }
  AttentionBenchFlags bad;
  expect_usage_error(parse_attention_bench(bad, {}), "--out");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes", "4,48,4096,256"}),
                     "--shapes: D must be at most 128");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes", "4,48"}),
                     "--shapes: must be B,H,N,D");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes", "4,48,4096,64,"}),
                     "--shapes: must be B,H,N,D");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes", "0,48,4096,64"}),
                     "--shapes: B must be a positive whole number");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes", "4,48,4096,6x"}),
                     "--shapes: D must be a whole number");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--shapes"}), "--shapes");
  expect_usage_error(parse_attention_bench(bad, {"--out", "dir", "--bogus"}), "--bogus");
}

TEST_F(BenchFlags, AttentionDump) {
  AttentionDumpFlags flags;
  Parsed parsed = parse_attention_dump(flags, {"--dir", "dir"});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(flags.dir, "dir");
  EXPECT_EQ(flags.dims, (std::vector<int64_t>{32, 64, 128}));
  parsed = parse_attention_dump(flags, {"--dir", "dir", "--dims", "64"});
  EXPECT_FALSE(parsed.exit_code.has_value()) << parsed.output;
  EXPECT_EQ(flags.dims, (std::vector<int64_t>{64}));

  const Parsed help = parse_attention_dump(flags, {"--help"});
  ASSERT_TRUE(help.exit_code.has_value());
  EXPECT_EQ(*help.exit_code, 0);
  EXPECT_NE(help.output.find("--dims"), std::string::npos) << help.output;
  AttentionDumpFlags bad;
  expect_usage_error(parse_attention_dump(bad, {}), "--dir");
  expect_usage_error(parse_attention_dump(bad, {"--dir", "dir", "--dims", "32,x"}),
                     "--dims: must be a whole number, got x");
  expect_usage_error(parse_attention_dump(bad, {"--dir", "dir", "--dims", "0"}), "--dims");
  expect_usage_error(parse_attention_dump(bad, {"--dir", "dir", "--bogus"}), "--bogus");
}

}  // namespace
}  // namespace pa::cuda::bench
