#!/usr/bin/env bash
# ci/sanitize.sh [--fuzz-seconds N] [--out DIR]: the CI step that runs the CPU test suite under
# AddressSanitizer + UndefinedBehaviorSanitizer and every fuzz target briefly. Both use
# --config=fuzz (clang-14; .bazelrc): the suite runs on the same instrumented objects the fuzz
# targets link, so one build serves both. The suite: the engine's tests, the command-line
# library, the oracle and golden-case tests, the run-folder and crash-safety tests, the data
# checksums and the fuzz targets' replays. Writes DIR/fuzz.jsonl (default ./out); exit 1 on a
# failing test or a fuzz finding (its input stays under DIR/fuzz/<target>/).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
seconds=15
out=out
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fuzz-seconds) seconds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "ci/sanitize.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
suite=(//engine/... //cli/... //reference:golden_test //reference/eigen:reference_test
       //experiments:run_safety_test //experiments:crash_safety_test
       //experiments:datasets_test //fuzz/...)
mkdir -p "$out"
echo "== sanitizers: ASan + UBSan over ${suite[*]}"
bazel test --config=fuzz "${suite[@]}"
echo "== fuzz: every target for ${seconds} s"
fuzz/run_all.sh "$seconds" --out "$out/fuzz.jsonl" --work "$out/fuzz"
