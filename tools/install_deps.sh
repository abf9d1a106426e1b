#!/usr/bin/env bash
# Installs every Debian package PureAttention needs to build and test (Debian 12).
# Idempotent: packages already present are skipped, `apt-get update` runs at most once, and a
# second run installs nothing. Run as root (or with sudo available).
#   tools/install_deps.sh           what building and testing need (CI)
#   tools/install_deps.sh --bench   also python3-torch (PyTorch 1.13, CPU), the anchor of
#                                   cpu_bench's training-step row (large, so not in CI)
set -euo pipefail

packages=(
  bazel-bootstrap    # Bazel 4.2.3, offline
  g++                # C++17 compiler
  libeigen3-dev      # Eigen 3.4: the reference oracle
  libgtest-dev       # GoogleTest
  libbenchmark-dev   # Google Benchmark
  nlohmann-json3-dev # JSON (metrics, safetensors headers)
  libcli11-dev       # command-line flags
  libomp-dev         # OpenMP runtime headers (GCC's libgomp ships with g++)
  clang-format       # style check
  libopenblas-dev    # the CPU benchmark's SGEMM anchor (cblas)
  python3-numpy      # CPU baselines and analysis
  python3-pandas     # experiments/analysis: reading metrics.jsonl
  python3-matplotlib # experiments/analysis: figures (PDF + PNG)
  git                # provenance (experiments, tools/workspace_status.sh, gpu_tests.sh)
  python3-pip        # ci/lint.sh: /usr/bin/python3 -m pip installs the pinned linters
  shellcheck         # ci/lint.sh
  clang-14           # --config=fuzz: the fuzz targets and the ASan + UBSan test suite
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes for clang-14
  time               # fuzz/run_all.sh: wall and CPU seconds of each fuzz target
  # The thesis (//paper:thesis): latexmk, pdfTeX and BibTeX, LaTeX's base and recommended
  # packages, the Palatino/Helvetica fonts; pdftoppm to render its pages for reading.
  latexmk
  texlive-binaries
  texlive-latex-base
  texlive-latex-recommended
  texlive-fonts-recommended
  poppler-utils
)
case "${1:-}" in
  --bench) packages+=(python3-torch) ;;
  "") ;;
  *)
    echo "install_deps: unknown option '$1' (use --bench or nothing)" >&2
    exit 2
    ;;
esac

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: all ${#packages[@]} packages already installed"
else
  echo "install_deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

if [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "install_deps: CUDA toolkit found: $(/usr/local/cuda/bin/nvcc --version | tail -n 1)"
else
  echo "install_deps: no CUDA toolkit at /usr/local/cuda: --config=cuda builds will fail" \
    "(CPU builds and tests are unaffected)"
fi
