#!/usr/bin/env bash
# Builds the thesis PDF from its sources and the generated inputs, in a scratch folder.
#   build_thesis.sh OUT.pdf STABLE_STATUS FILE...
# FILEs named paper/... keep their place below paper/; every other FILE is a generated input and
# goes to gen/ by its base name: figures (*.pdf), tables (*_table.tex), number macros
# (*_numbers.tex, concatenated into gen/numbers.tex) and sources (*_sources.json, turned into
# gen/provenance_table.tex by provenance_table.py). STABLE_STATUS is Bazel's stable-status.txt
# (tools/workspace_status.sh): SOURCE_DATE_EPOCH is the commit time, so the same commit gives
# the same bytes. Fails on undefined references or citations, and names the missing macro when
# the text uses a number nothing generated.
set -euo pipefail
out="$(realpath -m "$1")"
status="$(realpath "$2")"
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gen"
sources=()
for file in "$@"; do
  case "$file" in
    paper/*)
      relative="${file#paper/}"
      mkdir -p "$work/$(dirname "$relative")"
      cp "$file" "$work/$relative"
      ;;
    *_sources.json) sources+=("$file") ;;
    *) cp "$file" "$work/gen/$(basename "$file")" ;;
  esac
done
[[ -f "$work/thesis.tex" ]] || { echo "build_thesis: no paper/thesis.tex among the inputs" >&2; exit 1; }
cat /dev/null "$work"/gen/*_numbers.tex > "$work/gen/numbers.tex"
/usr/bin/python3 "$here/provenance_table.py" --status "$status" --out "$work/gen/provenance_table.tex" \
  "${sources[@]}"

epoch=$(awk '$1 == "STABLE_GIT_COMMIT_TIME" { print $2 }' "$status")
export SOURCE_DATE_EPOCH="${epoch:-0}" FORCE_SOURCE_DATE=1 TZ=UTC
[[ "$SOURCE_DATE_EPOCH" != 0 ]] || export SOURCE_DATE_EPOCH=1767225600  # no git: 2026-01-01
export HOME="$work" TEXMFVAR="$work/.texmf-var"
cd "$work"
if ! latexmk -pdf -interaction=nonstopmode -halt-on-error thesis.tex > latexmk.log 2>&1; then
  tail -n 40 latexmk.log >&2
  grep -n "Undefined control sequence" -A 2 thesis.log >&2 || true
  echo "build_thesis: latexmk failed (log above)" >&2
  exit 1
fi
if grep -E "There were undefined (references|citations)|Reference .* undefined|Citation .* undefined" \
  thesis.log > undefined.txt; then
  cat undefined.txt >&2
  echo "build_thesis: undefined references or citations (the PDF would show ??)" >&2
  exit 1
fi
cp thesis.pdf "$out"
