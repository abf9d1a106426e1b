// The GEMM ladder bench: every version of cuda/gemm against cuBLAS in one run: the fp32 versions
// against cuBLAS SGEMM (TF32 off), the bf16 rungs against cuBLAS bf16 (below).
// For each shape it first validates every version against cuBLAS (output poisoned with NaN,
// error = max |C - C_cublas| / max |C_cublas|, must stay under 1e-4), then times each version
// and cuBLAS with CUDA events: one warm-up, then the median of up to 50 repeats (fewer for slow
// versions, at least 5), a 256 MB buffer written before each repeat to flush L2, inputs uniform
// in [-1, 1]. Writes one JSONL row per (version, shape) to DIR/gemm_ladder.jsonl and prints a
// table. Exit status 1 if any version fails validation, 2 for bad flags or no GPU.
//
//   bazel run --config=cuda //cuda/bench:gemm_ladder -- --out DIR [--commit SHA] [--sizes 128,256]
//       [--shapes 8192x2304x768,...] [--variants v11_async_b_register_a,v15_...] [--no-tall-k]
//       [--no-bf16]   (default: every version; cuBLAS always runs)
//
// The bf16 rungs (gemm_bf16.h; v14-v17 and bf16_best on sm_90 only) run on the same inputs
// rounded to bf16 against cuBLAS's bf16 GEMM (cublasGemmEx, fp32 accumulation and output),
// validated against its result with the same 1e-4 bound; on sm_90 also v15_tf32 (gemm_tf32) against
// cuBLAS with TF32 allowed, both within 2e-3 of the fp32 result (--no-bf16 leaves these out too).
//
// The flags (bench_flags.h, CLI11; --help lists them): the commit comes from --commit or
// PA_GIT_COMMIT (the GPU machine has no git).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/main.h"
#include "cuda/bench/bench_flags.h"
#include "cuda/bench/timing.h"
#include "cuda/common/check.h"
#include "cuda/common/device_array.h"
#include "cuda/common/runtime.h"
#include "cuda/gemm/gemm.h"
#include "cuda/gemm/gemm_bf16.h"

namespace {

using pa::cuda::DeviceArray;
using pa::cuda::GemmVersion;
using pa::cuda::kGemmVersions;
using pa::cuda::bench::fill_uniform;
using pa::cuda::bench::GemmLadderFlags;
using pa::cuda::bench::kFlushBytes;
using pa::cuda::bench::Timer;

constexpr double kMaxRelativeError = 1e-4;
// TF32 rows against the fp32 result: each product's operands keep 10 significand bits (relative
// error up to 2^-10 each), which at the bench's sizes stays well under 2e-3 of max |C|.
constexpr double kMaxTf32Error = 2e-3;
constexpr int kMaxRepeats = 50;
constexpr int kSlowLimit = 4096;  // v01-v03 skip larger shapes

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " in " +
                             call);
  }
}
#define PA_CUBLAS_CHECK(call) check_cublas((call), #call)

struct Shape {
  int m, n, k;
  std::string label() const {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
};

// gemm_bf16 with row-major operands: the rung it picks for the shape (what the engine runs).
void bf16_best(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
               const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc, const float* bias,
               cudaStream_t stream) {
  pa::cuda::gemm_bf16(false, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
}

// gemm_bf16's pick with the stream-K tail turned on (off by default: set_bf16_stream_k).
void bf16_best_stream_k(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                        const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc,
                        const float* bias, cudaStream_t stream) {
  pa::cuda::set_bf16_stream_k(true);
  bf16_best(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
  pa::cuda::set_bf16_stream_k(false);
}

// gemm_bf16 with its tiles forced: the two candidates its pick rule chooses between, timed beside
// the pick, with the stream-K tail turned on (which only v15's tiles take: bf16_narrow is v16).
template <pa::cuda::Bf16Tiles kTiles>
void bf16_tiles(int m, int n, int k, float alpha, const __nv_bfloat16* a, int lda,
                const __nv_bfloat16* b, int ldb, float beta, float* c, int ldc, const float* bias,
                cudaStream_t stream) {
  pa::cuda::set_bf16_tiles(kTiles);
  bf16_best_stream_k(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
  pa::cuda::set_bf16_tiles(pa::cuda::Bf16Tiles::Auto);
}

// The bf16 rungs (gemm_bf16.h), slowest first, then gemm_bf16's pick; the Hopper ones run only
// on an sm_90 GPU.
using Bf16Gemm = void (*)(int, int, int, float, const __nv_bfloat16*, int, const __nv_bfloat16*,
                          int, float, float*, int, const float*, cudaStream_t);
struct Bf16Version {
  const char* name;
  Bf16Gemm launch;
  bool hopper;
};
constexpr Bf16Version kBf16Versions[] = {
    {"v13_bf16_mma", pa::cuda::gemm_v13_bf16_mma, false},
    {"v14_bf16_wgmma_tma", pa::cuda::gemm_v14_bf16_wgmma_tma, true},
    {"v15_bf16_warp_specialized", pa::cuda::gemm_v15_bf16_warp_specialized, true},
    {"v16_bf16_two_blocks", pa::cuda::gemm_v16_bf16_two_blocks, true},
    {"v17_bf16_cluster_pair", pa::cuda::gemm_v17_bf16_cluster_pair, true},
    {"v18_bf16_stream_k", pa::cuda::gemm_v18_bf16_stream_k, true},
    {"bf16_wide", bf16_tiles<pa::cuda::Bf16Tiles::Wide>, true},
    {"bf16_narrow", bf16_tiles<pa::cuda::Bf16Tiles::Narrow>, true},
    {"bf16_best", bf16_best, true},
    {"bf16_best_stream_k", bf16_best_stream_k, true},
};

// max |result - reference| over the elements; infinity when any difference is NaN.
double max_difference(const std::vector<float>& result, const std::vector<float>& reference) {
  double worst = 0.0;
  for (size_t i = 0; i < result.size(); ++i) {
    const double error = std::fabs(double(result[i]) - reference[i]);
    if (std::isnan(error)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, error);
  }
  return worst;
}

bool selected(const GemmLadderFlags& options, const char* name) {
  return options.variants.empty() || std::find(options.variants.begin(), options.variants.end(),
                                               name) != options.variants.end();
}

int run(const GemmLadderFlags& options) {
  if (pa::cuda::device_count() == 0) throw pa::cli::UsageError("no GPU visible");
  cudaDeviceProp properties{};
  PA_CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
  const std::string device = properties.name;
  int runtime_version = 0, driver_version = 0, cublas_version = 0;
  PA_CUDA_CHECK(cudaRuntimeGetVersion(&runtime_version));
  PA_CUDA_CHECK(cudaDriverGetVersion(&driver_version));

  cudaStream_t stream;
  PA_CUDA_CHECK(cudaStreamCreate(&stream));
  cublasHandle_t handle;
  PA_CUBLAS_CHECK(cublasCreate(&handle));
  PA_CUBLAS_CHECK(cublasGetVersion(handle, &cublas_version));
  PA_CUBLAS_CHECK(cublasSetStream(handle, stream));
  PA_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));  // fp32 FMA: no TF32
  void* flush = nullptr;
  PA_CUDA_CHECK(cudaMalloc(&flush, kFlushBytes));
  Timer timer(stream, flush);

  std::filesystem::create_directories(options.out);
  const std::string path = options.out + "/gemm_ladder.jsonl";
  std::ofstream jsonl(path);
  if (!jsonl) throw std::runtime_error("cannot write " + path);
  nlohmann::json environment = {
      {"op", "environment"},
      {"device", device},
      {"sm_count", properties.multiProcessorCount},
      {"l2_bytes", properties.l2CacheSize},
      {"cuda_runtime", runtime_version},
      {"cuda_driver", driver_version},
      {"cublas", cublas_version},
      {"cublas_math_mode", "CUBLAS_DEFAULT_MATH (fp32, no TF32)"},
      {"nvidia_tf32_override",
       std::getenv("NVIDIA_TF32_OVERRIDE") ? std::getenv("NVIDIA_TF32_OVERRIDE") : ""},
      {"best_version", pa::cuda::kBestVersion},
      {"commit", options.commit}};
  jsonl << environment.dump() << "\n";
  std::printf("gemm_ladder on %s (%d SMs), commit %s\n", device.c_str(),
              properties.multiProcessorCount, options.commit.c_str());

  std::vector<Shape> shapes;
  for (int size : options.sizes) shapes.push_back({size, size, size});
  if (options.tall_k) shapes.push_back({512, 512, 32768});
  for (const pa::cuda::bench::GemmShape& shape : options.shapes)
    shapes.push_back({shape.m, shape.n, shape.k});
  const pa::cuda::DeviceCapability& capability = pa::cuda::current_device_capability();
  const bool hopper = capability.major == 9 && capability.minor == 0;

  bool all_valid = true;
  std::vector<std::string> table;
  for (const Shape& shape : shapes) {
    const int m = shape.m, n = shape.n, k = shape.k;
    const double flops = 2.0 * m * n * k;
    std::vector<float> a(size_t(m) * k), b(size_t(k) * n);  // A (M, K), B (K, N)
    fill_uniform(a, 1 + m);
    fill_uniform(b, 2 + k);
    const DeviceArray<float> device_a(a), device_b(b), device_c(size_t(m) * n),
        device_ref(size_t(m) * n);
    float *da = device_a.data, *db = device_b.data, *dc = device_c.data, *dref = device_ref.data;
    const float one = 1.0f, zero = 0.0f;
    // Row-major C = A B is column-major C^T = B^T A^T: cuBLAS gets (B, A) with N and M swapped.
    const auto cublas = [&](float* out) {
      PA_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db, n, da, k,
                                  &zero, out, n));
    };
    cublas(dref);
    const std::vector<float> reference = device_ref.download();
    double reference_scale = 0.0;
    for (float v : reference) reference_scale = std::max(reference_scale, double(std::fabs(v)));

    // Validate every version first.
    std::vector<double> errors;
    for (const GemmVersion& version : kGemmVersions) {
      if (!selected(options, version.name)) {
        errors.push_back(std::nan(""));
        continue;
      }
      if (version.slow && std::max({m, n, k}) > kSlowLimit) {
        errors.push_back(std::nan(""));
        continue;
      }
      PA_CUDA_CHECK(cudaMemsetAsync(dc, 0xff, device_c.count * sizeof(float), stream));  // NaN
      version.launch(m, n, k, 1.0f, da, k, db, n, 0.0f, dc, n, stream);
      const std::vector<float> result = device_c.download();
      const double worst = max_difference(result, reference);
      errors.push_back(worst / reference_scale);
    }

    int anchor_repeats = 0;
    const double anchor_ms = timer.median_ms([&] { cublas(dc); }, kMaxRepeats, &anchor_repeats);
    const double anchor_gflops = flops / anchor_ms / 1e6;
    jsonl << nlohmann::json{{"op", "sgemm"},
                            {"variant", "cublas_sgemm"},
                            {"shape", shape.label()},
                            {"m", m},
                            {"n", n},
                            {"k", k},
                            {"dtype", "fp32"},
                            {"device", device},
                            {"ms", anchor_ms},
                            {"gflops", anchor_gflops},
                            {"anchor", "cublas_sgemm"},
                            {"anchor_ms", anchor_ms},
                            {"ratio", 1.0},
                            {"max_rel_err", 0.0},
                            {"valid", true},
                            {"repeats", anchor_repeats},
                            {"commit", options.commit}}
                 .dump()
          << "\n";
    char line[256];
    std::snprintf(line, sizeof(line), "%-14s %-24s %10.4f ms %9.1f GFLOP/s  ratio %5.3f",
                  shape.label().c_str(), "cublas_sgemm", anchor_ms, anchor_gflops, 1.0);
    table.push_back(line);

    for (size_t v = 0; v < std::size(kGemmVersions); ++v) {
      const GemmVersion& version = kGemmVersions[v];
      if (!selected(options, version.name)) continue;
      nlohmann::json row = {{"op", "sgemm"},
                            {"variant", version.name},
                            {"shape", shape.label()},
                            {"m", m},
                            {"n", n},
                            {"k", k},
                            {"dtype", "fp32"},
                            {"device", device},
                            {"anchor", "cublas_sgemm"},
                            {"anchor_ms", anchor_ms},
                            {"commit", options.commit}};
      if (std::isnan(errors[v])) {
        row["skipped"] = "slow version: not run above " + std::to_string(kSlowLimit);
        jsonl << row.dump() << "\n";
        continue;
      }
      const bool valid = errors[v] <= kMaxRelativeError;
      all_valid = all_valid && valid;
      row["valid"] = valid;
      row["max_rel_err"] =
          std::isinf(errors[v]) ? nlohmann::json("inf") : nlohmann::json(errors[v]);
      if (valid) {
        int repeats = 0;
        const double ms = timer.median_ms(
            [&] { version.launch(m, n, k, 1.0f, da, k, db, n, 0.0f, dc, n, stream); }, kMaxRepeats,
            &repeats);
        row["ms"] = ms;
        row["gflops"] = flops / ms / 1e6;
        row["ratio"] = anchor_ms / ms;
        row["repeats"] = repeats;
        std::snprintf(line, sizeof(line), "%-14s %-24s %10.4f ms %9.1f GFLOP/s  ratio %5.3f",
                      shape.label().c_str(), version.name, ms, flops / ms / 1e6, anchor_ms / ms);
      } else {
        std::snprintf(line, sizeof(line), "%-14s %-24s INVALID: max_rel_err %.3g",
                      shape.label().c_str(), version.name, errors[v]);
      }
      table.push_back(line);
      jsonl << row.dump() << "\n";
      jsonl.flush();
    }
    // One row of a tensor-core rung (op gemm_bf16 or gemm_tf32) and its line of the table; ms,
    // gflops and the ratio only when it passed validation (error <= bound).
    const auto tensor_core_row = [&](const char* op, const char* dtype, const char* anchor,
                                     double anchor_ms, double bound, const char* variant, double ms,
                                     int repeats, double error) {
      const bool valid = error <= bound;
      nlohmann::json row = {{"op", op},
                            {"variant", variant},
                            {"shape", shape.label()},
                            {"m", m},
                            {"n", n},
                            {"k", k},
                            {"dtype", dtype},
                            {"device", device},
                            {"anchor", anchor},
                            {"anchor_ms", anchor_ms},
                            {"commit", options.commit},
                            {"max_rel_err", std::isinf(error) ? 1e300 : error},
                            {"valid", valid}};
      char text[256];
      if (valid) {
        row["ms"] = ms;
        row["gflops"] = flops / ms / 1e6;
        row["ratio"] = anchor_ms / ms;
        row["repeats"] = repeats;
        std::snprintf(text, sizeof(text), "%-14s %-24s %10.4f ms %9.1f GFLOP/s  ratio %5.3f",
                      shape.label().c_str(), variant, ms, flops / ms / 1e6, anchor_ms / ms);
      } else {
        std::snprintf(text, sizeof(text), "%-14s %-24s INVALID: max_rel_err %.3g",
                      shape.label().c_str(), variant, error);
      }
      jsonl << row.dump() << "\n";
      table.push_back(text);
    };
    // The bf16 rungs on the same values rounded to bf16, against cuBLAS's bf16 GEMM (fp32
    // accumulation and output, tensor cores) in the same run; validated against its result.
    if (options.bf16) {
      std::vector<__nv_bfloat16> a16(a.size()), b16(b.size());
      for (size_t i = 0; i < a.size(); ++i) a16[i] = __float2bfloat16(a[i]);
      for (size_t i = 0; i < b.size(); ++i) b16[i] = __float2bfloat16(b[i]);
      const DeviceArray<__nv_bfloat16> device_a16(a16), device_b16(b16);
      const __nv_bfloat16 *da16 = device_a16.data, *db16 = device_b16.data;
      const auto cublas_bf16 = [&](float* out) {
        PA_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db16,
                                     CUDA_R_16BF, n, da16, CUDA_R_16BF, k, &zero, out, CUDA_R_32F,
                                     n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      };
      cublas_bf16(dref);
      const std::vector<float> reference16 = device_ref.download();
      double scale16 = 0.0;
      for (float v : reference16) scale16 = std::max(scale16, double(std::fabs(v)));
      int repeats16 = 0;
      const double anchor16_ms = timer.median_ms([&] { cublas_bf16(dc); }, kMaxRepeats, &repeats16);
      const auto bf16_row = [&](const char* variant, double ms, int repeats, double error) {
        tensor_core_row("gemm_bf16", "bf16", "cublas_bf16", anchor16_ms, kMaxRelativeError, variant,
                        ms, repeats, error);
      };
      bf16_row("cublas_bf16", anchor16_ms, repeats16, 0.0);
      for (const Bf16Version& version : kBf16Versions) {
        if (!selected(options, version.name) || (version.hopper && !hopper)) continue;
        const auto launch = [&] {
          version.launch(m, n, k, 1.0f, da16, k, db16, n, 0.0f, dc, n, nullptr, stream);
        };
        PA_CUDA_CHECK(cudaMemsetAsync(dc, 0xff, device_c.count * sizeof(float), stream));  // NaN
        launch();
        const std::vector<float> result = device_c.download();
        const double worst = max_difference(result, reference16);
        const double error = worst / scale16;
        all_valid = all_valid && error <= kMaxRelativeError;
        int repeats = 0;
        const double ms =
            error <= kMaxRelativeError ? timer.median_ms(launch, kMaxRepeats, &repeats) : 0.0;
        bf16_row(version.name, ms, repeats, std::isinf(error) ? 1e300 : error);
      }
      jsonl.flush();
    }
    // TF32 (sm_90): v15's kernel on the fp32 operands read as tf32 (B row-major: transposed into
    // scratch inside each call, timed with it) against cuBLAS with TF32 allowed
    // (CUBLAS_COMPUTE_32F_FAST_TF32), both validated against the fp32 SGEMM result: tf32 keeps
    // 10 significand bits, so the bound is kMaxTf32Error, not 1e-4.
    if (options.bf16 && hopper && selected(options, "v15_tf32")) {
      const auto cublas_tf32 = [&](float* out) {
        PA_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db,
                                     CUDA_R_32F, n, da, CUDA_R_32F, k, &zero, out, CUDA_R_32F, n,
                                     CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
      };
      const auto ours = [&](float* out) {
        pa::cuda::gemm_tf32(false, m, n, k, 1.0f, da, k, db, n, 0.0f, out, n, nullptr, stream);
      };
      int repeats = 0;
      double anchor_ms = 0.0;
      for (const auto& [variant, launch] :
           {std::pair<const char*, std::function<void(float*)>>{"cublas_tf32", cublas_tf32},
            {"v15_tf32", ours}}) {
        PA_CUDA_CHECK(cudaMemsetAsync(dc, 0xff, device_c.count * sizeof(float), stream));  // NaN
        launch(dc);
        const std::vector<float> result = device_c.download();
        const double worst = max_difference(result, reference);
        const double error = worst / reference_scale;
        const bool valid = error <= kMaxTf32Error;
        all_valid = all_valid && valid;
        const double ms = valid ? timer.median_ms([&] { launch(dc); }, kMaxRepeats, &repeats) : 0.0;
        if (anchor_ms == 0.0) anchor_ms = ms;
        tensor_core_row("gemm_tf32", "tf32", "cublas_tf32", anchor_ms, kMaxTf32Error, variant, ms,
                        repeats, error);
      }
      jsonl.flush();
    }
    std::printf("%s done\n", shape.label().c_str());
    std::fflush(stdout);
  }
  for (const std::string& line : table) std::printf("%s\n", line.c_str());
  std::printf("rows in %s; %s\n", path.c_str(),
              all_valid ? "every version valid" : "SOME VERSION FAILED VALIDATION");
  cublasDestroy(handle);
  cudaFree(flush);
  cudaStreamDestroy(stream);
  return all_valid ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"the GEMM ladder (every fp32 and bf16 version of cuda/gemm) vs cuBLAS, in one run",
               "gemm_ladder"};
  GemmLadderFlags flags;
  std::vector<std::string> versions;
  for (const GemmVersion& version : kGemmVersions) versions.push_back(version.name);
  for (const Bf16Version& version : kBf16Versions) versions.push_back(version.name);
  versions.push_back("v15_tf32");
  pa::cuda::bench::add_gemm_ladder_flags(app, flags, versions);
  if (const auto code = pa::cli::parse_flags(app, argc, argv)) return *code;
  if (flags.commit.empty()) flags.commit = "unknown";
  return pa::cli::run_main("gemm_ladder", [&] { return run(flags); });
}
