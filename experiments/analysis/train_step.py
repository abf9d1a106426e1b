"""The denoising training step, ours against PyTorch on each device: the GPU run recorded in
results/gpu/<device>/ (found through manifest.json, PyTorch eager on the same GPU) and the CPU
run in results/cpu/cpu_bench.jsonl (PyTorch on the same 2-core machine). Median of the rounds,
every round shown; a table, the number macros and the sources."""
import argparse
import math
import os
import re

import matplotlib.pyplot as plt

import common
import recorded

NAME = "train_step"

recorded.use_figure_style()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results",
                        default=os.path.join(common.WORKSPACE, "results", "gpu", "h100"),
                        help="the recorded GPU folder (default: results/gpu/h100)")
    parser.add_argument("--cpu-results", default=os.path.join(common.WORKSPACE, "results", "cpu"),
                        help="the CPU benchmark folder (default: results/cpu)")
    parser.add_argument("--out", default=os.path.join(common.WORKSPACE, "results", "figures"),
                        help="where the outputs go (default: results/figures)")
    args = parser.parse_args()
    for field in ("results", "cpu_results", "out"):
        setattr(args, field, os.path.join(common.CALLER_DIR, getattr(args, field)))
    return args


def step_rows(path, rows):
    """The ours and PyTorch train_step rows of a file: {variant: row}, checked."""
    found = {}
    for row in rows:
        if row.get("op") != "train_step":
            continue
        variant = recorded.get(path, row, "variant", str)
        if variant in found:
            common.fail("%s:%d: two %s train_step rows" % (path, row["_line"], variant))
        recorded.get(path, row, "ms")
        recorded.get(path, row, "shape", str)
        rounds = recorded.get(path, row, "ms_rounds", list)
        if not rounds or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                 and math.isfinite(x) and x > 0 for x in rounds):
            common.fail("%s:%d: ms_rounds %r is not a list of positive times"
                        % (path, row["_line"], rounds))
        if len(rounds) % 2 == 0 or row["ms"] != sorted(rounds)[len(rounds) // 2]:
            common.fail("%s:%d: ms %g is not the median of the rounds %s"
                        % (path, row["_line"], row["ms"], rounds))
        found[variant] = row
    for variant in ("ours", "pytorch"):
        if variant not in found:
            common.fail("%s has no train_step row of variant %r" % (path, variant))
    ours, torch = found["ours"], found["pytorch"]
    recorded.get(path, ours, "ratio")
    recorded.get(path, torch, "torch_version", str)
    if ours["shape"] != torch["shape"]:
        common.fail("%s: ours ran %s, PyTorch %s" % (path, ours["shape"], torch["shape"]))
    if abs(ours["ratio"] - torch["ms"] / ours["ms"]) > 1e-6 * ours["ratio"]:
        common.fail("%s:%d: ratio %g, but PyTorch ms / ours ms = %g"
                    % (path, ours["_line"], ours["ratio"], torch["ms"] / ours["ms"]))
    if len(ours["ms_rounds"]) != len(torch["ms_rounds"]):
        common.fail("%s: %d rounds of ours, %d of PyTorch" % (path, len(ours["ms_rounds"]),
                                                              len(torch["ms_rounds"])))
    return ours, torch


def main():
    args = parse_args()
    manifest, entry, gpu_path = recorded.manifest_entry(args.results, "train_step")
    gpu_rows = recorded.read_jsonl(gpu_path)
    gpu_ours, gpu_torch = step_rows(gpu_path, gpu_rows)
    device = manifest["device"]
    # The rows say device "cuda"; PyTorch's row names the GPU it ran on.
    if recorded.get(gpu_path, gpu_torch, "torch_device", str) != device:
        common.fail("%s:%d: torch_device %r, but manifest.json says %r"
                    % (gpu_path, gpu_torch["_line"], gpu_torch["torch_device"], device))
    gpu_commit = recorded.source_commit(gpu_path, gpu_rows, entry)

    cpu_path = os.path.join(args.cpu_results, "cpu_bench.jsonl")
    if not os.path.isfile(cpu_path):
        common.fail("%s not found: --cpu-results must hold cpu_bench.jsonl (results/cpu/)"
                    % cpu_path)
    cpu_rows = recorded.read_jsonl(cpu_path)
    cpu_ours, cpu_torch = step_rows(cpu_path, cpu_rows)
    cpu_commits = {str(r.get("commit")) for r in cpu_rows}
    if len(cpu_commits) != 1 or not re.fullmatch(r"[0-9a-f]{7,40}", str(next(iter(cpu_commits)))):
        common.fail("%s: expected one commit in every row, found %s"
                    % (cpu_path, sorted(cpu_commits)))
    cpu_commit = cpu_commits.pop()
    cpu_devices = {str(r.get("device")) for r in cpu_rows}
    if len(cpu_devices) != 1:
        common.fail("%s: rows from several devices %s" % (cpu_path, sorted(map(str, cpu_devices))))
    cpu_device = cpu_devices.pop()
    environment = [r for r in cpu_rows if r.get("op") == "environment"]
    cpu_kernel = environment[0].get("openblas_kernel") if environment else None

    runs = [  # (macro stem, title, ours row, PyTorch row, file, commit)
        ("Cpu", "CPU (%s threads)" % recorded.get(cpu_path, cpu_ours, "threads", int), cpu_ours, cpu_torch,
         cpu_path, cpu_commit),
        ("Gpu", device, gpu_ours, gpu_torch, gpu_path, gpu_commit),
    ]

    # ---- figure ----------------------------------------------------------------------------------
    fig, axes = plt.subplots(1, 2, figsize=(6.2, 3.0))
    for ax, (_, title, ours, torch, path, commit) in zip(axes, runs):
        labels = ["ours", "PyTorch %s" % torch["torch_version"]]
        for x, (row, colour) in enumerate(((ours, "#b2182b"), (torch, "#4d4d4d"))):
            ax.bar(x, row["ms"], width=0.6, color=colour, alpha=0.85,
                   label="median of %d rounds" % len(row["ms_rounds"]) if x == 0 else None)
            ax.plot([x] * len(row["ms_rounds"]), row["ms_rounds"], "o", ms=4.5, mfc="white",
                    mec="black", mew=1.0, label="each round" if x == 0 else None)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(labels)
        ax.set_xlim(-0.6, 1.6)
        ax.set_ylim(0, 1.15 * max(ours["ms_rounds"] + torch["ms_rounds"]))
        ax.set_ylabel("ms per training step")
        ax.set_title("%s, commit %s\nPyTorch ms / ours = %.2f" % (title, commit[:7],
                                                                   ours["ratio"]))
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(loc="upper left", framealpha=0.95)
    fig.tight_layout()
    common.save(fig, args.out, NAME)

    # ---- table -----------------------------------------------------------------------------------
    def ms_text(value):
        return "%.0f" % value if value >= 100 else "%#.3g" % value

    lines = ["\\begin{tabular}{llrrr}", "\\toprule",
             "device & PyTorch & ours ms & PyTorch ms & PyTorch / ours \\\\", "\\midrule"]
    for _, title, ours, torch, _, _ in runs:
        lines.append("%s & %s & %s (%s--%s) & %s (%s--%s) & %.2f \\\\" % (
            common.tex_escape(title.replace("NVIDIA ", "")),
            common.tex_escape(torch["torch_version"]),
            ms_text(ours["ms"]), ms_text(min(ours["ms_rounds"])), ms_text(max(ours["ms_rounds"])),
            ms_text(torch["ms"]), ms_text(min(torch["ms_rounds"])),
            ms_text(max(torch["ms_rounds"])), ours["ratio"]))
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    common.write_table(args.out, NAME, "\n".join(lines))

    # ---- numbers ---------------------------------------------------------------------------------
    if cpu_ours["shape"] != gpu_ours["shape"]:
        common.fail("the CPU run (%s) and the GPU run (%s) timed different models"
                    % (cpu_ours["shape"], gpu_ours["shape"]))
    numbers = [("paTrainShape", gpu_ours["shape"], "%s shape" % os.path.basename(gpu_path)),
               ("paTrainGpuDevice", device, "%s torch_device" % os.path.basename(gpu_path))]
    if cpu_kernel:
        numbers.append(("paTrainCpuOpenblasKernel", cpu_kernel,
                        "%s environment row: openblas_kernel" % os.path.basename(cpu_path)))
    for stem, _, ours, torch, path, commit in runs:
        file_name = os.path.basename(path)
        base = "paTrain" + stem
        paired = [t / o for o, t in zip(ours["ms_rounds"], torch["ms_rounds"])]
        numbers += [
            (base + "Commit", commit[:7], "%s commit" % file_name),
            (base + "Threads", "%d" % recorded.get(path, ours, "threads", int), "%s threads" % file_name),
            (base + "TorchVersion", torch["torch_version"], "%s torch_version" % file_name),
            (base + "OursMs", ms_text(ours["ms"]), "%s: ours ms (median round)" % file_name),
            (base + "TorchMs", ms_text(torch["ms"]), "%s: pytorch ms (median round)" % file_name),
            (base + "Ratio", "%.2f" % ours["ratio"], "%s: ours ratio (PyTorch ms / ours ms)"
             % file_name),
            (base + "OursMsMin", ms_text(min(ours["ms_rounds"])), "%s: ours fastest round"
             % file_name),
            (base + "OursMsMax", ms_text(max(ours["ms_rounds"])), "%s: ours slowest round"
             % file_name),
            (base + "TorchMsMin", ms_text(min(torch["ms_rounds"])), "%s: pytorch fastest round"
             % file_name),
            (base + "TorchMsMax", ms_text(max(torch["ms_rounds"])), "%s: pytorch slowest round"
             % file_name),
            (base + "Rounds", "%d" % len(ours["ms_rounds"]), "%s: rounds per side" % file_name),
            (base + "RatioRoundMin", "%.2f" % min(paired),
             "%s: lowest PyTorch / ours of rounds paired in order" % file_name),
            (base + "RatioRoundMax", "%.2f" % max(paired),
             "%s: highest PyTorch / ours of rounds paired in order" % file_name),
        ]
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + ".pdf", NAME + ".png", NAME + "_table.tex",
                                          NAME + "_numbers.tex"],
                         [recorded.source(gpu_path, gpu_commit, device),
                          recorded.source(cpu_path, cpu_commit, cpu_device)])


if __name__ == "__main__":
    main()
