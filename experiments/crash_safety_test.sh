#!/usr/bin/env bash
# Crash-safe training runs, end to end on the denoising binary:
#   1. Kill and resume: SIGKILL a run at random points, KILLS times (default 12), with a
#      checkpoint after every step so that many kills land inside a checkpoint write; after
#      every kill the checkpoint on disk must be a whole safetensors file (never torn), and the
#      next attempt resumes from it (--resume) or starts over (--overwrite) when none was written
#      yet. The run finished that way must equal an uninterrupted run byte for byte
#      (metrics.jsonl, model.safetensors, predictions) on the CPU.
#   2. Ctrl-C (SIGINT): exit 130, a checkpoint and a summary marked "interrupted".
#   3. A write that fails (RLIMIT_FSIZE): a clear error, exit 1, the previous checkpoint intact.
#   4. Two runs on one --out: the second is refused while the first runs.
# Environment: KILLS (number of kills), STRESS_OUT (append a JSON summary line there),
# SEED (the kill timings' random seed). tools/crash_stress.sh runs it with hundreds of kills.
set -uo pipefail
bin="${DENOISING_BIN:-experiments/denoising}"
kills="${KILLS:-12}"
RANDOM="${SEED:-42}"
tmp="${TEST_TMPDIR:-$(mktemp -d)}/crash"
python="/usr/bin/python3"
[[ -x "$python" ]] || python=python3
rm -rf "$tmp" && mkdir -p "$tmp"
fail=0
flags=(--steps 120 --d-model 8 --nhead 2 --ff 16 --layers 1 --log-every 5 --warmup 5
       --eval-batch 16 --predictions 2 --threads 1 --seed 3)

# Exit 0 when $1 is a whole safetensors file: the header parses and the data section ends
# exactly where the file ends.
whole() {
  "$python" - "$1" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
sys.exit(0 if len(data) == 8 + n + end else 1)
PY
}

same_outputs() {  # same_outputs DIR_A DIR_B
  local file ok=0
  for file in metrics.jsonl model.safetensors predictions/predicted.npy; do
    if ! cmp -s "$1/$file" "$2/$file"; then echo "FAIL: $file differs from the uninterrupted run"; ok=1; fi
  done
  return $ok
}

# ---- 1. kill and resume ----
"$bin" "${flags[@]}" --out "$tmp/straight" > "$tmp/straight.log" 2>&1 ||
  { echo "FAIL: the uninterrupted run failed"; cat "$tmp/straight.log"; exit 1; }
start=$(date +%s%N)
"$bin" "${flags[@]}" --checkpoint-every 1 --out "$tmp/timed" > /dev/null 2>&1
run_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "an uninterrupted run with a checkpoint every step takes ${run_ms} ms"

out="$tmp/killed"
killed=0 torn=0 attempts=0 resumed=0 leftovers=0
while (( killed < kills )); do
  attempts=$((attempts + 1))
  if [[ -f "$out/checkpoint.safetensors" ]]; then mode=--resume; resumed=$((resumed + 1)); else mode=--overwrite; fi
  "$bin" "${flags[@]}" --checkpoint-every 1 "$mode" --out "$out" > "$tmp/attempt.log" 2>&1 &
  pid=$!
  # A random point in the run (plus a little for process start-up).
  delay_ms=$(( RANDOM % (run_ms + 20) ))
  sleep "$(printf '0.%03d' "$delay_ms")"
  kill -9 "$pid" 2> /dev/null
  { wait "$pid"; } 2> /dev/null  # bash's "Killed" notice
  code=$?
  if [[ $code -eq 137 ]]; then
    killed=$((killed + 1))
  elif [[ $code -ne 0 ]]; then
    echo "FAIL: attempt $attempts ($mode) exited $code:"; tail -5 "$tmp/attempt.log"; fail=1; break
  else
    # It finished before the kill: start the killing again from scratch.
    rm -rf "$out"
  fi
  if [[ -f "$out/checkpoint.safetensors" ]] && ! whole "$out/checkpoint.safetensors"; then
    torn=$((torn + 1))
    echo "FAIL: a torn checkpoint after kill $killed"
    cp "$out/checkpoint.safetensors" "$tmp/torn.$torn.safetensors"
  fi
  leftovers=$((leftovers + $(find "$out" -name '*.tmp.*' 2> /dev/null | wc -l)))
  (( attempts > 20 * kills )) && { echo "FAIL: runs keep finishing before the kill"; fail=1; break; }
done
# Finish the run.
if [[ -f "$out/checkpoint.safetensors" ]]; then mode=--resume; else mode=--overwrite; fi
if "$bin" "${flags[@]}" --checkpoint-every 1 "$mode" --out "$out" > "$tmp/final.log" 2>&1; then
  same_outputs "$tmp/straight" "$out" || fail=1
  [[ -z "$(find "$out" -name '*.tmp.*')" ]] || { echo "FAIL: temporary files left after the final run"; fail=1; }
else
  echo "FAIL: the final resume failed"; tail -5 "$tmp/final.log"; fail=1
fi
(( torn == 0 )) || fail=1
echo "kills $killed, attempts $attempts, resumed $resumed, torn checkpoints $torn," \
  "temporary files left by kills $leftovers (removed by the next run)"
if [[ -n "${STRESS_OUT:-}" ]]; then
  printf '{"kills": %d, "attempts": %d, "resumed": %d, "torn_checkpoints": %d, "temporary_files_left_by_kills": %d, "run_ms": %d, "identical_to_uninterrupted": %s, "seed": %d}\n' \
    "$killed" "$attempts" "$resumed" "$torn" "$leftovers" "$run_ms" \
    "$([[ $fail -eq 0 ]] && echo true || echo false)" "${SEED:-42}" >> "$STRESS_OUT"
fi

# ---- 2. Ctrl-C ----
long=(--steps 100000 --d-model 8 --nhead 2 --ff 16 --layers 1 --log-every 50 --threads 1)
"$bin" "${long[@]}" --out "$tmp/interrupted" > "$tmp/int.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -s "$tmp/interrupted/metrics.jsonl" ]] && break; sleep 0.05; done
# ---- 4. (while it runs) a second run on the same folder is refused ----
second="$("$bin" "${long[@]}" --overwrite --out "$tmp/interrupted" 2>&1)"
code=$?
if [[ $code -ne 1 || "$second" != *"in use by another run (pid $pid)"* ]]; then
  echo "FAIL: a second run on a busy folder exited $code: $second"; fail=1
else
  echo "ok: a second run on the same --out is refused"
fi
kill -INT "$pid"
wait "$pid"
code=$?
if [[ $code -ne 130 ]]; then echo "FAIL: Ctrl-C exited $code"; tail -5 "$tmp/int.log"; fail=1; fi
grep -q '"interrupted": true' "$tmp/interrupted/summary.json" 2> /dev/null ||
  { echo "FAIL: no summary marked interrupted"; fail=1; }
whole "$tmp/interrupted/checkpoint.safetensors" 2> /dev/null ||
  { echo "FAIL: no whole checkpoint after Ctrl-C"; fail=1; }
grep -q "continue with --resume" "$tmp/int.log" || { echo "FAIL: Ctrl-C message"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok: Ctrl-C -> 130, checkpoint and summary written"

# ---- 3. a write that fails: the file-size limit (SIGXFSZ is not trapped here) ----
cp "$tmp/interrupted/checkpoint.safetensors" "$tmp/before.safetensors"
limited="$( (ulimit -f 8; exec "$bin" "${long[@]}" --checkpoint-every 1 --resume \
  --out "$tmp/interrupted") 2>&1)"
code=$?
if [[ $code -ne 1 || "$limited" != *"checkpoint.safetensors"* || "$limited" != *"File too large"* ]]; then
  echo "FAIL: a write over the file-size limit exited $code: $limited"; fail=1
elif ! cmp -s "$tmp/before.safetensors" "$tmp/interrupted/checkpoint.safetensors"; then
  echo "FAIL: the failed write changed the previous checkpoint"; fail=1
else
  echo "ok: a write over the file-size limit is a clear error; the old checkpoint is intact"
fi
exit $fail
