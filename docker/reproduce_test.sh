#!/usr/bin/env bash
# Tests docker/reproduce.sh's command line without running any stage (no Bazel, no GPU needed):
# bad flags and values exit 2 with the usage on stderr, --help exits 0, --device cuda without a
# working nvidia-smi exits 2 naming the GPU before any work, and --dry-run shows which stages a
# flag set selects. Runs from the repository root (bash docker/reproduce_test.sh) or as a Bazel
# sh_test with docker/reproduce.sh in its data.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script=""
for candidate in "${TEST_SRCDIR:-/nonexistent}/${TEST_WORKSPACE:-pureattention}/docker/reproduce.sh" \
  "$here/reproduce.sh" "docker/reproduce.sh"; do
  if [[ -f "$candidate" ]]; then
    script="$candidate"
    break
  fi
done
[[ -n "$script" ]] || { echo "reproduce_test: cannot find docker/reproduce.sh" >&2; exit 1; }

tmp="$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/reproduce_test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
out_dir="$tmp/out"  # no case below may create it: they all stop before any work

# Fake nvidia-smi programs: one that fails as it does without a driver, one that lists a GPU.
cat > "$tmp/smi_broken" <<'EOF'
#!/usr/bin/env bash
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
exit 9
EOF
cat > "$tmp/smi_gpu" <<'EOF'
#!/usr/bin/env bash
echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-0000-0000-0000-000000000000)"
EOF
chmod +x "$tmp/smi_broken" "$tmp/smi_gpu"

passed=0
failed=0
status=0
# run SMI ARGS...: runs the script with PA_NVIDIA_SMI=SMI; sets status, $tmp/stdout, $tmp/stderr.
run() {
  local smi="$1"
  shift
  status=0
  PA_NVIDIA_SMI="$smi" bash "$script" "$@" > "$tmp/stdout" 2> "$tmp/stderr" || status=$?
}
check() {
  local name="$1" ok="$2"
  if [[ "$ok" == yes ]]; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAIL: $name (exit $status)"
    sed 's/^/  stdout: /' "$tmp/stdout"
    sed 's/^/  stderr: /' "$tmp/stderr"
  fi
}
# expect NAME CODE [FILE PATTERN]...: the exit code, and each pattern (grep -E) in its file.
expect() {
  local name="$1" code="$2" ok=yes
  shift 2
  [[ "$status" == "$code" ]] || ok=no
  while [[ $# -ge 2 ]]; do
    grep -qE -- "$2" "$tmp/$1" || ok=no
    shift 2
  done
  [[ ! -e "$out_dir" ]] || ok=no
  check "$name" "$ok"
}
absent() { ! grep -qE -- "$2" "$tmp/$1"; }

run /nonexistent --help
expect "--help exits 0 with the usage" 0 stdout "^usage: docker/reproduce.sh" stdout "--device cpu\|cuda"

run /nonexistent --frobnicate --out "$out_dir"
expect "an unknown flag exits 2 with the usage" 2 stderr "unknown argument '--frobnicate'" \
  stderr "^usage: "

run /nonexistent extra --out "$out_dir"
expect "a stray argument exits 2" 2 stderr "unknown argument 'extra'" stderr "^usage: "

run /nonexistent --out
expect "--out without a value exits 2" 2 stderr "--out needs a value" stderr "^usage: "

run /nonexistent --device --quick --out "$out_dir"
expect "--device followed by a flag exits 2" 2 stderr "--device needs a value" stderr "^usage: "

run /nonexistent --device gpu --out "$out_dir"
expect "--device gpu exits 2" 2 stderr "--device must be cpu or cuda, not 'gpu'" stderr "^usage: "

run /nonexistent --stages build,frobnicate --out "$out_dir"
expect "an unknown stage exits 2" 2 stderr "unknown stage 'frobnicate'"

run /nonexistent --stages gpu-tests --out "$out_dir"
expect "a GPU stage on --device cpu exits 2" 2 stderr "unknown stage 'gpu-tests' for --device cpu"

run "$tmp/no-such-nvidia-smi" --device cuda --out "$out_dir"
expect "--device cuda without nvidia-smi exits 2 naming the GPU" 2 \
  stderr "--device cuda needs an NVIDIA GPU, but nvidia-smi was not found"

run "$tmp/smi_broken" --device cuda --quick --out "$out_dir"
expect "--device cuda with a failing nvidia-smi exits 2 naming the GPU" 2 \
  stderr "needs an NVIDIA GPU, but 'nvidia-smi -L' failed \(exit 9\)" stderr "NVIDIA driver"

run "$tmp/no-such-nvidia-smi" --device cuda --stages build,paper --dry-run --out "$out_dir"
expect "--device cuda building only needs no GPU" 0 stdout "would run build: bazel build --config=cuda" \
  stdout "would run paper"

run "$tmp/smi_gpu" --device cuda --dry-run --out "$out_dir"
expect "--device cuda with a GPU plans every stage" 0 stdout "NVIDIA H100 80GB HBM3" \
  stdout "would run gpu-tests" stdout "would run sanitize" stdout "would run experiments" \
  stdout "would run benchmarks" stdout "would run figures"

run /nonexistent --quick --dry-run --out "$out_dir"
ok=no
[[ $status == 0 ]] && grep -q "would run build" "$tmp/stdout" && grep -q "would run tests" "$tmp/stdout" &&
  grep -q "would run paper" "$tmp/stdout" && absent stdout "would run (experiments|figures|benchmarks)" &&
  ok=yes
check "--quick plans build, tests and paper only" "$ok"

run /nonexistent --stages paper,build --dry-run --out "$out_dir"
ok=no
[[ $status == 0 ]] && [[ "$(grep -o "would run [a-z-]*" "$tmp/stdout" | tr '\n' ' ')" == \
  "would run build would run paper " ]] && ok=yes
check "--stages runs in pipeline order" "$ok"

echo "reproduce_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
