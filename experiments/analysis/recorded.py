"""Shared reading of the recorded results (results/gpu/<device>/ through its manifest.json,
results/cpu/): the manifest entry of a role, JSONL rows checked field by field (every problem
an exit 1 naming the file and line), the commit and device the rows were recorded at, the
provenance entries for common.write_sources, macro-name spelling of numbers, and the figure
style the recorded-results figures share."""
import json
import math
import os
import re

import matplotlib.pyplot as plt

import common


def use_figure_style():
    """Font sizes legible at the thesis' text width."""
    plt.rcParams.update({"font.size": 9, "axes.labelsize": 9, "axes.titlesize": 9,
                         "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "legend.fontsize": 8.5})


def manifest_entry(results, role):
    path = os.path.join(results, "manifest.json")
    if not os.path.isfile(path):
        common.fail("%s not found: --results must be a recorded GPU folder (results/gpu/<device>/)"
                    % path)
    try:
        with open(path) as f:
            manifest = json.load(f)
    except ValueError as error:
        common.fail("%s is not valid JSON: %s" % (path, error))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("device"), str) \
            or not isinstance(manifest.get("files"), list):
        common.fail("%s lacks \"device\" or the \"files\" list" % path)
    entries = [e for e in manifest["files"] if isinstance(e, dict) and e.get("role") == role]
    if len(entries) != 1 or not isinstance(entries[0].get("file"), str):
        common.fail("%s: expected one entry with role %r and a file, found %d"
                    % (path, role, len(entries)))
    file = os.path.join(results, entries[0]["file"])
    if not os.path.isfile(file):
        common.fail("%s not found (role %r in %s)" % (file, role, path))
    return manifest, entries[0], file


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                common.fail("%s:%d: not a JSON row (%s)" % (path, number, error))
            if not isinstance(row, dict):
                common.fail("%s:%d: not a JSON object" % (path, number))
            row["_line"] = number
            rows.append(row)
    if not rows:
        common.fail("%s has no rows" % path)
    return rows


def environment_row(path, rows):
    """The one row with op "environment" (a bench's device, library versions and settings)."""
    environment = [r for r in rows if r.get("op") == "environment"]
    if len(environment) != 1:
        common.fail("%s: expected one environment row, found %d" % (path, len(environment)))
    return environment[0]


def get(path, row, field, kind=float):
    """row[field], checked: a finite number (kind float or int), a str or a bool."""
    if field not in row:
        common.fail("%s:%d: the row lacks %r" % (path, row["_line"], field))
    value = row[field]
    if kind in (float, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            common.fail("%s:%d: %r is %r, not a number" % (path, row["_line"], field, value))
        return kind(value)
    if not isinstance(value, kind):
        common.fail("%s:%d: %r is %r, not a %s" % (path, row["_line"], field, value,
                                                   kind.__name__))
    return value


def source_commit(path, rows, entry):
    """The commit the rows carry, checked against the manifest's (either may be short); rows
    with a placeholder commit ("check") fall back to the manifest's."""
    commits = {str(r.get("commit")) for r in rows if "commit" in r}
    hexes = {c for c in commits if re.fullmatch(r"[0-9a-f]{7,40}", c)}
    listed = entry.get("commit")
    if len(hexes) > 1:
        common.fail("%s: rows from several commits %s" % (path, sorted(hexes)))
    if hexes and listed:
        row_commit = hexes.pop()
        if not (row_commit.startswith(listed) or listed.startswith(row_commit)):
            common.fail("%s: rows say commit %s, manifest.json says %s"
                        % (path, row_commit, listed))
        return row_commit if len(row_commit) >= len(listed) else listed
    if listed:
        return listed
    if hexes:
        return hexes.pop()
    common.fail("%s: no commit in the rows or in manifest.json" % path)


def check_device(path, rows, device):
    for row in rows:
        if row.get("device") != device:
            common.fail("%s:%d: device %r, but manifest.json says %r"
                        % (path, row["_line"], row.get("device"), device))


def label_of(path):
    """results/... for the provenance table, however the folder was reached."""
    parts = os.path.abspath(path).split(os.sep)
    if "results" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("results"):])
    return None


def source(path, commit, device):
    entry = {"path": path, "commit": commit, "device": device}
    if label_of(path):
        entry["label"] = label_of(path)
    return entry


# ---- names: numbers spelled for macro names (TeX names cannot hold digits) ----

ONES = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
        "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen",
        "Eighteen", "Nineteen"]
TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]


def words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (ONES[n % 10] if n % 10 else "")
    return "".join(ONES[int(d)] for d in str(n))


def size_name(n):
    return words(n // 1024) + "K" if n % 1024 == 0 else words(n)
