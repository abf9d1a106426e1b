#!/usr/bin/env bash
# The experiment binaries' command lines: --help exits 0; a bad flag or value exits 2 with a
# message; a short real run exits 0 and writes its three files.
set -uo pipefail
fail=0
bin=experiments
out="${TEST_TMPDIR:-/tmp}/cli"

expect() {  # expect CODE TEXT -- COMMAND...: exit code CODE and TEXT in stdout+stderr
  local want="$1" text="$2"
  shift 3
  local got output
  output="$("$@" 2>&1)"
  got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL: '$*' exited $got, expected $want"; echo "$output" | tail -5; fail=1
  elif [[ -n "$text" && "$output" != *"$text"* ]]; then
    echo "FAIL: '$*' output lacks '$text'"; echo "$output" | tail -5; fail=1
  else
    echo "ok: $* -> $got"
  fi
}

for name in least_squares denoising sine_inversion pytorch_compare; do
  expect 0 "--out" -- "$bin/$name" --help
  expect 2 "--steps" -- "$bin/$name" --steps 0 --out "$out"
  expect 2 "--lr" -- "$bin/$name" --lr abc --out "$out"
  expect 2 "--bogus" -- "$bin/$name" --bogus --out "$out"
  expect 2 "--device" -- "$bin/$name" --device tpu --out "$out"
  expect 2 "--threads" -- "$bin/$name" --threads -1 --out "$out"
done
expect 2 "must divide --d-model" -- "$bin/denoising" --nhead 3 --out "$out"
expect 2 "--warmup" -- "$bin/denoising" --steps 50 --warmup 50 --out "$out"
expect 2 "--norm" -- "$bin/denoising" --norm middle --out "$out"
expect 2 "--dropout" -- "$bin/denoising" --dropout 1.5 --out "$out"
# Sizes whose byte counts overflow 64 bits: a quick exit 2 naming the flag, never a hang.
expect 2 "64-bit" -- timeout 20 "$bin/denoising" --d-model 1073741824 --out "$out"
expect 2 "--d-model 2147483648" -- timeout 20 "$bin/sine_inversion" --d-model 2147483648 --nhead 1 \
  --out "$out"
expect 2 "'abc\\x01'" -- "$bin/denoising" --dropout $'abc\x01' --out "$out"
expect 2 "--batch" -- "$bin/least_squares" --batch 4 --inputs 8 --out "$out"
expect 2 "--fix-warmup" -- "$bin/sine_inversion" --steps 20 --fix-warmup 30 --out "$out"
expect 2 "fixed by the recorded trajectory" -- "$bin/pytorch_compare" --steps 5 --out "$out"
expect 2 "no such file" -- "$bin/pytorch_compare" --case /nonexistent.safetensors --out "$out"
expect 1 "cannot create output folder" -- "$bin/least_squares" --steps 5 --warmup 1 \
  --out /proc/pureattention/nowhere

# A short real run: exit 0 (converged) and the three output files.
expect 0 "converged" -- "$bin/least_squares" --steps 800 --out "$out/least_squares"
for file in metrics.jsonl summary.json provenance.json; do
  [[ -s "$out/least_squares/$file" ]] || { echo "FAIL: no $file"; fail=1; }
done
# Too few steps to converge: exit 1.
expect 1 "NOT converged" -- "$bin/least_squares" --steps 5 --warmup 1 --out "$out/ls_short"

[[ $fail -eq 0 ]] && echo "all command-line checks passed"
exit $fail
