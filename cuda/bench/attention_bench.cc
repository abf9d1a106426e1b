// The attention bench: our FlashAttention-2 kernels (cuda/attention, fp32, and the bf16
// tensor-core forward) and PyTorch SDPA on the same GPU in one run. For each (B, H, N, D),
// causal and not, it times our fp32 forwards (3xTF32 on the tensor cores, checked against the
// SIMT one first, and SIMT) and backward (delta, dK/dV and dQ passes), and for D = 32, 64 and
// 128 our bf16 forward and backward (mma.sync, and on an H100 or H200 wgmma), on the same inputs
// rounded to bf16, with CUDA events (a warm-up, then the median of repeats filling a time
// budget, L2 flushed before each), then runs
// cuda/bench/torch_attention.py for the anchors: fp32 through SDPA's memory-efficient backend, and,
// for the record, bf16 through its flash and cuDNN backends. FLOPs: 4 B H N^2 D forward (halved
// when causal), 2.5x that backward. Writes DIR/attention.jsonl (one row per measurement: op,
// variant, dtype, shape, causal, ms, tflops, and for ours the ratio to the anchor: PyTorch
// efficient fp32 for the fp32 kernels, PyTorch flash bf16 for the bf16 forward and backward,
// which also get ratio_cudnn against cuDNN bf16) and prints a table. --skip-fp32 leaves out our
// fp32 kernels and their anchor.
//
//   attention_bench --out DIR [--commit SHA] [--python python3] [--skip-fp32]
//                   [--shapes 4,48,4096,64 ...]
//
// The flags: bench_flags.h (CLI11; --help lists them). Exit status 2 for bad flags or no GPU, 1
// when the PyTorch side fails or prints output that is not one valid row per (shape, causal,
// backend) (ours is still written). torch_attention.py runs as a program with arguments (no
// shell); its stderr goes to ours.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cli/main.h"
#include "cli/process.h"
#include "cuda/attention/flash_attention.h"
#include "cuda/attention/flash_attention_bf16.h"
#include "cuda/bench/bench_flags.h"
#include "cuda/bench/timing.h"
#include "cuda/common/check.h"
#include "cuda/common/device_array.h"
#include "cuda/common/runtime.h"

namespace {

using pa::cuda::as_bf16;
using pa::cuda::AttentionShape;
using pa::cuda::DeviceArray;
using pa::cuda::bench::AttentionBenchFlags;
using pa::cuda::bench::fill_uniform;
using pa::cuda::bench::kFlushBytes;
using pa::cuda::bench::Timer;

using Case = pa::cuda::bench::AttentionBenchShape;  // (B, H, N, D), Nq = Nk = N

double forward_flops(const Case& c, bool causal) {
  const double flops = 4.0 * c.B * c.H * double(c.N) * c.N * c.D;
  return causal ? flops / 2 : flops;
}

// One timing row: `factor` scales the forward's FLOPs (2.5 for a backward).
nlohmann::json timing_row(const char* op, const std::string& variant, const std::string& dtype,
                          const Case& c, bool causal, double ms, double factor) {
  return {{"op", op},
          {"variant", variant},
          {"dtype", dtype},
          {"shape", c.text()},
          {"B", c.B},
          {"H", c.H},
          {"N", c.N},
          {"D", c.D},
          {"causal", causal},
          {"ms", ms},
          {"tflops", forward_flops(c, causal) * factor / (ms * 1e9)}};
}

// `count` floats uniform in [-1, 1) from `seed`, and the same rounded to bf16 bits.
std::vector<float> uniform(size_t count, uint64_t seed) {
  std::vector<float> values(count);
  fill_uniform(values, seed);
  return values;
}
std::vector<uint16_t> uniform_bf16(size_t count, uint64_t seed) {
  const std::vector<float> wide = uniform(count, seed);
  std::vector<uint16_t> bits(count);
  std::transform(wide.begin(), wide.end(), bits.begin(), pa::cuda::to_bf16_bits);
  return bits;
}

// The rows torch_attention.py printed, checked: one JSON object per line, `expected` of them,
// each with its shape, causal, backend and dtype and either an error or positive finite fwd_ms
// and bwd_ms. Anything else throws, quoting a bounded excerpt of the output.
std::vector<nlohmann::json> torch_rows(const std::string& output, size_t expected) {
  const auto fail = [&output](const std::string& problem) {
    throw std::runtime_error("torch_attention.py " + problem + "; it printed " +
                             pa::cli::excerpt(output));
  };
  std::vector<nlohmann::json> rows;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      fail("printed a line that is not JSON: " + pa::cli::excerpt(line, 120));
    }
    if (!row.is_object()) fail("printed JSON that is not an object");
    for (const char* key : {"B", "H", "N", "D"}) {
      if (!row.contains(key) || !row[key].is_number_integer() || row[key].get<int64_t>() < 1) {
        fail(std::string("gave a row without a positive integer ") + key);
      }
    }
    if (!row.contains("causal") || !row["causal"].is_boolean()) fail("gave a row without causal");
    for (const char* key : {"backend", "dtype"}) {
      if (!row.contains(key) || !row[key].is_string()) fail(std::string("gave no ") + key);
    }
    if (!row.contains("error")) {
      for (const char* key : {"fwd_ms", "bwd_ms"}) {
        if (!row.contains(key) || !row[key].is_number() || !std::isfinite(row[key].get<double>()) ||
            row[key].get<double>() <= 0) {
          fail(std::string("gave a row without a positive finite ") + key);
        }
      }
    }
    rows.push_back(std::move(row));
  }
  if (rows.size() != expected) {
    fail("gave " + std::to_string(rows.size()) + " rows, expected " + std::to_string(expected));
  }
  return rows;
}

}  // namespace

int run(const AttentionBenchFlags& flags, const char* argv0) {
  if (pa::cuda::device_count() == 0) throw pa::cli::UsageError("no GPU visible");
  const std::string& out_dir = flags.out;
  const std::vector<Case>& cases = flags.shapes;
  const bool skip_fp32 = flags.skip_fp32;
  const std::string& python = flags.python;
  std::filesystem::create_directories(out_dir);

  cudaDeviceProp properties{};
  PA_CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
  const std::string device = properties.name;
  void* flush = nullptr;
  PA_CUDA_CHECK(cudaMalloc(&flush, kFlushBytes));
  Timer timer(nullptr, flush);
  std::vector<nlohmann::json> rows;
  for (const Case& c : cases) {
    const size_t count = size_t(c.B) * c.H * c.N * c.D;
    const DeviceArray<float> q(uniform(count, 1)), k(uniform(count, 2)), v(uniform(count, 3)),
        dout(uniform(count, 4));
    const DeviceArray<float> out(count), dq(count), dk(count), dv(count);
    const DeviceArray<float> lse(size_t(c.B) * c.H * c.N), delta(size_t(c.B) * c.H * c.N);
    const AttentionShape shape{c.B, c.H, c.N, c.N, c.D, c.D};
    const float scale = 1.0f / std::sqrt(float(c.D));
    for (const bool causal : {false, true}) {
      if (skip_fp32) break;
      // The 3xTF32 tensor-core forward (what flash_attention_forward runs on this GPU, where it
      // supports the shape), then the SIMT one.
      if (pa::cuda::flash_attention_3xtf32_supports(shape, q.data, k.data, v.data, out.data)) {
        pa::cuda::flash_attention_forward_3xtf32(shape, q.data, k.data, v.data, nullptr, causal,
                                                 scale, out.data, lse.data);
        const std::vector<float> tc_out = out.download();
        pa::cuda::flash_attention_forward_simt(shape, q.data, k.data, v.data, nullptr, causal,
                                               scale, out.data, lse.data);
        const std::vector<float> simt_out = out.download();
        double worst = 0.0;
        for (size_t i = 0; i < count; ++i) {
          const double diff = std::fabs(double(tc_out[i]) - simt_out[i]);
          worst = std::max(worst, std::isnan(diff) ? INFINITY : diff);
        }
        std::printf("%-18s causal=%d max |3xTF32 - SIMT| = %.3g\n", c.text().c_str(), causal,
                    worst);
        int tc_repeats = 0;
        const double tc_ms = timer.median_ms(
            [&] {
              pa::cuda::flash_attention_forward_3xtf32(shape, q.data, k.data, v.data, nullptr,
                                                       causal, scale, out.data, lse.data);
            },
            20, &tc_repeats);
        rows.push_back(
            timing_row("attention_fwd", "ours_flash2_fp32_3xtf32", "fp32", c, causal, tc_ms, 1.0));
        rows.back()["repeats"] = tc_repeats;
        std::printf("%-18s causal=%d ours fp32 3xTF32: fwd %8.3f ms (%5.1f TFLOP/s)\n",
                    c.text().c_str(), causal, tc_ms, forward_flops(c, causal) / (tc_ms * 1e9));
      }
      int repeats = 0;
      const double fwd_ms = timer.median_ms(
          [&] {
            pa::cuda::flash_attention_forward_simt(shape, q.data, k.data, v.data, nullptr, causal,
                                                   scale, out.data, lse.data);
          },
          20, &repeats);
      int bwd_repeats = 0;
      const double bwd_ms = timer.median_ms(
          [&] {
            pa::cuda::flash_attention_backward(shape, q.data, k.data, v.data, nullptr, causal,
                                               scale, out.data, lse.data, dout.data, delta.data,
                                               dq.data, dk.data, dv.data);
          },
          20, &bwd_repeats);
      const double flops = forward_flops(c, causal);
      for (const auto& [op, ms, factor, reps] :
           {std::tuple<const char*, double, double, int>{"attention_fwd", fwd_ms, 1.0, repeats},
            {"attention_bwd", bwd_ms, 2.5, bwd_repeats}}) {
        rows.push_back(timing_row(op, "ours_flash2_fp32_simt", "fp32", c, causal, ms, factor));
        rows.back()["repeats"] = reps;
      }
      std::printf("%-18s causal=%d ours fp32: fwd %8.3f ms (%5.1f TFLOP/s)  bwd %8.3f ms (%5.1f)\n",
                  c.text().c_str(), causal, fwd_ms, flops / (fwd_ms * 1e9), bwd_ms,
                  2.5 * flops / (bwd_ms * 1e9));
      std::fflush(stdout);
    }
    if (c.D != 32 && c.D != 64 && c.D != 128) continue;  // the bf16 kernels' head dims
    const DeviceArray<uint16_t> q16(uniform_bf16(count, 1)), k16(uniform_bf16(count, 2)),
        v16(uniform_bf16(count, 3)), dout16(uniform_bf16(count, 4)), out16(count), dq16(count),
        dk16(count), dv16(count);
    const DeviceArray<float> workspace(
        size_t(pa::cuda::flash_attention_backward_bf16_workspace(shape)));
    using pa::cuda::Bf16Kernel;
    for (const bool causal : {false, true}) {
      // Times `run(kernel)` for both kernels (wgmma only where it runs: compute capability 9.0,
      // D = 64 or 128; elsewhere the call throws), one row each.
      const auto time_kernels = [&](const char* op, double factor, const auto& run) {
        for (const auto& [kernel, variant] :
             {std::pair<Bf16Kernel, const char*>{Bf16Kernel::kMmaSync, "ours_flash2_bf16_mma"},
              {Bf16Kernel::kWgmma, "ours_flash2_bf16_wgmma"}}) {
          try {
            run(kernel);
          } catch (const std::invalid_argument&) {
            continue;
          }
          int repeats = 0;
          const double ms = timer.median_ms([&, k = kernel] { run(k); }, 20, &repeats);
          rows.push_back(timing_row(op, variant, "bf16", c, causal, ms, factor));
          rows.back()["repeats"] = repeats;
          std::printf("%-18s causal=%d %s: %s %8.3f ms (%5.1f TFLOP/s)\n", c.text().c_str(), causal,
                      variant, op, ms, factor * forward_flops(c, causal) / (ms * 1e9));
          std::fflush(stdout);
        }
      };
      const auto forward = [&](Bf16Kernel kernel) {
        pa::cuda::flash_attention_forward_bf16(shape, as_bf16(q16.data), as_bf16(k16.data),
                                               as_bf16(v16.data), nullptr, causal, scale,
                                               as_bf16(out16.data), lse.data, kernel);
      };
      time_kernels("attention_fwd", 1.0, forward);
      forward(Bf16Kernel::kAuto);  // out and lse of this mask for the backward
      time_kernels("attention_bwd", 2.5, [&](Bf16Kernel kernel) {
        pa::cuda::flash_attention_backward_bf16(
            shape, as_bf16(q16.data), as_bf16(k16.data), as_bf16(v16.data), nullptr, causal, scale,
            as_bf16(out16.data), lse.data, as_bf16(dout16.data), workspace.data, as_bf16(dq16.data),
            as_bf16(dk16.data), as_bf16(dv16.data), kernel);
      });
    }
  }
  PA_CUDA_CHECK(cudaFree(flush));

  // The anchors, in the same run: PyTorch SDPA, fp32 (memory-efficient) and bf16 (flash, cuDNN).
  const std::filesystem::path script =
      std::filesystem::path(argv0).parent_path() / "torch_attention.py";
  std::vector<std::string> base = {python,
                                   std::filesystem::exists(script)
                                       ? script.string()
                                       : std::string("cuda/bench/torch_attention.py"),
                                   "--shapes"};
  for (const Case& c : cases) base.push_back(c.text());
  bool torch_ok = true;
  std::map<std::tuple<std::string, bool, std::string>, double> anchor;  // (shape, causal, op)
  std::map<std::tuple<std::string, bool, std::string>, double> flash_bf16, cudnn_bf16;
  for (const auto& [dtype, backends, backend_count] :
       {std::tuple<std::string, std::string, size_t>{"fp32", "efficient", 1},
        {"bf16", "flash,cudnn", 2}}) {
    if (skip_fp32 && dtype == "fp32") continue;
    std::vector<std::string> command = base;
    command.insert(command.end(), {"--dtype", dtype, "--backends", backends});
    std::vector<nlohmann::json> torch;
    try {
      const pa::cli::ProgramResult result = pa::cli::run_program(command);
      if (!result.ok()) {
        throw std::runtime_error("torch_attention.py (" + python + ") failed (" + result.status() +
                                 "; its messages are above); it printed " +
                                 pa::cli::excerpt(result.output));
      }
      torch = torch_rows(result.output, cases.size() * 2 * backend_count);
    } catch (const std::exception& error) {
      std::cerr << "attention_bench: error: " << error.what() << "\n";
      torch_ok = false;
      continue;
    }
    for (const nlohmann::json& row : torch) {
      const Case c{row["B"].get<int64_t>(), row["H"].get<int64_t>(), row["N"].get<int64_t>(),
                   row["D"].get<int64_t>()};
      const std::string text = c.text();
      const bool causal = row["causal"];
      const std::string variant = "pytorch_" + row["backend"].get<std::string>();
      if (row.contains("error")) {
        rows.push_back({{"op", "attention"},
                        {"variant", variant},
                        {"dtype", row["dtype"]},
                        {"shape", text},
                        {"causal", causal},
                        {"error", row["error"]}});
        continue;
      }
      for (const auto& [op, key, factor] :
           {std::tuple<const char*, const char*, double>{"attention_fwd", "fwd_ms", 1.0},
            {"attention_bwd", "bwd_ms", 2.5}}) {
        const double ms = row[key];
        rows.push_back(
            timing_row(op, variant, row["dtype"].get<std::string>(), c, causal, ms, factor));
        rows.back()["torch_version"] = row["torch_version"];
        if (variant == "pytorch_efficient") anchor[{text, causal, op}] = ms;
        if (variant == "pytorch_flash") flash_bf16[{text, causal, op}] = ms;
        if (variant == "pytorch_cudnn") cudnn_bf16[{text, causal, op}] = ms;
      }
    }
  }
  std::ofstream file(std::filesystem::path(out_dir) / "attention.jsonl");
  for (nlohmann::json& row : rows) {
    row["device"] = device;
    row["commit"] = flags.commit;
    if (row["variant"] == "ours_flash2_fp32_simt" || row["variant"] == "ours_flash2_fp32_3xtf32") {
      const auto found = anchor.find({row["shape"], row["causal"], row["op"]});
      if (found != anchor.end()) {
        row["anchor"] = "pytorch_efficient_fp32";
        row["ratio"] = found->second / row["ms"].get<double>();
      }
    }
    if (row["variant"].get<std::string>().rfind("ours_flash2_bf16", 0) == 0) {
      const std::tuple<std::string, bool, std::string> key{row["shape"], row["causal"], row["op"]};
      if (const auto found = flash_bf16.find(key); found != flash_bf16.end()) {
        row["anchor"] = "pytorch_flash_bf16";
        row["ratio"] = found->second / row["ms"].get<double>();
      }
      if (const auto found = cudnn_bf16.find(key); found != cudnn_bf16.end()) {
        row["ratio_cudnn"] = found->second / row["ms"].get<double>();
      }
    }
    file << row.dump() << "\n";
    if (row.contains("ms")) {
      std::printf("%-14s %-24s %-5s %-18s causal=%d %9.3f ms %6.1f TFLOP/s%s%s\n",
                  row["op"].get<std::string>().c_str(), row["variant"].get<std::string>().c_str(),
                  row["dtype"].get<std::string>().c_str(), row["shape"].get<std::string>().c_str(),
                  row["causal"].get<bool>(), row["ms"].get<double>(), row["tflops"].get<double>(),
                  (row.contains("ratio") ? " ratio " + std::to_string(row["ratio"].get<double>())
                                         : std::string())
                      .c_str(),
                  (row.contains("ratio_cudnn")
                       ? " cudnn " + std::to_string(row["ratio_cudnn"].get<double>())
                       : std::string())
                      .c_str());
    }
  }
  std::printf("rows in %s/attention.jsonl\n", out_dir.c_str());
  if (!torch_ok) {
    std::fprintf(stderr, "attention_bench: the PyTorch side failed (see the rows printed above)\n");
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"our FlashAttention-2 kernels and PyTorch SDPA on this GPU, in one run",
               "attention_bench"};
  AttentionBenchFlags flags;
  pa::cuda::bench::add_attention_bench_flags(app, flags, pa::cuda::kMaxHeadDim);
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  return pa::cli::run_main("attention_bench", [&] { return run(flags, argv[0]); });
}
