"""The experiments on the GPU against the same experiments on the CPU, recorded in
results/gpu/<device>/ (found through manifest.json): for each experiment, the worst relative
difference |cpu - cuda| / max(|cpu|, |cuda|) of every logged metric over the run and of the
summary's fields (tools/compare_runs.py), and the engine on the GPU against the recorded PyTorch
trajectory. The record holds no timings of these runs, so this is about agreement only."""
import math
import os
import re

import matplotlib.pyplot as plt

import common
import recorded

NAME = "gpu_experiments"

recorded.use_figure_style()

# Logged fields that are inputs, not results (identical by construction): not plotted.
CONFIG_FIELDS = {"step", "lr", "seed"}
# Display order and macro names (presentation; other experiments follow in file order).
EXPERIMENTS = [("denoising", "Denoising"), ("least_squares", "LeastSquares"),
               ("housing", "Housing"), ("sine_inversion", "Sine")]


def camel(text):
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z]+", text) if p)


def numeric_dict(path, row, field):
    value = recorded.get(path, row, field, dict)
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not math.isfinite(number) or number < 0:
            common.fail("%s:%d: %s[%r] is %r, not a relative difference"
                        % (path, row["_line"], field, key, number))
    return value


def main():
    args = common.parse_args("gpu/h100", __doc__)
    manifest, entry, path = recorded.manifest_entry(args.results, "gpu_experiments")
    device = manifest["device"]
    rows = recorded.read_jsonl(path)
    recorded.check_device(path, rows, device)
    commit = recorded.source_commit(path, rows, entry)
    file_name = os.path.basename(path)
    compared, torch_rows = [], []
    for row in rows:
        op = recorded.get(path, row, "op", str)
        recorded.get(path, row, "experiment", str)
        if op == "cpu_vs_cuda":
            counts = recorded.get(path, row, "rows", list)
            if len(counts) != 2 or not all(isinstance(c, int) and c > 0 for c in counts):
                common.fail("%s:%d: rows %r is not [cpu rows, cuda rows]" % (path, row["_line"],
                                                                           counts))
            if counts[0] != counts[1]:
                common.fail("%s:%d: %d CPU rows against %d CUDA rows" % (path, row["_line"],
                                                                       *counts))
            numeric_dict(path, row, "metrics_worst_rel")
            numeric_dict(path, row, "summary_worst_rel")
            compared.append(row)
        elif op == "pytorch_compare":
            recorded.get(path, row, "max_rel_loss_diff")
            recorded.get(path, row, "steps", int)
            torch_rows.append(row)
        else:
            common.fail("%s:%d: unknown op %r" % (path, row["_line"], op))
    if not compared:
        common.fail("%s has no cpu_vs_cuda rows" % path)
    order = [e for e, _ in EXPERIMENTS]
    compared.sort(key=lambda r: (order.index(r["experiment"]) if r["experiment"] in order
                                 else len(order), r["_line"]))
    names = dict(EXPERIMENTS)

    # ---- figure: one row per compared quantity ---------------------------------------------------
    entries = []  # (experiment, label, value, kind)
    for row in compared:
        for key, value in sorted(row["metrics_worst_rel"].items()):
            if key not in CONFIG_FIELDS:
                entries.append((row["experiment"], key.replace("_", " "), value,
                                "metric" if value > 0 else "equal"))
        summary = row["summary_worst_rel"]
        equal = sum(1 for v in summary.values() if v == 0)
        if summary and equal < len(summary):
            key, value = max(summary.items(), key=lambda kv: (kv[1], kv[0]))
            entries.append((row["experiment"], "summary: %s (%d/%d equal)"
                            % (key.replace("_", " "), equal, len(summary)), value, "summary"))
        elif summary:
            entries.append((row["experiment"], "summary: all %d fields equal" % len(summary),
                            0.0, "equal"))
    for row in torch_rows:
        entries.append((row["experiment"], "loss vs the recorded PyTorch run",
                        row["max_rel_loss_diff"], "torch"))
    positive = [e[2] for e in entries if e[2] > 0]
    if not positive:
        common.fail("%s: every difference is 0; nothing to plot on a log axis" % path)
    floor = 10 ** math.floor(math.log10(min(positive)) - 1)
    experiments = []
    for e in entries:
        if e[0] not in experiments:
            experiments.append(e[0])
    colours = {e: c for e, c in zip(experiments, ["#b2182b", "#2166ac", "#1b7837", "#762a83",
                                                   "#e08214", "#4d4d4d"] * 4)}
    styles = {"metric": ("o", True), "summary": ("s", False), "equal": ("|", True),
              "torch": ("D", True)}
    # One heading row per experiment, then its quantities.
    layout = []  # (label, entry or None)
    for experiment in experiments:
        layout.append((experiment.replace("_", " "), None))
        layout += [("   " + e[1], e) for e in entries if e[0] == experiment]
    fig, ax = plt.subplots(figsize=(6.2, 0.18 * len(layout) + 1.2))
    for y, (_, e) in zip(range(len(layout) - 1, -1, -1), layout):
        if e is None:
            continue
        experiment, _, value, kind = e
        marker, filled = styles[kind]
        x = value if value > 0 else floor
        ax.plot([floor, x], [y, y], color=colours[experiment], lw=0.8, alpha=0.5)
        ax.plot([x], [y], marker=marker, ms=5.5 if kind != "equal" else 9, ls="none",
                color=colours[experiment], mfc=colours[experiment] if filled else "white",
                mew=1.3)
    ax.set_yticks(range(len(layout) - 1, -1, -1))
    ax.set_yticklabels([label for label, _ in layout])
    for tick, (_, e), experiment in zip(ax.get_yticklabels(), layout,
                                        [(e or (None,))[0] for _, e in layout]):
        if e is None:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    current = None
    for tick, (label, e) in zip(ax.get_yticklabels(), layout):
        current = label.strip().replace(" ", "_") if e is None else current
        tick.set_color(colours.get(current, "black") if e is not None else "black")
    entries_count = len(layout)
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, max(positive) * 3)
    ax.set_ylim(-0.7, entries_count - 0.3)
    ax.set_xlabel("worst relative difference, CPU run vs CUDA run")
    ax.grid(True, axis="x", alpha=0.3)
    for kind, text in (("metric", "logged metric, worst step"),
                       ("summary", "summary.json, worst field"),
                       ("equal", "equal on both devices (drawn at %g)" % floor),
                       ("torch", "GPU vs recorded PyTorch")):
        if any(e[3] == kind for e in entries):
            marker, filled = styles[kind]
            ax.plot([], [], marker=marker, ls="none", color="black",
                    mfc="black" if filled else "white", label=text)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    common.save(fig, args.out, NAME)

    # ---- table -----------------------------------------------------------------------------------
    def rel_text(value):
        return "0" if value == 0 else common.fmt(value, 3)

    def worst(fields):
        return max(fields.items(), key=lambda kv: (kv[1], kv[0])) if fields else None

    def cell(pair):
        return "--" if pair is None else "%s (%s)" % (rel_text(pair[1]),
                                                     common.tex_escape(pair[0]))

    lines = ["\\begin{tabular}{lrllr}", "\\toprule",
             "& & \\multicolumn{2}{c}{worst over the logged steps} & summary fields \\\\",
             "\\cmidrule(lr){3-4}",
             "experiment & rows & any loss & any metric & equal \\\\", "\\midrule"]
    for row in compared:
        metrics = {k: v for k, v in row["metrics_worst_rel"].items() if k not in CONFIG_FIELDS}
        losses = {k: v for k, v in metrics.items() if "loss" in k}
        summary = row["summary_worst_rel"]
        lines.append("%s & %d & %s & %s & %d of %d \\\\" % (
            common.tex_escape(row["experiment"].replace("_", " ")), row["rows"][0],
            rel_text(worst(losses)[1]) if losses else "--", cell(worst(metrics)),
            sum(1 for v in summary.values() if v == 0), len(summary)))
    for row in torch_rows:
        lines.append("%s (GPU) & %d & %s & -- & -- \\\\" % (
            common.tex_escape(row["experiment"].replace("_", " ")), row["steps"],
            rel_text(row["max_rel_loss_diff"])))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # ---- numbers ---------------------------------------------------------------------------------
    numbers = [("paGpuExpDevice", device, "%s device" % file_name),
               ("paGpuExpCommit", commit[:7], "%s commit" % file_name),
               ("paGpuExpCount", "%d" % len(compared), "%s: experiments compared" % file_name)]
    threads = [r.get("cpu_threads") for r in compared]
    if all(isinstance(t, int) and not isinstance(t, bool) and t == threads[0] for t in threads):
        numbers.append(("paGpuExpCpuThreads", "%d" % threads[0],
                        "%s cpu_threads" % file_name))
    for row in compared:
        base = "paGpuExp" + names.get(row["experiment"], camel(row["experiment"]))
        where = "%s: %s" % (file_name, row["experiment"])
        numbers.append((base + "Rows", "%d" % row["rows"][0], where + " rows compared"))
        for key, value in sorted(row["metrics_worst_rel"].items()):
            if key in CONFIG_FIELDS:
                continue
            numbers.append((base + camel(key), rel_text(value),
                            where + " metrics_worst_rel." + key))
        for key, value in sorted(row["summary_worst_rel"].items()):
            if value > 0:
                numbers.append((base + "Summary" + camel(key), rel_text(value),
                                where + " summary_worst_rel." + key))
        summary = row["summary_worst_rel"]
        numbers += [
            (base + "SummaryEqual", "%d" % sum(1 for v in summary.values() if v == 0),
             where + " summary fields with difference 0"),
            (base + "SummaryFields", "%d" % len(summary), where + " summary fields"),
        ]
    for row in torch_rows:
        base = "paGpuExp" + camel(row["experiment"])
        numbers += [
            (base + "LossRel", rel_text(row["max_rel_loss_diff"]),
             "%s: %s max_rel_loss_diff" % (file_name, row["experiment"])),
            (base + "Steps", "%d" % row["steps"], "%s: %s steps" % (file_name,
                                                                   row["experiment"])),
        ]
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                          NAME + "_numbers.tex"], [recorded.source(path, commit, device)])


if __name__ == "__main__":
    main()
