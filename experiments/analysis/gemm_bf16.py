"""The GEMM ladder past the CUDA cores, on the recorded GPU (results/gpu/<device>/, role
gemm_bf16_ladder in manifest.json): one gemm_ladder run that timed the best fp32 version with
cuBLAS SGEMM and every bf16 tensor-core rung with cuBLAS's bf16 GEMM, at square sizes and at the
GPT-2-small training step's shapes. Writes a figure of the whole ladder (TFLOP/s at the squares,
fp32 and bf16, against both cuBLAS anchors; each bf16 rung's speed relative to cuBLAS bf16 at
every shape), a table of those ratios, the number macros and the sources. Where the run has
them (sm_90), the TF32 rows (gemm_tf32: v15's kernel on fp32 operands against cuBLAS with TF32
allowed) join the table and the macros."""
import os
import re

import matplotlib.pyplot as plt
import numpy as np

import common
import recorded

NAME = "gemm_bf16"
ROLE = "gemm_bf16_ladder"
ANCHORS = {"sgemm": "cublas_sgemm", "gemm_bf16": "cublas_bf16", "gemm_tf32": "cublas_tf32"}
OPTIONAL = {"gemm_tf32"}  # rows only an sm_90 run has
# The GPT-2-small training step's products (M = B T = 8192 tokens), as the text names them.
TRANSFORMER = {(8192, 2304, 768): "QKV", (8192, 768, 768): "AttnProj", (8192, 3072, 768): "FcUp",
               (8192, 768, 3072): "FcDown", (8192, 50304, 768): "LmHead"}
TRANSFORMER_TEXT = {"QKV": "QKV projection", "AttnProj": "attention output",
                    "FcUp": "MLP up", "FcDown": "MLP down", "LmHead": "LM head"}

recorded.use_figure_style()

# Kernel names in the Nsight Compute file (role gemm_bf16_ncu) -> the variant they belong to.
# v15, v16 and v17 are one kernel template: <tile width, cluster size, ...> (an older v15 was
# <0, 0>, its layout).
NCU_KERNELS = [(r"nvjet|xmma|cutlass", "cublas_bf16"), (r"gemm_bf16_mma_kernel", "v13_bf16_mma"),
               (r"gemm_wgmma_tma_kernel", "v14_bf16_wgmma_tma"),
               (r"gemm_warp_specialized_kernel<(256, 1|0),", "v15_bf16_warp_specialized"),
               (r"gemm_warp_specialized_kernel<128, 1,", "v16_bf16_two_blocks"),
               (r"gemm_warp_specialized_kernel<256, 2,", "v17_bf16_cluster_pair")]
NCU_REQUIRED = ["cublas_bf16", "v14_bf16_wgmma_tma", "v15_bf16_warp_specialized"]
PICK = "bf16_best"  # gemm_bf16's choice of rung by shape: what the engine runs
# Optional rows of gemm_bf16 with the stream-K tail: its tiles forced (the two candidates its rule
# picks between) or its own pick.
CANDIDATES = {"bf16_wide": "Wide", "bf16_narrow": "Narrow", "bf16_best_stream_k": "StreamK"}


def ncu_kernel(line, path, seen):
    """The variant whose kernel an Nsight Compute kernel line names (NCU_KERNELS); fails on a
    kernel of none of them or on one already in `seen`."""
    variant = next((v for pattern, v in NCU_KERNELS if re.search(pattern, line)), None)
    if variant is None:
        common.fail("%s: kernel %r is none of %s" % (path, line.strip()[:60],
                                                    [v for _, v in NCU_KERNELS]))
    if variant in seen:
        common.fail("%s: %s profiled twice" % (path, variant))
    return variant


def read_ncu(path, need_pipe=True):
    """Per variant, from Nsight Compute's printed sections: the busiest pipeline's share of the
    elapsed cycles ("... is the highest-utilized pipeline (X%)") and each stall rule's share of
    the cycles between issued instructions, keyed by the rule's first words."""
    kernels, current = {}, None
    paragraph = ""
    with open(path) as f:
        for line in f:
            if line.startswith("  ") and not line.startswith("   ") and "Context" in line:
                current = ncu_kernel(line, path, kernels)
                kernels[current] = {"stalls": {}}
                continue
            if current is None:
                continue
            match = re.match(r"\s+Duration\s+us\s+([\d.,]+)", line)
            if match:
                kernels[current]["us"] = float(match.group(1).replace(",", ""))
            match = re.search(r"is the highest-utilized pipeline \(([\d.]+)%\)", line)
            if match:
                kernels[current]["pipe"] = float(match.group(1))
            if re.match(r"\s+(OPT|INF|WRN)\s", line) or line.strip().startswith("-----"):
                paragraph = ""
            paragraph += " " + line.strip()
            match = re.search(r"being stalled ([^.]+)\..*represents about ([\d.]+)% of the total",
                              paragraph)
            if match:
                kernels[current]["stalls"][match.group(1)] = float(match.group(2))
                paragraph = ""
    for variant in NCU_REQUIRED + list(kernels):
        if variant not in kernels:
            common.fail("%s: no profile of %s" % (path, variant))
        if need_pipe and "pipe" not in kernels[variant]:
            common.fail("%s: no pipeline utilisation for %s" % (path, variant))
    return kernels


def version_name(variant):
    match = re.match(r"v(\d+)_", variant)
    return "V" + recorded.words(int(match.group(1))) if match else None


def tf_text(value):
    return "%.1f" % value if value >= 10 else "%#.3g" % value


def label(variant):
    return {"cublas_sgemm": "cuBLAS SGEMM (fp32)", "cublas_bf16": "cuBLAS bf16",
            PICK: "gemm_bf16 (its pick)", "bf16_wide": "gemm_bf16, 128 x 256 tiles",
            "bf16_narrow": "gemm_bf16, 128 x 128 tiles",
            "bf16_best_stream_k": "gemm_bf16 with stream-K"}.get(variant, variant.replace("_", " "))


def main():
    args = common.parse_args("gpu/h100", __doc__)
    manifest, entry, path = recorded.manifest_entry(args.results, ROLE)
    device = manifest["device"]
    rows = recorded.read_jsonl(path)
    recorded.environment_row(path, rows)  # exactly one: the run is whole
    measured = [r for r in rows if r.get("op") in ANCHORS and "skipped" not in r]
    recorded.check_device(path, measured, device)
    commit = recorded.source_commit(path, rows, entry)
    file_name = os.path.basename(path)

    table = {}  # (op, variant, (m, n, k)) -> row
    variants = {op: [] for op in ANCHORS}
    for row in measured:
        op = row["op"]
        variant = recorded.get(path, row, "variant", str)
        shape = tuple(recorded.get(path, row, f, int) for f in ("m", "n", "k"))
        if recorded.get(path, row, "valid", bool) is not True:
            common.fail("%s:%d: %s at %dx%dx%d failed validation" % (path, row["_line"], variant,
                                                                     *shape))
        for field in ("ms", "gflops", "ratio", "anchor_ms", "max_rel_err"):
            recorded.get(path, row, field)
        if recorded.get(path, row, "anchor", str) != ANCHORS[op]:
            common.fail("%s:%d: %s row with anchor %r, expected %s" % (path, row["_line"], op,
                                                                        row["anchor"], ANCHORS[op]))
        key = (op, variant, shape)
        if key in table:
            common.fail("%s:%d: %s at %dx%dx%d measured twice" % (path, row["_line"], variant,
                                                                  *shape))
        table[key] = row
        if variant not in variants[op]:
            variants[op].append(variant)
    for op, anchor in ANCHORS.items():
        if op in OPTIONAL and not variants[op]:
            continue
        if anchor not in variants[op] or len(variants[op]) < 2:
            common.fail("%s: needs %s rows and at least one version beside them" % (path, anchor))
    shapes = sorted({s for _, _, s in table})
    for op, anchor in ANCHORS.items():
        if op in OPTIONAL and not variants[op]:
            continue
        for s in shapes:
            if (op, anchor, s) not in table:
                common.fail("%s: no %s row at %dx%dx%d" % (path, anchor, *s))
    for (op, v, s), row in table.items():  # ratio: the anchor's time (same run, shape) over ours
        anchor_ms = table[(op, ANCHORS[op], s)]["ms"]
        if abs(row["anchor_ms"] - anchor_ms) > 1e-9 * anchor_ms \
                or abs(row["ratio"] - anchor_ms / row["ms"]) > 1e-6 * row["ratio"]:
            common.fail("%s:%d: ratio %g disagrees with %s's %g ms over %g ms"
                        % (path, row["_line"], row["ratio"], ANCHORS[op], anchor_ms, row["ms"]))
    squares = [s for s in shapes if s[0] == s[1] == s[2]]
    others = sorted((s for s in shapes if s not in squares),
                    key=lambda s: list(TRANSFORMER).index(s) if s in TRANSFORMER else len(TRANSFORMER))
    unknown = [s for s in others if s not in TRANSFORMER]
    if unknown:
        common.fail("%s: shapes %s are neither squares nor the transformer's" % (path, unknown))
    fp32 = [v for v in variants["sgemm"] if v != ANCHORS["sgemm"]]
    rungs = [v for v in variants["gemm_bf16"]
             if v not in (ANCHORS["gemm_bf16"], PICK) and v not in CANDIDATES]
    candidates = [v for v in CANDIDATES if v in variants["gemm_bf16"]]
    picked = PICK in variants["gemm_bf16"]
    tf32 = [v for v in variants["gemm_tf32"] if v != ANCHORS["gemm_tf32"]]

    def tflops(op, v, s):
        return table[(op, v, s)]["gflops"] / 1000

    def ratio(v, s):
        return table[("gemm_bf16", v, s)]["ratio"]

    def shape_name(s):
        return recorded.size_name(s[0]) if s in squares else TRANSFORMER[s]

    # ---- figure ---------------------------------------------------------------------------------
    fig = plt.figure(figsize=(6.2, 3.9))
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.25], wspace=0.32, left=0.09, right=0.99,
                            top=0.93, bottom=0.36)
    left, right = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    colours = {v: plt.cm.viridis(0.15 + 0.7 * i / max(1, len(rungs) - 1))
               for i, v in enumerate(rungs)}
    sizes = [s[0] for s in squares]
    handles = []
    for op, v, style in [("sgemm", ANCHORS["sgemm"], dict(color="0.45", ls="--", lw=1.8))] + \
            [("sgemm", v, dict(color="#d62728", ls=":", lw=1.3, marker="s", ms=3.5)) for v in fp32] + \
            [("gemm_bf16", ANCHORS["gemm_bf16"], dict(color="black", ls="--", lw=2.2))] + \
            [("gemm_bf16", v, dict(color=colours[v], ls="-", lw=1.2, marker="o", ms=3.5))
             for v in rungs] + \
            ([("gemm_bf16", PICK, dict(color="#ff7f0e", ls="-", lw=2.4, alpha=0.6))] if picked
             else []):
        line, = left.plot(sizes, [tflops(op, v, s) for s in squares], label=label(v)
                          + (" (fp32)" if op == "sgemm" and v in fp32 else ""), **style)
        handles.append(line)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks(sizes)
    left.set_xticklabels([str(n) for n in sizes])
    left.minorticks_off()
    ticks = [t for t in (10, 20, 50, 100, 200, 500, 1000)
             if left.get_ylim()[0] <= t <= left.get_ylim()[1]]
    left.set_yticks(ticks)
    left.set_yticklabels(["%g" % t for t in ticks])
    left.set_xlabel("n (square n x n x n)")
    left.set_ylabel("TFLOP/s (log scale)")
    left.grid(True, alpha=0.3)
    left.set_title("(a) squares: fp32 and bf16")

    columns = [s for s in squares if s[0] >= 4096] + others
    x = np.arange(len(columns))
    width = 0.8 / len(rungs)
    for i, v in enumerate(rungs):
        right.bar(x + (i - (len(rungs) - 1) / 2) * width, [ratio(v, s) for s in columns], width,
                  color=colours[v])
    if picked:  # gemm_bf16's pick: a tick across each group
        right.scatter(x, [ratio(PICK, s) for s in columns], marker="_", s=260, linewidths=2.4,
                      color="#ff7f0e", alpha=0.8, zorder=3)
    right.axhline(1.0, color="black", ls="--", lw=1.5)
    right.set_xticks(x)
    right.set_xticklabels(["n = %d" % s[0] if s in squares else TRANSFORMER_TEXT[TRANSFORMER[s]]
                           for s in columns], rotation=35, ha="right")
    right.set_ylabel("cuBLAS bf16 ms / our ms")
    right.grid(True, axis="y", alpha=0.3)
    right.set_title("(b) bf16 rungs relative to cuBLAS bf16")
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.0), columnspacing=1.0, handlelength=2.2)
    common.save(fig, args.out, NAME)

    # ---- table ----------------------------------------------------------------------------------
    all_columns = squares + others
    lines = ["\\begin{tabular}{l" + "r" * len(all_columns) + "}", "\\toprule",
             "& \\multicolumn{%d}{c}{n = m = k} & \\multicolumn{%d}{c}{GPT-2 small, M = 8192}"
             " \\\\" % (len(squares), len(others)),
             "\\cmidrule(lr){2-%d}\\cmidrule(lr){%d-%d}" % (len(squares) + 1, len(squares) + 2,
                                                          len(all_columns) + 1),
             "version & " + " & ".join("%d" % s[0] for s in squares)
             + "".join(" & %s" % TRANSFORMER_TEXT[TRANSFORMER[s]] for s in others) + " \\\\",
             "& " + " & ".join("" for _ in squares)
             + "".join(" & $%d{\\times}%d$" % (s[1], s[2]) for s in others) + " \\\\",
             "\\midrule"]
    for v in rungs:
        best = ["\\textbf{%.2f}" % ratio(v, s) if max(rungs, key=lambda r: ratio(r, s)) == v
                else "%.2f" % ratio(v, s) for s in all_columns]
        lines.append("%s & %s \\\\" % (common.tex_escape(label(v)), " & ".join(best)))
    for v in candidates + ([PICK] if picked else []):
        lines.append("%s & %s \\\\" % (common.tex_escape(label(v)), " & ".join(
            "%.2f" % ratio(v, s) for s in all_columns)))
    lines.append("\\midrule")
    lines.append("cuBLAS bf16 TFLOP/s & %s \\\\" % " & ".join(
        tf_text(tflops("gemm_bf16", ANCHORS["gemm_bf16"], s)) for s in all_columns))
    lines.append("cuBLAS SGEMM TFLOP/s & %s \\\\" % " & ".join(
        tf_text(tflops("sgemm", ANCHORS["sgemm"], s)) for s in all_columns))
    if tf32:
        lines.append("\\midrule")
        for v in tf32:
            lines.append("%s / cuBLAS TF32 & %s \\\\" % (common.tex_escape(label(v)), " & ".join(
                "%.2f" % table[("gemm_tf32", v, s)]["ratio"] for s in all_columns)))
        lines.append("cuBLAS TF32 TFLOP/s & %s \\\\" % " & ".join(
            tf_text(tflops("gemm_tf32", ANCHORS["gemm_tf32"], s)) for s in all_columns))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # ---- numbers --------------------------------------------------------------------------------
    numbers = [("paGemmBfDevice", device, "%s device" % file_name),
               ("paGemmBfCommit", commit[:7], "%s commit" % file_name)]
    for op, v in [("gemm_bf16", ANCHORS["gemm_bf16"]), ("sgemm", ANCHORS["sgemm"])] + \
            [("sgemm", v) for v in fp32]:
        base = {"cublas_bf16": "paGemmBfCublas", "cublas_sgemm": "paGemmBfCublasSgemm"}.get(
            v, "paGemmBfFpThirtyTwo" + (version_name(v) or ""))
        for s in all_columns:
            numbers.append((base + "Tflops" + shape_name(s), tf_text(tflops(op, v, s)),
                            "%s: %s gflops / 1000 at %dx%dx%d" % (file_name, v, *s)))
    for v in rungs + candidates + ([PICK] if picked else []):
        base = ("paGemmBfPick" + CANDIDATES.get(v, "") if v == PICK or v in CANDIDATES
                else "paGemmBf" + version_name(v))
        for s in all_columns:
            numbers += [
                (base + "Tflops" + shape_name(s), tf_text(tflops("gemm_bf16", v, s)),
                 "%s: %s gflops / 1000 at %dx%dx%d" % (file_name, v, *s)),
                (base + "Ratio" + shape_name(s), "%.2f" % ratio(v, s),
                 "%s: %s ratio (cuBLAS bf16 ms / ms) at %dx%dx%d" % (file_name, v, *s))]
    for v in [ANCHORS["gemm_tf32"]] + tf32 if tf32 else []:
        base = "paGemmTfCublas" if v == ANCHORS["gemm_tf32"] else "paGemmTf" + version_name(v)
        for s in all_columns:
            numbers.append((base + "Tflops" + shape_name(s), tf_text(tflops("gemm_tf32", v, s)),
                            "%s: %s gflops / 1000 at %dx%dx%d" % (file_name, v, *s)))
            if v != ANCHORS["gemm_tf32"]:
                numbers.append((base + "Ratio" + shape_name(s),
                                "%.2f" % table[("gemm_tf32", v, s)]["ratio"],
                                "%s: %s ratio (cuBLAS TF32 ms / ms) at %dx%dx%d" % (file_name, v,
                                                                                    *s)))
    if picked:
        base = "paGemmBfPick"
        numbers += [
            (base + "RatioMin", "%.2f" % min(ratio(PICK, s) for s in all_columns),
             "%s: lowest %s ratio over every shape" % (file_name, PICK)),
            (base + "RatioMax", "%.2f" % max(ratio(PICK, s) for s in all_columns),
             "%s: highest %s ratio over every shape" % (file_name, PICK)),
            (base + "Shortfall", "%.0f" % (100 * max(
                1 - ratio(PICK, s) / max(ratio(v, s) for v in rungs) for s in all_columns)),
             "%s: largest shortfall of %s below the fastest rung at a shape, percent"
             % (file_name, PICK))]
    best = max(rungs, key=lambda v: sum(ratio(v, s) for s in all_columns))
    errors = [table[("gemm_bf16", v, s)]["max_rel_err"] for v in rungs for s in all_columns]
    numbers += [
        ("paGemmBfBest", label(best), "%s: highest summed ratio over every shape" % file_name),
        ("paGemmBfBestRatioMin", "%.2f" % min(ratio(best, s) for s in all_columns),
         "%s: lowest %s ratio over every shape" % (file_name, best)),
        ("paGemmBfBestRatioMax", "%.2f" % max(ratio(best, s) for s in all_columns),
         "%s: highest %s ratio over every shape" % (file_name, best)),
        ("paGemmBfMaxRelErr", common.fmt(max(errors), 2),
         "%s: largest max_rel_err (vs cuBLAS bf16) of any bf16 rung" % file_name),
        ("paGemmBfOverFpThirtyTwo", "%.1f" % (tflops("gemm_bf16", best, squares[-1])
                                              / tflops("sgemm", ANCHORS["sgemm"], squares[-1])),
         "%s: %s gflops / cublas_sgemm gflops at n = %d" % (file_name, best, squares[-1][0])),
    ]
    best_fp32 = max(fp32, key=lambda v: tflops("sgemm", v, squares[-1]))
    numbers.append(("paGemmBfFirstOverBestFp", "%.1f" % (tflops("gemm_bf16", rungs[0], squares[-1])
                                                         / tflops("sgemm", best_fp32, squares[-1])),
                    "%s: %s gflops / %s gflops at n = %d" % (file_name, rungs[0], best_fp32,
                                                              squares[-1][0])))

    # Nsight Compute at n = 4096: how busy the tensor pipe is, and v14's stalls (a folder
    # without the profile, e.g. results/gpu/h200, gives the run's numbers alone).
    sources = [recorded.source(path, commit, device)]
    if not any(e.get("role") == "gemm_bf16_ncu" for e in manifest["files"]):
        common.write_numbers(args.out, NAME, numbers)
        common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                              NAME + "_numbers.tex"], sources)
        return
    _, ncu_entry, ncu_path = recorded.manifest_entry(args.results, "gemm_bf16_ncu")
    ncu = read_ncu(ncu_path)
    ncu_name = os.path.basename(ncu_path)
    for variant, values in ncu.items():
        base = "paGemmBfNcu" + (version_name(variant) or "Cublas")
        numbers.append((base + "Pipe", "%.0f" % values["pipe"],
                        "%s: %s, highest-utilized pipeline, percent of elapsed cycles"
                        % (ncu_name, variant)))
    stalls = ncu["v14_bf16_wgmma_tma"]["stalls"]
    key = "waiting for sibling warps"  # at the block barrier that ends each k tile
    found = [v for k, v in stalls.items() if k.startswith(key)]
    if len(found) != 1:
        common.fail("%s: v14's %r stall share not found once (%s)" % (ncu_path, key,
                                                                    sorted(stalls)))
    numbers.append(("paGemmBfNcuVFourteenBarrierShare", "%.0f" % found[0],
                    "%s: v14_bf16_wgmma_tma, %r stall, percent of cycles between issues"
                    % (ncu_name, key)))
    sources.append(recorded.source(ncu_path, ncu_entry["commit"], device))
    # The attention-output shape before and after the compact epilogue (where recorded): v15's
    # time under the profiler and its instruction-fetch stall share before.
    roles = [e["role"] for e in manifest["files"]]
    if "gemm_bf16_ncu_attnproj" in roles and "gemm_bf16_ncu_attnproj_before" in roles:
        fetch = "waiting to be selected to fetch an instruction"
        for role, when in (("gemm_bf16_ncu_attnproj_before", "Before"),
                           ("gemm_bf16_ncu_attnproj", "After")):
            _, entry, role_path = recorded.manifest_entry(args.results, role)
            profile = read_ncu(role_path, need_pipe=False)
            role_name = os.path.basename(role_path)
            for variant in ("v15_bf16_warp_specialized", "cublas_bf16", "v14_bf16_wgmma_tma"):
                if "us" not in profile[variant]:
                    common.fail("%s: no duration for %s" % (role_path, variant))
                numbers.append(("paGemmBfNcuAttnProj%s%sUs" % (when, version_name(variant)
                                                               or "Cublas"),
                                "%.1f" % profile[variant]["us"],
                                "%s: %s duration under ncu, microseconds" % (role_name, variant)))
            if when == "Before":
                found = [v for k, v in profile["v15_bf16_warp_specialized"]["stalls"].items()
                         if k.startswith(fetch)]
                if len(found) != 1:
                    common.fail("%s: v15's instruction-fetch stall share not found" % role_path)
                numbers.append(("paGemmBfNcuAttnProjBeforeFetchShare", "%.0f" % found[0],
                                "%s: v15, %r stall, percent of cycles between issues"
                                % (role_name, fetch)))
            sources.append(recorded.source(role_path, entry["commit"], device))
    # Warp states of v15 and v17 at n = 4096 (where recorded): cycles between a warp's issued
    # instructions, and v17's stall reasons per issued instruction.
    if "gemm_bf16_ncu_stalls" in roles:
        _, entry, role_path = recorded.manifest_entry(args.results, "gemm_bf16_ncu_stalls")
        states = read_warp_states(role_path)
        role_name = os.path.basename(role_path)
        for variant in ("v15_bf16_warp_specialized", "v17_bf16_cluster_pair"):
            if variant not in states or "cycles" not in states[variant]:
                common.fail("%s: no warp cycles per issued instruction for %s" % (role_path,
                                                                                  variant))
            numbers.append(("paGemmBfStalls%sCycles" % version_name(variant),
                            "%.1f" % states[variant]["cycles"],
                            "%s: %s, warp cycles per issued instruction" % (role_name, variant)))
        for reason, macro in (("Membar", "Membar"), ("GMMA", "Gmma"), ("Barrier", "Barrier")):
            value = states["v17_bf16_cluster_pair"]["stalls"].get(reason)
            if value is None:
                common.fail("%s: no Stall %s for v17" % (role_path, reason))
            numbers.append(("paGemmBfStallsVSeventeen" + macro, "%.1f" % value,
                            "%s: v17_bf16_cluster_pair, Stall %s, cycles per issued instruction"
                            % (role_name, reason)))
        membar = states["v15_bf16_warp_specialized"]["stalls"].get("Membar", 0.0)
        numbers.append(("paGemmBfStallsVFifteenMembar", "%.1f" % membar,
                        "%s: v15_bf16_warp_specialized, Stall Membar, cycles per issued "
                        "instruction" % role_name))
        sources.append(recorded.source(role_path, entry["commit"], device))
    # v18's first timing (where recorded: a printed table only): v18 against v15 in that run at
    # the shapes where it split tiles, and the most time it added.
    if "gemm_bf16_ladder_v18_first" in roles:
        _, entry, role_path = recorded.manifest_entry(args.results, "gemm_bf16_ladder_v18_first")
        printed = read_printed_ladder(role_path)
        role_name = os.path.basename(role_path)
        added = []
        for shape, name in [((1024, 1024, 1024), "OneK"), ((4096, 4096, 4096), "FourK"),
                            ((8192, 8192, 8192), "EightK"), ((8192, 768, 768), "AttnProj")]:
            for variant in ("v15_bf16_warp_specialized", "v18_bf16_stream_k"):
                if (variant, shape) not in printed:
                    common.fail("%s: no %s row at %dx%dx%d" % (role_path, variant, *shape))
                numbers.append(("paGemmBfStreamKFirst%sRatio%s" % (version_name(variant), name),
                                "%.2f" % printed[(variant, shape)]["ratio"],
                                "%s: %s ratio at %dx%dx%d" % (role_name, variant, *shape)))
        for (variant, shape), row in printed.items():
            if variant == "v18_bf16_stream_k" and ("v15_bf16_warp_specialized", shape) in printed:
                added.append(1000 * (row["ms"] - printed[("v15_bf16_warp_specialized",
                                                          shape)]["ms"]))
        numbers.append(("paGemmBfStreamKFirstAddedUsMax", "%.0f" % max(added),
                        "%s: largest v18 ms - v15 ms over the shapes, microseconds" % role_name))
        sources.append(recorded.source(role_path, entry["commit"], device))
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                          NAME + "_numbers.tex"], sources)


def read_printed_ladder(path):
    """gemm_ladder's printed table: {(variant, (m, n, k)): {"ms", "ratio"}}."""
    rows = {}
    pattern = re.compile(r"^(\d+)x(\d+)x(\d+)\s+(\S+)\s+([\d.]+) ms\s+[\d.]+ GFLOP/s\s+ratio ([\d.]+)")
    with open(path) as f:
        for line in f:
            match = pattern.match(line)
            if match:
                shape = tuple(int(match.group(i)) for i in (1, 2, 3))
                rows[(match.group(4), shape)] = {"ms": float(match.group(5)),
                                                 "ratio": float(match.group(6))}
    if not rows:
        common.fail("%s: no rows of gemm_ladder's table" % path)
    return rows


def read_warp_states(path):
    """Per variant, from Nsight Compute's Warp State Statistics section: warp cycles per issued
    instruction ("cycles") and each "Stall X" row (cycles per issued instruction) by X."""
    states, current = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("  void "):
                current = ncu_kernel(line, path, states)
                states[current] = {"stalls": {}}
                continue
            if current is None:
                continue
            match = re.match(r"\s+Warp Cycles Per Issued Instruction\s+cycle\s+([\d.]+)", line)
            if match:
                states[current]["cycles"] = float(match.group(1))
            match = re.match(r"\s+Stall ([A-Za-z ]+?)\s+inst\s+([\d.]+)\s*$", line)
            if match:
                states[current]["stalls"][match.group(1)] = float(match.group(2))
    return states


if __name__ == "__main__":
    main()
