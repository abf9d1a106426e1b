#!/usr/bin/env bash
# docker/reproduce.sh: the whole PureAttention pipeline in one command, as named stages, the same
# inside the images (docker/Dockerfile, docker/Dockerfile.cuda) and directly on a machine.
#
#   docker/reproduce.sh [--quick] [--device cpu|cuda] [--out DIR] [--stages LIST]
#
# Stages, in pipeline order (docker/README.md has the commands each one runs):
#   build        cpu: bazel build //...     cuda: also --config=cuda, and the static GPU binaries
#                                           into .gpu/ (tools/gpu_tests.sh, gpu_experiments.sh)
#   tests        bazel test //... (CPU tests; they run quick configurations of the experiments)
#   gpu-tests    cuda: .gpu/gpu_tests.sh run (GPU tests, op sweep on the GPU, golden cases)
#   sanitize     cuda: .gpu/gpu_tests.sh sanitize (compute-sanitizer memcheck and racecheck)
#   experiments  full configurations -> OUT/results/<name>/ (cuda: also the CPU-vs-GPU runs)
#   benchmarks   cpu: cpu_bench   cuda: gemm_ladder and attention_bench -> OUT/results/bench/
#   figures      the analysis scripts on OUT/results/<name>/ -> OUT/figures/
#   paper        bazel build //paper:thesis -> OUT/thesis.pdf (and its generated inputs)
# --quick runs what CI runs: no experiments or figures stage (the tests and the thesis build run
# the quick configurations), no CPU benchmarks. Exit codes: 0 done, 1 a stage failed (named, with
# its log), 2 a usage or environment error found before any work.
set -euo pipefail

readonly experiments=(least_squares housing sine_inversion denoising pytorch_compare)
readonly cpu_stages=(build tests experiments benchmarks figures paper)
readonly cpu_quick_stages=(build tests paper)
readonly cuda_stages=(build tests gpu-tests sanitize experiments benchmarks figures paper)
readonly cuda_quick_stages=(build tests gpu-tests sanitize benchmarks paper)
# Stages that need a GPU on --device cuda (build, tests and paper compile and run on the CPU).
readonly gpu_stages=" gpu-tests sanitize experiments benchmarks "

usage() {
  cat <<'EOF'
usage: docker/reproduce.sh [--quick] [--device cpu|cuda] [--out DIR] [--stages LIST]
                           [--verbose] [--dry-run] [--help]

Runs the PureAttention pipeline as named stages and copies the thesis PDF, the figures and the
results into DIR. Stops at the first failing stage and names it.

  --quick          what CI runs: build, tests, paper (cuda: also gpu-tests, sanitize,
                   benchmarks); no full experiments
  --device DEV     cpu (default) or cuda; cuda needs an NVIDIA GPU (nvidia-smi) for the
                   gpu-tests, sanitize, experiments and benchmarks stages
  --out DIR        where the outputs go (default ./out); stage logs in DIR/logs/
  --stages LIST    comma-separated subset, run in pipeline order:
                   cpu:  build,tests,experiments,benchmarks,figures,paper
                   cuda: build,tests,gpu-tests,sanitize,experiments,benchmarks,figures,paper
  --verbose        also print each stage's output (default: only in DIR/logs/<stage>.log)
  --dry-run        check the flags and the device, print the plan, run nothing
  --help           this text

Exit codes: 0 done, 1 a stage failed, 2 a usage or environment error (before any work).
Environment: PA_GIT_COMMIT (commit to record when there is no .git), PA_NVIDIA_SMI (the
nvidia-smi to ask, default nvidia-smi).
EOF
}

usage_error() {
  echo "reproduce: $1" >&2
  usage >&2
  exit 2
}

fail_early() {
  echo "reproduce: $1" >&2
  exit 2
}

# ---- flags ----
quick=false
device=cpu
out=./out
stages_flag=""
verbose=false
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=true ;;
    --verbose | -v) verbose=true ;;
    --dry-run) dry_run=true ;;
    --help | -h)
      usage
      exit 0
      ;;
    --device | --out | --stages)
      [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || usage_error "$1 needs a value"
      case "$1" in
        --device) device="$2" ;;
        --out) out="$2" ;;
        --stages) stages_flag="$2" ;;
      esac
      shift
      ;;
    --device=* | --out=* | --stages=*)
      value="${1#*=}"
      [[ -n "$value" ]] || usage_error "${1%%=*} needs a value"
      case "$1" in
        --device=*) device="$value" ;;
        --out=*) out="$value" ;;
        --stages=*) stages_flag="$value" ;;
      esac
      ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
  shift
done

case "$device" in
  cpu | cuda) ;;
  *) usage_error "--device must be cpu or cuda, not '$device'" ;;
esac

if [[ "$device" == cpu ]]; then
  all_stages=("${cpu_stages[@]}")
  default_stages=("${cpu_stages[@]}")
  if $quick; then default_stages=("${cpu_quick_stages[@]}"); fi
else
  all_stages=("${cuda_stages[@]}")
  default_stages=("${cuda_stages[@]}")
  if $quick; then default_stages=("${cuda_quick_stages[@]}"); fi
fi

# The stages to run, always in pipeline order.
stages=()
if [[ -z "$stages_flag" ]]; then
  stages=("${default_stages[@]}")
else
  IFS=',' read -r -a wanted <<< "$stages_flag"
  for name in "${wanted[@]}"; do
    [[ " ${all_stages[*]} " == *" $name "* ]] ||
      usage_error "unknown stage '$name' for --device $device (stages: ${all_stages[*]})"
  done
  for name in "${all_stages[@]}"; do
    [[ ",$stages_flag," == *",$name,"* ]] && stages+=("$name")
  done
fi
[[ ${#stages[@]} -gt 0 ]] || usage_error "no stage selected"

# ---- the device, before any work ----
nvidia_smi="${PA_NVIDIA_SMI:-nvidia-smi}"
gpu_name=""
needs_gpu=false
if [[ "$device" == cuda ]]; then
  for name in "${stages[@]}"; do
    [[ "$gpu_stages" == *" $name "* ]] && needs_gpu=true
  done
fi
if $needs_gpu; then
  if ! command -v "$nvidia_smi" > /dev/null 2>&1; then
    fail_early "--device cuda needs an NVIDIA GPU, but nvidia-smi was not found (run on a machine \
with a GPU and its driver, or give the container the GPU: docker run --gpus all ...)"
  fi
  smi_status=0
  smi_output="$("$nvidia_smi" -L 2>&1)" || smi_status=$?
  if [[ $smi_status -ne 0 ]]; then
    fail_early "--device cuda needs an NVIDIA GPU, but 'nvidia-smi -L' failed (exit $smi_status): \
$(head -n 1 <<< "$smi_output")"
  fi
  if ! grep -q "^GPU " <<< "$smi_output"; then
    fail_early "--device cuda needs an NVIDIA GPU, but nvidia-smi lists none"
  fi
  gpu_name="$(grep -m 1 "^GPU " <<< "$smi_output" | sed -e 's/^GPU [0-9]*: //' -e 's/ (UUID.*//')"
fi

# ---- where things are ----
invoked_from="$(pwd)"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ "$out" == /* ]] || out="$invoked_from/${out#./}"

needs_bazel=false
for name in "${stages[@]}"; do
  case "$name" in
    build | tests | paper) needs_bazel=true ;;
    experiments | benchmarks) [[ "$device" == cpu ]] && needs_bazel=true ;;
  esac
done

# What each stage runs, for --dry-run and the plan line.
describe() {
  case "$device:$1" in
    cpu:build) echo "bazel build //..." ;;
    cuda:build) echo "bazel build --config=cuda //...; tools/gpu_tests.sh build; tools/gpu_experiments.sh build; gemm_ladder and attention_bench into .gpu/bench/" ;;
    *:tests) echo "bazel test //..." ;;
    cuda:gpu-tests) echo ".gpu/gpu_tests.sh run -> results/gpu_tests/" ;;
    cuda:sanitize) echo ".gpu/gpu_tests.sh sanitize -> results/sanitize/" ;;
    cpu:experiments) echo "bazel run //experiments:<name> (full configurations) -> results/<name>/" ;;
    cuda:experiments) echo ".gpu/experiments/gpu_experiments.sh run -> results/gpu_experiments/; .gpu/experiments/<name> --device cuda (full) -> results/<name>/" ;;
    cpu:benchmarks) echo "bazel run //experiments:cpu_bench -> results/bench/" ;;
    cuda:benchmarks) echo ".gpu/bench/gemm_ladder, .gpu/bench/attention_bench -> results/bench/" ;;
    *:figures) echo "experiments/analysis/run_script.sh <name>.py on results/<name>/ -> figures/" ;;
    *:paper) echo "bazel build //paper:thesis -> thesis.pdf, thesis_inputs/" ;;
  esac
}

if $dry_run; then
  echo "reproduce: device $device$([[ -n "$gpu_name" ]] && echo " ($gpu_name)"), $($quick && echo quick || echo full), out $out"
  for name in "${stages[@]}"; do echo "reproduce: would run $name: $(describe "$name")"; done
  if $needs_bazel && ! command -v bazel > /dev/null 2>&1; then
    echo "reproduce: note: bazel is not on PATH here (tools/install_deps.sh installs it)"
  fi
  exit 0
fi

if $needs_bazel && ! command -v bazel > /dev/null 2>&1; then
  fail_early "stages ${stages[*]} need bazel, which is not on PATH (tools/install_deps.sh installs it)"
fi
has_stage() { [[ " ${stages[*]} " == *" $1 "* ]]; }
if [[ "$device" == cuda ]] && ! has_stage build; then
  for name in gpu-tests sanitize experiments benchmarks; do
    has_stage "$name" || continue
    case "$name" in
      gpu-tests | sanitize) needed=.gpu/gpu_tests.sh ;;
      experiments) needed=.gpu/experiments/gpu_experiments.sh ;;
      benchmarks) needed=.gpu/bench/gemm_ladder ;;
    esac
    [[ -x "$repo/$needed" ]] ||
      fail_early "stage '$name' needs $needed, which the build stage makes (add it to --stages)"
  done
fi
if ! mkdir -p "$out/logs" 2> /dev/null || ! touch "$out/logs/.writable" 2> /dev/null; then
  fail_early "cannot write to --out $out (in the images, mount a folder the image's user can write)"
fi
rm -f "$out/logs/.writable"

cd "$repo"
commit="${PA_GIT_COMMIT:-}"
if [[ -z "$commit" ]] && git rev-parse HEAD > /dev/null 2>&1; then
  commit="$(git rev-parse HEAD)"
  git diff --quiet HEAD 2> /dev/null || commit="$commit-dirty"
fi
if [[ -z "$commit" && -f .gpu/COMMIT ]]; then commit="$(cat .gpu/COMMIT)"; fi
commit="${commit:-unknown}"
export PA_GIT_COMMIT="$commit"

# ---- the stages (each runs in a subshell with errexit; its output goes to its log) ----
stage_build() {
  if [[ "$device" == cpu ]]; then
    bazel build //...
    return
  fi
  bazel build --config=cuda //...
  tools/gpu_tests.sh build
  tools/gpu_experiments.sh build
  bazel build --config=cuda --dynamic_mode=off //cuda/bench:gemm_ladder //cuda/bench:attention_bench
  mkdir -p .gpu/bench
  cp -fL bazel-bin/cuda/bench/gemm_ladder bazel-bin/cuda/bench/attention_bench .gpu/bench/
  cp -f cuda/bench/torch_attention.py .gpu/bench/  # attention_bench runs it from beside itself
}

stage_tests() {
  bazel test //...
  ci/summarize_tests.sh /dev/null
}

stage_gpu_tests() { OUT="$out/results/gpu_tests" .gpu/gpu_tests.sh run; }

stage_sanitize() { OUT="$out/results/sanitize" .gpu/gpu_tests.sh sanitize; }

experiment_flags() {
  flags=(--out "$out/results/$1")
  [[ "$1" == housing ]] && flags+=(--data "$repo/data/california_housing.csv")
  return 0
}

stage_experiments() {
  local flags=()
  if [[ "$device" == cuda ]]; then
    # Quick configurations on both devices, compared row by row, then the full ones on the GPU.
    OUT="$out/results/gpu_experiments" COMMIT="$commit" .gpu/experiments/gpu_experiments.sh run
  fi
  for name in "${experiments[@]}"; do
    experiment_flags "$name"
    echo "== $name (${device})"
    if [[ "$device" == cuda ]]; then
      ".gpu/experiments/$name" --device cuda "${flags[@]}"
    else
      bazel run "//experiments:$name" -- "${flags[@]}"
    fi
  done
}

stage_benchmarks() {
  mkdir -p "$out/results/bench"
  if [[ "$device" == cpu ]]; then
    bazel run //experiments:cpu_bench -- --out "$out/results/bench"
    return
  fi
  .gpu/bench/gemm_ladder --out "$out/results/bench" --commit "$commit"
  .gpu/bench/attention_bench --out "$out/results/bench" --commit "$commit" --python python3
}

stage_figures() {
  local drawn=0
  for name in "${experiments[@]}"; do
    [[ -d "$out/results/$name" ]] || continue
    echo "== $name"
    experiments/analysis/run_script.sh "$name.py" --results "$out/results/$name" \
      --out "$out/figures"
    drawn=$((drawn + 1))
  done
  if [[ $drawn -eq 0 ]]; then
    echo "no experiment results in $out/results/: run the experiments stage first" >&2
    return 1
  fi
}

stage_paper() {
  bazel build //paper:thesis
  cp -f bazel-bin/paper/thesis.pdf "$out/thesis.pdf"
  chmod u+w "$out/thesis.pdf"
  # The thesis' generated inputs (figures, tables, number macros of the hermetic quick runs).
  local inputs
  inputs="$(find -L bazel-bin/experiments/analysis -name '*.runfiles' -prune -o -type f \
    \( -name '*.pdf' -o -name '*.png' -o -name '*.tex' -o -name '*_sources.json' \) -print \
    2> /dev/null || true)"
  if [[ -n "$inputs" ]]; then
    mkdir -p "$out/thesis_inputs"
    while IFS= read -r file; do
      cp -f "$file" "$out/thesis_inputs/" && chmod u+w "$out/thesis_inputs/$(basename "$file")"
    done <<< "$inputs"
  fi
  echo "thesis: $out/thesis.pdf"
}

# ---- the runner ----
format_seconds() {
  local s=$1
  if ((s >= 3600)); then
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif ((s >= 60)); then
    printf '%dm%02ds' $((s / 60)) $((s % 60))
  else
    printf '%ds' "$s"
  fi
}

started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start=$SECONDS
stage_pid=""
current=""
records=()

write_manifest() {
  local status="$1" entries=""
  for record in "${records[@]}"; do entries+="${entries:+, }$record"; done
  cat > "$out/reproduce.json" <<EOF
{"commit": "$commit", "device": "$device", "gpu": "$gpu_name", "quick": $quick,
 "stages": [$entries],
 "status": "$status", "started_at": "$started_at",
 "finished_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "seconds": $((SECONDS - start))}
EOF
}

on_signal() {
  [[ -n "$stage_pid" ]] && kill "$stage_pid" 2> /dev/null
  echo "reproduce: interrupted in stage '$current'" >&2
  write_manifest interrupted 2> /dev/null || true
  exit 130
}
trap on_signal INT TERM

echo "reproduce: device $device$([[ -n "$gpu_name" ]] && echo " ($gpu_name)"), $($quick && echo quick || echo full), commit $commit"
echo "reproduce: stages ${stages[*]}; outputs in $out"
count=${#stages[@]}
index=0
for name in "${stages[@]}"; do
  index=$((index + 1))
  current="$name"
  log="$out/logs/$name.log"
  stage_start=$SECONDS
  echo "reproduce: [$index/$count] $name: $(describe "$name")"
  function_name="stage_${name//-/_}"
  if $verbose; then
    (set -euo pipefail; "$function_name") > >(tee "$log") 2>&1 &
  else
    (set -euo pipefail; "$function_name") > "$log" 2>&1 &
  fi
  stage_pid=$!
  # A line a minute while a long stage runs, so that a log watcher sees progress.
  while kill -0 "$stage_pid" 2> /dev/null; do
    for _ in $(seq 60); do
      sleep 1
      kill -0 "$stage_pid" 2> /dev/null || break
    done
    if kill -0 "$stage_pid" 2> /dev/null && ! $verbose; then
      echo "reproduce: [$index/$count] $name running ($(format_seconds $((SECONDS - stage_start))))"
    fi
  done
  status=0
  wait "$stage_pid" || status=$?
  stage_pid=""
  elapsed=$((SECONDS - stage_start))
  records+=("{\"name\": \"$name\", \"status\": $status, \"seconds\": $elapsed, \"log\": \"logs/$name.log\"}")
  if [[ $status -ne 0 ]]; then
    if ! $verbose; then
      echo "---- last lines of $log" >&2
      tail -n 30 "$log" >&2
      echo "----" >&2
    fi
    echo "reproduce: stage '$name' failed (exit $status) after $(format_seconds "$elapsed"); log: $log" >&2
    write_manifest "failed in $name"
    exit 1
  fi
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)"
  echo "reproduce: [$index/$count] $name ok in $(format_seconds "$elapsed")${summary:+ ($summary)} (total $(format_seconds $((SECONDS - start))))"
done
write_manifest ok
echo "reproduce: done in $(format_seconds $((SECONDS - start))); outputs in $out (manifest: reproduce.json)"
