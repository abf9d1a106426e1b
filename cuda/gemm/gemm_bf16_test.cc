// GPU test (tag `gpu`, --config=cuda only) of the bf16 rungs (gemm_bf16.h; v14 and v15 on sm_90
// only) against a CPU reference in double over the same bf16 inputs: awkward sizes (1, primes,
// one past a tile, k = 1, m = 1), v13's two load paths (vector: aligned, multiples of 8; checked
// elements: the rest), alpha/beta other than 1/0, a bias, leading dimensions wider than the rows,
// k = 0, transposed operands, a bf16 result and the GELU epilogue. C is poisoned with NaN before
// each launch where beta == 0 (it must not be read). (The engine's matmul and linear in bf16 are
// checked against the Eigen oracle by the op sweep, engine/tests/ops_sweep_test.cc.)
//
// Tolerance: products of bf16 values are exact in fp32 and only the fp32 sums round, so
// |ours - ref| <= 2^-22 * k * sum_k |a b| bounds the error of any summation order; the test
// allows atol 1e-6 plus that bound (times 1.2 through GELU, whose slope is below 1.13), plus
// 2^-8 |ref| when C is bf16 (one rounding, at most half of that).
#include "cuda/gemm/gemm_bf16.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda/common/check.h"
#include "cuda/common/runtime.h"

namespace pa::cuda {
namespace {

struct Bf16Case {
  int m, n, k;
  float alpha, beta;
  int lda, ldb;  // 0: the stored row width
  bool bias;
  bool trans_a = false, trans_b = false;  // A stored (k, m), B stored (n, k): gemm_bf16 only
  bool gelu = false;                      // GemmActivation::GeluTanh: gemm_bf16 only
};

std::string describe(const Bf16Case& c) {
  std::ostringstream out;
  out << "m " << c.m << " n " << c.n << " k " << c.k << " alpha " << c.alpha << " beta " << c.beta
      << " lda " << c.lda << " ldb " << c.ldb << (c.bias ? " bias" : "")
      << (c.trans_a ? " A^T" : "") << (c.trans_b ? " B^T" : "") << (c.gelu ? " gelu" : "");
  return out.str();
}

template <typename T>
T* device_copy(const std::vector<T>& host) {
  T* device = nullptr;
  PA_CUDA_CHECK(cudaMalloc(&device, std::max<size_t>(host.size(), 1) * sizeof(T)));
  if (!host.empty()) {
    PA_CUDA_CHECK(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  return device;
}

using bf16 = __nv_bfloat16;
// A launcher writing C of type Out (float or bf16), with a bias of that type.
template <typename Out>
using LauncherOf = std::function<void(int, int, int, float, const bf16*, int, const bf16*, int,
                                      float, Out*, int, const Out*, cudaStream_t)>;
using Launcher = LauncherOf<float>;

float to_float(float x) { return x; }
float to_float(bf16 x) { return __bfloat162float(x); }
template <typename Out>
Out from_float(float x) {
  if constexpr (std::is_same_v<Out, float>) {
    return x;
  } else {
    return __float2bfloat16(x);
  }
}

// gemm_bf16 (the layouts, the activation) as a launcher for a case's flags.
template <typename Out>
LauncherOf<Out> gemm_bf16_for(const struct Bf16Case& c) {
  return [c](int m, int n, int k, float alpha, const bf16* a, int lda, const bf16* b, int ldb,
             float beta, Out* out, int ldc, const Out* bias, cudaStream_t stream) {
    gemm_bf16(c.trans_a, c.trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc, bias, stream,
              c.gelu ? GemmActivation::GeluTanh : GemmActivation::None);
  };
}

// Runs one case through `launch`; returns "" or the worst element's description.
template <typename Out>
std::string run_case(const LauncherOf<Out>& launch, const Bf16Case& bc, uint32_t seed) {
  const int a_rows = bc.trans_a ? bc.k : bc.m, a_cols = bc.trans_a ? bc.m : bc.k;
  const int b_rows = bc.trans_b ? bc.n : bc.k, b_cols = bc.trans_b ? bc.k : bc.n;
  const int lda = bc.lda > 0 ? bc.lda : a_cols, ldb = bc.ldb > 0 ? bc.ldb : b_cols, ldc = bc.n;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<bf16> a(size_t(a_rows) * lda), b(size_t(b_rows) * ldb);
  for (auto& v : a) v = __float2bfloat16(uniform(rng));
  for (auto& v : b) v = __float2bfloat16(uniform(rng));
  std::vector<Out> c(size_t(bc.m) * ldc), bias(bc.n);
  for (auto& v : c) {
    v = from_float<Out>(bc.beta != 0.0f ? uniform(rng) : std::numeric_limits<float>::quiet_NaN());
  }
  for (auto& v : bias) v = from_float<Out>(uniform(rng));
  bf16* da = device_copy(a);
  bf16* db = device_copy(b);
  Out* dc = device_copy(c);
  Out* dbias = device_copy(bias);
  launch(bc.m, bc.n, bc.k, bc.alpha, da, lda, db, ldb, bc.beta, dc, ldc, bc.bias ? dbias : nullptr,
         nullptr);
  PA_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<Out> out(c.size());
  if (!out.empty()) {
    PA_CUDA_CHECK(cudaMemcpy(out.data(), dc, out.size() * sizeof(Out), cudaMemcpyDeviceToHost));
  }
  for (void* p : {static_cast<void*>(da), static_cast<void*>(db), static_cast<void*>(dc),
                  static_cast<void*>(dbias)}) {
    PA_CUDA_CHECK(cudaFree(p));
  }
  const double rounding = std::is_same_v<Out, float> ? 0.0 : std::ldexp(1.0, -8);
  double worst_excess = 0.0;
  std::string worst;
  for (int i = 0; i < bc.m; ++i) {
    for (int j = 0; j < bc.n; ++j) {
      double sum = 0.0, magnitude = 0.0;
      for (int p = 0; p < bc.k; ++p) {
        const size_t ai = bc.trans_a ? size_t(p) * lda + i : size_t(i) * lda + p;
        const size_t bi = bc.trans_b ? size_t(j) * ldb + p : size_t(p) * ldb + j;
        const double product = double(__bfloat162float(a[ai])) * double(__bfloat162float(b[bi]));
        sum += product;
        magnitude += std::abs(product);
      }
      double expected = bc.alpha * sum;
      if (bc.beta != 0.0f) expected += double(bc.beta) * to_float(c[size_t(i) * ldc + j]);
      if (bc.bias) expected += to_float(bias[j]);
      double allowed = 1e-6 + std::ldexp(1.0, -22) * (bc.k + 2) *
                                  (std::abs(bc.alpha) * magnitude + std::abs(expected));
      if (bc.gelu) {
        const double x = expected;
        expected = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        allowed = 1e-6 + 1.2 * allowed;
      }
      allowed += rounding * std::abs(expected);
      const double got = to_float(out[size_t(i) * ldc + j]);
      const double error = std::abs(got - expected);
      if (!(error <= allowed) && (worst.empty() || error - allowed > worst_excess)) {
        worst_excess = error - allowed;
        std::ostringstream message;
        message << "C[" << i << "][" << j << "] = " << got << " vs " << expected << " (allowed "
                << allowed << ")";
        worst = message.str();
      }
    }
  }
  return worst;
}

class GemmBf16 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (device_count() == 0) GTEST_SKIP() << "no GPU visible";
  }
};

void expect_cases(const Launcher& launch, const std::vector<Bf16Case>& cases, uint32_t seed) {
  for (const Bf16Case& c : cases) {
    SCOPED_TRACE(describe(c));
    const std::string failure = run_case<float>(launch, c, seed++);
    EXPECT_TRUE(failure.empty()) << failure;
  }
}

// Each case through gemm_bf16 with its own flags, C in fp32 and in bf16.
// gemm_bf16's process-wide settings for the length of a scope, given back (Auto tiles, no
// stream-K) however the scope ends.
class Bf16Settings {
 public:
  Bf16Settings(Bf16Tiles tiles, bool stream_k) {
    set_bf16_tiles(tiles);
    set_bf16_stream_k(stream_k);
  }
  Bf16Settings(const Bf16Settings&) = delete;
  Bf16Settings& operator=(const Bf16Settings&) = delete;
  ~Bf16Settings() {
    set_bf16_tiles(Bf16Tiles::Auto);
    set_bf16_stream_k(false);
  }
};

// Runs `body` with each of the Hopper kernel's schedules forced: v15's tiles with the stream-K
// tail (v18's schedule) and without, and v16's tiles (which never split a tile); on other GPUs
// every run takes v13.
void for_each_tile_shape(const std::function<void()>& body) {
  for (const auto& [tiles, stream_k, name] :
       {std::tuple{Bf16Tiles::Wide, true, "128 x 256 tiles, stream-K"},
        {Bf16Tiles::Wide, false, "128 x 256 tiles"},
        {Bf16Tiles::Narrow, false, "128 x 128 tiles"}}) {
    SCOPED_TRACE(name);
    const Bf16Settings settings(tiles, stream_k);
    body();
  }
}

void expect_gemm_bf16_cases(const std::vector<Bf16Case>& cases, uint32_t seed) {
  for_each_tile_shape([&] {
    uint32_t case_seed = seed;
    for (const Bf16Case& c : cases) {
      SCOPED_TRACE(describe(c));
      std::string failure = run_case<float>(gemm_bf16_for<float>(c), c, case_seed);
      EXPECT_TRUE(failure.empty()) << "fp32 C: " << failure;
      failure = run_case<bf16>(gemm_bf16_for<bf16>(c), c, case_seed++);
      EXPECT_TRUE(failure.empty()) << "bf16 C: " << failure;
    }
  });
}

// The stored row widths rounded up to 8 elements (16 bytes): what the copy engine reads.
Bf16Case with_aligned_rows(Bf16Case c, int extra = 0) {
  c.lda = ((c.trans_a ? c.m : c.k) + 7) / 8 * 8 + extra;
  c.ldb = ((c.trans_b ? c.k : c.n) + 7) / 8 * 8 + extra;
  return c;
}

TEST_F(GemmBf16, V13MatchesTheDoubleReference) {
  expect_cases(gemm_v13_bf16_mma,
               {{1, 1, 1, 1.0f, 0.0f, 0, 0, false},             // the smallest
                {1, 256, 64, 1.0f, 0.0f, 0, 0, false},          // m = 1, vector path
                {256, 128, 1, 1.0f, 0.0f, 0, 0, false},         // k = 1 (checked loads)
                {128, 128, 32, 1.0f, 0.0f, 0, 0, false},        // exactly one tile
                {129, 136, 40, 1.0f, 0.0f, 0, 0, true},         // one past a tile, vector, bias
                {130, 257, 129, 0.5f, 2.0f, 0, 0, true},        // off every tile, checked loads
                {37, 13, 1000, 1.0f, 0.0f, 0, 0, false},        // long k, checked loads
                {300, 264, 520, 1.0f, -1.0f, 528, 272, false},  // wider leading dimensions
                {64, 64, 0, 1.0f, 1.0f, 0, 0, true},            // k = 0: C = beta C + bias
                {512, 512, 512, 1.0f, 0.0f, 0, 0, false}},      // several tiles each way
               1300);
}

// The Hopper rungs: the copy engine's zero fill covers every edge (m, n, k off the tile), the
// ring wraps (k of 9 tiles over 3 or 4 stages), the persistent blocks take several output tiles
// each (2304 x 2048: 144 tiles of 128 x 256 on 132 SMs for v15, 288 of 128 x 128 on 264 resident
// blocks for v16), and layouts the copy engine cannot
// read (k = 1, n = 13, k = 0) go to v13.
const std::vector<Bf16Case> kHopperCases = {
    {1, 8, 8, 1.0f, 0.0f, 0, 0, false},             // the smallest the copy engine reads
    {1, 256, 64, 1.0f, 0.0f, 0, 0, false},          // m = 1
    {128, 256, 64, 1.0f, 0.0f, 0, 0, false},        // exactly one v15 tile
    {129, 136, 40, 1.0f, 0.0f, 0, 0, true},         // one past a tile, k short of one, bias
    {130, 264, 136, 0.5f, 2.0f, 0, 0, true},        // off every tile, alpha, beta
    {300, 264, 520, 1.0f, -1.0f, 528, 272, false},  // wider leading dimensions, 9 k tiles
    {777, 1304, 200, 1.0f, 0.0f, 0, 0, false},      // odd m, n off the tile
    {2304, 2048, 64, 1.0f, 0.0f, 0, 0, false},      // more tiles than SMs
    {256, 128, 1, 1.0f, 0.0f, 0, 0, false},         // k = 1: v13
    {37, 13, 1000, 1.0f, 0.0f, 0, 0, false},        // n = 13: v13
    {64, 64, 0, 1.0f, 1.0f, 0, 0, true}};           // k = 0: v13

class GemmBf16Hopper : public GemmBf16 {
 protected:
  void SetUp() override {
    GemmBf16::SetUp();
    if (IsSkipped()) return;
    const DeviceCapability& device = current_device_capability();
    if (device.major != 9 || device.minor != 0) GTEST_SKIP() << "needs an sm_90 GPU";
  }
};

TEST_F(GemmBf16Hopper, V14MatchesTheDoubleReference) {
  expect_cases(gemm_v14_bf16_wgmma_tma, kHopperCases, 1400);
}

TEST_F(GemmBf16Hopper, V15MatchesTheDoubleReference) {
  expect_cases(gemm_v15_bf16_warp_specialized, kHopperCases, 1500);
}

TEST_F(GemmBf16Hopper, V16MatchesTheDoubleReference) {
  expect_cases(gemm_v16_bf16_two_blocks, kHopperCases, 1550);
}

// Clusters of two: an odd number of tile rows (777 rows: 7) leaves the last pair's second block
// on a tile past the matrix, which still loads (zeros) and multicasts its half of B.
TEST_F(GemmBf16Hopper, V17MatchesTheDoubleReference) {
  expect_cases(gemm_v17_bf16_cluster_pair, kHopperCases, 1560);
}

// Stream-K: where the last wave is partial, its k tiles are shared by more blocks than it has
// tiles. 384 x 520 x 1500 is 9 tiles of 128 x 256 and 24 k tiles each, cut into 27 ranges of 8:
// three blocks to a tile, the last adding the other two's partial sums (and then beta C and the
// bias); 260 x 300 x 1096: 6 tiles of 18 k tiles in 13 ranges that start and stop mid-tile.
const std::vector<Bf16Case> kStreamKCases = {
    {384, 520, 1500, 1.0f, 0.5f, 0, 0, true},   // three blocks a tile, beta and bias by the last
    {260, 300, 1096, 0.5f, 0.0f, 0, 0, false},  // uneven ranges; C poisoned (beta 0: never read)
};

TEST_F(GemmBf16Hopper, V18MatchesTheDoubleReference) {
  std::vector<Bf16Case> cases = kHopperCases;
  cases.insert(cases.end(), kStreamKCases.begin(), kStreamKCases.end());
  expect_cases(gemm_v18_bf16_stream_k, cases, 1580);
}

// gemm_bf16 with the stream-K tail on, captured into a CUDA graph on a fresh stream: a captured
// launch takes no stream-K (a replay would find the previous replay's flags raised). The node
// count is the check that can fail (a stream-K launch would have captured the clearing of a new
// workspace's flags too); the replays' C is checked as well.
TEST_F(GemmBf16Hopper, StreamKIsLeftOutOfCapturedGraphs) {
  const Launcher captured = [](int m, int n, int k, float alpha, const bf16* a, int lda,
                               const bf16* b, int ldb, float beta, float* c, int ldc,
                               const float* bias, cudaStream_t) {
    cudaStream_t stream = nullptr;
    PA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaGraph_t graph = nullptr;
    PA_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    gemm_bf16(false, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, stream);
    PA_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    size_t nodes = 0;
    PA_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
    EXPECT_EQ(nodes, 1u) << "the captured gemm_bf16 is more than its kernel";
    cudaGraphExec_t exec = nullptr;
    PA_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    for (int replay = 0; replay < 3; ++replay) PA_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    PA_CUDA_CHECK(cudaStreamSynchronize(stream));
    PA_CUDA_CHECK(cudaGraphExecDestroy(exec));
    PA_CUDA_CHECK(cudaGraphDestroy(graph));
    PA_CUDA_CHECK(cudaStreamDestroy(stream));
  };
  const Bf16Settings settings(Bf16Tiles::Wide, true);
  expect_cases(captured, {kStreamKCases[1]}, 1590);  // beta 0: each replay overwrites C
}

// gemm_bf16 reads transposed operands in place (v15's and v16's four layouts on sm_90), C in fp32
// and bf16.
TEST_F(GemmBf16Hopper, TransposedOperandsMatchTheDoubleReference) {
  std::vector<Bf16Case> cases;
  for (const auto& [trans_a, trans_b] :
       {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
    for (Bf16Case c : {Bf16Case{8, 8, 8, 1.0f, 0.0f, 0, 0, false},
                       Bf16Case{130, 264, 136, 0.5f, 2.0f, 0, 0, true},
                       Bf16Case{300, 264, 520, 1.0f, -1.0f, 0, 0, false},
                       Bf16Case{2304, 2048, 64, 1.0f, 0.0f, 0, 0, false}, kStreamKCases[1]}) {
      c.trans_a = trans_a;
      c.trans_b = trans_b;
      cases.push_back(with_aligned_rows(c, c.m == 300 ? 8 : 0));
    }
  }
  expect_gemm_bf16_cases(cases, 1600);
}

// Every layout on any GPU from sm_80: where the copy engine cannot read the operands (rows not a
// multiple of 8 elements, k = 1, k = 0, or not sm_90) v13's kernel reads them, transposed or not;
// m = 1, n = 1, k = 1, odd sizes; C in fp32 and bf16; bias and GELU.
TEST_F(GemmBf16, EveryLayoutMatchesTheDoubleReference) {
  std::vector<Bf16Case> cases;
  for (const auto& [trans_a, trans_b] :
       {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
    for (Bf16Case c :
         {Bf16Case{1, 1, 1, 1.0f, 0.0f, 0, 0, true}, Bf16Case{1, 37, 13, 1.0f, 0.0f, 0, 0, false},
          Bf16Case{13, 1, 9, 1.0f, 0.0f, 0, 0, true},
          Bf16Case{256, 130, 1, 1.0f, 0.0f, 0, 0, false},
          Bf16Case{130, 257, 129, 0.5f, 2.0f, 0, 0, true},
          Bf16Case{64, 40, 0, 1.0f, 1.0f, 0, 0, true}}) {
      c.trans_a = trans_a;
      c.trans_b = trans_b;
      cases.push_back(c);
    }
  }
  // GELU after the bias, through v15 (aligned rows, sm_90) and v13 (odd rows).
  for (Bf16Case c : {Bf16Case{300, 264, 520, 1.0f, 0.0f, 0, 0, true},
                     Bf16Case{129, 77, 45, 1.0f, 0.0f, 0, 0, true}}) {
    c.gelu = true;
    cases.push_back(with_aligned_rows(c));
    c.trans_b = true;
    cases.push_back(c);
  }
  expect_gemm_bf16_cases(cases, 1700);
}

// Against cuBLAS's bf16 GEMM (cublasGemmEx: bf16 in, fp32 accumulation and out) on awkward sizes
// in three layouts: both results lie within the double reference's bound above, so they differ by
// at most twice it.
TEST_F(GemmBf16, AgreesWithCublasOnAwkwardSizes) {
  cublasHandle_t handle = nullptr;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  uint32_t seed = 2000;
  for (const auto& [trans_a, trans_b] : {std::pair{false, false}, {false, true}, {true, false}}) {
    for (const auto& [m, n, k] : {std::tuple{1, 1, 1},
                                  {1, 37, 13},
                                  {13, 1, 9},
                                  {256, 130, 1},
                                  {130, 257, 129},
                                  {777, 1304, 200}}) {
      SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                   std::to_string(k) + (trans_a ? " A^T" : "") + (trans_b ? " B^T" : ""));
      const int lda = trans_a ? m : k, ldb = trans_b ? k : n;
      std::mt19937 rng(seed++);
      std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
      std::vector<bf16> a(size_t(m) * k), b(size_t(k) * n);
      for (auto& v : a) v = __float2bfloat16(uniform(rng));
      for (auto& v : b) v = __float2bfloat16(uniform(rng));
      bf16* da = device_copy(a);
      bf16* db = device_copy(b);
      float* ours = device_copy(std::vector<float>(size_t(m) * n));
      float* theirs = device_copy(std::vector<float>(size_t(m) * n));
      gemm_bf16(trans_a, trans_b, m, n, k, 1.0f, da, lda, db, ldb, 0.0f, ours, n, nullptr, nullptr);
      // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
      const float one = 1.0f, zero = 0.0f;
      ASSERT_EQ(cublasGemmEx(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                             trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, db, CUDA_R_16BF,
                             ldb, da, CUDA_R_16BF, lda, &zero, theirs, CUDA_R_32F, n,
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_SUCCESS);
      std::vector<float> x(size_t(m) * n), y(x.size());
      PA_CUDA_CHECK(cudaMemcpy(x.data(), ours, x.size() * sizeof(float), cudaMemcpyDeviceToHost));
      PA_CUDA_CHECK(cudaMemcpy(y.data(), theirs, y.size() * sizeof(float), cudaMemcpyDeviceToHost));
      for (void* p : {static_cast<void*>(da), static_cast<void*>(db), static_cast<void*>(ours),
                      static_cast<void*>(theirs)}) {
        PA_CUDA_CHECK(cudaFree(p));
      }
      int bad = 0;
      for (int i = 0; i < m && bad < 3; ++i) {
        for (int j = 0; j < n && bad < 3; ++j) {
          double magnitude = 0.0;
          for (int p = 0; p < k; ++p) {
            const float av =
                __bfloat162float(trans_a ? a[size_t(p) * lda + i] : a[size_t(i) * lda + p]);
            const float bv =
                __bfloat162float(trans_b ? b[size_t(j) * ldb + p] : b[size_t(p) * ldb + j]);
            magnitude += std::abs(double(av) * bv);
          }
          const double allowed = 2.0 * (1e-6 + std::ldexp(1.0, -22) * (k + 2) * 2.0 * magnitude);
          const double diff = std::abs(double(x[size_t(i) * n + j]) - y[size_t(i) * n + j]);
          if (!(diff <= allowed)) {
            ++bad;
            ADD_FAILURE() << "C[" << i << "][" << j << "]: ours " << x[size_t(i) * n + j]
                          << ", cuBLAS " << y[size_t(i) * n + j] << " (allowed " << allowed << ")";
          }
        }
      }
    }
  }
  cublasDestroy(handle);
}

// gemm_bf16_batched: count products with their own A and B, a shared A or B (stride 0), every
// layout; batch strides that keep each matrix 16-byte aligned (one persistent v15 launch on
// sm_90) and ones that do not (one launch per product, v13 where unaligned); C in bf16 with a
// bias. Each product against the double reference, with the bf16 tolerance above.
TEST_F(GemmBf16, BatchedProductsMatchTheDoubleReference) {
  struct BatchCase {
    int m, n, k, count;
    bool trans_a, trans_b, share_a, share_b;
    int pad;  // extra elements between matrices: 0 keeps 16-byte alignment (sizes below are)
  };
  uint32_t seed = 1900;
  for_each_tile_shape([&] {
    for (const BatchCase& bc : {BatchCase{64, 136, 72, 3, false, false, false, false, 0},
                                BatchCase{130, 264, 136, 4, true, false, false, true, 0},
                                BatchCase{200, 80, 48, 5, false, true, true, false, 0},
                                BatchCase{96, 96, 64, 2, true, true, false, false, 0},
                                BatchCase{64, 136, 72, 3, false, false, false, false, 3},
                                BatchCase{33, 17, 9, 3, true, false, false, false, 0},
                                // 34 x 4 tiles of 128 x 256 with 13 k tiles: the last products'
                                // k tiles shared among blocks (stream-K)
                                BatchCase{130, 264, 784, 34, false, true, false, false, 0}}) {
      SCOPED_TRACE("m " + std::to_string(bc.m) + " n " + std::to_string(bc.n) + " k " +
                   std::to_string(bc.k) + " count " + std::to_string(bc.count) +
                   (bc.trans_a ? " A^T" : "") + (bc.trans_b ? " B^T" : "") +
                   (bc.share_a ? " shared A" : "") + (bc.share_b ? " shared B" : "") + " pad " +
                   std::to_string(bc.pad));
      const int lda = bc.trans_a ? bc.m : bc.k, ldb = bc.trans_b ? bc.k : bc.n;
      const int64_t size_a = int64_t(bc.m) * bc.k + bc.pad, size_b = int64_t(bc.k) * bc.n + bc.pad;
      const int64_t stride_a = bc.share_a ? 0 : size_a, stride_b = bc.share_b ? 0 : size_b;
      const int64_t stride_c = int64_t(bc.m) * bc.n + 8;
      std::mt19937 rng(seed++);
      std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
      std::vector<bf16> a(size_t(bc.share_a ? size_a : size_a * bc.count)),
          b(size_t(bc.share_b ? size_b : size_b * bc.count)), bias(bc.n),
          c(size_t(stride_c * bc.count), __float2bfloat16(std::nanf("")));
      for (auto* v : {&a, &b, &bias}) {
        for (bf16& x : *v) x = __float2bfloat16(uniform(rng));
      }
      bf16* da = device_copy(a);
      bf16* db = device_copy(b);
      bf16* dbias = device_copy(bias);
      bf16* dc = device_copy(c);
      gemm_bf16_batched(bc.trans_a, bc.trans_b, bc.m, bc.n, bc.k, 1.0f, da, lda, stride_a, db, ldb,
                        stride_b, 0.0f, dc, bc.n, stride_c, bc.count, dbias, nullptr);
      PA_CUDA_CHECK(cudaMemcpy(c.data(), dc, c.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
      for (bf16* p : {da, db, dbias, dc}) PA_CUDA_CHECK(cudaFree(p));
      int bad = 0;
      for (int z = 0; z < bc.count && bad < 3; ++z) {
        for (int i = 0; i < bc.m && bad < 3; ++i) {
          for (int j = 0; j < bc.n && bad < 3; ++j) {
            double sum = 0.0, magnitude = 0.0;
            for (int p = 0; p < bc.k; ++p) {
              const size_t ai =
                  z * stride_a + (bc.trans_a ? size_t(p) * lda + i : size_t(i) * lda + p);
              const size_t bi =
                  z * stride_b + (bc.trans_b ? size_t(j) * ldb + p : size_t(p) * ldb + j);
              const double product = double(__bfloat162float(a[ai])) * __bfloat162float(b[bi]);
              sum += product;
              magnitude += std::abs(product);
            }
            const double expected = sum + __bfloat162float(bias[j]);
            const double allowed =
                1e-6 + std::ldexp(1.0, -22) * (bc.k + 2) * (magnitude + std::abs(expected)) +
                std::ldexp(1.0, -8) * std::abs(expected);
            const double got = __bfloat162float(c[z * stride_c + size_t(i) * bc.n + j]);
            if (!(std::abs(got - expected) <= allowed)) {
              ++bad;
              ADD_FAILURE() << "product " << z << " C[" << i << "][" << j << "] = " << got << " vs "
                            << expected << " (allowed " << allowed << ")";
            }
          }
        }
      }
      // The gaps between the products' C matrices are not written.
      for (int z = 0; z < bc.count; ++z) {
        for (int64_t g = int64_t(bc.m) * bc.n; g < stride_c; ++g) {
          EXPECT_TRUE(std::isnan(__bfloat162float(c[z * stride_c + g])))
              << "gap written, product " << z;
        }
      }
    }
  });
}

// TF32 (gemm_tf32, sm_90): fp32 operands read with 10 significand bits, so each product is off
// by at most 2^-9 of |a b| (both operands truncated or rounded) before the fp32 sums: allowed
// 1e-6 + 2^-9 sum |a b| + the fp32 summation bound. B row-major (transposed into scratch first)
// and B^T in place; awkward m, n, k (k a multiple of 4: rows of 16 bytes), bias, GELU, beta.
TEST_F(GemmBf16Hopper, Tf32MatchesTheDoubleReference) {
  struct Tf32Case {
    int m, n, k;
    bool trans_b, bias, gelu;
    float beta;
  };
  uint32_t seed = 1800;
  for (const Tf32Case& tc : {Tf32Case{1, 1, 4, false, false, false, 0.0f},
                             Tf32Case{129, 77, 44, false, true, false, 0.0f},
                             Tf32Case{130, 264, 136, true, true, true, 0.0f},
                             Tf32Case{300, 520, 1000, false, false, false, 1.5f},
                             Tf32Case{1024, 768, 768, true, true, false, 0.0f}}) {
    SCOPED_TRACE("m " + std::to_string(tc.m) + " n " + std::to_string(tc.n) + " k " +
                 std::to_string(tc.k) + (tc.trans_b ? " B^T" : " B") + (tc.gelu ? " gelu" : ""));
    std::mt19937 rng(seed++);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> a(size_t(tc.m) * tc.k), b(size_t(tc.k) * tc.n), bias(tc.n),
        c(size_t(tc.m) * tc.n);
    for (auto* v : {&a, &b, &bias, &c}) {
      for (float& x : *v) x = uniform(rng);
    }
    float* da = device_copy(a);
    float* db = device_copy(b);
    float* dbias = device_copy(bias);
    float* dc = device_copy(c);
    gemm_tf32(tc.trans_b, tc.m, tc.n, tc.k, 1.0f, da, tc.k, db, tc.trans_b ? tc.k : tc.n, tc.beta,
              dc, tc.n, tc.bias ? dbias : nullptr, nullptr,
              tc.gelu ? GemmActivation::GeluTanh : GemmActivation::None);
    std::vector<float> out(c.size());
    PA_CUDA_CHECK(cudaMemcpy(out.data(), dc, out.size() * sizeof(float), cudaMemcpyDeviceToHost));
    for (float* p : {da, db, dbias, dc}) PA_CUDA_CHECK(cudaFree(p));
    int bad = 0;
    for (int i = 0; i < tc.m && bad < 3; ++i) {
      for (int j = 0; j < tc.n && bad < 3; ++j) {
        double sum = 0.0, magnitude = 0.0;
        for (int p = 0; p < tc.k; ++p) {
          // With trans_b the same values are stored (n, k): B^T[j][p] = b[j * k + p].
          const double bv = tc.trans_b ? b[size_t(j) * tc.k + p] : b[size_t(p) * tc.n + j];
          sum += double(a[size_t(i) * tc.k + p]) * bv;
          magnitude += std::abs(double(a[size_t(i) * tc.k + p]) * bv);
        }
        double expected = sum + tc.beta * double(c[size_t(i) * tc.n + j]);
        if (tc.bias) expected += bias[j];
        double allowed = 1e-6 + std::ldexp(1.0, -9) * magnitude +
                         std::ldexp(1.0, -22) * (tc.k + 2) * (magnitude + std::abs(expected));
        if (tc.gelu) {
          const double x = expected;
          expected =
              0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
          allowed = 1e-6 + 1.2 * allowed;
        }
        const double got = out[size_t(i) * tc.n + j];
        if (!(std::abs(got - expected) <= allowed)) {
          ++bad;
          ADD_FAILURE() << "C[" << i << "][" << j << "] = " << got << " vs " << expected
                        << " (allowed " << allowed << ")";
        }
      }
    }
  }
  // A k the copy engine cannot read in rows (k = 3: 12-byte rows) is a clear error.
  try {
    gemm_tf32(true, 4, 4, 3, 1.0f, reinterpret_cast<const float*>(16), 3,
              reinterpret_cast<const float*>(16), 3, 0.0f, reinterpret_cast<float*>(16), 4, nullptr,
              nullptr);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("gemm_tf32"), std::string::npos) << error.what();
  }
}

TEST_F(GemmBf16, BadArgumentsNameTheLauncher) {
  const std::pair<Launcher, std::string> launchers[] = {
      {gemm_v13_bf16_mma, "gemm_v13_bf16_mma"},
      {gemm_v14_bf16_wgmma_tma, "gemm_v14_bf16_wgmma_tma"},
      {gemm_v15_bf16_warp_specialized, "gemm_v15_bf16_warp_specialized"},
      {gemm_v16_bf16_two_blocks, "gemm_v16_bf16_two_blocks"},
      {gemm_v17_bf16_cluster_pair, "gemm_v17_bf16_cluster_pair"},
      {gemm_v18_bf16_stream_k, "gemm_v18_bf16_stream_k"}};
  for (const auto& [launch, name] : launchers) {
    for (const auto& [what, lda, m] : {std::tuple{"a short lda", 2, 4}, {"negative m", 4, -1}}) {
      SCOPED_TRACE(name + ", " + what);
      try {
        launch(m, 4, 4, 1.0f, nullptr, lda, nullptr, 4, 0.0f, nullptr, 4, nullptr, nullptr);
        ADD_FAILURE() << "expected std::invalid_argument";
      } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find(name), std::string::npos) << error.what();
      }
    }
  }
}

}  // namespace
}  // namespace pa::cuda
