"""The bad-input table: bad_input.jsonl (//experiments:bad_input_run, experiments/bad_input.py)
-> bad_input_table.tex (a longtable grouped by reader, program and op family), number macros
and sources. The flag rows of the programs are merged where every program answers the same
(the program's name written as <tool>); messages are cut to MESSAGE_CHARS with an ellipsis.
"""
import json
import os
import re
from collections import OrderedDict

import common

NAME = "bad_input"
MESSAGE_CHARS = 100


def read_rows(results):
    path = os.path.join(results, "bad_input.jsonl")
    if not os.path.isfile(path):
        common.fail("%s not found: build //experiments:bad_input_run first" % path)
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except ValueError as error:
                common.fail("%s:%d: not JSON (%s)" % (path, number, error))
            missing = [k for k in ("family", "input", "exit_code", "expected", "message", "ok")
                       if k not in row]
            if missing:
                common.fail("%s:%d lacks %s" % (path, number, ", ".join(missing)))
            rows.append(row)
    if not rows:
        common.fail("%s has no rows" % path)
    return path, rows


def merged(rows):
    """Groups rows by family in file order; the programs' flag rows become one group, where the
    rows that differ only in the program's name are one row listing the programs."""
    groups = OrderedDict()
    flag_rows = OrderedDict()
    for row in rows:
        if row["family"].startswith("flags: "):
            tool = row["family"][len("flags: "):]
            message = re.sub(r"\b%s\b" % re.escape(tool), "<tool>", row["message"])
            key = (row["input"], str(row["exit_code"]), message)
            entry = flag_rows.setdefault(key, dict(row, message=message, tools=[]))
            entry["tools"].append(tool)
            entry["ok"] = entry["ok"] and row["ok"]
            groups.setdefault("flags: every program", None)
        else:
            groups.setdefault(row["family"], []).append(row)
    all_tools = []
    for entry in flag_rows.values():
        all_tools += [t for t in entry["tools"] if t not in all_tools]
    flag_list = []
    for entry in flag_rows.values():
        if len(entry["tools"]) < len(all_tools):
            entry["input"] += " (%s)" % ", ".join(entry["tools"])
        flag_list.append(entry)
    groups["flags: every program"] = flag_list
    return groups, all_tools


def tex(text):
    """TeX-escaped, with "--" kept as two hyphens (not an en dash): flags read as typed."""
    return common.tex_escape(text).replace("--", "-{}-")


def cut(text):
    """The message for a table cell, TeX-escaped: at most MESSAGE_CHARS characters, a longer
    one ending in an ellipsis."""
    text = re.sub(r"\$TMP/(?:[^/' ]+/)*", "", text)  # a file by its name, not its scratch folder
    if len(text) <= MESSAGE_CHARS:
        return tex(text)
    return tex(text[: MESSAGE_CHARS - 3].rstrip()) + r"\ldots"


def table(groups, tools):
    lines = [
        r"{\footnotesize",
        r"\setlength{\tabcolsep}{3pt}",
        r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.33\textwidth}"
        r">{\raggedright\arraybackslash}p{0.07\textwidth}"
        r">{\raggedright\arraybackslash}p{0.57\textwidth}@{}}",
        r"\caption{Every bad input the build tries (\texttt{//experiments:bad\_input\_run}) and "
        r"what the user gets: the exit code of the program (\texttt{pa::Error} for a call "
        r"through the C++ API) and the first line of the message, cut at %d characters. "
        r"\texttt{<tool>} stands for the program's name in the flag rows shared by all %d "
        r"programs (%s); files are named without the run's scratch folder. $\dagger$: a known "
        r"shortcoming (section~\ref{sec:val-bad-input}).}\label{tab:bad_input}\\"
        % (MESSAGE_CHARS, len(tools), common.tex_escape(", ".join(tools))),
        r"\toprule",
        r"what was tried & exit & first line of the message \\",
        r"\midrule",
        r"\endfirsthead",
        r"\toprule",
        r"what was tried & exit & first line of the message \\",
        r"\midrule",
        r"\endhead",
        r"\bottomrule",
        r"\endfoot",
    ]
    first = True
    for family, rows in groups.items():
        if not first:
            lines.append(r"\addlinespace")
        first = False
        lines.append(r"\multicolumn{3}{@{}l}{\textbf{%s}} \\*" % tex(family))
        for row in rows:
            mark = r"$^\dagger$" if row.get("known_issue") else ""
            exit_code = str(row["exit_code"])
            exit_code = {"pa::Error": "error", "no error": "none"}.get(exit_code, exit_code)
            lines.append("%s%s & %s & %s \\\\" % (
                tex(row["input"]), mark, tex(exit_code),
                cut(row["message"])))
    lines += [r"\end{longtable}", "}"]
    return "\n".join(lines) + "\n"


def main():
    args = common.parse_args("bad_input", "The bad-input table: bad_input.jsonl -> LaTeX")
    path, rows = read_rows(args.results)
    groups, tools = merged(rows)
    common.write_table(args.out, NAME, table(groups, tools))

    file_name = os.path.basename(path)
    known = [r for r in rows if r.get("known_issue")]
    not_ok = [r for r in rows if not r["ok"]]
    unexpected = [r for r in not_ok if not r.get("known_issue")]
    codes = [str(r["exit_code"]) for r in rows]
    families = {r["family"] for r in rows}
    numbers = [
        ("paBadInputTries", "%d" % len(rows), "%s: rows" % file_name),
        ("paBadInputTablerows", "%d" % sum(len(g) for g in groups.values()),
         "%s: rows of the table once the shared flag rows are merged" % file_name),
        ("paBadInputFamilies", "%d" % len(families), "%s: distinct families" % file_name),
        ("paBadInputTools", "%d" % len(tools), "%s: programs whose flags were tried" % file_name),
        ("paBadInputFileTries", "%d" % sum(1 for r in rows if r["family"].split(":")[0] in
                                           ("reader", "checkpoint", "data", "golden case")),
         "%s: rows of the reader, checkpoint, data and golden-case families" % file_name),
        ("paBadInputFlagTries", "%d" % sum(1 for r in rows if r["family"].startswith("flags:")),
         "%s: rows of the flags families" % file_name),
        ("paBadInputOpTries", "%d" % sum(1 for r in rows if r["family"].startswith("op:")),
         "%s: rows of the op families" % file_name),
        ("paBadInputExitOne", "%d" % codes.count("1"), "%s: exit_code 1" % file_name),
        ("paBadInputExitTwo", "%d" % codes.count("2"), "%s: exit_code 2" % file_name),
        ("paBadInputExitZero", "%d" % codes.count("0"), "%s: exit_code 0" % file_name),
        ("paBadInputApiErrors", "%d" % codes.count("pa::Error"),
         "%s: exit_code pa::Error" % file_name),
        ("paBadInputAccepted", "%d" % codes.count("no error"),
         "%s: exit_code no error (legal input)" % file_name),
        ("paBadInputCrashes", "%d" % sum(1 for c in codes if c == "timeout" or
                                         c.startswith("signal") or c.startswith("-")),
         "%s: exit_code timeout or signal" % file_name),
        ("paBadInputAsExpected", "%d" % (len(rows) - len(not_ok)), "%s: ok rows" % file_name),
        ("paBadInputKnownIssues", "%d" % len(known), "%s: rows with a known_issue" % file_name),
        ("paBadInputUnexpected", "%d" % len(unexpected),
         "%s: rows not ok and not a known issue" % file_name),
        ("paBadInputLongestMessage", "%d" % max(len(r["message"]) for r in rows),
         "%s: longest first line of a message (characters)" % file_name),
        ("paBadInputMessageChars", "%d" % MESSAGE_CHARS, "bad_input.py: table cut"),
    ]
    common.write_numbers(args.out, NAME, numbers)
    common.write_sources(args.out, NAME, [NAME + "_table.tex", NAME + "_numbers.tex"],
                         [{"path": path, "label": "bad_input_run/" + file_name,
                           "commit": "build", "device": "CPU (the build machine)"}])


if __name__ == "__main__":
    main()
