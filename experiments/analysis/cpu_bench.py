"""The CPU kernels against their anchors on the 2-core CPU machine (results/cpu/cpu_bench.jsonl):
SGEMM against OpenBLAS (and Eigen), fused attention against the unfused OpenBLAS version, fused
GELU and bias + GELU against unfused, the training step against PyTorch; each as the anchor's
time over ours, with the range over repeated full runs at the same commit where
results/cpu/spread_<commit>.txt records them. Figure, table, number macros and sources."""
import math
import os
import re

import matplotlib.pyplot as plt

import common
import recorded

NAME = "cpu_bench"

recorded.use_figure_style()

# Display order, headings and macro names of the ops (presentation).
OPS = [("sgemm", "SGEMM vs OpenBLAS", "Sgemm"),
       ("gelu", "GELU fused vs unfused", "Gelu"),
       ("bias_gelu", "bias + GELU fused vs unfused", "BiasGelu"),
       ("train_step", "training step vs PyTorch", "TrainStep"),
       ("attention", "attention vs unfused (OpenBLAS)", "Attn")]
# The figure's shorter headings.
SHORT = {"sgemm": "SGEMM / OpenBLAS", "gelu": "GELU / unfused", "bias_gelu": "bias+GELU / unfused",
         "train_step": "train step / PyTorch", "attention": "attention / unfused"}


# ---- names ------------------------------------------------------------------------------------


def describe(row):
    """The row as spread_<commit>.txt names it: op shape [pass] [causal] threads=N."""
    text = "%s %s" % (row["op"], row["shape"])
    if "pass" in row:
        text += " " + row["pass"]
    if row.get("causal"):
        text += " causal"
    return text + " threads=%d" % row["threads"]


def read_spread(path):
    """{description: (ratios of each run, our ms of each run, commit)}."""
    spread = {}
    pattern = re.compile(r"^(.+?threads=\d+)\s+ratios\s+([0-9.\s]+?)\s+ours ms\s+([0-9.\s]+?)"
                         r"\s+commit\s+(\S+)\s*$")
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            match = pattern.match(line)
            if not match:
                common.fail("%s:%d: not a spread line (op shape threads=N ratios ... ours ms ..."
                            " commit C)" % (path, number))
            ratios = [float(x) for x in match.group(2).split()]
            times = [float(x) for x in match.group(3).split()]
            if len(ratios) < 2 or len(ratios) != len(times):
                common.fail("%s:%d: %d ratios and %d times" % (path, number, len(ratios),
                                                               len(times)))
            spread[match.group(1).strip()] = (ratios, times, match.group(4), number)
    if not spread:
        common.fail("%s has no rows" % path)
    return spread


def main():
    args = common.parse_args("cpu", __doc__)
    path = os.path.join(args.results, "cpu_bench.jsonl")
    if not os.path.isfile(path):
        common.fail("%s not found: --results must hold cpu_bench.jsonl (results/cpu/; "
                    "bazel run //experiments:cpu_bench writes it)" % path)
    rows = recorded.read_jsonl(path)
    file_name = os.path.basename(path)
    commits = {str(r.get("commit")) for r in rows}
    if len(commits) != 1 or not re.fullmatch(r"[0-9a-f]{7,40}", next(iter(commits))):
        common.fail("%s: expected one commit in every row, found %s" % (path, sorted(commits)))
    commit = commits.pop()
    devices = {str(r.get("device")) for r in rows}
    if len(devices) != 1:
        common.fail("%s: rows from several devices %s" % (path, sorted(devices)))
    device = devices.pop()
    environment = [r for r in rows if r.get("op") == "environment"]
    if len(environment) != 1:
        common.fail("%s: expected one environment row, found %d" % (path, len(environment)))
    environment = environment[0]
    config = recorded.get(path, environment, "openblas_config", str)
    kernel = recorded.get(path, environment, "openblas_kernel", str)

    # Our rows carry the ratio; each is matched with its anchor's row (same op, shape, pass,
    # causal, threads) to check the ratio and print the anchor's time.
    measured = [r for r in rows if r.get("op") != "environment"]
    if not measured:
        common.fail("%s has no measurements" % path)
    by_key = {}
    for row in measured:
        recorded.get(path, row, "op", str)
        recorded.get(path, row, "shape", str)
        recorded.get(path, row, "variant", str)
        recorded.get(path, row, "threads", int)
        if recorded.get(path, row, "ms") <= 0:
            common.fail("%s:%d: ms is not positive" % (path, row["_line"]))
        if "pass" in row:
            recorded.get(path, row, "pass", str)
        if "causal" in row:
            recorded.get(path, row, "causal", bool)
        for field in ("gflops", "gbps", "ratio_eigen", "max_rel_error"):
            if field in row:
                recorded.get(path, row, field)
        key = (describe(row), row["variant"])
        if key in by_key:
            common.fail("%s:%d: %s measured twice" % (path, row["_line"], key))
        by_key[key] = row
    ours = [r for r in measured if "ratio" in r]
    if not ours:
        common.fail("%s has no rows with a ratio" % path)
    anchor_of = {}
    for row in ours:
        anchor = by_key.get((describe(row), recorded.get(path, row, "anchor", str)))
        if anchor is None:
            common.fail("%s:%d: no %s row for %s" % (path, row["_line"], row["anchor"],
                                                      describe(row)))
        if abs(recorded.get(path, row, "ratio") - anchor["ms"] / row["ms"]) > 1e-6 * row["ratio"]:
            common.fail("%s:%d: ratio %g, but %s ms / ours ms = %g" % (
                path, row["_line"], row["ratio"], row["anchor"], anchor["ms"] / row["ms"]))
        if "valid" in row and recorded.get(path, row, "valid", bool) is not True:
            common.fail("%s:%d: %s failed validation" % (path, row["_line"], describe(row)))
        anchor_of[id(row)] = anchor
    known = [op for op, _, _ in OPS]
    extra = sorted({r["op"] for r in ours} - set(known))
    ops = [o for o in OPS if any(r["op"] == o[0] for r in ours)] + [(o, o, o.capitalize())
                                                                     for o in extra]

    spread_path = os.path.join(args.results, "spread_%s.txt" % commit[:7])
    spread = read_spread(spread_path) if os.path.isfile(spread_path) else {}
    for row in ours:
        entry = spread.get(describe(row))
        if entry is None:
            continue
        if not commit.startswith(entry[2]):
            common.fail("%s:%d: commit %s, but %s has %s" % (spread_path, entry[3], entry[2],
                                                             file_name, commit))
        if abs(entry[0][0] - row["ratio"]) > 0.0051 * max(1.0, row["ratio"]):
            common.fail("%s:%d: the first run's ratio %g is not %s's %.3f (%s)" % (
                spread_path, entry[3], entry[0][0], file_name, row["ratio"], describe(row)))

    def label(row):
        if row["op"] == "sgemm":
            n = row["shape"].split("x")[0]
            return "n = %s, %d thread%s" % (n, row["threads"], "s" if row["threads"] > 1 else "")
        if row["op"] == "attention":
            shape = " ".join(t for t in row["shape"].split() if t not in ("B1", "H1"))
            return "%s%s %s" % (shape, " causal" if row.get("causal") else "",
                                 {"forward": "fwd", "forward+backward": "fwd+bwd"}.get(
                                     row.get("pass"), row.get("pass", "")))
        return row["shape"]

    # ---- figure: two panels, attention on the right ---------------------------------------------
    panels = [[o for o in ops if o[0] != "attention"], [o for o in ops if o[0] == "attention"]]
    panels = [p for p in panels if p]
    heights = [sum(1 + sum(1 for r in ours if r["op"] == o[0]) for o in p) for p in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2, 0.19 * max(heights) + 1.5),
                             squeeze=False, gridspec_kw={"width_ratios": [1, 1.2][:len(panels)]})
    axes = axes[0]
    colours = ["#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d"]
    for ax, panel in zip(axes, panels):
        members = [r for r in ours if r["op"] in [o[0] for o in panel]]
        values = [r["ratio"] for r in members] + [r["ratio_eigen"] for r in members
                                                  if "ratio_eigen" in r]
        values += [x for r in members for x in spread.get(describe(r), ([],))[0]]
        low, high = min(values + [1.0]), max(values + [1.0])
        # One far outlier (fused GELU) would squeeze the rest: clip it at the edge, print it.
        highs = sorted(max([r["ratio"], r.get("ratio_eigen", 0)]
                           + spread.get(describe(r), ([],))[0]) for r in members)
        clip = None
        if len(highs) > 2 and highs[-1] > 3 * highs[-2]:
            clip = highs[-2] * 1.6
            high = clip
        layout = []
        for index, (op, heading, _) in enumerate(panel):
            layout.append((SHORT.get(op, heading), None, None))
            layout += [("  " + label(r), r, op) for r in ours if r["op"] == op]
        for y, (text, row, op) in zip(range(len(layout) - 1, -1, -1), layout):
            if row is None:
                continue
            colour = colours[[o[0] for o in ops].index(op) % len(colours)]
            entry = spread.get(describe(row))
            if entry and min(entry[0]) < (clip or math.inf):
                ax.plot([min(entry[0]), min(max(entry[0]), clip or math.inf)], [y, y],
                        color=colour, lw=2.2, alpha=0.35, solid_capstyle="butt")
            if clip is not None and row["ratio"] > clip:
                ax.plot([clip], [y], ">", color=colour, ms=6, clip_on=False)
                ax.annotate("%.1f" % row["ratio"], (clip, y), xytext=(-6, 0),
                            textcoords="offset points", ha="right", va="center",
                            color=colour)
            else:
                ax.plot([row["ratio"]], [y], "o", color=colour, ms=5)
            if "ratio_eigen" in row:
                ax.plot([row["ratio_eigen"]], [y], "D", mfc="white", mec=colour, ms=4.5,
                        mew=1.2)
        ax.set_yticks(range(len(layout) - 1, -1, -1))
        ax.set_yticklabels([t for t, _, _ in layout])
        for tick, (_, row, _) in zip(ax.get_yticklabels(), layout):
            if row is None:
                tick.set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.axvline(1.0, color="black", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(low / 1.25, high * 1.25)
        ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8, 16)
                 if low / 1.25 <= t <= high * 1.25]
        while len(ticks) > 5:
            ticks = ticks[::2] if 1 in ticks[::2] else ticks[1::2]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["%g" % t for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(-0.7, len(layout) - 0.3)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_xlabel("anchor ms / our ms")
    handles = [plt.Line2D([], [], ls="none", marker="o", color="0.3", ms=5,
                          label="this run (%s)" % file_name)]
    if any("ratio_eigen" in r for r in ours):
        handles.append(plt.Line2D([], [], ls="none", marker="D", mfc="white", mec="0.3", ms=4.5,
                                  label="SGEMM vs Eigen"))
    if spread:
        handles.append(plt.Line2D([], [], color="0.3", lw=2.2, alpha=0.35,
                                  label="range over %d runs (%s)" % (
                                      len(next(iter(spread.values()))[0]),
                                      os.path.basename(spread_path))))
    handles.append(plt.Line2D([], [], color="black", ls="--", lw=1, label="as fast as the anchor"))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()), w_pad=1.0)
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    common.save(fig, args.out, NAME)

    # ---- table -----------------------------------------------------------------------------------
    def ms_text(value):
        return "%.0f" % value if value >= 100 else "%#.3g" % value

    lines = ["\\begin{tabular}{lrrrr}", "\\toprule",
             "kernel, shape & ours ms & anchor ms & ratio & runs \\\\", "\\midrule"]
    for index, (op, heading, _) in enumerate(ops):
        if index:
            lines.append("\\addlinespace")
        lines.append("\\multicolumn{5}{l}{\\textit{%s}} \\\\" % common.tex_escape(heading))
        for row in [r for r in ours if r["op"] == op]:
            entry = spread.get(describe(row))
            lines.append("\\quad %s & %s & %s & %.2f & %s \\\\" % (
                common.tex_escape(label(row)), ms_text(row["ms"]),
                ms_text(anchor_of[id(row)]["ms"]), row["ratio"],
                "%.2f--%.2f" % (min(entry[0]), max(entry[0])) if entry else "--"))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # ---- numbers ---------------------------------------------------------------------------------
    version = re.match(r"OpenBLAS (\S+)", config)
    numbers = [("paCpuCommit", commit[:7], "%s commit" % file_name),
               ("paCpuOpenblasKernel", kernel, "%s environment row: openblas_kernel" % file_name),
               ("paCpuMaxThreads", "%d" % recorded.get(path, environment, "max_threads", int),
                "%s environment row: max_threads" % file_name)]
    if version:
        numbers.append(("paCpuOpenblasVersion", version.group(1),
                        "%s environment row: openblas_config" % file_name))
    torch_rows = [r for r in measured if "torch_version" in r]
    if torch_rows:
        numbers.append(("paCpuTorchVersion", recorded.get(path, torch_rows[0], "torch_version", str),
                        "%s torch_version" % file_name))

    def row_name(row):
        op_name = dict((o, n) for o, _, n in ops)[row["op"]]
        if row["op"] == "sgemm":
            n = int(row["shape"].split("x")[0])
            return op_name + recorded.size_name(n) + recorded.words(row["threads"]) + "Thread" \
                + ("s" if row["threads"] > 1 else "")
        if row["op"] == "attention":
            parts = dict((t[0], int(t[1:])) for t in row["shape"].split() if t[1:].isdigit())
            name = op_name + "N" + recorded.size_name(parts.get("N", 0)) + "D" + recorded.size_name(parts.get("D", 0))
            if parts.get("H", 1) != 1:
                name += "H" + recorded.words(parts["H"])
            if row.get("causal"):
                name += "Causal"
            return name + {"forward": "Fwd", "forward+backward": "FwdBwd"}.get(
                row.get("pass"), "".join(p.capitalize() for p in
                                         re.split(r"[^A-Za-z]+", row.get("pass", "")) if p))
        return op_name
    seen = {}
    for row in ours:
        base = "paCpu" + row_name(row)
        if base in seen:
            common.fail("%s:%d and %d give the same macro name %s" % (path, seen[base],
                                                                      row["_line"], base))
        seen[base] = row["_line"]
        where = "%s: %s" % (file_name, describe(row))
        numbers += [
            (base + "Ratio", "%.2f" % row["ratio"], where + " ratio (anchor ms / ms)"),
            (base + "Ms", ms_text(row["ms"]), where + " ms"),
            (base + "AnchorMs", ms_text(anchor_of[id(row)]["ms"]), where + " anchor's ms"),
        ]
        for field, suffix in (("gflops", "Gflops"), ("gbps", "Gbps")):
            if field in row:
                numbers.append((base + suffix, "%.1f" % row[field], where + " " + field))
                if field in anchor_of[id(row)]:
                    numbers.append((base + "Anchor" + suffix, "%.1f" % anchor_of[id(row)][field],
                                    where + " anchor's " + field))
        if "ratio_eigen" in row:
            numbers.append((base + "RatioEigen", "%.2f" % row["ratio_eigen"],
                            where + " ratio_eigen"))
        if "max_rel_error" in row:
            numbers.append((base + "MaxRelErr", common.fmt(row["max_rel_error"], 2),
                            where + " max_rel_error"))
        entry = spread.get(describe(row))
        if entry:
            numbers += [
                (base + "RatioRunsMin", "%.2f" % min(entry[0]),
                 "%s:%d: lowest ratio over the runs" % (os.path.basename(spread_path),
                                                        entry[3])),
                (base + "RatioRunsMax", "%.2f" % max(entry[0]),
                 "%s:%d: highest ratio over the runs" % (os.path.basename(spread_path),
                                                         entry[3])),
            ]
    for op, _, op_name in ops:
        group = [r for r in ours if r["op"] == op]
        if len(group) > 1:
            numbers += [
                ("paCpu" + op_name + "RatioMin", "%.2f" % min(r["ratio"] for r in group),
                 "%s: lowest %s ratio" % (file_name, op)),
                ("paCpu" + op_name + "RatioMax", "%.2f" % max(r["ratio"] for r in group),
                 "%s: highest %s ratio" % (file_name, op)),
            ]
    if spread:
        numbers.append(("paCpuSpreadRuns", "%d" % len(next(iter(spread.values()))[0]),
                        "%s: full runs compared" % os.path.basename(spread_path)))
    common.write_numbers(args.out, NAME, numbers)
    inputs = [recorded.source(path, commit, device)]
    if spread:
        inputs.append(recorded.source(spread_path, commit, device))
    common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                          NAME + "_numbers.tex"], inputs)


if __name__ == "__main__":
    main()
