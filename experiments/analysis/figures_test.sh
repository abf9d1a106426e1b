#!/usr/bin/env bash
# Runs each experiment on a quick configuration, then its analysis script, and checks that a
# non-empty PDF and PNG come out; a missing results folder must be a clear error (exit 1).
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
results="$tmp/results"
figures="$tmp/figures"
quiet() { "$@" > "$tmp/last.log" 2>&1 || { cat "$tmp/last.log"; return 1; }; }

# 200 steps may stop short of the tolerance (exit 1); a crash or a flag error may not.
status=0
experiments/least_squares --steps 200 --warmup 10 --out "$results/least_squares" \
  > "$tmp/last.log" 2>&1 || status=$?
[[ $status -le 1 ]] || { cat "$tmp/last.log"; exit 1; }
quiet experiments/denoising --steps 40 --warmup 5 --d-model 16 --nhead 2 --ff 32 --seq-len 16 \
  --batch 8 --eval-batch 16 --log-every 10 --out "$results/denoising"
quiet experiments/sine_inversion --steps 30 --repeats 2 --fix-warmup 5 --out "$results/sine_inversion"
quiet experiments/pytorch_compare --out "$results/pytorch_compare"
# 50 steps may not beat linear regression yet (exit 1); a crash or a flag error may not.
status=0
experiments/housing --steps 50 --log-every 10 --data data/california_housing.csv \
  --out "$results/housing" > "$tmp/last.log" 2>&1 || status=$?
[[ $status -le 1 ]] || { cat "$tmp/last.log"; exit 1; }

for name in least_squares denoising sine_inversion pytorch_compare housing; do
  quiet experiments/analysis/run_script.sh "$name.py" --results "$results/$name" --out "$figures"
  for ext in pdf png; do
    [[ -s "$figures/$name.$ext" ]] || { echo "FAIL: $figures/$name.$ext missing"; exit 1; }
  done
  echo "ok: $name.pdf and $name.png"
done

if experiments/analysis/run_script.sh denoising.py --results "$tmp/nowhere" --out "$figures" \
  > "$tmp/missing.log" 2>&1; then
  echo "FAIL: a missing results folder did not fail"; exit 1
fi
grep -q "run the experiment first" "$tmp/missing.log" || { cat "$tmp/missing.log"; exit 1; }
echo "ok: a missing results folder is a clear error"
echo "all figures rendered"
