// Run outputs: SHA-256 against the FIPS 180-4 test vectors, metrics.jsonl rows, atomic JSON
// files, and the two progress displays.
#include "engine/train/run_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/tests/test_util.h"
#include "engine/train/sha256.h"

namespace pa::train {
namespace {

using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileMatchesBytesAndMissingFileIsNamed) {
  const std::string path = temp_path("hash_me.txt");
  std::ofstream(path) << std::string(70000, 'x');  // crosses the 64 KiB read buffer
  EXPECT_EQ(sha256_file(path), sha256_hex(std::string(70000, 'x')));
  EXPECT_TRUE(ThrowsPaError([] { sha256_file(temp_path("missing.csv")); },
                            {"train::sha256_file", "missing.csv", "Hint:"}));
}

TEST(RunLog, WritesOneJsonRowPerLogAndAtomicFiles) {
  const std::string dir = temp_path("run/nested");
  {
    RunLog log(dir);
    log.log({{"step", 0}, {"loss", 1.5}});
    log.log({{"step", 10}, {"loss", 0.25}});
    EXPECT_EQ(log.rows(), 2);
    log.write_json("summary.json", {{"final_loss", 0.25}});
  }
  std::ifstream metrics(dir + "/metrics.jsonl");
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(metrics, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["step"], 10);
  EXPECT_EQ(rows[1]["loss"], 0.25);
  std::ifstream summary(dir + "/summary.json");
  EXPECT_EQ(nlohmann::json::parse(summary)["final_loss"], 0.25);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
  // A fresh run in the same folder starts a fresh metrics file.
  RunLog again(dir);
  again.log({{"step", 0}});
  std::ifstream reread(dir + "/metrics.jsonl");
  int count = 0;
  while (std::getline(reread, line)) ++count;
  EXPECT_EQ(count, 1);
}

TEST(RunLog, UnwritableFolderIsAClearError) {
  const std::string file = temp_path("plain_file");
  std::ofstream(file) << "x";
  EXPECT_TRUE(ThrowsPaError([&] { RunLog log(file + "/sub"); },
                            {"train::RunLog", "plain_file/sub", "Hint:"}));
}

TEST(Progress, PlainLinesEveryTenthWhenNotATerminal) {
  std::ostringstream out;
  Progress progress("train", 100, out, false);
  for (int step = 0; step < 100; ++step) progress.update(step, "loss 0.5");
  progress.finish("done");
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 11);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("train 50/100"), std::string::npos) << text;
  EXPECT_NE(text.find("train 100/100"), std::string::npos) << text;
  EXPECT_NE(text.find("done"), std::string::npos);
}

TEST(Progress, TerminalRedrawsOneBarLine) {
  std::ostringstream out;
  Progress progress("train", 4, out, true);
  progress.update(4, "loss 0.1");
  progress.finish("done");
  const std::string text = out.str();
  EXPECT_NE(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("[##############################]"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace pa::train
