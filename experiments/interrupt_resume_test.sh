#!/usr/bin/env bash
# Ctrl-C and --resume, end to end on one experiment binary (the argument: housing,
# least_squares or sine_inversion; the denoising binary has crash_safety_test):
#   1. Ctrl-C (SIGINT) during a quick run: exit 130, a whole checkpoint and a summary marked
#      "interrupted". sine_inversion, a run of several trainings, is stopped twice: in its first
#      training, and after one --resume again in a later training.
#   2. --resume finishes the run; metrics.jsonl, the final checkpoint (model, Adam state,
#      generators, loop state) and summary.json (but its wall time) equal an uninterrupted
#      run's byte for byte on the CPU, and the exit code is the same.
#   3. A resume that cannot continue exits 1 naming why: no checkpoint, other settings, a
#      checkpoint of another experiment, a truncated checkpoint.
# A quick configuration runs for about a second, so that the Ctrl-C sent when the first
# metrics row appears lands mid-run; should a run end first anyway, that attempt is repeated.
set -uo pipefail
name="${1:?usage: interrupt_resume_test.sh housing|least_squares|sine_inversion}"
bin=experiments
data=data/california_housing.csv
tmp="${TEST_TMPDIR:-$(mktemp -d)}/interrupt_$name"
python="/usr/bin/python3"
[[ -x "$python" ]] || python=python3
rm -rf "$tmp" && mkdir -p "$tmp"
fail=0

# The quick configuration; `other`: a run of another experiment, whose checkpoint --resume
# must refuse.
case "$name" in
  housing)
    flags=(--data "$data" --steps 4000 --log-every 100 --checkpoint-every 4000)
    other=(least_squares --steps 3 --warmup 1) ;;
  least_squares)
    flags=(--steps 1000 --batch 20000 --inputs 32 --log-every 25 --checkpoint-every 1000)
    other=(sine_inversion --steps 3 --fix-warmup 1 --repeats 1) ;;
  sine_inversion)
    flags=(--steps 600 --repeats 2 --log-every 20 --checkpoint-every 600)
    other=(least_squares --steps 3 --warmup 1) ;;
  *) echo "unknown experiment '$name'"; exit 2 ;;
esac
flags+=(--threads 1 --seed 3)

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

# interrupt PATTERN MODE...: runs the experiment into $tmp/int (with the flags MODE, such as
# --resume), sends SIGINT once a row of metrics.jsonl matches PATTERN, and checks that it stopped
# as promised. A run that ended before the signal reached it is started again from the same
# folder contents, up to 3 times.
interrupt() {
  local pattern="$1" attempt code pid
  shift
  rm -rf "$tmp/int.before"
  [[ -d "$tmp/int" ]] && cp -a "$tmp/int" "$tmp/int.before"
  for attempt in 1 2 3; do
    "$bin/$name" "${flags[@]}" "$@" --out "$tmp/int" > "$tmp/int.log" 2>&1 &
    pid=$!
    for _ in $(seq 3000); do
      grep -q "$pattern" "$tmp/int/metrics.jsonl" 2> /dev/null && break
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.01
    done
    kill -INT "$pid" 2> /dev/null
    wait "$pid"
    code=$?
    [[ $code -eq 130 ]] && break
    if [[ $code -gt 1 ]]; then
      echo "FAIL: Ctrl-C ($*) exited $code, expected 130"; tail -5 "$tmp/int.log"; fail=1; return
    fi
    echo "note: attempt $attempt ended (exit $code) before Ctrl-C reached it; again"
    rm -rf "$tmp/int"
    [[ -d "$tmp/int.before" ]] && cp -a "$tmp/int.before" "$tmp/int"
  done
  if [[ $code -ne 130 ]]; then
    echo "FAIL: every run ended before Ctrl-C reached it"; fail=1; return
  fi
  grep -q '"interrupted": true' "$tmp/int/summary.json" 2> /dev/null ||
    { echo "FAIL: no summary.json marked interrupted"; fail=1; }
  whole "$tmp/int/checkpoint.safetensors" 2> /dev/null ||
    { echo "FAIL: no whole checkpoint after Ctrl-C"; fail=1; }
  grep -q "interrupted at step [0-9]*; checkpoint and summary written (continue with --resume)" \
    "$tmp/int.log" || { echo "FAIL: no Ctrl-C message"; tail -3 "$tmp/int.log"; fail=1; }
  echo "ok: Ctrl-C (${*:-a fresh run}) -> 130: $(grep 'interrupted at step' "$tmp/int.log")"
}

# expect_error TEXT MODE...: --resume into $tmp/bad exits 1 with TEXT in its message.
expect_error() {
  local text="$1" output code
  shift
  output="$("$@" 2>&1)"
  code=$?
  if [[ $code -ne 1 || "$output" != *"$text"* ]]; then
    echo "FAIL: '$*' exited $code, expected 1 naming '$text':"; echo "$output" | tail -3; fail=1
  else
    echo "ok: $(tail -1 <<<"$output")"
  fi
}

# ---- the uninterrupted run ----
"$bin/$name" "${flags[@]}" --out "$tmp/straight" > "$tmp/straight.log" 2>&1
straight_code=$?
if [[ $straight_code -gt 1 ]] || grep -q "error:" "$tmp/straight.log"; then
  echo "FAIL: the uninterrupted run exited $straight_code"; tail -5 "$tmp/straight.log"; exit 1
fi

# ---- 1. Ctrl-C; 2. --resume to the end ----
interrupt '"step"'
if [[ "$name" == sine_inversion ]]; then
  interrupt '"run":"fixed"' --resume  # in a later training, after its predecessors finished
  "$python" - "$tmp/int/summary.json" <<'PY' || { echo "FAIL: not stopped in a fixed training"; fail=1; }
import json, sys
summary = json.load(open(sys.argv[1]))
# The summary holds the trainings finished before the one stopped: every baseline seed.
sys.exit(0 if summary["interrupted_training"]["run"] == "fixed"
         and len(summary["baseline"]["seeds"]) == 2 else 1)
PY
fi
"$bin/$name" "${flags[@]}" --resume --out "$tmp/int" > "$tmp/resume.log" 2>&1
code=$?
[[ $code -eq $straight_code ]] ||
  { echo "FAIL: the resumed run exited $code, the uninterrupted one $straight_code"; fail=1; }
for file in metrics.jsonl checkpoint.safetensors; do
  cmp -s "$tmp/straight/$file" "$tmp/int/$file" ||
    { echo "FAIL: $file differs from the uninterrupted run's"; fail=1; }
done
if ! diff <(grep -v '"wall_time_s"' "$tmp/straight/summary.json") \
  <(grep -v '"wall_time_s"' "$tmp/int/summary.json"); then
  echo "FAIL: summary.json differs from the uninterrupted run's"; fail=1
fi
[[ $fail -eq 0 ]] && echo "ok: the resumed run equals the uninterrupted one byte for byte"

# ---- 3. resumes that cannot continue ----
expect_error "there is no checkpoint" "$bin/$name" "${flags[@]}" --resume --out "$tmp/bad/none"
mkdir -p "$tmp/bad"
cp -a "$tmp/int" "$tmp/bad/settings"
expect_error "first difference: " "$bin/$name" "${flags[@]}" --lr 0.125 --resume \
  --out "$tmp/bad/settings"
"$bin/${other[0]}" "${other[@]:1}" --checkpoint-every 1 --threads 1 --out "$tmp/bad/other" \
  > /dev/null 2>&1
expect_error "was written by '${other[0]}', not by $name" \
  "$bin/$name" "${flags[@]}" --resume --out "$tmp/bad/other"
cp -a "$tmp/int" "$tmp/bad/truncated"
head -c 200 "$tmp/int/checkpoint.safetensors" > "$tmp/bad/truncated/checkpoint.safetensors"
expect_error "checkpoint.safetensors" "$bin/$name" "${flags[@]}" --resume \
  --out "$tmp/bad/truncated"
exit $fail
