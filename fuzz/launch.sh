#!/usr/bin/env bash
# `bazel run [--config=fuzz] //fuzz:<target> -- [libFuzzer flags]` (fuzz/fuzz.bzl passes the
# first arguments): FUZZER DICT SEED... -- USER_ARGS...
# Copies the seeds and committed regressions into a working corpus, .fuzz/<target>/corpus under
# the workspace (or $PA_FUZZ_DIR/<target>), and runs the fuzzer on it with the target's
# dictionary; crash inputs land in .fuzz/<target>/ (crash-<sha1>, timeout-..., oom-...). In the
# default build the "fuzzer" is the replay main, which replays the corpus once and ignores the
# libFuzzer flags.
set -euo pipefail
fuzzer=$1
dict=$2
shift 2
seeds=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  seeds+=("$1")
  shift
done
[[ $# -gt 0 ]] && shift  # the "--"
target=$(basename "$fuzzer")
target=${target%_fuzzer}
work=${PA_FUZZ_DIR:-${BUILD_WORKSPACE_DIRECTORY:-$PWD}/.fuzz}/$target
mkdir -p "$work/corpus"
for seed in "${seeds[@]}"; do
  # Named by content, as libFuzzer names its own corpus files, so repeated runs add nothing.
  cp "$seed" "$work/corpus/$(sha1sum "$seed" | cut -c1-40)"
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$fuzzer" -dict="$dict" -artifact_prefix="$work/" "$@" "$work/corpus"
