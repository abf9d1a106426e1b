#!/usr/bin/env bash
# The bad-input table as a test: every bad input of experiments/bad_input.py (files, flags, run
# folders, op families) must give its expected exit code (1 a run or file error, 2 a bad flag,
# 0 --help; pa::Error through the API) and a bounded message naming the program or the op.
set -euo pipefail
cd "${TEST_SRCDIR:-.}/pureattention"
out="${TEST_TMPDIR:-$(mktemp -d)}/bad_input.jsonl"
bins=()
for name in denoising housing least_squares sine_inversion pytorch_compare train_step_bench \
  cpu_bench; do
  bins+=(--bin "$name=experiments/$name")
done
bins+=(--bin check_golden=reference/check_golden)
exec /usr/bin/python3 experiments/bad_input.py "${bins[@]}" --probe experiments/bad_input_probe \
  --housing-csv data/california_housing.csv \
  --golden-case reference/pytorch/cases/linear.safetensors --out "$out" --check
