#!/usr/bin/env bash
# Tests tools/check_paths.py twice over: on a made-up workspace in a temporary folder, where it
# must name every broken path and label (exit 1), pass the good ones and the exempt ones (exit 0)
# and refuse bad arguments (exit 2); then on this checkout, whose Markdown docs must name only
# paths and labels that exist. Runs from the repository root (bash tools/check_paths_test.sh) or
# as the Bazel sh_test //tools:check_paths_test, which reads the checkout through the real path
# of its check_paths.py (tagged external: never cached, since any Markdown file can change).
set -euo pipefail

python=/usr/bin/python3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script=""
runfiles="${TEST_SRCDIR:-/nonexistent}/${TEST_WORKSPACE:-pureattention}"
for candidate in "$runfiles/tools/check_paths.py" "$here/check_paths.py"; do
  if [[ -f "$candidate" ]]; then
    script="$(readlink -f "$candidate")"
    break
  fi
done
[[ -n "$script" ]] || { echo "check_paths_test: cannot find tools/check_paths.py" >&2; exit 1; }
checkout="$(dirname "$(dirname "$script")")"

tmp="$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/check_paths_test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
status=0
# run ARGS...: runs the checker; sets status and $tmp/output.
run() {
  status=0
  "$python" "$script" "$@" > "$tmp/output" 2>&1 || status=$?
}
expect_status() {
  local want="$1" name="$2"
  if [[ "$status" -eq "$want" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $status, expected $want; output:"
    cat "$tmp/output"
  fi
}
expect_output() {
  local text="$1" name="$2"
  if grep -qF -- "$text" "$tmp/output"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: no '$text' in the output:"
    cat "$tmp/output"
  fi
}
expect_no_output() {
  local text="$1" name="$2"
  if grep -qF -- "$text" "$tmp/output"; then
    failed=$((failed + 1))
    echo "FAIL $name: '$text' reported, but it exists or is exempt:"
    cat "$tmp/output"
  else
    passed=$((passed + 1))
  fi
}

# A small workspace: a package //lib with a rule, a rule made in a loop, a source file and a
# subfolder; results/ where runs write (ignored by git); docs/ with one good and one broken page.
root="$tmp/workspace"
mkdir -p "$root/lib/sub" "$root/docs" "$root/results/gpu"
touch "$root/WORKSPACE" "$root/lib/kernel.h" "$root/lib/sub/deep.cc" "$root/results/gpu/run.jsonl"
cat > "$root/lib/BUILD" <<'EOF'
cc_library(name = "lib", hdrs = ["kernel.h"])
NAMES = ["alpha", "beta"]
[cc_test(name = name + "_test", srcs = [name + "_test.cc"]) for name in NAMES]
EOF
printf '/results/*/\n!/results/gpu/\n' > "$root/.gitignore"
cat > "$root/docs/good.md" <<'EOF'
# Good
`lib/kernel.h`, lib/sub/deep.cc:12, `lib/*.h`, `lib/{kernel.h,sub}`, [the page](../lib/kernel.h),
[a page beside it](bad.md), `kernel.h`; //lib, `//lib:lib`, //lib:kernel.h, //lib:alpha_test,
//lib/..., `bazel build //...` and `@cli11//:cli11`; results/figures/ (written by a run),
results/gpu/run.jsonl, `bazel-bin/lib/x`, `DIR/out.json`, `//lib:<name>`, `lib/<name>.h`,
`git show abc1234:lib/removed.h`, https://example.com/lib/removed.h.
`lib/profiler.h` (planned)
`lib/later.h` is named on purpose <!-- check_paths: ignore -->
EOF
cat > "$root/docs/bad.md" <<'EOF'
# Bad
The header `lib/kernal.h` and the folder lib/gone/.
The target //lib:missing, the package //nowhere:x and the tree //lib/none/... .
A link [to nothing](missing.md), a glob `lib/*.cu`, a file `vanished.cc`,
a choice `lib/{kernel.h,nope.h}`.
A results file results/gpu/old.jsonl and a link [up](../lib/nothing.h).
EOF

run --root "$root" "$root/docs/good.md"
expect_status 0 "good paths and labels pass"
expect_output "every path and label in 1 file(s) exists" "good: the summary"

run --root "$root" "$root/docs/bad.md"
expect_status 1 "broken paths and labels fail"
for broken in "bad.md:2: no such path 'lib/kernal.h'" "bad.md:2: no such path 'lib/gone/'" \
  "bad.md:3: no such label '//lib:missing'" "bad.md:3: no such label '//nowhere:x'" \
  "bad.md:3: no such label '//lib/none/...'" "bad.md:4: no such path 'missing.md'" \
  "bad.md:4: no such path 'lib/*.cu'" "bad.md:4: no such path 'vanished.cc'" \
  "bad.md:5: no such path 'lib/{kernel.h,nope.h}'" \
  "bad.md:6: no such path 'results/gpu/old.jsonl'" "bad.md:6: no such path '../lib/nothing.h'" \
  "11 missing path(s) or label(s)"; do
  expect_output "$broken" "bad: $broken"
done

# With no files named, every Markdown file of the workspace is read: the broken page fails it.
run --root "$root"
expect_status 1 "the whole made-up workspace fails"
expect_output "in 2 file(s)" "the whole made-up workspace: both pages read"
expect_no_output "docs/good.md" "the whole made-up workspace: the good page passes"

run --root "$root" "$root/docs/nonexistent.md"
expect_status 2 "a missing file is a bad argument"
expect_output "no such file" "a missing file: the message"
run --root "$tmp"
expect_status 2 "a root without WORKSPACE is a bad argument"
run --bogus
expect_status 2 "an unknown flag is a bad argument"
run --help
expect_status 0 "--help"
expect_output "usage: check_paths" "--help: the usage"

# This checkout.
run --root "$checkout"
expect_status 0 "every path and label in this checkout's Markdown docs exists"
[[ "$status" -eq 0 ]] && cat "$tmp/output"

echo "check_paths_test: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
