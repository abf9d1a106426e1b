#!/usr/bin/env bash
# Prints a one-line summary of a `bazel test` log: "N passed, N failed" (gtest cases, summed
# over the test targets' logs), after Bazel's own per-target lines.
set -euo pipefail
log="$1"
grep -E "^//.*(PASSED|FAILED|TIMEOUT|NO STATUS|SKIPPED)|Executed" "$log" || true
passed=0
failed=0
while IFS= read -r -d '' test_log; do
  p=$(grep -oE "^\[  PASSED  \] [0-9]+ test" "$test_log" | grep -oE "[0-9]+" || true)
  f=$(grep -oE "^\[  FAILED  \] [0-9]+ test" "$test_log" | grep -oE "[0-9]+" || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done < <(find -L bazel-testlogs/ -name test.log -print0 2>/dev/null)
echo "${passed} passed, ${failed} failed"
