#!/usr/bin/env bash
# Everything the GPU machine runs, built here and packed to travel through the device tool's
# carry (64 MiB at most): `tools/gpu_pack.sh build` builds the GPU tests (tools/gpu_tests.sh),
# the experiments (tools/gpu_experiments.sh) and the two benchmarks into .gpu/, statically
# linked; `tools/gpu_pack.sh pack` strips them and writes .gpu-pack/gpu.tar.xz (about 13 MB
# instead of about 100 MB); `all` does both. On the GPU machine:
#   tar -xJf .gpu-pack/gpu.tar.xz && docker/reproduce.sh --device cuda --stages gpu-tests ...
# .gpu/COMMIT names the commit the binaries were built from; reproduce.sh reports it.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
build() {
  tools/gpu_tests.sh build
  tools/gpu_experiments.sh build
  bazel build --config=cuda --dynamic_mode=off //cuda/bench:gemm_ladder //cuda/bench:attention_bench
  mkdir -p .gpu/bench
  cp -fL bazel-bin/cuda/bench/gemm_ladder bazel-bin/cuda/bench/attention_bench .gpu/bench/
  cp -f cuda/bench/torch_attention.py .gpu/bench/  # attention_bench runs it from beside itself
}
pack() {
  [[ -f .gpu/COMMIT ]] || { echo "gpu_pack: no .gpu/COMMIT; run tools/gpu_pack.sh build first" >&2; exit 2; }
  chmod -R u+w .gpu
  find .gpu -type f -perm -u+x -exec sh -c 'file -b "$1" | grep -q ELF && strip "$1"' _ {} \;
  mkdir -p .gpu-pack
  tar -cf - .gpu | xz -6 -T0 > .gpu-pack/gpu.tar.xz.tmp
  mv .gpu-pack/gpu.tar.xz.tmp .gpu-pack/gpu.tar.xz
  echo "gpu_pack: .gpu-pack/gpu.tar.xz ($(du -h .gpu-pack/gpu.tar.xz | cut -f1)) from $(cat .gpu/COMMIT)"
}
case "${1:-}" in
  build) build ;;
  pack) pack ;;
  all) build; pack ;;
  *) echo "usage: tools/gpu_pack.sh build | pack | all" >&2; exit 2 ;;
esac
