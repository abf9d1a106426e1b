#!/usr/bin/env bash
# GPU tests in two halves: `tools/gpu_tests.sh build` (here, with Bazel) builds every test
# binary that touches the GPU, statically linked, into .gpu/; on the GPU machine (no Bazel),
# `.gpu/gpu_tests.sh run` runs them, the golden cases and the PyTorch attention check, and
# `.gpu/gpu_tests.sh sanitize [BINARY...]` runs compute-sanitizer memcheck and racecheck over
# them, or over the binaries named (minutes: separate calls, each under the device tool's
# 10-minute limit); `all` does both. Logs go to $OUT (or .gpu/out). SANITIZE_TOOLS (default
# "memcheck racecheck initcheck") picks the compute-sanitizer tools; SANITIZE_TESTS (a gtest
# pattern, default *) narrows the sanitizer runs further: racecheck over all of
# flash_attention_bf16_test takes about 14 minutes on an H100, so it runs in two calls, e.g.
#   SANITIZE_TESTS='*Backward*' .gpu/gpu_tests.sh sanitize flash_attention_bf16_test
#   SANITIZE_TESTS='-*Backward*' .gpu/gpu_tests.sh sanitize flash_attention_bf16_test
# (a leading - excludes instead).
set -euo pipefail
targets=(//engine/io:io_test //engine/nn:nn_test //engine/train:checkpoint_test
         //engine:cuda_ops_test //cuda/kernels:elementwise_test
         //cuda/gemm:gemm_test //cuda/gemm:gemm_bf16_test //engine:ops_sweep_test //cuda/attention:flash_attention_bf16_test
         //cuda/attention:flash_attention_3xtf32_test //reference:check_golden
         //cuda/bench:attention_dump)
# The binaries that call CUDA (compute-sanitizer refuses one that never does).
memcheck=(io_test nn_test cuda_ops_test elementwise_test gemm_test gemm_bf16_test ops_sweep_test
          flash_attention_bf16_test flash_attention_3xtf32_test)
# The binaries whose kernels use shared memory (racecheck looks for hazards there).
racecheck=(cuda_ops_test gemm_test gemm_bf16_test flash_attention_bf16_test
           flash_attention_3xtf32_test)
case "${1:-}" in
  build)
    cd "$(git rev-parse --show-toplevel)"
    bazel build --config=cuda --dynamic_mode=off "${targets[@]}"
    rm -rf .gpu && mkdir -p .gpu
    for target in "${targets[@]}"; do
      path="${target#//}"
      cp -L "bazel-bin/${path/://}" .gpu/
    done
    cp cuda/bench/check_attention_vs_torch.py .gpu/
    { git rev-parse HEAD | tr -d '\n'; git diff --quiet HEAD || echo -n "-dirty"; echo; } > .gpu/COMMIT
    cp "$0" .gpu/gpu_tests.sh
    echo "gpu_tests: binaries in .gpu/; on the GPU machine: .gpu/gpu_tests.sh run, then sanitize"
    ;;
  run | sanitize | all)
    mode="$1"
    shift
    # `sanitize BINARY...` restricts the sanitizer runs to those binaries (one call each, where
    # all of them would not fit in one device call).
    if [[ "$mode" == sanitize && $# -gt 0 ]]; then
      only=" $* "
      keep() { local kept=(); for test in "$@"; do [[ "$only" == *" $test "* ]] && kept+=("$test"); done; echo "${kept[@]:-}"; }
      read -r -a memcheck <<< "$(keep "${memcheck[@]}")"
      read -r -a racecheck <<< "$(keep "${racecheck[@]}")"
    fi
    cd "$(dirname "$0")"
    out="${OUT:-out}"
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"
    status=0
    # ops_sweep_test is the op sweep; PA_SWEEP_DEVICE=cuda runs every case on the GPU, and fails
    # an op the op list puts on CUDA that ran no case there or skipped one ("[ SKIP ]").
    export PA_SWEEP_DEVICE=cuda
    # Every new CUDA tensor starts as NaN bytes: an output element a kernel forgets stays NaN.
    export PA_CUDA_POISON=1
    [[ "$mode" == sanitize ]] || for target in "${targets[@]}"; do
      test="${target##*:}"
      # not test binaries: the golden cases and the PyTorch comparison follow
      [[ "$test" == check_golden || "$test" == attention_dump ]] && continue
      echo "== $test"
      if ./"$test" --gtest_brief=1 > "$out/$test.log" 2>&1; then tail -n 1 "$out/$test.log"
      else status=1; tail -n 20 "$out/$test.log"; fi
    done
    if [[ "$mode" != sanitize ]]; then
      # Every recorded PyTorch case (reference/pytorch/cases) replayed on the GPU.
      echo "== check_golden --device cuda"
      for case in ../reference/pytorch/cases/*.safetensors; do
        if ./check_golden --case "$case" --device cuda > "$out/golden_$(basename "$case" .safetensors).log" 2>&1
        then echo "pass $(basename "$case")"
        else status=1; echo "FAIL $(basename "$case")"; tail -n 5 "$out/golden_$(basename "$case" .safetensors).log"; fi
      done
      # Our bf16 attention against PyTorch SDPA in bf16 and a float64 reference, where the GPU
      # machine's python3 has torch.
      if python3 -c "import torch" 2> /dev/null; then
        echo "== check_attention_vs_torch"
        if python3 check_attention_vs_torch.py --dump ./attention_dump \
            --work "${TMPDIR:-/tmp}/pa_attention" --out "$out/attention_vs_torch.jsonl" \
            --commit "$(cat COMMIT 2> /dev/null)" \
            > "$out/attention_vs_torch.log" 2>&1
        then tail -n 1 "$out/attention_vs_torch.log"
        else status=1; tail -n 20 "$out/attention_vs_torch.log"; fi
      else
        echo "== check_attention_vs_torch skipped: no torch for python3"
      fi
    fi
    # compute-sanitizer with one tool over some binaries. OutOfMemoryIsAnError makes cudaMalloc
    # fail on purpose, an API error to the sanitizer, and the long attention tests (N = 4097 and
    # 16384, fp32 and bf16) take minutes under it: they are left out of these runs.
    skip="*OutOfMemoryIsAnError:*AttentionMemoryIsLinearInN:*AttentionLongSequence:*Long4097"
    filter="${SANITIZE_TESTS:-*}"
    if [[ "$filter" == -* ]]; then filter="*-$skip:${filter#-}"; else filter="$filter-$skip"; fi
    sanitize() {
      local tool="$1"
      shift
      for test in "$@"; do
        echo "== $tool $test"
        if ! compute-sanitizer --tool "$tool" --error-exitcode 9 ./"$test" --gtest_brief=1 \
            --gtest_filter="$filter" \
            > "$out/${tool}_$test.log" 2>&1; then
          status=1
          echo "$tool failed: see ${tool}_$test.log"
        fi
        grep "RACECHECK SUMMARY\|ERROR SUMMARY" "$out/${tool}_$test.log" || true
      done
    }
    if [[ "$mode" != run ]]; then
      tools=" ${SANITIZE_TOOLS:-memcheck racecheck initcheck} "
      [[ "$tools" == *" memcheck "* && ${#memcheck[@]} -gt 0 ]] && sanitize memcheck "${memcheck[@]}"
      [[ "$tools" == *" racecheck "* && ${#racecheck[@]} -gt 0 ]] && sanitize racecheck "${racecheck[@]}"
      # initcheck: device memory read before anything wrote it. Without the NaN poisoning,
      # which would count as a write, over the same binaries as memcheck.
      if [[ "$tools" == *" initcheck "* && ${#memcheck[@]} -gt 0 ]]; then
        PA_CUDA_POISON=0 sanitize initcheck "${memcheck[@]}"
      fi
    fi
    exit "$status"
    ;;
  *)
    echo "usage: tools/gpu_tests.sh build | .gpu/gpu_tests.sh run | sanitize [BINARY...] | all" >&2
    exit 2
    ;;
esac
