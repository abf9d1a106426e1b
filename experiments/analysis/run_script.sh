#!/usr/bin/env bash
# Runs one analysis script with Debian's Python (/usr/bin/python3, which has python3-matplotlib
# and python3-pandas from tools/install_deps.sh), not whichever python3 is first on PATH.
# Usage (from a Bazel target): run_script.sh <script.py> [script flags...]
set -euo pipefail
script="$1"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# `bazel run` and `bazel test` start in the runfiles tree, where the script sits beside us.
for candidate in "$here/$script" "${RUNFILES_DIR:-$0.runfiles}/pureattention/experiments/analysis/$script"; do
  if [[ -f "$candidate" ]]; then
    exec /usr/bin/python3 "$candidate" "$@"
  fi
done
echo "run_script.sh: cannot find $script" >&2
exit 2
