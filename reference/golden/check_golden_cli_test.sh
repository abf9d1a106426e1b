#!/usr/bin/env bash
# check_golden's command line: a passing case exits 0 and prints its table; a missing file or a
# bad flag exits 2 with a message; a tampered case exits 1 (covered in golden_test.cc).
set -uo pipefail
tool="$TEST_SRCDIR/pureattention/reference/check_golden"
cases="$TEST_SRCDIR/pureattention/reference/pytorch/cases"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$tool" --case "$cases/mha_causal.safetensors" 2>&1); code=$?
[[ $code -eq 0 ]] || fail "passing case exited $code: $out"
grep -q "expected.grad.param.in_proj_weight" <<<"$out" || fail "no per-tensor table: $out"
grep -q "^PASS" <<<"$out" || fail "no PASS line: $out"

out=$("$tool" --case "$TEST_TMPDIR/nope.safetensors" 2>&1); code=$?
[[ $code -eq 2 ]] || fail "missing file exited $code"
grep -q "nope.safetensors" <<<"$out" || fail "missing file not named: $out"

out=$("$tool" --case "$cases/linear.safetensors" --device tpu 2>&1); code=$?
[[ $code -eq 2 ]] || fail "bad device exited $code"
grep -q "tpu" <<<"$out" || fail "bad device not named: $out"

out=$("$tool" --rtol 1e-3 2>&1); code=$?
[[ $code -eq 2 ]] || fail "missing --case exited $code"
grep -q -- "--case" <<<"$out" || fail "missing --case not named: $out"

out=$("$tool" --case "$cases/linear.safetensors" --rtol abc 2>&1); code=$?
[[ $code -eq 2 ]] || fail "bad --rtol exited $code"

out=$("$tool" --help 2>&1); code=$?
[[ $code -eq 0 ]] || fail "--help exited $code: $out"
grep -q -- "--rtol" <<<"$out" || fail "--help lacks --rtol: $out"

# Tolerances are finite numbers >= 0: a bad flag (2), not a failed check (1).
for value in nan inf -1e-3; do
  out=$("$tool" --case "$cases/linear.safetensors" --rtol "$value" 2>&1); code=$?
  [[ $code -eq 2 ]] || fail "--rtol $value exited $code: $out"
  grep -q -- "--rtol" <<<"$out" || fail "--rtol $value not named: $out"
done
out=$("$tool" --case "$cases/linear.safetensors" --atol nan 2>&1); code=$?
[[ $code -eq 2 ]] || fail "--atol nan exited $code: $out"

# --device cuda in this (CPU-only) build or on a machine without a GPU: exit 2 and a message,
# never an uncaught exception. (On a CUDA build with a GPU it checks the case: skip.)
out=$("$tool" --case "$cases/linear.safetensors" --device cuda 2>&1); code=$?
if [[ $code -ne 0 ]]; then
  [[ $code -eq 2 ]] || fail "--device cuda without CUDA exited $code: $out"
  grep -q "check_golden: error: --device cuda" <<<"$out" || fail "--device cuda message: $out"
fi
echo "check_golden CLI: all checks passed"
