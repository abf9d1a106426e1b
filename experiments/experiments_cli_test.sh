#!/usr/bin/env bash
# The experiment binaries' command lines: --help exits 0; a bad flag or value exits 2 with a
# message (integers never clamped, wrapped or read as octal; reals finite); a short real run
# exits 0 and writes its three files. train_step_bench runs its helper without a shell and
# rejects output it cannot use; cpu_bench's flags follow the same rules.
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
  expect 2 "--threads: must be a whole number" -- "$bin/$name" --threads 1.5 --out "$out"
  expect 2 "--steps: must be at most 9223372036854775807" -- "$bin/$name" \
    --steps 99999999999999999999 --out "$out"
  expect 2 "--seed: must be zero or more" -- "$bin/$name" --seed -1 --out "$out"
  expect 2 "--batch: must be a whole number" -- "$bin/$name" --batch 010 --out "$out"
  expect 2 "--lr: must be a finite number" -- "$bin/$name" --lr nan --out "$out"
done
expect 2 "--d-model: must be a whole number" -- "$bin/denoising" --d-model 2.5 --out "$out"
expect 2 "--warmup: must be zero or more" -- "$bin/denoising" --warmup -1 --out "$out"
expect 2 "--inputs: must be a whole number" -- "$bin/least_squares" --inputs 1e3 --out "$out"
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

# train_step_bench: flags, and --python run as a program (no shell) whose output is checked.
tsb="$bin/train_step_bench"
expect 0 "--python" -- "$tsb" --help
expect 2 "--steps: must be a whole number" -- "$tsb" --steps 1.5 --out "$out"
expect 2 "--rounds: must be at most 100" -- "$tsb" --rounds 101 --out "$out"
expect 2 "--threads: must be a positive whole number" -- "$tsb" --threads 0 --out "$out"
expect 2 "--device cuda" -- "$tsb" --device cuda --out "$out"
helpers="${TEST_TMPDIR:-/tmp}/helpers"
mkdir -p "$helpers"
fake() {  # fake NAME BODY: an executable shell script standing in for python3
  printf '#!/bin/sh\n%s\n' "$2" >"$helpers/$1"
  chmod +x "$helpers/$1"
}
fake empty 'exit 0'
fake garbage 'echo Traceback: no torch here'
fake nan 'echo "{\"torch_version\": \"2.0\", \"ms_median\": NaN}"'
fake zero 'echo "{\"torch_version\": \"2.0\", \"ms_median\": 0}"'
fake two 'echo "{\"torch_version\": \"2.0\", \"ms_median\": 1}"; echo "{}"'
fake fails 'echo broken >&2; exit 3'
fake good 'echo "{\"torch_version\": \"2.0\", \"ms_median\": 1.5}"'
run_tsb=("$tsb" --device cpu --threads 1 --steps 1 --rounds 2 --out "$out/train_step")
expect 1 "printed no result; it printed nothing" -- "${run_tsb[@]}" --python "$helpers/empty"
expect 1 "not JSON; it printed 'Traceback: no torch here" -- "${run_tsb[@]}" \
  --python "$helpers/garbage"
expect 1 "ms_median\": NaN}" -- "${run_tsb[@]}" --python "$helpers/nan"
expect 1 "not a positive finite time" -- "${run_tsb[@]}" --python "$helpers/zero"
expect 1 "more than one line" -- "${run_tsb[@]}" --python "$helpers/two"
expect 1 "exit status 3" -- "${run_tsb[@]}" --python "$helpers/fails"
expect 1 "cannot start '/nonexistent/python3'" -- "${run_tsb[@]}" --python /nonexistent/python3
expect 0 "PyTorch 2.0 1.5 ms" -- "${run_tsb[@]}" --python "$helpers/good"
# Shell syntax in --python is a program name, never run through a shell.
marker="$helpers/injected"
expect 1 "cannot start 'true; touch $marker;'" -- "${run_tsb[@]}" \
  --python "true; touch $marker;"
[[ ! -e "$marker" ]] || { echo "FAIL: --python went through a shell"; fail=1; }

# cpu_bench: the same flag rules (it is not run here: a full run takes minutes).
expect 0 "--sizes" -- "$bin/cpu_bench" --help
expect 2 "--sizes: must be a whole number, got abc" -- "$bin/cpu_bench" --sizes 256,abc
expect 2 "--threads: must be a whole number" -- "$bin/cpu_bench" --threads 1.5
expect 2 "--sizes: must be at most 16384" -- "$bin/cpu_bench" --sizes 99999999999999999999

[[ $fail -eq 0 ]] && echo "all command-line checks passed"
exit $fail
