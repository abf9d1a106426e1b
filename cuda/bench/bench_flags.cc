// The GPU bench tools' flags (see bench_flags.h).
#include "cuda/bench/bench_flags.h"

#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>

#include "cli/flags.h"

namespace pa::cuda::bench {
namespace {

// The shape `text` means ("B,H,N,D": four positive whole numbers, D <= max_head_dim), or nullopt
// with the problem in `problem`.
std::optional<AttentionBenchShape> read_shape(const std::string& text, int64_t max_head_dim,
                                              std::string& problem) {
  std::vector<std::string> parts;
  std::stringstream list(text);
  for (std::string part; std::getline(list, part, ',');) parts.push_back(part);
  if (parts.size() != 4 || text.back() == ',') {
    problem = "must be B,H,N,D (four whole numbers with commas), got '" + text + "'";
    return std::nullopt;
  }
  const char* names[] = {"B", "H", "N", "D"};
  int64_t values[4];
  for (int i = 0; i < 4; ++i) {
    const int64_t max = i == 3 ? max_head_dim : std::numeric_limits<int32_t>::max();
    std::string why;
    const std::optional<int64_t> value = pa::cli::parse_whole_number(parts[i], 1, max, &why);
    if (!value) {
      problem = std::string(names[i]) + " " + why + " (in '" + text + "')";
      return std::nullopt;
    }
    values[i] = *value;
  }
  return AttentionBenchShape{values[0], values[1], values[2], values[3]};
}

// The GEMM problem `text` means ("MxNxK": three whole numbers in [1, 65536]), or nullopt with
// the problem in `problem`.
std::optional<GemmShape> read_gemm_shape(const std::string& text, std::string& problem) {
  std::vector<std::string> parts;
  std::stringstream list(text);
  for (std::string part; std::getline(list, part, 'x');) parts.push_back(part);
  if (parts.size() != 3 || text.empty() || text.back() == 'x') {
    problem = "must be MxNxK (three whole numbers joined by x), got '" + text + "'";
    return std::nullopt;
  }
  const char* names[] = {"M", "N", "K"};
  int values[3];
  for (int i = 0; i < 3; ++i) {
    std::string why;
    const std::optional<int64_t> value = pa::cli::parse_whole_number(parts[i], 1, 65536, &why);
    if (!value) {
      problem = std::string(names[i]) + " " + why + " (in '" + text + "')";
      return std::nullopt;
    }
    values[i] = int(*value);
  }
  return GemmShape{values[0], values[1], values[2]};
}

void commit_from_environment(std::string& commit) {
  if (const char* env = std::getenv("PA_GIT_COMMIT")) commit = env;
}

}  // namespace

std::string AttentionBenchShape::text() const {
  return std::to_string(B) + "," + std::to_string(H) + "," + std::to_string(N) + "," +
         std::to_string(D);
}

void add_gemm_ladder_flags(CLI::App& app, GemmLadderFlags& flags,
                           const std::vector<std::string>& versions) {
  commit_from_environment(flags.commit);
  app.add_option("--out", flags.out, "output folder for gemm_ladder.jsonl")->capture_default_str();
  app.add_option("--commit", flags.commit,
                 "commit to record (default: PA_GIT_COMMIT, else unknown; the GPU machine has "
                 "no git)");
  app.add_option("--sizes", flags.sizes, "square sizes n (n x n x n), comma-separated")
      ->delimiter(',')
      ->check(pa::cli::whole_number(1, 65536))
      ->capture_default_str();
  app.add_option("--variants", flags.variants,
                 "versions to run, comma-separated (default: every version; cuBLAS always runs)")
      ->delimiter(',')
      ->check(CLI::Validator(
          [versions](std::string& name) -> std::string {
            for (const std::string& version : versions) {
              if (name == version) return "";
            }
            std::string known;
            for (const std::string& version : versions)
              known += (known.empty() ? "" : ", ") + version;
            return "no version named " + name + " (versions: " + known + ")";
          },
          "NAME"));
  app.add_option_function<std::vector<std::string>>(
         "--shapes",
         [&flags](const std::vector<std::string>& texts) {
           flags.shapes.clear();
           std::string problem;
           for (const std::string& text : texts)
             flags.shapes.push_back(*read_gemm_shape(text, problem));
         },
         "more problems after the squares, each MxNxK, comma-separated (the GPT-2-small "
         "training step's: 8192x2304x768,8192x768x768,8192x3072x768,8192x768x3072,"
         "8192x50304x768)")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            std::string problem;
            return read_gemm_shape(text, problem) ? "" : problem;
          },
          "MxNxK"));
  app.add_flag_callback(
      "--no-tall-k", [&flags] { flags.tall_k = false; }, "leave out the (512, 512, 32768) shape");
  app.add_flag_callback(
      "--no-bf16", [&flags] { flags.bf16 = false; },
      "leave out the bf16 tensor-core rungs and their cuBLAS bf16 anchor");
}

void add_attention_bench_flags(CLI::App& app, AttentionBenchFlags& flags, int64_t max_head_dim) {
  commit_from_environment(flags.commit);
  app.add_option("--out", flags.out, "output folder for attention.jsonl")->required();
  app.add_option("--commit", flags.commit, "commit to record (default: PA_GIT_COMMIT)");
  app.add_option("--python", flags.python, "the Python with torch that runs torch_attention.py")
      ->capture_default_str();
  app.add_flag("--skip-fp32", flags.skip_fp32, "leave out our fp32 kernels and their anchor");
  const CLI::Validator shape_check(
      [max_head_dim](std::string& text) -> std::string {
        std::string problem;
        return read_shape(text, max_head_dim, problem) ? "" : problem;
      },
      "B,H,N,D");
  app.add_option_function<std::vector<std::string>>(
         "--shapes",
         [&flags, max_head_dim](const std::vector<std::string>& texts) {
           flags.shapes.clear();
           std::string problem;
           for (const std::string& text : texts) {
             flags.shapes.push_back(*read_shape(text, max_head_dim, problem));
           }
         },
         "problems (B, H, N, D), each as B,H,N,D, D at most " + std::to_string(max_head_dim) +
             " (default: 4,48,4096,64 4,16,4096,128 16,16,1024,64 1,8,16384,128)")
      ->check(shape_check);
}

void add_attention_dump_flags(CLI::App& app, AttentionDumpFlags& flags) {
  app.add_option("--dir", flags.dir, "output folder for cases.jsonl and the case folders")
      ->required();
  app.add_option("--dims", flags.dims, "head dims D, comma-separated")
      ->delimiter(',')
      ->check(pa::cli::whole_number(1, 1 << 20))
      ->capture_default_str();
}

}  // namespace pa::cuda::bench
