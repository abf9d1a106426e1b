#!/usr/bin/env bash
# The experiments on the GPU, in two halves like gpu_tests.sh: `tools/gpu_experiments.sh build`
# (here, with Bazel) builds every experiment with --config=cuda, statically linked, into
# .gpu/experiments/; `.gpu/experiments/gpu_experiments.sh run` (on the GPU
# machine, no Bazel) runs each on --device cpu and --device cuda with the same flags and
# compares the two runs row by row (tools/compare_runs.py), then runs pytorch_compare on the GPU
# (the recorded PyTorch trajectory) and the training step against PyTorch eager.
set -euo pipefail
experiments=(least_squares housing sine_inversion denoising pytorch_compare train_step_bench)
case "${1:-}" in
  build)
    cd "$(git rev-parse --show-toplevel)"
    bazel build --config=cuda --dynamic_mode=off "${experiments[@]/#///experiments:}"
    rm -rf .gpu/experiments && mkdir -p .gpu/experiments
    for name in "${experiments[@]}"; do cp -L "bazel-bin/experiments/$name" .gpu/experiments/; done
    cp "$0" tools/compare_runs.py .gpu/experiments/
    echo "gpu_experiments: binaries in .gpu/experiments/; on the GPU machine run" \
      ".gpu/experiments/gpu_experiments.sh run"
    ;;
  run)
    here="$(cd "$(dirname "$0")" && pwd)"
    out="${OUT:-$here/out}"
    mkdir -p "$out"
    cd "$here/../.."  # the repository root: pytorch_compare and torch_step.py read files there
    status=0
    # Quick configurations: the same flags on both devices (the CPU runs use 8 threads).
    declare -A flags=(
      [least_squares]=""
      [housing]=""  # data/california_housing.csv of the repository copy
      [sine_inversion]="--steps 300 --repeats 2"
      [denoising]="--steps 300"
    )
    for name in least_squares housing sine_inversion denoising; do
      for device in cpu cuda; do
        # shellcheck disable=SC2086
        if ! "$here/$name" --device "$device" --threads 8 ${flags[$name]} \
            --out "$out/$name-$device" > "$out/$name-$device.log" 2>&1; then
          status=1
          echo "$name --device $device failed:"
          tail -n 5 "$out/$name-$device.log"
        fi
      done
      /usr/bin/env python3 "$here/compare_runs.py" "$name" "$out/$name-cpu" "$out/$name-cuda" ||
        status=1
    done
    if "$here/pytorch_compare" --device cuda --out "$out/pytorch_compare-cuda" \
        > "$out/pytorch_compare-cuda.log" 2>&1; then
      tail -n 3 "$out/pytorch_compare-cuda.log"
    else
      status=1
      tail -n 20 "$out/pytorch_compare-cuda.log"
    fi
    "$here/train_step_bench" --device cuda --python python3 \
      --commit "${COMMIT:-unknown}" --out "$out/train_step" 2>&1 | tail -n 2 || status=1
    exit "$status"
    ;;
  *)
    echo "usage: tools/gpu_experiments.sh build | .gpu/experiments/gpu_experiments.sh run" >&2
    exit 2
    ;;
esac
