"""Shared helpers of the analysis scripts: where results live, reading them, saving figures.

Every script reads one experiment's output folder (metrics.jsonl, summary.json, ...) and
writes <name>.pdf and <name>.png into --out. Run through Bazel
(`bazel run //experiments/analysis:<name>`) the defaults are the workspace's results/<experiment>
and results/figures.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

WORKSPACE = os.environ.get("BUILD_WORKSPACE_DIRECTORY", os.getcwd())
CALLER_DIR = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())


def parse_args(experiment, description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--results", default=os.path.join(WORKSPACE, "results", experiment),
                        help="the experiment's output folder (default: results/%s)" % experiment)
    parser.add_argument("--out", default=os.path.join(WORKSPACE, "results", "figures"),
                        help="where the PDF and PNG go (default: results/figures)")
    args = parser.parse_args()
    args.results = os.path.join(CALLER_DIR, args.results)
    args.out = os.path.join(CALLER_DIR, args.out)
    return args


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(1)


def read_metrics(results, required_columns):
    path = os.path.join(results, "metrics.jsonl")
    if not os.path.isfile(path):
        fail("%s not found: run the experiment first (bazel run //experiments:%s)"
             % (path, os.path.basename(os.path.normpath(results))))
    frame = pd.read_json(path, lines=True)
    missing = [c for c in required_columns if c not in frame.columns]
    if frame.empty or missing:
        fail("%s has no rows or lacks columns %s" % (path, missing))
    return frame


def read_summary(results):
    path = os.path.join(results, "summary.json")
    if not os.path.isfile(path):
        fail("%s not found: the run did not finish" % path)
    with open(path) as f:
        return json.load(f)


def save(fig, out, name):
    """Writes out/name.pdf and out/name.png (each via a temporary file and a rename)."""
    os.makedirs(out, exist_ok=True)
    for ext in ("pdf", "png"):
        final = os.path.join(out, "%s.%s" % (name, ext))
        temporary = final + ".tmp.%d" % os.getpid()
        fig.savefig(temporary, format=ext, dpi=150, bbox_inches="tight")
        os.replace(temporary, final)
        print("wrote " + final)
    plt.close(fig)
