// cpu_bench: the CPU kernels measured side by side with their anchors in one run (README.md, CPU
// backend).
//
//   bazel run //experiments:cpu_bench -- [--out DIR] [--sizes 256,512,...] [--threads 1,2]
//
// SGEMM: ours (engine/cpu/gemm.h) vs OpenBLAS (cblas_sgemm, Debian's pthreads build) and Eigen,
// square n x n x n, on each thread count. Attention: ours (engine/cpu/attention.h) vs the
// unfused NumPy-style version (OpenBLAS GEMMs + a softmax over the N x N matrix) at n = d in
// {64 ... 1024} and at B=1, H=8, N=4096, D=64, causal and not, forward and forward+backward, on
// the largest thread count. GELU: fused vs the formula as separate ops. One training step of the
// denoising Transformer vs PyTorch (experiments/torch_step.py, run from here). Each is validated
// against OpenBLAS first, then timed: warm-up, median of repeats, random (never zero) inputs.
// OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE when it loads (they may be set on this
// machine to force an older kernel): the benchmark re-executes itself without them, for this run
// only, and records the kernel OpenBLAS reports. Rows go to DIR/cpu_bench.jsonl (default
// results/cpu/ in the workspace).
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/main.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/cpu_config.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/vector_math.h"
#include "engine/nn/transformer.h"
#include "engine/optim/optimizer.h"
#include "engine/pa.h"
#include "experiments/common/experiment.h"
#include "experiments/train_step_compare.h"

extern "C" {
#include <cblas.h>
char* openblas_get_corename(void);
char* openblas_get_config(void);
void openblas_set_num_threads(int threads);
}

namespace pa::experiments {
namespace {

constexpr const char* kOpenblasVariables[] = {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"};
constexpr const char* kReexecMarker = "PA_CPU_BENCH_REEXEC";

// Re-executes this program without OpenBLAS's kernel overrides (they take effect at load time),
// remembering what they were in kReexecMarker. Returns only when nothing needed unsetting.
void reexec_without_openblas_overrides(char** argv) {
  if (std::getenv(kReexecMarker) != nullptr) return;
  std::string overridden;
  for (const char* name : kOpenblasVariables) {
    if (const char* value = std::getenv(name)) {
      overridden += std::string(overridden.empty() ? "" : " ") + name + "=" + value;
      unsetenv(name);
    }
  }
  if (overridden.empty()) return;
  setenv(kReexecMarker, overridden.c_str(), 1);
  std::cerr << "cpu_bench: re-running without " << overridden << " (for this run only)\n";
  execv("/proc/self/exe", argv);
  std::cerr << "cpu_bench: cannot re-execute itself; OpenBLAS keeps " << overridden << "\n";
}

std::vector<float> random_values(int64_t count, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(engine);
  return values;
}

// Medians of several functions timed in alternating blocks: `rounds` times, each function in
// turn runs `warmup` untimed and `repeats` timed calls. A slow phase of the machine (a shared
// 2-core VM) then lands on every variant alike. Blocks, not single calls, because OpenBLAS and
// OpenMP each keep their worker threads spinning for a while after a call: each block starts
// after a 250 ms pause, so that the other library's threads have gone to sleep and do not
// compete for the two cores.
std::vector<double> alternating_median_ms(const std::vector<std::function<void()>>& fns, int warmup,
                                          int repeats, int rounds = 3) {
  std::vector<std::vector<double>> times(fns.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t f = 0; f < fns.size(); ++f) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      for (int i = 0; i < warmup; ++i) fns[f]();
      for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        fns[f]();
        times[f].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
      }
    }
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

double max_relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, double(std::abs(got[i] - want[i])));
    scale = std::max(scale, double(std::abs(want[i])));
  }
  return worst / std::max(scale, 1e-30);
}

struct BenchContext {
  std::string commit, openblas_core, openblas_config, overrides;
  std::ofstream* out;
  void write(nlohmann::json row) const {
    row["commit"] = commit;
    row["device"] = "cpu";
    row["openblas_kernel"] = openblas_core;
    *out << row.dump() << "\n";
    out->flush();
  }
};

void bench_sgemm(const BenchContext& context, const std::vector<int64_t>& sizes,
                 const std::vector<int>& thread_counts) {
  for (int threads : thread_counts) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    Eigen::setNbThreads(threads);
    cpu::cpu_config().threads = threads;
    for (int64_t n : sizes) {
      const std::vector<float> a = random_values(n * n, 1), b = random_values(n * n, 2);
      std::vector<float> c_ours(n * n), c_blas(n * n), c_eigen(n * n);
      auto ours = [&] { cpu::gemm(n, n, n, a.data(), n, b.data(), n, c_ours.data(), n, false); };
      auto blas = [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                    n, 0.0f, c_blas.data(), n);
      };
      using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      Eigen::Map<const RowMajor> ea(a.data(), n, n), eb(b.data(), n, n);
      Eigen::Map<RowMajor> ec(c_eigen.data(), n, n);
      auto eigen = [&] { ec.noalias() = ea * eb; };
      ours();
      blas();
      eigen();
      const double error = max_relative_error(c_ours, c_blas);
      const double eigen_error = max_relative_error(c_eigen, c_blas);
      const bool valid = error < 1e-4 && eigen_error < 1e-4;
      const int repeats = n <= 512 ? 10 : (n <= 1024 ? 4 : 2);  // per round (3 rounds)
      const double flop = 2.0 * n * n * n;
      const std::vector<double> ms = alternating_median_ms({ours, blas, eigen}, 2, repeats);
      const double ms_ours = ms[0], ms_blas = ms[1], ms_eigen = ms[2];
      auto gflops = [&](double ms) { return flop / (ms * 1e6); };
      const std::string shape =
          std::to_string(n) + "x" + std::to_string(n) + "x" + std::to_string(n);
      const std::string kernel = cpu::gemm_kernel_name(cpu::resolve_gemm_kernel(cpu::cpu_config()));
      context.write({{"op", "sgemm"},
                     {"variant", "ours (" + kernel + ")"},
                     {"shape", shape},
                     {"threads", threads},
                     {"ms", ms_ours},
                     {"gflops", gflops(ms_ours)},
                     {"anchor", "openblas"},
                     {"ratio", ms_blas / ms_ours},
                     {"ratio_eigen", ms_eigen / ms_ours},
                     {"max_rel_error", error},
                     {"valid", valid}});
      context.write({{"op", "sgemm"},
                     {"variant", "openblas"},
                     {"shape", shape},
                     {"threads", threads},
                     {"ms", ms_blas},
                     {"gflops", gflops(ms_blas)}});
      context.write({{"op", "sgemm"},
                     {"variant", "eigen"},
                     {"shape", shape},
                     {"threads", threads},
                     {"ms", ms_eigen},
                     {"gflops", gflops(ms_eigen)},
                     {"max_rel_error", eigen_error}});
      std::cout << "sgemm n=" << n << " threads=" << threads << ": ours " << gflops(ms_ours)
                << " GFLOP/s, OpenBLAS " << gflops(ms_blas) << ", Eigen " << gflops(ms_eigen)
                << "  (ratio to OpenBLAS " << ms_blas / ms_ours << ")"
                << (valid ? "" : "  INVALID: results differ") << std::endl;
    }
  }
}

// The unfused attention of the NumPy baseline, slice by slice: S = Q K^T * scale through
// OpenBLAS, the causal mask, a row softmax over the whole (N, N) matrix (with the same vectorised
// exp as ours, so the difference is the fusion), O = P V through OpenBLAS. P is kept (N x N per
// slice) for the backward: dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)),
// dQ = dS K * scale, dK = dS^T Q * scale.
// A float buffer on transparent huge pages where the kernel allows them (madvise mode here), as
// NumPy allocates its large arrays: the N x N matrices then cost the anchor no TLB misses.
struct HugePageBuffer {
  float* pointer = nullptr;
  size_t count = 0;
  ~HugePageBuffer() { std::free(pointer); }
  void resize(size_t wanted) {
    if (wanted <= count) return;
    std::free(pointer);
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t bytes = (wanted * sizeof(float) + kHuge - 1) / kHuge * kHuge;
    pointer = static_cast<float*>(std::aligned_alloc(kHuge, bytes));
    if (pointer == nullptr) throw std::bad_alloc();
    madvise(pointer, bytes, MADV_HUGEPAGE);  // a hint: ignored where THP is off
    count = wanted;
  }
  float* data() { return pointer; }
  const float* data() const { return pointer; }
};

// The row loops run on `threads` plain std::threads started per call (for big matrices; small
// ones on the calling thread), not on OpenMP: NumPy's ufuncs use no OpenMP pool, and an OpenMP
// team spinning next to OpenBLAS's own spinning workers would slow the anchor down unfairly
// (measured: 8 ms instead of 0.1 ms at N = 128).
struct UnfusedAttention {
  int64_t BH, N, D;
  bool causal;
  int threads;
  HugePageBuffer p, dp;  // (BH, N, N), (N, N)
  template <typename Fn>
  void rows(Fn fn) const {  // fn(i) for every row i in [0, N)
    const int64_t workers = N * N >= (1 << 18) ? threads : 1;
    auto chunk = [&](int64_t w) {
      for (int64_t i = N * w / workers; i < N * (w + 1) / workers; ++i) fn(i);
    };
    std::vector<std::thread> pool;
    for (int64_t w = 1; w < workers; ++w) pool.emplace_back(chunk, w);
    chunk(0);
    for (std::thread& t : pool) t.join();
  }
  void forward(const float* q, const float* k, const float* v, float scale, float* out) {
    p.resize(BH * N * N);
    for (int64_t s = 0; s < BH; ++s) {
      float* ps = p.data() + s * N * N;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, scale, q + s * N * D, D,
                  k + s * N * D, D, 0.0f, ps, N);
      rows([&](int64_t i) {
        float* row = ps + i * N;
        if (causal) std::fill(row + i + 1, row + N, -INFINITY);
        const float total = cpu::exp_shifted_sum(row, N, cpu::row_max(row, N));
        const float inverse = 1.0f / total;
        for (int64_t j = 0; j < N; ++j) row[j] *= inverse;
      });
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, N, 1.0f, ps, N, v + s * N * D, D,
                  0.0f, out + s * N * D, D);
    }
  }
  void backward(const float* q, const float* k, const float* v, const float* dout, float scale,
                float* dq, float* dk, float* dv) {
    dp.resize(N * N);
    for (int64_t s = 0; s < BH; ++s) {
      const float* ps = p.data() + s * N * N;
      const float* g = dout + s * N * D;
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, 1.0f, ps, N, g, D, 0.0f,
                  dv + s * N * D, D);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, 1.0f, g, D, v + s * N * D, D,
                  0.0f, dp.data(), N);
      rows([&](int64_t i) {
        const float* p_row = ps + i * N;
        float* row = dp.data() + i * N;
        double dot = 0.0;
        for (int64_t j = 0; j < N; ++j) dot += double(row[j]) * p_row[j];
        for (int64_t j = 0; j < N; ++j) row[j] = p_row[j] * (row[j] - float(dot));
      });
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, N, scale, dp.data(), N,
                  k + s * N * D, D, 0.0f, dq + s * N * D, D);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, scale, dp.data(), N,
                  q + s * N * D, D, 0.0f, dk + s * N * D, D);
    }
  }
};

void bench_attention(const BenchContext& context, int threads) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  cpu::cpu_config().threads = threads;
  struct Case {
    int64_t B, H, N, D;
    bool causal;
  };
  std::vector<Case> cases;
  for (int64_t n : {64, 128, 256, 512, 768, 1024}) cases.push_back({1, 1, n, n, false});
  cases.push_back({1, 8, 4096, 64, false});
  cases.push_back({1, 8, 4096, 64, true});
  for (const Case& c : cases) {
    const int64_t BH = c.B * c.H, count = BH * c.N * c.D;
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
    const std::vector<float> q = random_values(count, 3), k = random_values(count, 4),
                             v = random_values(count, 5), dout = random_values(count, 6);
    std::vector<float> out(count), lse(BH * c.N), dq(count), dk(count), dv(count);
    std::vector<float> ref_out(count), ref_dq(count), ref_dk(count), ref_dv(count);
    const cpu::AttentionShape shape{c.B, c.H, c.N, c.N, c.D, c.D};
    const cpu::AttentionMask mask{nullptr, c.causal};
    UnfusedAttention unfused{BH, c.N, c.D, c.causal, threads, {}, {}};
    auto ours_forward = [&] {
      cpu::attention_forward(shape, q.data(), k.data(), v.data(), mask, scale, out.data(),
                             lse.data());
    };
    auto ours_both = [&] {
      ours_forward();
      cpu::attention_backward(shape, q.data(), k.data(), v.data(), out.data(), lse.data(),
                              dout.data(), mask, scale, dq.data(), dk.data(), dv.data());
    };
    auto unfused_forward = [&] {
      unfused.forward(q.data(), k.data(), v.data(), scale, ref_out.data());
    };
    auto unfused_both = [&] {
      unfused_forward();
      unfused.backward(q.data(), k.data(), v.data(), dout.data(), scale, ref_dq.data(),
                       ref_dk.data(), ref_dv.data());
    };
    ours_both();
    unfused_both();
    const double error = std::max({max_relative_error(out, ref_out), max_relative_error(dq, ref_dq),
                                   max_relative_error(dk, ref_dk), max_relative_error(dv, ref_dv)});
    const bool valid = error < 1e-3;
    // FLOPs: 4 B H N^2 D forward (halved when causal), 2.5x that backward.
    const double forward_flop = 4.0 * BH * c.N * c.N * c.D * (c.causal ? 0.5 : 1.0);
    const int repeats = c.N >= 4096 ? 2 : (c.N >= 512 ? 3 : 8);  // per round (3 rounds)
    const std::string shape_text = "B" + std::to_string(c.B) + " H" + std::to_string(c.H) + " N" +
                                   std::to_string(c.N) + " D" + std::to_string(c.D);
    for (const bool with_backward : {false, true}) {
      const std::vector<double> ms =
          with_backward ? alternating_median_ms({ours_both, unfused_both}, 1, repeats)
                        : alternating_median_ms({ours_forward, unfused_forward}, 1, repeats);
      const double ms_ours = ms[0], ms_unfused = ms[1];
      const double flop = forward_flop * (with_backward ? 3.5 : 1.0);
      const std::string pass = with_backward ? "forward+backward" : "forward";
      context.write({{"op", "attention"},
                     {"variant", "ours (fused, tiles)"},
                     {"pass", pass},
                     {"shape", shape_text},
                     {"causal", c.causal},
                     {"threads", threads},
                     {"ms", ms_ours},
                     {"gflops", flop / (ms_ours * 1e6)},
                     {"anchor", "unfused (OpenBLAS GEMMs + softmax)"},
                     {"ratio", ms_unfused / ms_ours},
                     {"max_rel_error", error},
                     {"valid", valid}});
      context.write({{"op", "attention"},
                     {"variant", "unfused (OpenBLAS GEMMs + softmax)"},
                     {"pass", pass},
                     {"shape", shape_text},
                     {"causal", c.causal},
                     {"threads", threads},
                     {"ms", ms_unfused},
                     {"gflops", flop / (ms_unfused * 1e6)}});
      std::cout << "attention " << shape_text << (c.causal ? " causal " : " ") << pass << ": ours "
                << ms_ours << " ms, unfused " << ms_unfused << " ms (ratio " << ms_unfused / ms_ours
                << ")" << (valid ? "" : "  INVALID: results differ") << std::endl;
    }
  }
}

// GELU (tanh form) over a (4096, 4096) activation, in GB/s of the data an ideal pass moves (read
// x, write y: 8 bytes an element):
//   unfused GELU      the formula as separate engine ops, 0.5 x (1 + tanh(c (x + 0.044715 x^3)))
//                     (what a framework without the fused op runs: seven passes)
//   fused GELU        pa::gelu, one vectorised pass
//   unfused bias+GELU add(x, bias) then pa::gelu: two passes (what Linear + GELU runs)
//   fused bias+GELU   pa::bias_gelu, one pass
void bench_gelu(const BenchContext& context, int threads) {
  omp_set_num_threads(threads);
  const int64_t rows = 4096, cols = 4096, count = rows * cols;
  Generator generator(7);
  const Tensor x = randn({rows, cols}, generator);
  const double bytes = 8.0 * count;
  auto unfused_gelu = [&] {
    const Tensor inner = mul(add(x, mul(pow(x, 3.0f), 0.044715f)), 0.7978845608028654f);
    return mul(mul(x, 0.5f), add(tanh(inner), 1.0f));
  };
  auto fused_gelu = [&] { return gelu(x, GeluApproximation::Tanh); };
  const double gelu_error =
      max_relative_error(unfused_gelu().to_vector(), fused_gelu().to_vector());
  struct Pair {
    std::string op;
    std::function<Tensor()> unfused, fused;
    double error;
  };
  const Tensor bias = randn({cols}, generator);
  auto unfused_bias_gelu = [&] { return gelu(add(x, bias), GeluApproximation::Tanh); };
  auto fused_bias_gelu = [&] { return bias_gelu(x, bias); };
  const double bias_gelu_error =
      max_relative_error(unfused_bias_gelu().to_vector(), fused_bias_gelu().to_vector());
  for (const Pair& pair :
       {Pair{"gelu", unfused_gelu, fused_gelu, gelu_error},
        Pair{"bias_gelu", unfused_bias_gelu, fused_bias_gelu, bias_gelu_error}}) {
    const std::vector<double> ms =
        alternating_median_ms({[&] { pair.unfused(); }, [&] { pair.fused(); }}, 2, 4);
    const double ms_unfused = ms[0], ms_fused = ms[1];
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    context.write({{"op", pair.op},
                   {"variant", "fused"},
                   {"shape", shape},
                   {"threads", threads},
                   {"ms", ms_fused},
                   {"gbps", bytes / (ms_fused * 1e6)},
                   {"anchor", "unfused"},
                   {"ratio", ms_unfused / ms_fused},
                   {"max_rel_error", pair.error},
                   {"valid", pair.error < 1e-5}});
    context.write({{"op", pair.op},
                   {"variant", "unfused"},
                   {"shape", shape},
                   {"threads", threads},
                   {"ms", ms_unfused},
                   {"gbps", bytes / (ms_unfused * 1e6)}});
    std::cout << pair.op << " " << shape << ": fused " << bytes / (ms_fused * 1e6)
              << " GB/s, unfused " << bytes / (ms_unfused * 1e6) << " GB/s (ratio "
              << ms_unfused / ms_fused << ")" << std::endl;
  }
}

// One training step of the denoising Transformer in the engine vs PyTorch on the CPU, same
// thread count (experiments/train_step_compare.h). A missing torch is recorded, not fatal.
void bench_train_step(const BenchContext& context, int threads) {
  const TrainStepComparison c =
      compare_train_step(Device::cpu(), threads, /*steps=*/50, /*rounds=*/3, "/usr/bin/python3");
  for (const nlohmann::json& row : train_step_rows(c, threads)) context.write(row);
  if (c.has_torch()) {
    std::cout << "train_step " << c.shape << ": ours " << c.ours_ms << " ms, PyTorch " << c.torch_ms
              << " ms (ratio " << c.torch_ms / c.ours_ms << ", median of 3 rounds)" << std::endl;
  } else {
    std::cout << "train_step: PyTorch side failed: " << c.failure << std::endl;
  }
}

}  // namespace
}  // namespace pa::experiments

int main(int argc, char** argv) {
  using namespace pa::experiments;
  reexec_without_openblas_overrides(argv);
  CLI::App app{"CPU kernels vs OpenBLAS / Eigen, measured in one run", "cpu_bench"};
  std::string out;
  std::vector<int64_t> sizes = {256, 512, 1024, 2048};
  std::vector<int> threads = {1, 2};
  app.add_option("--out", out, "output folder (default: results/cpu/ under the workspace)");
  app.add_option("--sizes", sizes, "SGEMM sizes n (n x n x n)")
      ->delimiter(',')
      ->check(whole_number(1, 16384))
      ->capture_default_str();
  app.add_option("--threads", threads, "thread counts")
      ->delimiter(',')
      ->check(whole_number(1, 1024))
      ->capture_default_str();
  bool skip_sgemm = false, skip_attention = false, skip_gelu = false, skip_train_step = false;
  app.add_flag("--skip-sgemm", skip_sgemm, "leave out the SGEMM rows");
  app.add_flag("--skip-attention", skip_attention, "leave out the attention rows");
  app.add_flag("--skip-gelu", skip_gelu, "leave out the GELU rows");
  app.add_flag("--skip-train-step", skip_train_step, "leave out the training-step rows");
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  return run_main("cpu_bench", [&] {
    out = out.empty() ? default_out_dir("cpu") : resolve_user_path(out);
    std::filesystem::create_directories(out);
    const std::string path = out + "/cpu_bench.jsonl";
    const std::string partial = path + ".partial";
    std::ofstream file(partial, std::ios::trunc);
    BenchContext context;
    context.commit = git_state(workspace_dir()).commit;
    context.openblas_core = openblas_get_corename();
    context.openblas_config = openblas_get_config();
    const char* overrides = std::getenv(kReexecMarker);
    context.overrides = overrides == nullptr ? "" : overrides;
    context.out = &file;
    std::cout << "OpenBLAS " << context.openblas_config << " (kernel " << context.openblas_core
              << ")" << (context.overrides.empty() ? "" : ", unset for this run: ")
              << context.overrides << "\n";
    context.write({{"op", "environment"},
                   {"openblas_config", context.openblas_config},
                   {"openblas_overrides_unset", context.overrides},
                   {"cpu_features",
                    {{"avx2_fma", pa::cpu::cpu_features().avx2_fma},
                     {"avx512f", pa::cpu::cpu_features().avx512f}}},
                   {"max_threads", omp_get_max_threads()}});
    if (!skip_sgemm) bench_sgemm(context, sizes, threads);
    const int most_threads = *std::max_element(threads.begin(), threads.end());
    if (!skip_attention) bench_attention(context, most_threads);
    if (!skip_gelu) bench_gelu(context, most_threads);
    if (!skip_train_step) bench_train_step(context, most_threads);
    file.close();
    std::filesystem::rename(partial, path);  // complete rows only, never a half-written file
    std::cout << "rows in " << path << "\n";
  });
}
