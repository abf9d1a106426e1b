#!/usr/bin/env bash
# The thesis pipeline is deterministic: every analysis script, run again on the same results,
# writes the same bytes as the build's action did, and the PDF built again from the same
# inputs equals //paper:thesis byte for byte. Runs from the runfiles root, where the build's
# outputs sit at their package paths (experiments/analysis/<name>_thesis/...).
set -euo pipefail
cd "${TEST_SRCDIR:-.}/pureattention"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR="$tmp/mpl"
fail() { echo "FAIL: $*"; exit 1; }

checked=0
generated=()
for dir in experiments/analysis/*_thesis; do
  name=$(basename "$dir" _thesis)
  results=()  # a hermetic run's folder, else the script's default (the committed results/)
  [[ -d "experiments/${name}_run" ]] && results=(--results "experiments/${name}_run")
  again="$tmp/again/$name"
  experiments/analysis/run_script.sh "$name.py" "${results[@]}" --out "$again" > "$tmp/log" 2>&1 ||
    { cat "$tmp/log"; fail "$name.py failed when run again"; }
  for file in "$dir"/*; do
    generated+=("$file")
    cmp -s "$file" "$again/$(basename "$file")" ||
      fail "$name.py wrote a different $(basename "$file") on a second run (not deterministic)"
    checked=$((checked + 1))
  done
done
[[ $checked -gt 0 ]] || fail "no generated thesis inputs found"
echo "ok: $checked generated files are byte-identical when made again"

sources=(paper/thesis.tex paper/refs.bib paper/chapters/*.tex)
paper/build_thesis.sh "$tmp/thesis.pdf" paper/thesis_status.txt "${sources[@]}" "${generated[@]}"
cmp -s paper/thesis.pdf "$tmp/thesis.pdf" ||
  fail "the PDF built again differs from //paper:thesis ($(sha256sum < "$tmp/thesis.pdf" | cut -c1-16) vs $(sha256sum < paper/thesis.pdf | cut -c1-16))"
echo "ok: the PDF built again is byte-identical: $(sha256sum < paper/thesis.pdf | cut -d' ' -f1)"
