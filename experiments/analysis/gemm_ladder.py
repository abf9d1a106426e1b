"""The fp32 GEMM ladder on the recorded GPU (results/gpu/<device>/, found through manifest.json):
every version's TFLOP/s at every measured size with cuBLAS SGEMM as the reference line, and each
version's speed relative to cuBLAS at n = 4096 and 8192; a table of the ratios at every shape,
the number macros and the sources."""
import os
import re

import matplotlib.pyplot as plt
import numpy as np

import common
import recorded

NAME = "gemm_ladder"
HEADLINE = 4096  # the size the text leads with (a choice, not a measurement)

recorded.use_figure_style()


# ---- names ------------------------------------------------------------------------------------


def version_name(variant):
    match = re.match(r"v(\d+)_", variant)
    if match:
        return "V" + recorded.words(int(match.group(1)))
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z]+", variant) if part)


def tf_text(value):
    """TFLOP/s as printed: one decimal from 10 up, three significant digits below."""
    return "%.1f" % value if value >= 10 else "%#.3g" % value


def version_label(variant):
    """The version's name as the figure and table print it."""
    return variant.replace("splitk", "split-K").replace("_", " ")


# ---- main -------------------------------------------------------------------------------------

def main():
    args = common.parse_args("gpu/h100", __doc__)
    manifest, entry, path = recorded.manifest_entry(args.results, "gemm_ladder")
    device = manifest["device"]
    rows = recorded.read_jsonl(path)
    environment = recorded.environment_row(path, rows)
    measured = [r for r in rows if r.get("op") == "sgemm" and "skipped" not in r]
    if not measured:
        common.fail("%s has no measured sgemm rows" % path)
    recorded.check_device(path, rows, device)
    commit = recorded.source_commit(path, rows, entry)

    def shape_of(row):
        return (recorded.get(path, row, "m", int), recorded.get(path, row, "n", int), recorded.get(path, row, "k", int))

    anchors = {recorded.get(path, r, "anchor", str) for r in measured}
    if len(anchors) != 1:
        common.fail("%s: rows name several anchors %s" % (path, sorted(anchors)))
    anchor = anchors.pop()
    table = {}  # (variant, shape) -> row
    variants = []
    for row in measured:
        variant = recorded.get(path, row, "variant", str)
        for field in ("ms", "gflops", "ratio", "anchor_ms", "max_rel_err"):
            recorded.get(path, row, field)
        if recorded.get(path, row, "valid", bool) is not True:
            common.fail("%s:%d: %s failed validation" % (path, row["_line"], variant))
        key = (variant, shape_of(row))
        if key in table:
            common.fail("%s:%d: %s at %s measured twice" % (path, row["_line"], *key))
        table[key] = row
        if variant not in variants:
            variants.append(variant)
    if anchor not in variants:
        common.fail("%s: no %s rows (the anchor)" % (path, anchor))
    ours = [v for v in variants if v != anchor]
    shapes = sorted({s for _, s in table})
    squares = [s for s in shapes if s[0] == s[1] == s[2]]
    others = [s for s in shapes if s not in squares]
    for s in shapes:
        if (anchor, s) not in table:
            common.fail("%s: no %s row at %dx%dx%d" % (path, anchor, *s))
    for (v, s), row in table.items():
        # ratio is the anchor's time over ours, the anchor timed at that shape in this run.
        anchor_ms = table[(anchor, s)]["ms"]
        if row["ms"] <= 0 or abs(row["anchor_ms"] - anchor_ms) > 1e-9 * anchor_ms \
                or abs(row["ratio"] - anchor_ms / row["ms"]) > 1e-6 * row["ratio"]:
            common.fail("%s:%d: ms %g, anchor_ms %g and ratio %g disagree with %s's %g ms"
                        % (path, row["_line"], row["ms"], row["anchor_ms"], row["ratio"],
                           anchor, anchor_ms))
    if (anchor, (HEADLINE,) * 3) not in table \
            or not any((v, (HEADLINE,) * 3) in table for v in variants if v != anchor):
        common.fail("%s: no measurement of cuBLAS and of our versions at n = %d"
                    % (path, HEADLINE))
    largest = squares[-1][0]

    def shape_name(s):
        if s[0] == s[1] == s[2]:
            return recorded.size_name(s[0])
        if len(others) == 1 and s[2] > max(s[0], s[1]):
            return "TallK"
        return "M%sN%sK%s" % (recorded.size_name(s[0]), recorded.size_name(s[1]), recorded.size_name(s[2]))

    def shape_text(s):
        return "%d" % s[0] if s[0] == s[1] == s[2] else "%dx%dx%d" % s

    def tflops(variant, s):
        row = table.get((variant, s))
        return row["gflops"] / 1000 if row else None

    def ratio(variant, s):
        row = table.get((variant, s))
        return row["ratio"] if row else None

    # The recheck (a later run of some versions), when the manifest lists one.
    recheck = None
    if any(isinstance(e, dict) and e.get("role") == "gemm_recheck" for e in manifest["files"]):
        _, recheck_entry, recheck_path = recorded.manifest_entry(args.results, "gemm_recheck")
        recheck_rows = [r for r in recorded.read_jsonl(recheck_path)
                        if r.get("op") == "sgemm" and "skipped" not in r]
        if not recheck_rows:
            common.fail("%s has no measured sgemm rows" % recheck_path)
        recorded.check_device(recheck_path, recheck_rows, device)
        recheck_commit = recorded.source_commit(recheck_path, recheck_rows, recheck_entry)
        recheck = {}
        for row in recheck_rows:
            for field in ("m", "n", "k"):
                recorded.get(recheck_path, row, field, int)
            recheck[(recorded.get(recheck_path, row, "variant", str),
                     (row["m"], row["n"], row["k"]))] = recorded.get(recheck_path, row, "ratio")

    # ---- figure: the whole ladder --------------------------------------------------------------
    fig = plt.figure(figsize=(6.2, 5.0))
    grid = fig.add_gridspec(1, 2, width_ratios=[1.35, 1], wspace=0.55, left=0.09, right=0.98,
                            top=0.97, bottom=0.33)
    left, right = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    rungs = [v for v in ours if v.startswith("v")]
    extras = [v for v in ours if v not in rungs]
    colours = {v: plt.cm.viridis(i / max(1, len(rungs) - 1) * 0.92) for i, v in enumerate(rungs)}
    for i, v in enumerate(extras):
        colours[v] = ["#d62728", "#e377c2", "#8c564b", "#7f7f7f"][i % 4]
    markers = "osD^v<>ph*XP"
    sizes = [s[0] for s in squares]
    handles = []
    for i, v in enumerate(ours):
        xs = [n for n in sizes if (v, (n,) * 3) in table]
        line, = left.plot(xs, [tflops(v, (n,) * 3) for n in xs], marker=markers[i % len(markers)],
                          ms=3.5, lw=1.1, color=colours[v], ls="-" if v in rungs else ":",
                          label=version_label(v))
        handles.append(line)
    reference, = left.plot(sizes, [tflops(anchor, (n,) * 3) for n in sizes], color="black",
                           lw=2.2, ls="--", label="cuBLAS SGEMM (reference)")
    handles.insert(0, reference)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks(sizes)
    left.set_xticklabels([str(n) for n in sizes], rotation=45)
    left.set_xlabel("n (square n x n x n, fp32)")
    left.set_ylabel("TFLOP/s (log scale)")
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)
             if left.get_ylim()[0] <= t <= left.get_ylim()[1]]
    left.set_yticks(ticks)
    left.set_yticklabels(["%g" % t for t in ticks])
    left.minorticks_off()
    left.grid(True, which="major", alpha=0.3)
    left.set_title("(a) every version at every size")

    positions = np.arange(len(ours))[::-1]
    headline = (HEADLINE,) * 3
    at_headline = [(p, v) for p, v in zip(positions, ours) if (v, headline) in table]
    right.barh([p for p, _ in at_headline], [ratio(v, headline) for _, v in at_headline],
               height=0.65, color=[colours[v] for _, v in at_headline])
    # The legend's bar in grey: the bars take their version's colour from panel (a).
    right.barh([positions[0]], [0], color="0.55", label="n = %d (bar)" % HEADLINE)
    at_largest = [(p, ratio(v, (largest,) * 3)) for p, v in zip(positions, ours)
                  if (v, (largest,) * 3) in table]
    if largest != HEADLINE and at_largest:
        right.plot([r for _, r in at_largest], [p for p, _ in at_largest], "o", ms=4.5,
                   mfc="white", mec="black", mew=1.0, label="n = %d" % largest)
    right.plot([], [], color="black", ls="--", lw=1.5, label="cuBLAS")
    right.axvline(1.0, color="black", ls="--", lw=1.5)
    right.set_yticks(positions)
    right.set_yticklabels([version_label(v) for v in ours])
    right.set_xlim(0, 1.08)
    right.set_xlabel("speed relative to cuBLAS\n(cuBLAS ms / our ms)")
    right.grid(True, axis="x", alpha=0.3)
    right.legend(loc="upper right", framealpha=0.95)
    right.set_title("(b) relative to cuBLAS")
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.0), columnspacing=1.2, handlelength=2.4)
    common.save(fig, args.out, NAME)

    # ---- table: ratio to cuBLAS at every shape ---------------------------------------------------
    columns = squares + others
    best_per_column = {}
    for s in columns:
        present = [(ratio(v, s), v) for v in ours if (v, s) in table]
        best_per_column[s] = max(present)[1] if present else None
    lines = ["\\begin{tabular}{l" + "r" * len(columns) + "}", "\\toprule",
             "& \\multicolumn{%d}{c}{cuBLAS ms / our ms at n = m = k}%s"
             " \\\\" % (len(squares), " & " * len(others)),
             "\\cmidrule(lr){2-%d}" % (len(squares) + 1),
             "version & " + " & ".join("%d" % s[0] for s in squares)
             + "".join(" & $%d{\\times}%d{\\times}%d$" % s for s in others) + " \\\\",
             "\\midrule"]
    for v in ours:
        cells = []
        for s in columns:
            if (v, s) not in table:
                cells.append("--")
                continue
            text = "%.2f" % ratio(v, s)
            cells.append("\\textbf{%s}" % text if best_per_column[s] == v else text)
        lines.append("%s & %s \\\\" % (common.tex_escape(version_label(v)), " & ".join(cells)))
    lines.append("\\midrule")
    lines.append("cuBLAS TFLOP/s & %s \\\\" % " & ".join(tf_text(tflops(anchor, s))
                                                       for s in columns))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # ---- numbers -------------------------------------------------------------------------------
    file_name = os.path.basename(path)
    numbers = [
        ("paGemmDevice", device, "%s device" % file_name),
        ("paGemmCommit", commit[:7], "%s commit" % file_name),
        ("paGemmCublasVersion", "%d.%d.%d" % (recorded.get(path, environment, "cublas", int) // 10000,
                                             recorded.get(path, environment, "cublas", int) // 100 % 100,
                                             recorded.get(path, environment, "cublas", int) % 100),
         "%s environment row: cublas" % file_name),
        ("paGemmCudaVersion", "%d.%d" % (recorded.get(path, environment, "cuda_runtime", int) // 1000,
                                        recorded.get(path, environment, "cuda_runtime", int) % 1000 // 10),
         "%s environment row: cuda_runtime" % file_name),
        ("paGemmSmCount", "%d" % recorded.get(path, environment, "sm_count", int),
         "%s environment row: sm_count" % file_name),
        ("paGemmLTwoMiB", "%d" % round(recorded.get(path, environment, "l2_bytes", int) / 2 ** 20),
         "%s environment row: l2_bytes / 2^20" % file_name),
        ("paGemmVersionCount", "%d" % len(ours),
         "%s: versions other than %s" % (file_name, anchor)),
        ("paGemmShapeCount", "%d" % len(shapes), "%s: shapes measured" % file_name),
        ("paGemmLargestN", "%d" % largest, "%s: largest square n" % file_name),
    ]
    for s in columns:
        numbers.append(("paGemmCublasTflops" + shape_name(s), tf_text(tflops(anchor, s)),
                        "%s: %s gflops / 1000 at %s" % (file_name, anchor, shape_text(s))))
    for v in ours:
        for s in columns:
            if (v, s) not in table:
                continue
            base = "paGemm" + version_name(v)
            numbers.append((base + "Tflops" + shape_name(s), tf_text(tflops(v, s)),
                            "%s: %s gflops / 1000 at %s" % (file_name, v, shape_text(s))))
            numbers.append((base + "Ratio" + shape_name(s), "%.3f" % ratio(v, s),
                            "%s: %s ratio (cuBLAS ms / ms) at %s" % (file_name, v, shape_text(s))))

    best = best_per_column[headline]
    numbers += [
        ("paGemmBestVersion", best, "%s: highest ratio at n = %d" % (file_name, HEADLINE)),
        ("paGemmBestLabel", version_label(best), "%s: highest ratio at n = %d" % (file_name,
                                                                                HEADLINE)),
        ("paGemmBestRatio" + recorded.size_name(HEADLINE), "%.3f" % ratio(best, headline),
         "%s: %s ratio at n = %d" % (file_name, best, HEADLINE)),
        ("paGemmBestTflops" + recorded.size_name(HEADLINE), tf_text(tflops(best, headline)),
         "%s: %s gflops / 1000 at n = %d" % (file_name, best, HEADLINE)),
        ("paGemmBestPercent" + recorded.size_name(HEADLINE), "%.1f" % (100 * ratio(best, headline)),
         "%s: 100 x %s ratio at n = %d" % (file_name, best, HEADLINE)),
    ]
    if (best, (largest,) * 3) in table and largest != HEADLINE:
        numbers += [
            ("paGemmBestRatio" + recorded.size_name(largest), "%.3f" % ratio(best, (largest,) * 3),
             "%s: %s ratio at n = %d" % (file_name, best, largest)),
            ("paGemmBestTflops" + recorded.size_name(largest), tf_text(tflops(best, (largest,) * 3)),
             "%s: %s gflops / 1000 at n = %d" % (file_name, best, largest)),
        ]
    if best_per_column[(largest,) * 3] != best:
        numbers.append(("paGemmBestVersionAtLargest", best_per_column[(largest,) * 3],
                        "%s: highest ratio at n = %d" % (file_name, largest)))
    first = next(v for v in ours if (v, headline) in table)
    numbers.append(("paGemmSpeedupFirstToBest" + recorded.size_name(HEADLINE),
                    "%.0f" % (tflops(best, headline) / tflops(first, headline)),
                    "%s: %s gflops / %s gflops at n = %d" % (file_name, best, first, HEADLINE)))
    # Where the best version stands over the large squares (n >= 2048: cuBLAS's plateau).
    large = [s for s in squares if s[0] >= 2048 and (best, s) in table]
    if large:
        numbers += [
            ("paGemmBestRatioLargeMin", "%.3f" % min(ratio(best, s) for s in large),
             "%s: lowest %s ratio over n >= 2048" % (file_name, best)),
            ("paGemmBestRatioLargeMax", "%.3f" % max(ratio(best, s) for s in large),
             "%s: highest %s ratio over n >= 2048" % (file_name, best)),
        ]
    numbers.append(("paGemmCublasTflopsPeak", tf_text(max(tflops(anchor, s) for s in shapes)),
                    "%s: highest %s gflops / 1000" % (file_name, anchor)))
    # Split-K on the non-square shapes (K much larger than M and N).
    for s in others:
        split = [v for v in ours if "split" in v and (v, s) in table]
        plain = [v for v in ours if "split" not in v and (v, s) in table]
        if split and plain:
            best_split = max(split, key=lambda v: ratio(v, s))
            best_plain = max(plain, key=lambda v: ratio(v, s))
            numbers += [
                ("paGemmSplitGain" + shape_name(s),
                 "%.1f" % (tflops(best_split, s) / tflops(best_plain, s)),
                 "%s: %s / %s gflops at %s" % (file_name, best_split, best_plain, shape_text(s))),
                ("paGemmBestPlain" + shape_name(s), version_label(best_plain),
                 "%s: fastest version without split-K at %s" % (file_name, shape_text(s))),
            ]
    errors = [(table[key]["max_rel_err"], key) for key in table]
    numbers.append(("paGemmMaxRelErr", common.fmt(max(errors)[0], 2),
                    "%s: largest max_rel_err (vs cuBLAS) of any row" % file_name))
    # Versions that sum K in order, as cuBLAS does from n = 1024 on, match it bit for bit there.
    in_order = [e for e, (v, s) in errors if s in squares and s[0] >= 1024 and "split" not in v]
    if in_order:
        numbers.append(("paGemmMaxRelErrInOrder", common.fmt(max(in_order), 2),
                        "%s: largest max_rel_err of the versions without split-K over square "
                        "n >= 1024" % file_name))
    split_errors = [e for e, (v, s) in errors if "split" in v]
    if split_errors:
        numbers.append(("paGemmMaxRelErrSplit", common.fmt(max(split_errors), 2),
                        "%s: largest max_rel_err of the split-K versions" % file_name))
    inputs = [recorded.source(path, commit, device)]
    if recheck is not None:
        recheck_name = os.path.basename(recheck_path)
        differences = []
        for (v, s), value in sorted(recheck.items()):
            if v == anchor or (v, s) not in table:
                continue
            differences.append(abs(value - ratio(v, s)) / ratio(v, s))
            numbers.append(("paGemmRecheck" + version_name(v) + "Ratio" + shape_name(s),
                            "%.3f" % value, "%s: %s ratio at %s" % (recheck_name, v,
                                                                   shape_text(s))))
        if not differences:
            common.fail("%s shares no (version, shape) with %s" % (recheck_path, path))
        numbers += [
            ("paGemmRecheckCommit", recheck_commit[:7], "manifest.json: commit of %s"
             % recheck_name),
            ("paGemmRecheckMaxDiffPercent", "%.1f" % (100 * max(differences)),
             "%s vs %s: largest |ratio difference| / ratio, percent" % (recheck_name,
                                                                        file_name)),
        ]
        inputs.append(recorded.source(recheck_path, recheck_commit, device))
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                          NAME + "_numbers.tex"], inputs)


if __name__ == "__main__":
    main()
