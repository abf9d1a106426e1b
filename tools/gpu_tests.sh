#!/usr/bin/env bash
# GPU tests in two halves: `tools/gpu_tests.sh build` (here, with Bazel) builds every test
# binary that touches the GPU, statically linked, into .gpu/; `.gpu/gpu_tests.sh run` (on the
# GPU machine, no Bazel) runs them and compute-sanitizer memcheck, logging to $OUT (or .gpu/out).
set -euo pipefail
targets=(//engine/io:io_test //engine/nn:nn_test //engine/train:checkpoint_test
         //engine:cuda_ops_test //cuda/kernels:elementwise_test
         //cuda/gemm:gemm_test)
# The binaries that call CUDA (compute-sanitizer refuses one that never does).
memcheck=(io_test nn_test cuda_ops_test elementwise_test gemm_test)
# The binaries whose kernels use shared memory (racecheck looks for hazards there).
racecheck=(cuda_ops_test gemm_test)
case "${1:-}" in
  build)
    cd "$(git rev-parse --show-toplevel)"
    bazel build --config=cuda --dynamic_mode=off "${targets[@]}"
    rm -rf .gpu && mkdir -p .gpu
    for target in "${targets[@]}"; do
      path="${target#//}"
      cp -L "bazel-bin/${path/://}" .gpu/
    done
    cp "$0" .gpu/gpu_tests.sh
    echo "gpu_tests: binaries in .gpu/; on the GPU machine run .gpu/gpu_tests.sh run"
    ;;
  run)
    cd "$(dirname "$0")"
    out="${OUT:-out}"
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
    status=0
    for target in "${targets[@]}"; do
      test="${target##*:}"
      echo "== $test"
      if ./"$test" --gtest_brief=1 > "$out/$test.log" 2>&1; then tail -n 1 "$out/$test.log"
      else status=1; tail -n 20 "$out/$test.log"; fi
    done
    for test in "${memcheck[@]}"; do
      echo "== memcheck $test"
      # OutOfMemoryIsAnError makes cudaMalloc fail on purpose: an API error to the sanitizer.
      if ! compute-sanitizer --tool memcheck --error-exitcode 9 ./"$test" --gtest_brief=1 \
          --gtest_filter=-*OutOfMemoryIsAnError > "$out/memcheck_$test.log" 2>&1; then
        status=1
        echo "memcheck failed: see memcheck_$test.log"
      fi
      grep "ERROR SUMMARY" "$out/memcheck_$test.log" || true
    done
    for test in "${racecheck[@]}"; do
      echo "== racecheck $test"
      if ! compute-sanitizer --tool racecheck --error-exitcode 9 ./"$test" --gtest_brief=1 \
          --gtest_filter=-*OutOfMemoryIsAnError > "$out/racecheck_$test.log" 2>&1; then
        status=1
        echo "racecheck failed: see racecheck_$test.log"
      fi
      grep "RACECHECK SUMMARY\|ERROR SUMMARY" "$out/racecheck_$test.log" || true
    done
    exit "$status"
    ;;
  *)
    echo "usage: tools/gpu_tests.sh build | .gpu/gpu_tests.sh run" >&2
    exit 2
    ;;
esac
