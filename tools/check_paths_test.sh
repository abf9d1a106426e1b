#!/usr/bin/env bash
# Tests tools/check_paths.py twice over: on a made-up workspace in a temporary folder, where it
# must name every broken path and label of its Markdown pages and of its source files' comments
# (C++ // and /* */, shell and Python #, a BUILD file's #) (exit 1), pass the good ones, the
# exempt ones and those outside comments (string literals, here-documents) (exit 0) and refuse
# bad arguments (exit 2); then on this checkout, whose Markdown docs and comments must name only
# paths and labels that exist. Runs from the repository root (bash tools/check_paths_test.sh) or
# as the Bazel sh_test //tools:check_paths_test, which reads the checkout through the real path
# of its check_paths.py (tagged external: never cached, since any file can change).
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

# A small workspace: a package lib/ with a rule, a rule made in a loop, a source file and a
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

# Source files: only their comments are read, for repository paths, labels and source file names
# (in backticks or not). code/ holds good and bad ones of each language.
mkdir -p "$root/code"
cat > "$root/code/good.cc" <<'EOF'
// The header lib/kernel.h, the rule //lib:alpha_test, the tree //lib/... and lib/sub/deep.cc:12;
/* a block comment: lib/{kernel.h,sub}
 * and //lib:beta_test on its second line */
const char* in_string = "lib/none.h // lib/none.h /* lib/none.h */";  // a string is code
const char* raw = R"x(// lib/none.h)x";
const char quote = '"';  // a character literal is code too: lib/kernel.h
int big = 1'000'000;     // a digit separator is no quote: lib/sub/deep.cc
// lib/later.h is named on purpose (check_paths: ignore)
// lib/profiler.h (planned)
// results/figures where a run writes, bazel-bin/lib/x, <name>/x.h, <name>_test.cc, *_test.cc.
// The bare names kernel.h and `deep.cc` (a file of that name is somewhere), kernel.h:3.
////////////////////////////////////////////////////////////////////////////////////////////////
EOF
cat > "$root/code/good.sh" <<'EOF'
#!/usr/bin/env bash
# Runs the tests of lib/kernel.h (//lib:beta_test).
echo "# lib/none.h" '# lib/none.h' x#lib/none.h "${#BASH_ARGV[@]}" $#  # lib/sub/deep.cc
cat <<'DOC'
# lib/none.h: the text of a here-document
DOC
grep -q x <<< "# lib/none.h"
EOF
cat > "$root/code/good.py" <<'EOF'
"""A docstring naming lib/none.h: a string, not a comment."""
PATHS = ["lib/none.h", '# lib/none.h', r"\# lib/none.h"]  # lib/kernel.h exists
TEXT = """
# lib/none.h inside a triple-quoted string
"""
EOF
cat > "$root/code/good.tex" <<'EOF'
% lib/kernel.h exists
50\% of lib/none.h is text, not a comment.
\begin{lstlisting}
x = a % lib/none.h
\end{lstlisting}
EOF
printf '# //:other is a label of the repository this BUILD file is for\n' > "$root/code/other.BUILD"
cat > "$root/code/bad.cc" <<'EOF'
// A stale path lib/kernal.h in a line comment.
int x = 1; /* a block comment: lib/gone.h */
/* A block comment over lines,
   lib/sub/gone.cc on its second line. */
// A bare name: vanished.cc.
EOF
cat > "$root/code/bad.sh" <<'EOF'
#!/usr/bin/env bash
echo ok  # lib/old.sh
EOF
cat > "$root/code/bad.py" <<'EOF'
# lib/old.py
x = "lib/none.h"  # lib/{kernel.h,gone.h}
EOF
cat > "$root/code/BUILD" <<'EOF'
# The tests: //lib:gamma_test and //code:bad.cc.
exports_files(["bad.cc"])
EOF

run --root "$root" "$root/code/good.cc" "$root/code/good.sh" "$root/code/good.py" \
  "$root/code/good.tex" "$root/code/other.BUILD"
expect_status 0 "comments: good paths and labels, strings and here-documents pass"
expect_output "every path and label in 5 file(s) exists" "comments: good: the summary"

run --root "$root" "$root/code/bad.cc" "$root/code/bad.sh" "$root/code/bad.py" "$root/code/BUILD"
expect_status 1 "comments: broken paths and labels fail"
for broken in "bad.cc:1: no such path 'lib/kernal.h'" "bad.cc:2: no such path 'lib/gone.h'" \
  "bad.cc:4: no such path 'lib/sub/gone.cc'" "bad.cc:5: no such path 'vanished.cc'" \
  "bad.sh:2: no such path 'lib/old.sh'" \
  "bad.py:1: no such path 'lib/old.py'" "bad.py:2: no such path 'lib/{kernel.h,gone.h}'" \
  "BUILD:1: no such label '//lib:gamma_test'" "8 missing path(s) or label(s)"; do
  expect_output "$broken" "comments: bad: $broken"
done
expect_no_output "lib/none.h" "comments: bad: the string literal"
expect_no_output "//code:bad.cc" "comments: bad: a file of the package"

run --root "$root" "$root/results/gpu/run.jsonl"
expect_status 2 "a file that is neither Markdown nor source is a bad argument"

# With no files named, every Markdown and source file of the workspace is read: the broken ones
# fail it.
run --root "$root"
expect_status 1 "the whole made-up workspace fails"
expect_output "in 15 file(s)" "the whole made-up workspace: 2 pages and 13 source files read"
expect_no_output "docs/good.md" "the whole made-up workspace: the good page passes"
expect_no_output "code/good" "the whole made-up workspace: the good sources pass"
expect_output "code/bad.cc:1:" "the whole made-up workspace: a bad source fails"

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
expect_status 0 "every path and label in this checkout's Markdown docs and comments exists"
[[ "$status" -eq 0 ]] && cat "$tmp/output"

echo "check_paths_test: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
