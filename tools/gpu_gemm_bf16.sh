#!/usr/bin/env bash
# The bf16 GEMM ladder's GPU record in one device call (issue 20), in two halves:
#   tools/gpu_gemm_bf16.sh build   (here, with Bazel) builds gemm_ladder and gemm_bf16_test,
#                                  statically linked and stripped, into .gpu-gemm/p.tar.xz with
#                                  .gpu-gemm/COMMIT; pass .gpu-gemm in the device tool's carry.
#   tools/gpu_gemm_bf16.sh run     (on the GPU machine, from the repository root) runs
#                                  gemm_bf16_test, the ladder (every bf16 rung, gemm_bf16's pick
#                                  with and without the stream-K tail, each tile shape forced, TF32
#                                  and the best fp32 version against their cuBLAS anchors), then
#                                  compiles cuda/bench/gemm_bf16_scratch.cu with nvcc for Nsight
#                                  Compute (cuBLAS and v13-v17 at n = 4096: the sections the
#                                  analysis reads; v15 and v17 with every section, warp states and
#                                  the per-instruction source page), and compute-sanitizer
#                                  memcheck and racecheck over the Hopper rungs.
# Everything goes to one archive, $OUT/gemm_bf16.tgz (the device tool returns few files), and
# the ladder's table to $OUT/ladder.log; about 6 minutes on an H100. tools/ncu_excerpt.py turns
# its details_0.txt and details_2.txt into the curated warp-state excerpt.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pack="$root/.gpu-gemm"
variants=v12_thread_tile_8x16,v13_bf16_mma,v14_bf16_wgmma_tma,v15_bf16_warp_specialized
variants+=,v16_bf16_two_blocks,v17_bf16_cluster_pair,v18_bf16_stream_k,bf16_wide,bf16_narrow
variants+=,bf16_best,bf16_best_stream_k,v15_tf32
shapes=8192x2304x768,8192x768x768,8192x3072x768,8192x768x3072,8192x50304x768

build() {
  set -e
  cd "$root"
  bazel build --config=cuda --dynamic_mode=off //cuda/bench:gemm_ladder //cuda/gemm:gemm_bf16_test
  rm -rf "$pack" && mkdir -p "$pack/bin"
  cp -L bazel-bin/cuda/bench/gemm_ladder bazel-bin/cuda/gemm/gemm_bf16_test "$pack/bin/"
  chmod u+w "$pack"/bin/* && strip "$pack"/bin/*
  tar -C "$pack/bin" -cf - . | xz -6 -T0 > "$pack/p.tar.xz"
  rm -rf "${pack:?}/bin"
  { git rev-parse HEAD | tr -d '\n'; git diff --quiet HEAD || echo -n "-dirty"; echo; } \
    > "$pack/COMMIT"
  echo "gpu_gemm_bf16: $pack/p.tar.xz ($(du -h "$pack/p.tar.xz" | cut -f1)) from $(cat "$pack/COMMIT")"
}

run() {
  [[ -f "$pack/p.tar.xz" ]] || { echo "gpu_gemm_bf16: no $pack/p.tar.xz: build first" >&2; exit 2; }
  local out="${OUT:-$pack/out}" work=/tmp/gpu_gemm_bf16
  rm -rf "$work" && mkdir -p "$work/bin" "$work/ladder" "$out"
  tar -C "$work/bin" -xJf "$pack/p.tar.xz"
  local sha
  sha="$(cat "$pack/COMMIT")"
  # The archive is written however the run ends (a timeout's TERM included).
  trap 'tar -C "$work" --exclude=bin -czf "$out/gemm_bf16.tgz" . ; cp -f "$work/ladder.log" "$out/" 2>/dev/null' EXIT
  trap 'exit 143' TERM INT
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$work/device.txt"
  # The scratch driver for Nsight Compute, compiled while the tests run.
  (cd "$root" && nvcc -std=c++17 -O3 -lineinfo -gencode arch=compute_90a,code=sm_90a -I. \
     cuda/common/runtime.cu cuda/common/copy.cu cuda/common/tensor_map.cu \
     cuda/gemm/gemm_v13_bf16_mma.cu cuda/gemm/gemm_v14_bf16_wgmma_tma.cu \
     cuda/gemm/gemm_v15_bf16_warp_specialized.cu cuda/gemm/gemm_v16_bf16_two_blocks.cu \
     cuda/gemm/gemm_v17_bf16_cluster_pair.cu cuda/gemm/gemm_v18_bf16_stream_k.cu \
     cuda/bench/gemm_bf16_scratch.cu -lcublas -o "$work/scratch" > "$work/scratch_build.log" 2>&1
   echo "nvcc rc $?" >> "$work/scratch_build.log") &
  { echo "# commit $sha"; timeout 150 "$work/bin/gemm_bf16_test"; echo "gemm_bf16_test rc $?"; } \
    > "$work/gemm_bf16_tests.log" 2>&1
  tail -3 "$work/gemm_bf16_tests.log"
  timeout 240 "$work/bin/gemm_ladder" --out "$work/ladder" --commit "$sha" \
    --sizes 1024,2048,4096,8192 --no-tall-k --shapes "$shapes" --variants "$variants" \
    > "$work/ladder.log" 2>&1
  echo "gemm_ladder rc $?"
  grep -E "v1[4-8]_bf16|bf16_(best|wide|narrow)" "$work/ladder.log" | grep -v "^gemm_ladder" || true
  wait
  tail -1 "$work/scratch_build.log"
  if [[ -x "$work/scratch" ]]; then
    # The analysis's profile: cuBLAS and v13-v17 (the first six matching launches; v18 is v15's
    # kernel again and is left out).
    timeout 90 ncu -k regex:"nvjet|xmma|warp_specialized|wgmma_tma|gemm_bf16_mma" --launch-count 6 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
      --section SchedulerStats --section MemoryWorkloadAnalysis --section LaunchStats \
      --section Occupancy "$work/scratch" profile 4096 4096 4096 > "$work/ncu_4096.txt" 2>&1
    echo "ncu sections rc $?"
    for skip in 0 2; do  # v15 and v17: every section, the warp states and the source page
      timeout 60 ncu --set full --import-source yes -k regex:warp_specialized --launch-skip $skip \
        --launch-count 1 -f -o "$work/full_$skip" "$work/scratch" profile 4096 4096 4096 \
        > "$work/ncu_full_$skip.log" 2>&1
      echo "ncu full $skip rc $?"
      ncu -i "$work/full_$skip.ncu-rep" --page details --print-details all > "$work/details_$skip.txt" 2>&1
      ncu -i "$work/full_$skip.ncu-rep" --page source --csv --print-source sass \
        > "$work/sass_$skip.csv" 2>&1
      rm -f "$work/full_$skip.ncu-rep"
    done
  fi
  local filter='*Hopper.V1*:*Batched*:*EveryLayout*:*Transposed*:*Cublas*'
  { timeout 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$work/bin/gemm_bf16_test" \
      --gtest_brief=1 --gtest_filter="$filter"; echo "memcheck rc $?"; } >> "$work/gemm_bf16_tests.log" 2>&1
  { timeout 100 compute-sanitizer --tool racecheck --error-exitcode 9 "$work/bin/gemm_bf16_test" \
      --gtest_brief=1 --gtest_filter='*Hopper.V1*:*Batched*'; echo "racecheck rc $?"; } \
    >> "$work/gemm_bf16_tests.log" 2>&1
  grep -E "SUMMARY|rc [0-9]" "$work/gemm_bf16_tests.log"
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *)
    echo "usage: tools/gpu_gemm_bf16.sh build|run" >&2
    exit 2
    ;;
esac
