#!/usr/bin/env bash
# Minimal coverage report generator: concatenates the lcov reports Bazel hands it.
set -euo pipefail
reports=""
output=""
for arg in "$@"; do
  case "$arg" in
    --reports_file=*) reports="${arg#*=}" ;;
    --output_file=*) output="${arg#*=}" ;;
  esac
done
: > "$output"
if [[ -n "$reports" ]]; then
  while read -r report; do
    [[ -f "$report" ]] && cat "$report" >> "$output"
  done < "$reports"
fi
