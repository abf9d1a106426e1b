"""Compares two runs of one experiment (its metrics.jsonl and summary.json), e.g. --device cpu
against --device cuda: rows are matched in order, and every numeric field gets its worst relative
difference |a - b| / max(|a|, |b|, 1e-12) over the run. Prints one JSON object per experiment.

Usage: /usr/bin/python3 tools/compare_runs.py NAME RUN_A RUN_B
"""
import json
import math
import sys


def numbers(row, prefix=""):
    """The numeric leaves of a JSON object, keyed by their dotted path."""
    out = {}
    for key, value in row.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[prefix + key] = float(value)
        elif isinstance(value, dict):
            out.update(numbers(value, prefix + key + "."))
    return out


def relative(a, b):
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def main():
    name, run_a, run_b = sys.argv[1:4]
    rows = []
    for run in (run_a, run_b):
        with open(run + "/metrics.jsonl") as f:
            rows.append([json.loads(line) for line in f if line.strip()])
    worst = {}
    for row_a, row_b in zip(*rows):
        a, b = numbers(row_a), numbers(row_b)
        for key in a.keys() & b.keys():
            worst[key] = max(worst.get(key, 0.0), relative(a[key], b[key]))
    summaries = []
    for run in (run_a, run_b):
        with open(run + "/summary.json") as f:
            summaries.append(numbers(json.load(f)))
    summary_worst = {key: relative(summaries[0][key], summaries[1][key])
                     for key in summaries[0].keys() & summaries[1].keys()
                     if "wall_time" not in key}
    print(json.dumps({"experiment": name, "rows": [len(rows[0]), len(rows[1])],
                      "metrics_worst_rel": {k: float(f"{v:.3g}") for k, v in sorted(worst.items())},
                      "summary_worst_rel": {k: float(f"{v:.3g}")
                                            for k, v in sorted(summary_worst.items())}}))


if __name__ == "__main__":
    main()
