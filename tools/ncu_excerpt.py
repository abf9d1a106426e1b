#!/usr/bin/python3
"""The curated excerpt of Nsight Compute's printed details (ncu -i REPORT --page details
--print-details all): for each file given, every kernel's name line, its GPU Speed Of Light
Throughput table and its Warp State Statistics section, verbatim, under a header that says what
was run. results/gpu/h100/gemm_bf16_ncu_stalls_4096.txt has this form; tools/gpu_gemm_bf16.sh
run leaves details_0.txt (v15) and details_2.txt (v17) in its archive.

  tools/ncu_excerpt.py --header HEADER.txt details_0.txt details_2.txt > EXCERPT.txt

HEADER.txt holds the comment lines (each starting with '#') that name the device, the commit,
the command and the date; the excerpt refuses a header without them, a details file without a
kernel, and a kernel without either section."""
import argparse
import sys

SECTIONS = ("Section: GPU Speed Of Light Throughput", "Section: Warp State Statistics")


def section(lines, title, path):
    """The section `title` of one kernel's lines, up to the next section; the Speed Of Light
    section only up to its first table's end (the charts that follow are left out)."""
    starts = [i for i, line in enumerate(lines) if line.strip() == title]
    if len(starts) != 1:
        sys.exit("ncu_excerpt: %s: %d %r sections in a kernel, expected 1" % (path, len(starts),
                                                                               title))
    end = starts[0] + 1
    while end < len(lines) and not lines[end].startswith("    Section:"):
        end += 1
    body = lines[starts[0]:end]
    if title == SECTIONS[0]:
        last = [i for i, line in enumerate(body) if "Compute (SM) Throughput" in line]
        if not last:
            sys.exit("ncu_excerpt: %s: no Compute (SM) Throughput row" % path)
        body = body[:last[0] + 2]
    while body and not body[-1].strip():
        body.pop()
    return [line.rstrip() for line in body]


def excerpt(path):
    with open(path) as f:
        lines = f.read().split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("  void ")]
    if not starts:
        sys.exit("ncu_excerpt: %s: no kernel (no line starting with '  void ')" % path)
    out = []
    for n, start in enumerate(starts):
        kernel = lines[start:starts[n + 1] if n + 1 < len(starts) else len(lines)]
        out += ["", kernel[0].rstrip()]
        out += section(kernel, SECTIONS[0], path)
        out += [""] + section(kernel, SECTIONS[1], path)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--header", required=True, help="the comment lines that head the excerpt")
    parser.add_argument("details", nargs="+", help="ncu --page details --print-details all output")
    args = parser.parse_args()
    with open(args.header) as f:
        header = [line.rstrip() for line in f if line.strip()]
    if not header or any(not line.startswith("#") for line in header):
        sys.exit("ncu_excerpt: %s: the header must be comment lines starting with '#'"
                 % args.header)
    out = header[:]
    for path in args.details:
        out += excerpt(path)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
