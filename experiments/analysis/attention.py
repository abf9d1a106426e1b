"""FlashAttention-2 on the recorded GPU (results/gpu/<device>/, found through manifest.json):
our kernels against PyTorch SDPA measured in the same run (flash and cuDNN in bf16, the
memory-efficient backend in fp32), forward and backward at every shape, causal and not; the
bf16 accuracy of ours and of PyTorch against a float64 reference; the run-to-run spread from a
later re-run. Figures, tables, number macros and sources."""
import math
import os
import re

import matplotlib.pyplot as plt
import numpy as np

import common
import recorded

NAME = "attention"

recorded.use_figure_style()

# How the figure and the tables print each implementation, and its macro name (presentation;
# a variant not listed here is printed by its raw name).
SERIES = [
    # variant, label, macro name, colour, marker, filled (ours)
    ("ours_flash2_bf16_wgmma", "ours bf16 wgmma (Hopper)", "Wgmma", "#b2182b", "o", True),
    ("ours_flash2_bf16_mma", "ours bf16 mma.sync", "Mma", "#ef8a62", "s", True),
    ("pytorch_flash", "PyTorch flash (bf16)", "TorchFlash", "#b2182b", "o", False),
    ("pytorch_cudnn", "PyTorch cuDNN (bf16)", "TorchCudnn", "#762a83", "D", False),
    ("ours_flash2_fp32_3xtf32", "ours fp32 3xTF32", "ThreeTf", "#2166ac", "^", True),
    ("ours_flash2_fp32_simt", "ours fp32 SIMT", "Simt", "#67a9cf", "v", True),
    ("pytorch_efficient", "PyTorch efficient (fp32)", "TorchEfficient", "#2166ac", "^", False),
]
PASSES = [("attention_fwd", "Fwd", "forward"), ("attention_bwd", "Bwd", "backward")]
# check_attention_vs_torch.py's rule: ours passes when its error is at most twice PyTorch's
# bf16 error plus this (one bf16 rounding of an output element), and the lse within it too.
CHECK_SLACK = 1e-3
TENSORS = [("out", "Out"), ("dq", "Dq"), ("dk", "Dk"), ("dv", "Dv")]


# ---- names ------------------------------------------------------------------------------------


def tf_text(value):
    """TFLOP/s as printed: one decimal from 10 up, three significant digits below."""
    return "%.1f" % value if value >= 10 else "%#.3g" % value


def variant_info(variant):
    for entry in SERIES:
        if entry[0] == variant:
            return entry
    name = "".join(p.capitalize() for p in re.split(r"[^A-Za-z]+", variant) if p)
    return (variant, variant.replace("_", " "), name, "0.4", "x", True)


def short_label(variant):
    """The label without what the table's header already says."""
    label = variant_info(variant)[1]
    for text in ("ours ", "PyTorch ", " (Hopper)", " (bf16)", " (fp32)", "bf16 ", "fp32 "):
        label = label.replace(text, "")
    return label


def error_text(value):
    """Two significant digits, trailing zeros kept (0.0040), powers of ten outside [1e-3, 1)."""
    return "%#.2g" % value if 1e-3 <= value < 1 else common.fmt(value, 2)


def close(a, b):
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def read_bench(path, device, required_ours=True):
    """attention_bench rows: {(shape, causal, op, variant): row}, shapes in file order."""
    rows = recorded.read_jsonl(path)
    recorded.check_device(path, rows, device)
    table, shapes = {}, []
    for row in rows:
        shape = tuple(recorded.get(path, row, f, int) for f in ("B", "H", "N", "D"))
        causal = recorded.get(path, row, "causal", bool)
        op = recorded.get(path, row, "op", str)
        variant = recorded.get(path, row, "variant", str)
        recorded.get(path, row, "dtype", str)
        for field in ("ms", "tflops"):
            if recorded.get(path, row, field) <= 0:
                common.fail("%s:%d: %s is not positive" % (path, row["_line"], field))
        if op not in [p[0] for p in PASSES]:
            common.fail("%s:%d: unknown op %r" % (path, row["_line"], op))
        if variant.startswith("ours") and required_ours:
            recorded.get(path, row, "ratio")
            recorded.get(path, row, "anchor", str)
        key = (shape, causal, op, variant)
        if key in table:
            common.fail("%s:%d: %s measured twice" % (path, row["_line"], key))
        table[key] = row
        if shape not in shapes:
            shapes.append(shape)
    return rows, table, shapes


def main():
    args = common.parse_args("gpu/h100", __doc__)
    manifest, entry, path = recorded.manifest_entry(args.results, "attention")
    device = manifest["device"]
    rows, table, shapes = read_bench(path, device)
    commit = recorded.source_commit(path, rows, entry)
    file_name = os.path.basename(path)
    torch_versions = {recorded.get(path, r, "torch_version", str) for r in rows if "torch_version" in r}
    if len(torch_versions) != 1:
        common.fail("%s: expected one torch_version in the PyTorch rows, found %s"
                    % (path, sorted(torch_versions)))
    torch_version = torch_versions.pop()
    variants = []
    for key in table:
        if key[3] not in variants:
            variants.append(key[3])
    known = [s[0] for s in SERIES]
    variants.sort(key=lambda v: known.index(v) if v in known else len(known))
    ours = [v for v in variants if v.startswith("ours")]
    if not ours or len(ours) == len(variants):
        common.fail("%s needs both our rows and PyTorch's" % path)

    # Every ratio the bench wrote is the anchor's time over ours: check it against the rows.
    anchors = {"pytorch_flash_bf16": "pytorch_flash", "pytorch_efficient_fp32": "pytorch_efficient"}
    for (shape, causal, op, variant), row in table.items():
        if not variant.startswith("ours"):
            continue
        anchor = anchors.get(row["anchor"], row["anchor"])
        pairs = [("ratio", anchor)] + ([("ratio_cudnn", "pytorch_cudnn")]
                                       if "ratio_cudnn" in row else [])
        for field, other in pairs:
            reference = table.get((shape, causal, op, other))
            if reference is None:
                common.fail("%s:%d: %s has no %s row to compare with" % (path, row["_line"],
                                                                        field, other))
            if not close(recorded.get(path, row, field), reference["ms"] / row["ms"]):
                common.fail("%s:%d: %s = %g, but %s ms / ours ms = %g" % (
                    path, row["_line"], field, row[field], other, reference["ms"] / row["ms"]))

    def value(shape, causal, op, variant, field="tflops"):
        row = table.get((shape, causal, op, variant))
        return row[field] if row is not None and field in row else None

    def shape_text(shape):
        return "(%d,%d,%d,%d)" % shape

    names = {s: "N%sD%s" % (recorded.size_name(s[2]), recorded.size_name(s[3])) for s in shapes}
    if len(set(names.values())) != len(shapes):
        names = {s: "B%sH%sN%sD%s" % (recorded.words(s[0]), recorded.words(s[1]), recorded.size_name(s[2]),
                                      recorded.size_name(s[3])) for s in shapes}
    masks = [(False, "Full", "full"), (True, "Causal", "causal")]

    # ---- figure: TFLOP/s of every implementation, forward and backward ------------------------
    fig, axes = plt.subplots(2, 1, figsize=(6.2, 6.4), sharex=True)
    groups = [(shape, causal) for shape in shapes for causal in (False, True)]
    positions = {g: i + (i // 2) * 0.35 for i, g in enumerate(groups)}
    width = 0.8 / len(variants)
    handles = {}
    for ax, (op, _, pass_text) in zip(axes, PASSES):
        for index, variant in enumerate(variants):
            _, label, _, colour, marker, filled = variant_info(variant)
            xs, ys = [], []
            for g in groups:
                v = value(g[0], g[1], op, variant)
                if v is not None:
                    xs.append(positions[g] - 0.4 + width * (index + 0.5))
                    ys.append(v)
            if not xs:
                continue
            handle, = ax.plot(xs, ys, ls="none", marker=marker, ms=5.5, color=colour,
                              mfc=colour if filled else "white", mew=1.3, label=label)
            handles[variant] = handle
        for g in groups[1::2]:
            ax.axvspan(positions[g] - 0.5, positions[g] + 0.5, color="0.93", zorder=0)
        ax.set_yscale("log")
        ticks = [t for t in (10, 20, 50, 100, 200, 500, 1000)
                 if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
        ax.set_yticks(ticks)
        ax.set_yticklabels(["%g" % t for t in ticks])
        ax.minorticks_off()
        ax.set_ylabel("%s TFLOP/s (log)" % pass_text)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_xlim(min(positions.values()) - 0.55, max(positions.values()) + 0.55)
        ax.set_title("%s pass" % pass_text.capitalize())
    bottom = axes[-1]
    bottom.set_xticks([positions[g] for g in groups],
                      ["causal" if g[1] else "full" for g in groups], minor=True)
    bottom.set_xticks([(positions[(s, False)] + positions[(s, True)]) / 2 for s in shapes],
                      ["%d,%d,%d,%d" % s for s in shapes])
    bottom.tick_params(axis="x", which="major", pad=14, length=0)
    bottom.tick_params(axis="x", which="minor", labelsize=8, length=2)
    bottom.set_xlabel("shape B, H, N, D (shaded: causal)")
    fig.legend(handles=[handles[v] for v in variants if v in handles], loc="upper center",
               ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.subplots_adjust(top=0.84, bottom=0.12, left=0.11, right=0.98, hspace=0.25)
    common.save(fig, args.out, NAME)

    numbers = [
        ("paAttnDevice", device, "%s device" % file_name),
        ("paAttnCommit", commit[:7], "%s commit" % file_name),
        ("paAttnTorchVersion", torch_version, "%s torch_version" % file_name),
        ("paAttnShapeCount", "%d" % len(shapes), "%s: shapes" % file_name),
    ]

    # ---- per-measurement numbers -----------------------------------------------------------------
    for variant in variants:
        base = "paAttn" + variant_info(variant)[2]
        for op, pass_name, _ in PASSES:
            for shape in shapes:
                for causal, mask_name, _ in masks:
                    row = table.get((shape, causal, op, variant))
                    if row is None:
                        continue
                    stem = base + pass_name + names[shape] + mask_name
                    where = "%s: %s %s %s%s" % (file_name, variant, op, shape_text(shape),
                                                " causal" if causal else "")
                    numbers.append((stem + "Tflops", tf_text(row["tflops"]), where + " tflops"))
                    numbers.append((stem + "Ms", "%.0f" % row["ms"] if row["ms"] >= 100
                                    else "%#.3g" % row["ms"], where + " ms"))
                    for field, suffix in (("ratio", "Ratio"), ("ratio_cudnn", "RatioCudnn")):
                        if field in row:
                            numbers.append((stem + suffix, "%.2f" % row[field],
                                            where + " " + field))
            # Ranges over the shapes and masks.
            measured = [r for (s, c, o, v), r in table.items() if v == variant and o == op]
            if not measured or not variant.startswith("ours"):
                continue
            where = "%s: %s %s over every shape and mask" % (file_name, variant, op)
            for field, suffix in (("ratio", "Ratio"), ("ratio_cudnn", "RatioCudnn")):
                values = [r[field] for r in measured if field in r]
                if values:
                    numbers.append((base + pass_name + suffix + "Min", "%.2f" % min(values),
                                    where + ": lowest " + field))
                    numbers.append((base + pass_name + suffix + "Max", "%.2f" % max(values),
                                    where + ": highest " + field))
            numbers.append((base + pass_name + "TflopsMax",
                            tf_text(max(r["tflops"] for r in measured)),
                            where + ": highest tflops"))
            numbers.append((base + pass_name + "TflopsMin",
                            tf_text(min(r["tflops"] for r in measured)),
                            where + ": lowest tflops"))

    # ---- table: the bf16 kernels the library runs on this GPU vs flash and cuDNN ---------------
    dtype_of = {}
    for key, row in table.items():
        if dtype_of.setdefault(key[3], row["dtype"]) != row["dtype"]:
            common.fail("%s:%d: %s in two dtypes" % (path, row["_line"], key[3]))
    if set(dtype_of.values()) - {"bf16", "fp32"}:
        common.fail("%s: dtypes %s (expected bf16 and fp32)"
                    % (path, sorted(set(dtype_of.values()))))
    bf16 = [v for v in ours if dtype_of[v] == "bf16"]

    def row_label(shape, causal):
        """The shape on the full row, 'causal' indented on the next."""
        return "\\quad causal" if causal else "%d,%d,%d,%d" % shape

    def kernel_for(shape):
        for v in bf16:  # SERIES order: the Hopper kernel first
            if all(value(shape, c, op, v) is not None
                   for c in (False, True) for op, _, _ in PASSES):
                return v
        return None

    lines = ["\\begin{tabular}{llrrrrrr}", "\\toprule",
             "& & \\multicolumn{3}{c}{forward} & \\multicolumn{3}{c}{backward} \\\\",
             "\\cmidrule(lr){3-5}\\cmidrule(lr){6-8}",
             "B,H,N,D & kernel & TFLOP/s & $\\times$ flash & $\\times$ cuDNN "
             "& TFLOP/s & $\\times$ flash & $\\times$ cuDNN \\\\", "\\midrule"]
    for shape in shapes:
        kernel = kernel_for(shape)
        if kernel is None:
            continue
        for causal, _, _ in masks:
            cells = []
            for op, _, _ in PASSES:
                row = table[(shape, causal, op, kernel)]
                cells += [tf_text(row["tflops"]), "%.2f" % row["ratio"],
                          "%.2f" % row["ratio_cudnn"] if "ratio_cudnn" in row else "--"]
            lines.append("%s & %s & %s \\\\" % (
                row_label(shape, causal),
                common.tex_escape(short_label(kernel)) if not causal else "",
                " & ".join(cells)))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # Every kernel (the portable bf16 mma.sync one too) next to PyTorch's, per dtype.
    def tflops_table(dtype):
        columns = []  # (op, variant)
        for op, _, _ in PASSES:
            columns += [(op, v) for v in variants if dtype_of[v] == dtype
                        and any(k[2] == op and k[3] == v for k in table)]
        counts = [sum(1 for o, _ in columns if o == op) for op, _, _ in PASSES]
        lines = ["\\begin{tabular}{l" + "r" * len(columns) + "}", "\\toprule",
                 "& \\multicolumn{%d}{c}{forward TFLOP/s} & \\multicolumn{%d}{c}{backward TFLOP/s}"
                 " \\\\" % tuple(counts),
                 "\\cmidrule(lr){2-%d}\\cmidrule(lr){%d-%d}" % (1 + counts[0], 2 + counts[0],
                                                             1 + len(columns)),
                 "B,H,N,D & " + " & ".join(
                     common.tex_escape(short_label(v)) for _, v in columns) + " \\\\",
                 "\\midrule"]
        for shape in shapes:
            for causal, _, _ in masks:
                cells = [value(shape, causal, op, v) for op, v in columns]
                lines.append("%s & %s \\\\" % (
                    row_label(shape, causal),
                    " & ".join("--" if t is None else tf_text(t) for t in cells)))
        lines += ["\\bottomrule", "\\end{tabular}", ""]
        common.write_table(args.out, NAME + "_" + dtype, "\n".join(lines))

    for dtype in ("bf16", "fp32"):
        tflops_table(dtype)
    artifacts = [NAME + ".pdf", NAME + ".png", NAME + "_table.tex", NAME + "_bf16_table.tex",
                 NAME + "_fp32_table.tex"]
    inputs = [recorded.source(path, commit, device)]

    # ---- accuracy against float64: ours and PyTorch in bf16 -------------------------------------
    _, check_entry, check_path = recorded.manifest_entry(args.results, "attention_vs_torch")
    check_rows = recorded.read_jsonl(check_path)
    recorded.check_device(check_path, check_rows, device)
    check_commit = recorded.source_commit(check_path, check_rows, check_entry)
    check_name = os.path.basename(check_path)
    shares = []  # (share of the tolerance, tensor, case)
    per = {}  # (tensor, D) -> lists
    one_key = []  # (ours, PyTorch) absolute errors of dq, dk with one key
    for row in check_rows:
        head_dim = recorded.get(check_path, row, "D", int)
        for f in ("B", "H", "Nq", "Nk"):
            recorded.get(check_path, row, f, int)
        recorded.get(check_path, row, "causal", bool)
        recorded.get(check_path, row, "padding", bool)
        passed = recorded.get(check_path, row, "passed", bool)
        lse = recorded.get(check_path, row, "lse_abs_error")
        worst = lse / CHECK_SLACK
        for tensor, _ in TENSORS:
            mine = recorded.get(check_path, row, tensor + "_error_ours")
            theirs = recorded.get(check_path, row, tensor + "_error_torch")
            between = recorded.get(check_path, row, tensor + "_ours_vs_torch")
            share = mine / (2 * theirs + CHECK_SLACK)
            worst = max(worst, share)
            shares.append((share, tensor, recorded.get(check_path, row, "name", str), head_dim,
                           mine / theirs if theirs > 0 else math.inf))
            if tensor in ("dq", "dk") and row["Nk"] == 1:
                # One key: the softmax is 1 and dq, dk are exactly 0; the checker then reports
                # absolute errors, rounding noise of both sides, kept apart from the relative ones.
                one_key.append((mine, theirs))
                continue
            bucket = per.setdefault((tensor, head_dim), {"ours": [], "torch": [], "between": []})
            bucket["ours"].append(mine)
            bucket["torch"].append(theirs)
            bucket["between"].append(between)
        if passed != (worst <= 1 + 1e-9):
            common.fail("%s:%d: passed = %s, but the errors give %.3g of the tolerance"
                        % (check_path, row["_line"], passed, worst))
    dims = sorted({d for _, d in per})
    passed_count = sum(1 for r in check_rows if r["passed"])
    numbers += [
        ("paAttnCheckCommit", check_commit[:7], "%s commit" % check_name),
        ("paAttnCheckCases", "%d" % len(check_rows), "%s: rows" % check_name),
        ("paAttnCheckPassed", "%d" % passed_count, "%s: rows with passed = true" % check_name),
        ("paAttnCheckLseErrMax", common.fmt(max(r["lse_abs_error"] for r in check_rows), 2),
         "%s: largest lse_abs_error" % check_name),
        ("paAttnCheckToleranceSharePercent", "%.0f" % (100 * max(shares)[0]),
         "%s: largest error_ours / (2 error_torch + %g), percent" % (check_name, CHECK_SLACK)),
        ("paAttnCheckWorstTensor", max(shares)[1], "%s: the tensor of that case" % check_name),
        ("paAttnCheckWorstD", "%d" % max(shares)[3], "%s: the head dimension of that case"
         % check_name),
        ("paAttnCheckWorstOursOverTorch", "%.2f" % max(shares)[4],
         "%s: error_ours / error_torch in that case" % check_name),
    ]
    if one_key:
        numbers += [
            ("paAttnCheckOneKeyCases", "%d" % sum(1 for r in check_rows if r["Nk"] == 1),
             "%s: rows with Nk = 1 (dq, dk exactly 0)" % check_name),
            ("paAttnCheckOneKeyAbsErrMax", common.fmt(max(max(p) for p in one_key), 2),
             "%s: largest dq/dk error (absolute: the reference is 0) of ours or PyTorch at "
             "Nk = 1" % check_name),
        ]
    torch_check = {r.get("torch_version") if isinstance(r.get("torch_version"), str) else None
                   for r in check_rows}
    if len(torch_check) == 1 and None not in torch_check:
        numbers.append(("paAttnCheckTorchVersion", torch_check.pop(),
                        "%s torch_version" % check_name))
    for tensor, tensor_name in TENSORS:
        all_ours = [x for (t, _), b in per.items() if t == tensor for x in b["ours"]]
        all_torch = [x for (t, _), b in per.items() if t == tensor for x in b["torch"]]
        all_between = [x for (t, _), b in per.items() if t == tensor for x in b["between"]]
        stem = "paAttnCheck" + tensor_name
        numbers += [
            (stem + "ErrOursMax", error_text(max(all_ours)),
             "%s: largest %s_error_ours (max |x - ref| / max |ref| vs float64)%s"
             % (check_name, tensor, " (Nk > 1)" if tensor in ("dq", "dk") else "")),
            (stem + "ErrTorchMax", error_text(max(all_torch)),
             "%s: largest %s_error_torch%s" % (check_name, tensor, " (Nk > 1)"
                                                 if tensor in ("dq", "dk") else "")),
            (stem + "OursVsTorchMax", error_text(max(all_between)),
             "%s: largest %s_ours_vs_torch%s" % (check_name, tensor, " (Nk > 1)"
                                                   if tensor in ("dq", "dk") else "")),
        ]
    lines = ["\\begin{tabular}{lrrrrr}", "\\toprule",
             "tensor & D & cases & ours & PyTorch & ours vs PyTorch \\\\", "\\midrule"]
    # (dq and dk leave out the one-key cases, where the reference is exactly 0.)
    for tensor, _ in TENSORS:
        for d in dims:
            b = per.get((tensor, d))
            if b is None:
                continue
            lines.append("%s & %d & %d & %s & %s & %s \\\\" % (
                tensor, d, len(b["ours"]), error_text(max(b["ours"])),
                error_text(max(b["torch"])), error_text(max(b["between"]))))
        if tensor != TENSORS[-1][0]:
            lines.append("\\addlinespace")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME + "_accuracy", "\n".join(lines))

    # The accuracy figure: each case's error, ours against PyTorch's, with the pass line.
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    positive = [x for (t, _), b in per.items() for x in b["ours"] + b["torch"] if x > 0] \
        + [x for pair in one_key for x in pair if x > 0]
    floor = 10 ** math.floor(math.log10(min(positive))) if positive else 1e-8
    markers = {"out": "o", "dq": "s", "dk": "^", "dv": "D"}
    colours = {d: c for d, c in zip(dims, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"])}
    zero_count = 0
    for tensor, _ in TENSORS:
        for d in dims:
            b = per.get((tensor, d))
            if b is None:
                continue
            xs = [max(x, floor) for x in b["torch"]]
            ys = [max(y, floor) for y in b["ours"]]
            zero_count += sum(1 for x, y in zip(b["torch"], b["ours"]) if x == 0 or y == 0)
            ax.plot(xs, ys, ls="none", marker=markers.get(tensor, "x"), ms=4.5,
                    mfc="none", mec=colours[d], mew=1.0)
    if one_key:
        ax.plot([max(t, floor) for _, t in one_key], [max(o, floor) for o, _ in one_key],
                ls="none", marker="x", ms=4.5, color="0.45",
                label="dq, dk at Nk = 1 (exactly 0:\nabsolute errors)")
        zero_count += sum(1 for o, t in one_key if o == 0 or t == 0)
    top = max(max(x for b in per.values() for x in b["ours"] + b["torch"]) * 2, 1e-2)
    grid = np.logspace(math.log10(floor), math.log10(top), 200)
    ax.plot(grid, grid, color="0.5", lw=1, ls=":", label="ours = PyTorch")
    ax.plot(grid, 2 * grid + CHECK_SLACK, color="black", lw=1.3,
            label="pass limit: 2 x PyTorch + %g" % CHECK_SLACK)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor / 2, top)
    ax.set_ylim(floor / 2, top * 3)
    ax.set_xlabel("PyTorch bf16 error vs float64 (max |x - ref| / max |ref|)")
    ax.set_ylabel("our bf16 error vs float64")
    for tensor, _ in TENSORS:
        ax.plot([], [], ls="none", marker=markers.get(tensor, "x"), mfc="none", mec="black",
                label=tensor)
    for d in dims:
        ax.plot([], [], ls="none", marker="s", color=colours[d], label="D = %d" % d)
    ax.legend(loc="upper left", ncol=2, framealpha=0.95)
    ax.grid(True, alpha=0.3)
    ax.set_title("%d of %d cases pass; errors of exactly 0 drawn at %g (%d points)"
                 % (passed_count, len(check_rows), floor, zero_count))
    common.save(fig, args.out, NAME + "_accuracy")
    artifacts += [NAME + "_accuracy.pdf", NAME + "_accuracy.png", NAME + "_accuracy_table.tex"]
    inputs.append(recorded.source(check_path, check_commit, device))

    # ---- the re-run: spread of the same measurements on another day's build -------------------
    if any(isinstance(e, dict) and e.get("role") == "attention_recheck" for e in manifest["files"]):
        _, recheck_entry, recheck_path = recorded.manifest_entry(args.results, "attention_recheck")
        recheck_rows, recheck, _ = read_bench(recheck_path, device)
        recheck_commit = recorded.source_commit(recheck_path, recheck_rows, recheck_entry)
        recheck_name = os.path.basename(recheck_path)
        spread = {"ours": [], "torch": []}
        for key, row in sorted(recheck.items(), key=lambda kv: kv[1]["_line"]):
            if key not in table:
                continue
            change = (row["tflops"] - table[key]["tflops"]) / table[key]["tflops"]
            spread["ours" if key[3].startswith("ours") else "torch"].append((abs(change), key))
            if key[3].startswith("ours"):
                shape, causal, op, variant = key
                pass_name = [p[1] for p in PASSES if p[0] == op][0]
                numbers.append(("paAttnRecheck" + variant_info(variant)[2] + pass_name
                                + names[shape] + ("Causal" if causal else "Full") + "Tflops",
                                tf_text(row["tflops"]), "%s: %s %s %s tflops" % (
                                    recheck_name, variant, op, shape_text(shape))))
        if not spread["ours"]:
            common.fail("%s shares no measurement with %s" % (recheck_path, path))
        numbers += [
            ("paAttnRecheckCommit", recheck_commit[:7], "%s commit" % recheck_name),
            ("paAttnRecheckOursMaxDiffPercent", "%.1f" % (100 * max(spread["ours"])[0]),
             "%s vs %s: largest |tflops change| / tflops of our rows, percent"
             % (recheck_name, file_name)),
        ]
        if spread["torch"]:
            worst = max(spread["torch"])
            numbers += [
                ("paAttnRecheckTorchMaxDiffPercent", "%.1f" % (100 * worst[0]),
                 "%s vs %s: largest |tflops change| / tflops of PyTorch's rows, percent"
                 % (recheck_name, file_name)),
                ("paAttnRecheckTorchMaxDiffWhat", "%s %s %s%s" % (
                    variant_info(worst[1][3])[1], [p[2] for p in PASSES if p[0] == worst[1][2]][0],
                    "%d,%d,%d,%d" % worst[1][0], " causal" if worst[1][1] else ""),
                 "%s: the PyTorch row that moved most" % recheck_name),
            ]
        inputs.append(recorded.source(recheck_path, recheck_commit, device))

    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, artifacts + [NAME + "_numbers.tex"], inputs)


if __name__ == "__main__":
    main()
