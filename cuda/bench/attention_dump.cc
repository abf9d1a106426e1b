// attention_dump: runs our bf16 FlashAttention-2 kernels (//cuda/attention:flash_attention_bf16),
// the forward (the default kernel: wgmma on an H100 or H200, mma.sync at D = 32) and the
// backward, on random cases and writes their inputs and outputs to a folder, for
// cuda/bench/check_attention_vs_torch.py, which recomputes every case with PyTorch SDPA in bf16
// and in float64 on the same GPU and compares. Cases: for each head dim, (Nq, Nk) = (N, N) at
// N = 1, 17, 1000, 4097, plus (17, 1000) and (1000, 17); causal (square only) and not; with and
// without a key-padding mask (each key hidden with probability 1/4, key 0 never, so that every
// query row sees a key). q, k, v and dout are N(0, 1) rounded to bf16.
//
//   attention_dump --dir DIR [--dims 32,64,128]
//
// DIR/cases.jsonl: one line per case (name, B, H, Nq, Nk, D, causal, padding, scale);
// DIR/<name>/{q,k,v,dout,out,dq,dk,dv}.bf16 (raw little-endian bf16, (B, H, N, D) row-major),
// lse.f32 (B, H, Nq; base 2), padding.f32 (B, Nk; nonzero hides the key) when masked.
// Flags: bench_flags.h (CLI11; --help lists them). Exit status 2 for bad flags or no GPU.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/main.h"
#include "cuda/attention/flash_attention.h"
#include "cuda/attention/flash_attention_bf16.h"
#include "cuda/bench/bench_flags.h"
#include "cuda/common/device_array.h"
#include "cuda/common/runtime.h"

namespace {

using pa::cuda::as_bf16;
using pa::cuda::AttentionShape;
using pa::cuda::DeviceArray;

struct Case {
  int64_t B, H, Nq, Nk, D;
  bool causal, padding;
};

template <typename T>
void write_raw(const std::filesystem::path& path, const std::vector<T>& values) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(values.data()),
             static_cast<std::streamsize>(values.size() * sizeof(T)));
  if (!file) throw std::runtime_error("attention_dump: cannot write " + path.string());
}

std::vector<uint16_t> normal_bf16(size_t count, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> bits(count);
  for (uint16_t& b : bits) b = pa::cuda::to_bf16_bits(normal(rng));
  return bits;
}

void run_case(const Case& c, const std::string& name, const std::filesystem::path& dir) {
  std::mt19937 rng(uint32_t(c.Nq * 131 + c.Nk * 7 + c.D * 3 + c.causal + 2 * c.padding));
  const size_t nq = size_t(c.B) * c.H * c.Nq * c.D, nk = size_t(c.B) * c.H * c.Nk * c.D;
  const std::vector<uint16_t> q = normal_bf16(nq, rng), k = normal_bf16(nk, rng),
                              v = normal_bf16(nk, rng), dout = normal_bf16(nq, rng);
  std::vector<float> padding;
  if (c.padding) {
    std::bernoulli_distribution hidden(0.25);
    padding.resize(size_t(c.B) * c.Nk);
    for (size_t i = 0; i < padding.size(); ++i) {
      padding[i] = (i % c.Nk != 0 && hidden(rng)) ? 1.0f : 0.0f;
    }
  }
  const DeviceArray<uint16_t> q_d(q), k_d(k), v_d(v), out_d(nq);
  const DeviceArray<float> padding_d(padding), lse_d(size_t(c.B) * c.H * c.Nq);
  const AttentionShape shape{c.B, c.H, c.Nq, c.Nk, c.D, c.D};
  const float scale = 1.0f / std::sqrt(float(c.D));
  const float* pad = c.padding ? padding_d.data : nullptr;
  pa::cuda::flash_attention_forward_bf16(shape, as_bf16(q_d.data), as_bf16(k_d.data),
                                         as_bf16(v_d.data), pad, c.causal, scale,
                                         as_bf16(out_d.data), lse_d.data);
  const DeviceArray<uint16_t> dout_d(dout), dq_d(nq), dk_d(nk), dv_d(nk);
  const DeviceArray<float> workspace(
      size_t(pa::cuda::flash_attention_backward_bf16_workspace(shape)));
  pa::cuda::flash_attention_backward_bf16(
      shape, as_bf16(q_d.data), as_bf16(k_d.data), as_bf16(v_d.data), pad, c.causal, scale,
      as_bf16(out_d.data), lse_d.data, as_bf16(dout_d.data), workspace.data, as_bf16(dq_d.data),
      as_bf16(dk_d.data), as_bf16(dv_d.data));
  const std::filesystem::path folder = dir / name;
  std::filesystem::create_directories(folder);
  write_raw(folder / "q.bf16", q);
  write_raw(folder / "k.bf16", k);
  write_raw(folder / "v.bf16", v);
  write_raw(folder / "dout.bf16", dout);
  write_raw(folder / "out.bf16", out_d.download());
  write_raw(folder / "lse.f32", lse_d.download());
  write_raw(folder / "dq.bf16", dq_d.download());
  write_raw(folder / "dk.bf16", dk_d.download());
  write_raw(folder / "dv.bf16", dv_d.download());
  if (c.padding) write_raw(folder / "padding.f32", padding);
}

}  // namespace

int run(const pa::cuda::bench::AttentionDumpFlags& flags) {
  if (pa::cuda::device_count() == 0) throw pa::cli::UsageError("no GPU visible");
  const std::string& dir = flags.dir;
  std::filesystem::create_directories(dir);
  std::vector<Case> cases;
  for (const int64_t D : flags.dims) {
    std::vector<std::pair<int64_t, int64_t>> lengths = {{1, 1},       {17, 17},   {1000, 1000},
                                                        {4097, 4097}, {17, 1000}, {1000, 17}};
    for (const auto& [Nq, Nk] : lengths) {
      const int64_t B = 2, H = Nq * Nk > 1000000 ? 2 : 3;
      for (const bool causal : {false, true}) {
        if (causal && Nq != Nk) continue;
        for (const bool padding : {false, true})
          cases.push_back({B, H, Nq, Nk, D, causal, padding});
      }
    }
  }
  std::ofstream index(std::filesystem::path(dir) / "cases.jsonl");
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    char name[32];
    std::snprintf(name, sizeof(name), "case_%03zu", i);
    try {
      run_case(c, name, dir);
    } catch (const std::invalid_argument& error) {
      throw pa::cli::UsageError(error.what());
    }
    index << nlohmann::json{{"name", name},
                            {"B", c.B},
                            {"H", c.H},
                            {"Nq", c.Nq},
                            {"Nk", c.Nk},
                            {"D", c.D},
                            {"causal", c.causal},
                            {"padding", c.padding},
                            {"scale", double(1.0f / std::sqrt(float(c.D)))}}
                 .dump()
          << "\n";
  }
  std::printf("attention_dump: %zu cases in %s\n", cases.size(), dir.c_str());
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{
      "our bf16 attention on random cases, inputs and outputs written for "
      "check_attention_vs_torch.py",
      "attention_dump"};
  pa::cuda::bench::AttentionDumpFlags flags;
  pa::cuda::bench::add_attention_dump_flags(app, flags);
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  return pa::cli::run_main("attention_dump", [&] { return run(flags); });
}
