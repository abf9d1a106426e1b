"""Hardening results recorded on the development machine (results/cpu/): the fuzz campaign
(fuzz_campaign.jsonl, fuzz/run_all.sh: one row per libFuzzer target) and the kill-and-resume
stress run (crash_stress.jsonl, tools/crash_stress.sh) -> hardening_table.tex (the campaign per
target), number macros and sources. No figure."""
import os

import common
import recorded

NAME = "hardening"


def read_jsonl(path, required):
    """The rows of `path` (recorded.read_jsonl), each with every key of `required`."""
    if not os.path.isfile(path):
        common.fail("%s not found (results/cpu/README.md says how it is made)" % path)
    rows = recorded.read_jsonl(path)
    for row in rows:
        missing = [k for k in required if k not in row]
        if missing:
            common.fail("%s:%d lacks %s" % (path, row["_line"], ", ".join(missing)))
    return rows


def campaign_commits(path, rows):
    """The commits the campaign's rows name, in row order (the targets may run in rounds, at
    successive commits); each target once."""
    targets = [r["target"] for r in rows]
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        common.fail("%s: targets %s appear twice; keep one campaign" % (path, repeated))
    commits = []
    for row in rows:
        if row["commit"] not in commits:
            commits.append(row["commit"])
    return commits


def table(rows, commits):
    lines = [
        r"\begin{table}[!htb]",
        r"\centering\small",
        r"\caption{The fuzz campaign (\texttt{fuzz/run\_all.sh}, results/cpu/fuzz\_campaign.jsonl "
        r"at %s): every libFuzzer target for the same wall time, at most %d at once on the "
        r"2-core development machine (clang-14, AddressSanitizer and UndefinedBehaviorSanitizer); "
        r"CPU seconds are what each target got of the two cores. Coverage is libFuzzer's last "
        r"count of edges (cov) and features (ft).}" % (", ".join(c[:7] for c in commits),
                                                       max(r["parallel_targets"] for r in rows)),
        r"\label{tab:hardening}",
        r"\begin{tabular}{@{}lrrrrrrr@{}}",
        r"\toprule",
        r"target & wall s & CPU s & executions & exec/s & cov & ft & findings \\",
        r"\midrule",
    ]
    for row in rows:
        lines.append("%s & %s & %s & %s & %s & %s & %s & %s \\\\" % (
            common.tex_escape(row["target"]), "%.0f" % row["wall_s"], "%.0f" % row["cpu_s"],
            "{:,}".format(row["executions"] or 0).replace(",", "\\,"),
            "{:,}".format(row["exec_per_second"] or 0).replace(",", "\\,"),
            row["cov"], row["ft"], "none" if row["finding"] is None else "1"))
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def main():
    args = common.parse_args("cpu", __doc__)  # default --results: results/cpu
    campaign_path = os.path.join(args.results, "fuzz_campaign.jsonl")
    stress_path = os.path.join(args.results, "crash_stress.jsonl")
    campaign = read_jsonl(campaign_path, ["target", "seconds", "exit_code", "wall_s", "cpu_s",
                                          "parallel_targets", "executions", "exec_per_second",
                                          "cov", "ft", "finding", "commit", "cpu"])
    stress = read_jsonl(stress_path, ["kills", "attempts", "resumed", "torn_checkpoints",
                                      "temporary_files_left_by_kills",
                                      "identical_to_uninterrupted", "commit", "cpu"])[-1]
    commits = campaign_commits(campaign_path, campaign)
    common.write_table(args.out, NAME, table(campaign, commits))
    parallel = max(r["parallel_targets"] for r in campaign)

    findings = sum(1 for r in campaign if r["finding"] is not None)
    seconds = {r["seconds"] for r in campaign}
    if len(seconds) != 1:
        common.fail("%s: targets ran for different times %s" % (campaign_path, sorted(seconds)))
    executions = sum(r["executions"] or 0 for r in campaign)
    numbers = [
        ("paFuzzTargets", "%d" % len(campaign), "fuzz_campaign.jsonl: rows"),
        ("paFuzzMinutes", "%d" % (seconds.pop() // 60), "fuzz_campaign.jsonl: seconds / 60"),
        ("paFuzzParallel", "%d" % parallel, "fuzz_campaign.jsonl: largest parallel_targets"),
        ("paFuzzCpuSecondsMin", "%.0f" % min(r["cpu_s"] for r in campaign),
         "fuzz_campaign.jsonl: smallest cpu_s"),
        ("paFuzzExecutions", "%.1f million" % (executions / 1e6),
         "fuzz_campaign.jsonl: sum of executions"),
        ("paFuzzFindings", "%d" % findings, "fuzz_campaign.jsonl: rows with a finding"),
        ("paFuzzCommit", ", ".join(c[:7] for c in commits), "fuzz_campaign.jsonl: commits"),
        ("paStressKills", "%d" % stress["kills"], "crash_stress.jsonl: kills"),
        ("paStressAttempts", "%d" % stress["attempts"], "crash_stress.jsonl: attempts"),
        ("paStressResumed", "%d" % stress["resumed"], "crash_stress.jsonl: resumed"),
        ("paStressTorn", "%d" % stress["torn_checkpoints"], "crash_stress.jsonl: torn_checkpoints"),
        ("paStressTemporaries", "%d" % stress["temporary_files_left_by_kills"],
         "crash_stress.jsonl: temporary_files_left_by_kills"),
        ("paStressIdentical", "yes" if stress["identical_to_uninterrupted"] else "no",
         "crash_stress.jsonl: identical_to_uninterrupted"),
        ("paStressCommit", stress["commit"][:7], "crash_stress.jsonl: commit"),
    ]
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + "_table.tex", NAME + "_numbers.tex"], [
        {"path": campaign_path, "label": "results/cpu/fuzz_campaign.jsonl", "commit": commits[-1],
         "device": campaign[0]["cpu"]},
        {"path": stress_path, "label": "results/cpu/crash_stress.jsonl",
         "commit": stress["commit"], "device": stress["cpu"]},
    ])


if __name__ == "__main__":
    main()
