#!/usr/bin/env bash
# The analysis scripts of the recorded results (results/gpu/h100 through its manifest.json,
# results/cpu) on the committed files: every artifact a script lists in its <name>_sources.json
# exists and is non-empty, and a second run writes the same bytes; a missing results folder, a
# corrupted JSONL line and a row without a field each fail with exit 1 and a message naming the
# file. Runs from the runfiles root (bazel test) or from the repository root.
set -euo pipefail
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
run=experiments/analysis/run_script.sh
gpu=results/gpu/h100
cpu=results/cpu
scripts=(gemm_ladder attention train_step gpu_experiments cpu_bench)
for path in "$run" "$gpu/manifest.json" "$cpu/cpu_bench.jsonl"; do
  [[ -e "$path" ]] || { echo "FAIL: $path not found (run from the repository or runfiles root)"; exit 1; }
done

# flags NAME GPU_DIR CPU_DIR: the script's input flags, in the array `flags`.
flags() {
  case "$1" in
    cpu_bench) flags=(--results "$3") ;;
    train_step) flags=(--results "$2" --cpu-results "$3") ;;
    *) flags=(--results "$2") ;;
  esac
}

# The main JSONL each script reads (for the corruption checks).
main_file() {
  case "$1" in
    gemm_ladder) echo gpu/h100/gemm_ladder.jsonl ;;
    attention) echo gpu/h100/attention.jsonl ;;
    train_step) echo gpu/h100/train_step.jsonl ;;
    gpu_experiments) echo gpu/h100/experiments_cpu_vs_cuda.jsonl ;;
    cpu_bench) echo cpu/cpu_bench.jsonl ;;
  esac
}

# expect_failure NAME LOG TEXT...: the last run exited 1 and its message names every TEXT.
expect_failure() {
  local name="$1" status="$2" log="$3"
  shift 3
  if [[ "$status" -ne 1 ]]; then
    echo "FAIL: $name exited $status, not 1"; cat "$log"; exit 1
  fi
  grep -q '^error: ' "$log" || { echo "FAIL: $name: no error message"; cat "$log"; exit 1; }
  for text in "$@"; do
    grep -qF -- "$text" "$log" || { echo "FAIL: $name: message lacks '$text'"; cat "$log"; exit 1; }
  done
}

# 1. Every script on the recorded files, twice.
for name in "${scripts[@]}"; do
  flags "$name" "$gpu" "$cpu"
  for out in "$tmp/out1" "$tmp/out2"; do
    "$run" "$name.py" "${flags[@]}" --out "$out" > "$tmp/run.log" 2>&1 \
      || { echo "FAIL: $name.py"; cat "$tmp/run.log"; exit 1; }
  done
  sources="$tmp/out1/${name}_sources.json"
  [[ -s "$sources" ]] || { echo "FAIL: $sources missing or empty"; exit 1; }
  artifacts=$(/usr/bin/python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["artifacts"]))' "$sources")
  [[ -n "$artifacts" ]] || { echo "FAIL: $sources lists no artifacts"; exit 1; }
  for artifact in $artifacts "${name}_sources.json"; do
    [[ -s "$tmp/out1/$artifact" ]] || { echo "FAIL: $name: $artifact missing or empty"; exit 1; }
    cmp -s "$tmp/out1/$artifact" "$tmp/out2/$artifact" \
      || { echo "FAIL: $name: $artifact differs between two runs"; exit 1; }
  done
  grep -q '\\newcommand{\\pa' "$tmp/out1/${name}_numbers.tex" \
    || { echo "FAIL: $name: no macros in ${name}_numbers.tex"; exit 1; }
  echo "ok: $name.py: $(echo "$artifacts" | wc -w) artifacts, the same bytes twice"
done

# 2. A missing results folder.
for name in "${scripts[@]}"; do
  flags "$name" "$tmp/nowhere/gpu" "$tmp/nowhere/cpu"
  status=0
  "$run" "$name.py" "${flags[@]}" --out "$tmp/bad_out" > "$tmp/missing.log" 2>&1 || status=$?
  expect_failure "$name.py (missing folder)" "$status" "$tmp/missing.log" "$tmp/nowhere" "not found"
done
echo "ok: a missing results folder is exit 1 with a message naming the file"

# A writable copy of the recorded results (cp -L: runfiles are links).
fresh_copy() {
  rm -rf "$tmp/copy"
  mkdir -p "$tmp/copy/gpu" "$tmp/copy/cpu"
  cp -RL "$gpu" "$tmp/copy/gpu/"
  cp -RL "$cpu/." "$tmp/copy/cpu/"
  chmod -R u+w "$tmp/copy"
}

# 3. A corrupted line in each script's main file.
for name in "${scripts[@]}"; do
  fresh_copy
  file="$(main_file "$name")"
  echo '{"op": "truncated' >> "$tmp/copy/$file"
  flags "$name" "$tmp/copy/gpu/h100" "$tmp/copy/cpu"
  status=0
  "$run" "$name.py" "${flags[@]}" --out "$tmp/bad_out" > "$tmp/corrupt.log" 2>&1 || status=$?
  expect_failure "$name.py (corrupted $file)" "$status" "$tmp/corrupt.log" "$(basename "$file")" "not a JSON row"
done
echo "ok: a corrupted JSONL line is exit 1 with a message naming the file"

# 4. A row without a field the script needs.
fresh_copy
/usr/bin/python3 - "$tmp/copy/gpu/h100/attention.jsonl" <<'EOF'
import json, sys
path = sys.argv[1]
rows = [json.loads(line) for line in open(path)]
del rows[0]["tflops"]
open(path, "w").write("".join(json.dumps(row) + "\n" for row in rows))
EOF
status=0
"$run" attention.py --results "$tmp/copy/gpu/h100" --out "$tmp/bad_out" > "$tmp/field.log" 2>&1 || status=$?
expect_failure "attention.py (row without tflops)" "$status" "$tmp/field.log" "attention.jsonl:1" "tflops"
echo "ok: a missing field is exit 1 with a message naming the file, line and field"
echo "all recorded-results scripts pass"
