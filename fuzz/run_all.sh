#!/usr/bin/env bash
# fuzz/run_all.sh [SECONDS] [--out FILE] [--work DIR] [--jobs N] [--targets A,B]: the CI step
# for the fuzz targets, and the long campaign (N targets at once; each line records its wall and
# CPU time). Builds //fuzz/... with --config=fuzz (clang-14, libFuzzer, ASan + UBSan), then runs
# every target (the sh_binary launchers of fuzz/BUILD; --targets names a subset) for SECONDS
# (default 20) from a fresh corpus of its seeds and committed regressions, with libFuzzer's
# default memory and time limits. Writes one JSON line per target to FILE (default
# .fuzz/run_all.jsonl):
#   {"target", "seconds", "exit_code", "executions", "exec_per_second", "cov", "ft",
#    "corpus_units", "peak_rss_mb", "finding", "log", "wall_s", "cpu_s", "parallel_targets", "commit", "cpu"}
# "cov"/"ft" are the last coverage counters libFuzzer printed (edges, features).
# Exit code 1 if any target had a finding: its input stays in DIR/<target>/ (crash-*, oom-*,
# timeout-*, leak-*; default DIR .fuzz/run_all) and its log next to it. Copy the input into
# fuzz/regressions/<target>/ once the bug is fixed, so the replay test keeps it fixed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

seconds=20
out=.fuzz/run_all.jsonl
work=.fuzz/run_all
jobs=1
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --targets) only=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) seconds=$1; shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run_all.sh: SECONDS must be a whole number" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "run_all.sh: --jobs must be a positive whole number" >&2; exit 2; }

bazel build --config=fuzz //fuzz/...
PA_FUZZ_COMMIT="$(git rev-parse HEAD)$(git diff --quiet HEAD || echo -dirty)"
PA_FUZZ_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
export PA_FUZZ_COMMIT PA_FUZZ_CPU
mapfile -t targets < <(bazel query 'kind("sh_binary", //fuzz:*)' | sed 's|^//fuzz:||')
[[ ${#targets[@]} -gt 0 ]] || { echo "run_all.sh: no fuzz targets found in //fuzz" >&2; exit 2; }
if [[ -n "$only" ]]; then
  IFS=, read -r -a wanted <<< "$only"
  for name in "${wanted[@]}"; do
    [[ " ${targets[*]} " == *" $name "* ]] ||
      { echo "run_all.sh: no fuzz target named '$name' (targets: ${targets[*]})" >&2; exit 2; }
  done
  targets=("${wanted[@]}")
fi
# How many targets run at once (recorded per row: each shares the machine with that many).
parallel=$((jobs < ${#targets[@]} ? jobs : ${#targets[@]}))
rm -rf "$work"
mkdir -p "$work" "$(dirname "$out")"
work=$(cd "$work" && pwd)
: > "$out"

# One target: its launcher comes from `bazel run --script_path` (made before any fuzzing, so
# that parallel runs need no Bazel), its summary line goes to $work/<target>.json.
fuzz_one() {
  local target=$1 log="$work/$1.log" status=0
  echo "run_all.sh: fuzzing $target for ${seconds}s"
  /usr/bin/time -f "%e %U %S" -o "$work/$target.time" \
    env PA_FUZZ_DIR="$work" "$work/$target.launch" > "$log" 2>&1 || status=$?
  python3 - "$target" "$seconds" "$status" "$log" "$work/$target.time" "$parallel" \
    > "$work/$target.json" <<'PY'
import json, os, re, sys
target, seconds, status, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
text = open(log, errors="replace").read()
def stat(name):
    found = re.findall(r"stat::%s:\s*(\d+)" % name, text)
    return int(found[-1]) if found else None
coverage = re.findall(r"cov: (\d+) ft: (\d+)(?: corp: (\d+))?", text)
artifact = re.findall(r"Test unit written to (\S+)", text)
try:
    wall, user, system = (float(v) for v in open(sys.argv[5]).read().split()[-3:])
except (OSError, ValueError):
    wall = user = system = None
row = {
    "target": target, "seconds": seconds, "exit_code": status,
    "wall_s": wall, "cpu_s": None if user is None else round(user + system, 1),
    "parallel_targets": int(sys.argv[6]),
    "executions": stat("number_of_executed_units"),
    "exec_per_second": stat("average_exec_per_sec"),
    "cov": int(coverage[-1][0]) if coverage else None,
    "ft": int(coverage[-1][1]) if coverage else None,
    "corpus_units": int(coverage[-1][2]) if coverage and coverage[-1][2] else None,
    "peak_rss_mb": stat("peak_rss_mb"),
    "finding": (artifact[-1] if artifact else "exit code %d, see the log" % status)
               if status != 0 else None,
    "log": log,
    "commit": os.environ.get("PA_FUZZ_COMMIT"), "cpu": os.environ.get("PA_FUZZ_CPU"),
}
print(json.dumps(row))
PY
}

for target in "${targets[@]}"; do
  bazel run --config=fuzz --script_path="$work/$target.launch" //fuzz:"$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 -close_fd_mask=1 > /dev/null
done
running=0
for target in "${targets[@]}"; do
  fuzz_one "$target" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
findings=0
for target in "${targets[@]}"; do
  cat "$work/$target.json" >> "$out"
  if ! python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["exit_code"] != 0)' \
      "$work/$target.json"; then
    findings=$((findings + 1))
    echo "run_all.sh: FINDING in $target: see $work/$target.log" >&2
  fi
done
echo "run_all.sh: ${#targets[@]} targets, $findings with findings; summary in $out"
[[ $findings -eq 0 ]]
