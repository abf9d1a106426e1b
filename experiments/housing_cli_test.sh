#!/usr/bin/env bash
# The housing binary's command line: --help exits 0; bad flags and values and a missing --data
# file exit 2 with a message naming them; a CSV that fails its checksum exits 1 naming it; a
# malformed one (with --no-checksum) exits 1 with its line in stderr; a tiny run writes its
# three output files.
set -uo pipefail
tool="$TEST_SRCDIR/pureattention/experiments/housing"
data="$TEST_SRCDIR/pureattention/data/california_housing.csv"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$tool" --help 2>&1); code=$?
[[ $code -eq 0 ]] || fail "--help exited $code: $out"
for flag in --data --hidden --schedule --steps --lr --batch --seed --device --out; do
  grep -q -- "$flag" <<<"$out" || fail "--help does not list $flag: $out"
done

# expect_usage_error "<what stderr must name>" args...: exit code 2 and the name in the message.
expect_usage_error() {
  local name=$1
  shift
  out=$("$tool" --data "$data" --out "$TEST_TMPDIR/unused" "$@" 2>&1); code=$?
  [[ $code -eq 2 ]] || fail "'$*' exited $code, expected 2: $out"
  grep -q -- "$name" <<<"$out" || fail "'$*' does not name '$name': $out"
}
expect_usage_error "--steps" --steps -1
expect_usage_error "--lr" --lr abc
expect_usage_error "--nonsense" --nonsense
expect_usage_error "--hidden" --hidden 0
expect_usage_error "--hidden" --hidden 64,x
expect_usage_error "--schedule" --schedule linear
expect_usage_error "--device" --device tpu
# Integers are whole numbers within range (never clamped or wrapped), reals finite.
expect_usage_error "--hidden: must be a whole number" --hidden 64,1.5
expect_usage_error "--steps: must be at most" --steps 99999999999999999999
expect_usage_error "--seed: must be zero or more" --seed -1
expect_usage_error "--val-fraction: must be a finite number" --val-fraction nan
expect_usage_error "--weight-decay: must be a finite number" --weight-decay inf

out=$("$tool" --data /nonexistent/housing.csv --out "$TEST_TMPDIR/unused" 2>&1); code=$?
[[ $code -eq 2 ]] || fail "missing --data file exited $code, expected 2: $out"
grep -q "/nonexistent/housing.csv" <<<"$out" || fail "missing --data file not named: $out"

malformed="$TEST_TMPDIR/malformed.csv"
head -n 4 "$data" >"$malformed"
echo "-122.25,37.85,52.0,many,235.0,558.0,219.0,5.6431,341300.0,NEAR BAY" >>"$malformed"
out=$("$tool" --data "$malformed" --steps 1 --out "$TEST_TMPDIR/malformed_run" 2>&1); code=$?
[[ $code -eq 1 ]] || fail "CSV with another checksum exited $code, expected 1: $out"
grep -q "malformed.csv' fails its checksum" <<<"$out" || fail "checksum error lacks the file: $out"
grep -q -- "--no-checksum" <<<"$out" || fail "checksum error lacks the hint: $out"
out=$("$tool" --data "$malformed" --no-checksum --steps 1 --out "$TEST_TMPDIR/malformed_run" 2>&1); code=$?
[[ $code -eq 1 ]] || fail "malformed CSV exited $code, expected 1: $out"
grep -q "line 5" <<<"$out" || fail "malformed CSV error lacks the line: $out"
grep -q "total_rooms" <<<"$out" || fail "malformed CSV error lacks the column: $out"

run="$TEST_TMPDIR/tiny_run"
out=$("$tool" --data "$data" --steps 20 --log-every 10 --hidden 8 --out "$run" 2>&1); code=$?
[[ $code -le 1 ]] || fail "tiny run exited $code: $out"  # 1: too short to beat linear
grep -q "20640 rows, 207 empty total_bedrooms" <<<"$out" || fail "no data line: $out"
for file in metrics.jsonl summary.json provenance.json; do
  [[ -s "$run/$file" ]] || fail "tiny run wrote no $file"
done
[[ $(wc -l <"$run/metrics.jsonl") -eq 2 ]] || fail "expected 2 metrics rows"
echo "housing CLI: all checks passed"
