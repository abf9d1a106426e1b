#!/usr/bin/env bash
# tools/crash_stress.sh [KILLS] [--out FILE]: the long fault-injection run. Builds the denoising
# binary and runs experiments/crash_safety_test.sh with KILLS SIGKILLs (default 300) at random
# points of a run that writes a checkpoint after every step, checking after every kill that the
# checkpoint on disk is whole and at the end that the resumed run equals an uninterrupted one
# byte for byte. Appends one JSON line (kills, attempts, resumes, torn checkpoints, temporary
# files the kills left, whether the finish was identical, commit, CPU) to FILE (default
# results/cpu/crash_stress.jsonl). Exit 1 if anything failed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
kills=300
out=results/cpu/crash_stress.jsonl
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) kills="$1"; shift ;;
  esac
done
[[ "$kills" =~ ^[1-9][0-9]*$ ]] || { echo "crash_stress.sh: KILLS must be a positive whole number" >&2; exit 2; }
bazel build //experiments:denoising
commit="$(git rev-parse HEAD)$(git diff --quiet HEAD || echo -dirty)"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# A copy of the binary: a rebuild during the run must not swap it underneath.
cp bazel-bin/experiments/denoising "$scratch/denoising"
line="$scratch/stress.jsonl"
status=0
SEED="${SEED:-$RANDOM}" KILLS="$kills" STRESS_OUT="$line" DENOISING_BIN="$scratch/denoising" \
  TEST_TMPDIR="$scratch" experiments/crash_safety_test.sh || status=$?
mkdir -p "$(dirname "$out")"
/usr/bin/python3 - "$line" "$commit" "$cpu" "$status" >> "$out" <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).read().splitlines()[0])
row.update(commit=sys.argv[2], cpu=sys.argv[3], test_exit_code=int(sys.argv[4]),
           experiment="denoising --checkpoint-every 1 (experiments/crash_safety_test.sh)")
print(json.dumps(row, sort_keys=True))
PY
echo "crash_stress.sh: $(tail -n 1 "$out")"
exit "$status"
