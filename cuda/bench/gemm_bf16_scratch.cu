// A scratch driver for the bf16 rungs (not a Bazel target: compiled by nvcc on the GPU machine,
// which has no Bazel, to try a kernel change in one call):
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -I. cuda/common/runtime.cu
//     cuda/common/copy.cu cuda/common/tensor_map.cu cuda/gemm/gemm_v13_bf16_mma.cu
//     cuda/gemm/gemm_v14_bf16_wgmma_tma.cu cuda/gemm/gemm_v15_bf16_warp_specialized.cu
//     cuda/gemm/gemm_v16_bf16_two_blocks.cu cuda/gemm/gemm_v17_bf16_cluster_pair.cu
//     cuda/gemm/gemm_v18_bf16_stream_k.cu cuda/bench/gemm_bf16_scratch.cu -lcublas -o
//     gemm_bf16_scratch
//   gemm_bf16_scratch           every shape: correctness against cuBLAS bf16 (C poisoned with NaN;
//                               then alpha 0.5, beta 0.25 and a bias), and at the timed shapes the
//                               median of 15 event-timed launches after 3 warm-ups, cuBLAS in the
//                               same process (no L2 flush: gemm_ladder is the bench of record)
//   gemm_bf16_scratch small     the untimed shapes only (for compute-sanitizer)
//   gemm_bf16_scratch profile [M N K]   cuBLAS, v13-v18 once each (for ncu), zero inputs
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cuda/gemm/gemm_bf16.h"
using bf16 = __nv_bfloat16;
typedef void (*Fn)(int, int, int, float, const bf16*, int, const bf16*, int, float, float*, int,
                   const float*, cudaStream_t);
struct V {
  const char* name;
  Fn fn;
};
int main(int argc, char** argv) {
  V vs[] = {{"v13", pa::cuda::gemm_v13_bf16_mma},
            {"v14", pa::cuda::gemm_v14_bf16_wgmma_tma},
            {"v15", pa::cuda::gemm_v15_bf16_warp_specialized},
            {"v16", pa::cuda::gemm_v16_bf16_two_blocks},
            {"v17", pa::cuda::gemm_v17_bf16_cluster_pair},
            {"v18", pa::cuda::gemm_v18_bf16_stream_k}};
  cublasHandle_t h;
  cublasCreate(&h);
  struct S {
    int m, n, k;
    bool time;
  };
  std::vector<S> shapes = {{1, 8, 8, 0},          {1, 256, 64, 0},       {130, 136, 72, 0},
                           {257, 264, 520, 0},    {1000, 1000, 1000, 0}, {128, 256, 64, 0},
                           {384, 512, 8, 0},      {777, 1304, 200, 0},   {300, 600, 3000, 0},
                           {1024, 1024, 1024, 1}, {2048, 2048, 2048, 1}, {4096, 4096, 4096, 1},
                           {8192, 8192, 8192, 1}, {8192, 2304, 768, 1},  {8192, 768, 768, 1},
                           {8192, 3072, 768, 1},  {8192, 768, 3072, 1},  {8192, 50304, 768, 1}};
  bool ok = true;
  if (argc > 1 && std::string(argv[1]) == "profile") {
    int m = argc > 4 ? atoi(argv[2]) : 4096, n = argc > 4 ? atoi(argv[3]) : 4096,
        k = argc > 4 ? atoi(argv[4]) : 4096;
    bf16 *da, *db;
    float* dc;
    cudaMalloc(&da, (size_t)m * k * 2);
    cudaMalloc(&db, (size_t)k * n * 2);
    cudaMalloc(&dc, (size_t)m * n * 4);
    cudaMemset(da, 0, (size_t)m * k * 2);
    cudaMemset(db, 0, (size_t)k * n * 2);
    float one = 1, zero = 0;
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db, CUDA_R_16BF, n, da, CUDA_R_16BF, k,
                 &zero, dc, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    for (auto v : vs) v.fn(m, n, k, 1.0f, da, k, db, n, 0.0f, dc, n, nullptr, 0);
    cudaDeviceSynchronize();
    printf("profile done\n");
    return 0;
  }
  for (auto s : shapes) {
    if (argc > 1 && s.time) continue;
    int m = s.m, n = s.n, k = s.k;
    std::mt19937 rng(m * 31 + n * 7 + k);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<bf16> a((size_t)m * k), b((size_t)k * n);
    std::vector<float> bias(n), c0((size_t)m * n);
    for (auto& x : a) x = __float2bfloat16(u(rng));
    for (auto& x : b) x = __float2bfloat16(u(rng));
    for (auto& x : bias) x = u(rng);
    for (auto& x : c0) x = u(rng);
    bf16 *da, *db;
    float *dc, *dr, *dbias, *dc0;
    cudaMalloc(&da, a.size() * 2);
    cudaMalloc(&db, b.size() * 2);
    cudaMalloc(&dc, c0.size() * 4);
    cudaMalloc(&dr, c0.size() * 4);
    cudaMalloc(&dbias, n * 4);
    cudaMalloc(&dc0, c0.size() * 4);
    cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(dbias, bias.data(), n * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dc0, c0.data(), c0.size() * 4, cudaMemcpyHostToDevice);
    float one = 1, zero = 0;
    auto cub = [&](float* out) {
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db, CUDA_R_16BF, n, da, CUDA_R_16BF,
                   k, &zero, out, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    };
    cub(dr);
    cudaDeviceSynchronize();
    std::vector<float> ref(c0.size());
    cudaMemcpy(ref.data(), dr, ref.size() * 4, cudaMemcpyDeviceToHost);
    double scale = 0;
    for (float x : ref) scale = std::max(scale, (double)fabs(x));
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    auto timeit = [&](auto f) {
      for (int i = 0; i < 3; i++) f();
      std::vector<float> t;
      for (int r = 0; r < 15; r++) {
        cudaEventRecord(e0);
        f();
        cudaEventRecord(e1);
        cudaEventSynchronize(e1);
        float ms;
        cudaEventElapsedTime(&ms, e0, e1);
        t.push_back(ms);
      }
      std::sort(t.begin(), t.end());
      return t[t.size() / 2];
    };
    double flops = 2.0 * m * n * k;
    double cms = s.time ? timeit([&] { cub(dc); }) : 0;
    if (s.time) printf("%5d %5d %5d cublas %8.4f ms %7.1f TF\n", m, n, k, cms, flops / cms / 1e9);
    for (auto v : vs) {
      cudaMemset(dc, 0xff, c0.size() * 4);
      try {
        v.fn(m, n, k, 1.0f, da, k, db, n, 0.0f, dc, n, nullptr, 0);
        cudaError_t err = cudaDeviceSynchronize();
        if (err != cudaSuccess) {
          printf("%s: %s\n", v.name, cudaGetErrorString(err));
          return 1;
        }
        std::vector<float> out(c0.size());
        cudaMemcpy(out.data(), dc, out.size() * 4, cudaMemcpyDeviceToHost);
        double worst = 0;
        for (size_t i = 0; i < out.size(); i++) {
          double e = fabs(out[i] - ref[i]);
          if (std::isnan(e)) e = 1e30;
          worst = std::max(worst, e);
        }
        worst /= std::max(scale, 1e-30);
        // epilogue check: alpha .5 beta .25 bias
        cudaMemcpy(dc, dc0, c0.size() * 4, cudaMemcpyDeviceToDevice);
        v.fn(m, n, k, 0.5f, da, k, db, n, 0.25f, dc, n, dbias, 0);
        cudaDeviceSynchronize();
        cudaMemcpy(out.data(), dc, out.size() * 4, cudaMemcpyDeviceToHost);
        double worst2 = 0;
        for (size_t i = 0; i < out.size(); i++) {
          double want = 0.5 * ref[i] + 0.25 * c0[i] + bias[i % n];
          double e = fabs(out[i] - want);
          if (std::isnan(e)) e = 1e30;
          worst2 = std::max(worst2, e);
        }
        worst2 /= std::max(scale, 1e-30);
        bool good = worst < 1e-5 && worst2 < 1e-5;
        ok = ok && good;
        if (!s.time) {
          printf("%5d %5d %5d %s err %.3g epi %.3g %s\n", m, n, k, v.name, worst, worst2,
                 good ? "ok" : "BAD");
          continue;
        }
        double ms = timeit([&] { v.fn(m, n, k, 1.0f, da, k, db, n, 0.0f, dc, n, nullptr, 0); });
        printf("%5d %5d %5d %s %8.4f ms %7.1f TF ratio %.3f err %.2g epi %.2g %s\n", m, n, k,
               v.name, ms, flops / ms / 1e9, cms / ms, worst, worst2, good ? "ok" : "BAD");
      } catch (std::exception& e) {
        printf("%s threw: %s\n", v.name, e.what());
        ok = false;
      }
    }
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
    cudaFree(dr);
    cudaFree(dbias);
    cudaFree(dc0);
    fflush(stdout);
  }
  printf(ok ? "ALL OK\n" : "SOME BAD\n");
  return ok ? 0 : 1;
}
