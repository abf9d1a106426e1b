// train_step_bench: one training step of the denoising Transformer, ours vs PyTorch eager on the
// same device, measured in one run (experiments/train_step_compare.h). On the GPU machine:
//   .gpu/train_step_bench --device cuda --python python3 --commit <sha> --out DIR
// writes DIR/train_step.jsonl (the ours row carries the ratio) and prints the comparison.
// Exit codes: 0 done, 1 a run error or a PyTorch side that failed (ours is still written), 2 a
// bad flag or value (--device cuda in a build without CUDA or on a machine without a GPU).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/main.h"
#include "experiments/common/experiment.h"
#include "experiments/train_step_compare.h"

int main(int argc, char** argv) {
  using namespace pa::experiments;
  CLI::App app{"denoising training step: ours vs PyTorch eager on one device", "train_step_bench"};
  std::string device_name = "cuda", out, python = "/usr/bin/python3", commit;
  int threads = 2, steps = 50, rounds = 3;
  app.add_option("--device", device_name, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (both sides)")
      ->check(whole_number(1, 256))
      ->capture_default_str();
  app.add_option("--steps", steps, "timed steps per round")
      ->check(whole_number(1, 100000))
      ->capture_default_str();
  app.add_option("--rounds", rounds, "alternating rounds of ours and PyTorch")
      ->check(whole_number(1, 100))
      ->capture_default_str();
  app.add_option("--python", python, "the Python with torch that runs torch_step.py")
      ->capture_default_str();
  app.add_option("--commit", commit, "commit to record (default: git in the workspace)");
  app.add_option("--out", out, "output folder (default: results/train_step/ under the workspace)");
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  return pa::cli::run_main("train_step_bench", [&] {
    if (device_name == "cuda" && !pa::cuda_available()) {
      throw pa::cli::UsageError(
          "--device cuda: this build has no CUDA backend or no GPU is visible (build with "
          "--config=cuda and run on a machine with a GPU)");
    }
    const pa::Device device = pa::parse_device(device_name);
    out = out.empty() ? default_out_dir("train_step") : resolve_user_path(out);
    std::filesystem::create_directories(out);
    if (commit.empty()) commit = git_state(workspace_dir()).commit;
    const TrainStepComparison c = compare_train_step(device, threads, steps, rounds, python);
    const std::string path = out + "/train_step.jsonl", partial = path + ".partial";
    {
      std::ofstream file(partial, std::ios::trunc);
      for (nlohmann::json row : train_step_rows(c, threads)) {
        row["commit"] = commit;
        row["device"] = device_name;
        file << row.dump() << "\n";
      }
    }
    std::filesystem::rename(partial, path);  // complete rows only
    if (c.has_torch()) {
      std::cout << "train_step " << c.shape << " on " << device_name << ": ours " << c.ours_ms
                << " ms, PyTorch " << c.torch_version << " " << c.torch_ms << " ms (ratio "
                << c.torch_ms / c.ours_ms << ", median of " << rounds << " rounds)\n";
    }
    std::cout << "rows in " << path << "\n";
    if (!c.has_torch()) {
      std::cerr << "train_step_bench: error: the PyTorch side failed: " << c.failure << "\n";
      return pa::cli::kExitRunError;
    }
    return 0;
  });
}
