// The command lines of the GPU bench tools (gemm_ladder, attention_bench, attention_dump): CLI11
// with cli/flags.h's validators, as the experiments parse theirs. Kept apart from the tools,
// which need CUDA, so that the CPU build tests them (bench_flags_test): --help exits 0, a bad
// flag or value exits 2 with a message naming the flag. Each add_*_flags adds a tool's flags to
// its CLI::App, bound to the fields below (the defaults are the fields' initial values); the
// tool then parses with pa::cli::parse_flags.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace pa::cuda::bench {

// One GEMM problem C (m, n) = A (m, k) B (k, n).
struct GemmShape {
  int m, n, k;
  bool operator==(const GemmShape& other) const {
    return m == other.m && n == other.n && k == other.k;
  }
};

struct GemmLadderFlags {
  std::string out = ".";
  std::string commit;  // --commit, else PA_GIT_COMMIT, else "unknown"
  std::vector<int> sizes = {128, 256, 512, 1024, 2048, 4096, 8192};  // squares n x n x n
  std::vector<GemmShape> shapes;      // --shapes MxNxK: more problems, after the squares
  bool tall_k = true;                 // also (512, 512, 32768), where split-K matters
  std::vector<std::string> variants;  // empty: every version
  bool bf16 = true;                   // also the bf16 rungs (gemm_bf16.h) vs cuBLAS bf16
};
// `versions`: the names --variants accepts (kGemmVersions).
void add_gemm_ladder_flags(CLI::App& app, GemmLadderFlags& flags,
                           const std::vector<std::string>& versions);

// One attention problem, (B, H, N, D) with Nq = Nk = N.
struct AttentionBenchShape {
  int64_t B, H, N, D;
  std::string text() const;  // "B,H,N,D", as --shapes takes it
};

struct AttentionBenchFlags {
  std::string out;     // required
  std::string commit;  // --commit, else PA_GIT_COMMIT
  std::string python = "python3";
  bool skip_fp32 = false;
  std::vector<AttentionBenchShape> shapes = {
      {4, 48, 4096, 64}, {4, 16, 4096, 128}, {16, 16, 1024, 64}, {1, 8, 16384, 128}};
};
// `max_head_dim`: the largest D --shapes accepts (cuda/attention's kMaxHeadDim).
void add_attention_bench_flags(CLI::App& app, AttentionBenchFlags& flags, int64_t max_head_dim);

struct AttentionDumpFlags {
  std::string dir;  // required
  std::vector<int64_t> dims = {32, 64, 128};
};
void add_attention_dump_flags(CLI::App& app, AttentionDumpFlags& flags);

}  // namespace pa::cuda::bench
