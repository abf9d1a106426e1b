"""The bad-input table: every reader, tool and op family given bad input, and what the user gets.

Crafts bad files in a scratch folder (truncated, wrong magic, a header whose shape overflows
int64, a negative size, a size far beyond the file, a wrong dtype, a missing file, a checksum
mismatch, NaN in the data), runs each program on them and on bad flags, runs
bad_input_probe for the op families and the readers without a program of their own, and writes
one JSON row per try:

  {"family", "input", "exit_code", "expected", "message", "ok", "problems"}

exit_code is the program's exit status (or the probe's outcome, "pa::Error" / "no error", for a
call through the C++ API); message is the first line the user sees (stderr; stdout for --help,
and for a call that succeeds, what it returned), with the scratch folder written as $TMP and the
working directory left out, so the rows do not depend on where the build ran. A row is ok when
the exit code is the expected one (1 a run or file error, 2 a bad flag or value, 0 --help;
"pa::Error" for a bad API call), the message names the program or the op and is at most
--max-message characters, and nothing hangs (each run has a time limit).

  bad_input.py --bin denoising=PATH ... --probe PATH --housing-csv PATH --golden-case PATH
               --out bad_input.jsonl [--check]

--check exits 1 when any row is not ok (the test, //experiments:bad_input_test); without it the
rows are written either way (the build action, //experiments:bad_input_run, which the thesis
table is made from) and the exit status is 0.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

TIMEOUT_S = 120

# Rows whose behaviour is known to fall short, with why: reported in the table and by the test,
# which fails only on a row that is not ok and not listed here, or on a listed row that has
# become ok (then drop it from this list).
KNOWN = {
}
HUGE = 1 << 40  # (2^40, 2^40): 2^80 elements, beyond int64

# What each program is, and which of its flags stand for the kinds of value a flag can take
# (None: the program has no such flag).
TOOLS = {
    # name: (integer flag, real flag, seed flag, has --device, has --d-model)
    "denoising": ("--steps", "--lr", "--seed", True, True),
    "housing": ("--steps", "--lr", "--seed", True, False),
    "least_squares": ("--steps", "--lr", "--seed", True, False),
    "sine_inversion": ("--steps", "--lr", "--seed", True, True),
    "pytorch_compare": ("--steps", "--lr", "--seed", True, False),
    "train_step_bench": ("--steps", None, None, True, False),
    "cpu_bench": ("--sizes", None, None, False, False),
    "check_golden": (None, "--rtol", None, True, False),
}


# ---- crafted files -------------------------------------------------------------------------

def safetensors_bytes(header, data=b"", header_len=None):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    length = len(text) if header_len is None else header_len
    return struct.pack("<Q", length) + text + data


def tensor_entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def npy_bytes(descr, shape, data, magic=b"\x93NUMPY"):
    shape_text = "(%s)" % "".join("%d, " % s for s in shape) if len(shape) != 1 else "(%d,)" % shape[0]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return magic + b"\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def write(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def safetensors_cases(folder, good_path, tensor_name="x"):
    """The bad safetensors files every safetensors reader is given: (what was tried, path,
    expected outcome). `good_path` is a valid file of that reader, truncated for one case."""
    with open(good_path, "rb") as f:
        good = f.read()
    one = {tensor_name: tensor_entry("F32", [2, 3], 0, 24)}
    cases = [
        ("empty file (0 bytes)", write(folder, "empty.safetensors", b"")),
        ("truncated: the first half of a valid file",
         write(folder, "truncated.safetensors", good[: len(good) // 2])),
        ("not the format: a text file", write(folder, "text.safetensors", b"hello, world\n" * 8)),
        ("header length 2^60, far beyond the file",
         write(folder, "header_len.safetensors", safetensors_bytes(one, bytes(24), 1 << 60))),
        ("header shape (2^40, 2^40): element count overflows int64",
         write(folder, "overflow.safetensors", safetensors_bytes(
             {tensor_name: tensor_entry("F32", [HUGE, HUGE], 0, 24)}, bytes(24)))),
        ("negative size in the shape (-1, 3)",
         write(folder, "negative.safetensors", safetensors_bytes(
             {tensor_name: tensor_entry("F32", [-1, 3], 0, 24)}, bytes(24)))),
        ("data offsets far beyond the file (shape (1000000, 3))",
         write(folder, "beyond.safetensors", safetensors_bytes(
             {tensor_name: tensor_entry("F32", [1000000, 3], 0, 12000000)}, bytes(24)))),
        ("unknown dtype \"Q7\"",
         write(folder, "dtype.safetensors", safetensors_bytes(
             {tensor_name: tensor_entry("Q7", [2, 3], 0, 24)}, bytes(24)))),
        ("header that is not JSON",
         write(folder, "json.safetensors", struct.pack("<Q", 16) + b"{not json}      ")),
        ("missing file", os.path.join(folder, "no_such.safetensors")),
    ]
    return cases


def npy_cases(folder):
    good = npy_bytes("<f4", [2, 3], floats([1, 2, 3, 4, 5, 6]))
    return [
        ("empty file (0 bytes)", write(folder, "empty.npy", b""), "pa::Error"),
        ("truncated: the first half of a valid file",
         write(folder, "truncated.npy", good[: len(good) // 2]), "pa::Error"),
        ("wrong magic", write(folder, "magic.npy", npy_bytes("<f4", [2, 3], bytes(24),
                                                              magic=b"\x93NUMPZ")), "pa::Error"),
        ("header shape (2^40, 2^40): element count overflows int64",
         write(folder, "overflow.npy", npy_bytes("<f4", [HUGE, HUGE], bytes(24))), "pa::Error"),
        ("negative size in the shape (-1, 3)",
         write(folder, "negative.npy", npy_bytes("<f4", [-1, 3], bytes(24))), "pa::Error"),
        ("shape (1000000, 3): data far beyond the file",
         write(folder, "beyond.npy", npy_bytes("<f4", [1000000, 3], bytes(24))), "pa::Error"),
        ("unsupported dtype complex64 ('<c8')",
         write(folder, "dtype.npy", npy_bytes("<c8", [2, 3], bytes(48))), "pa::Error"),
        ("big-endian float32 ('>f4')",
         write(folder, "endian.npy", npy_bytes(">f4", [2, 3], bytes(24))), "pa::Error"),
        ("missing file", os.path.join(folder, "no_such.npy"), "pa::Error"),
        ("NaN in the data (legal: loaded as is)",
         write(folder, "nan.npy", npy_bytes("<f4", [2, 3], floats([float("nan")] + [1] * 5))),
         "no error"),
    ]


# ---- running things ------------------------------------------------------------------------

class Recorder:
    def __init__(self, tmp, max_message):
        self.tmp = tmp
        self.max_message = max_message
        self.rows = []
        self.cwd = os.getcwd()

    def clean(self, text):
        """No machine-specific paths: the scratch folder as $TMP, the working directory and
        Bazel's output folders left out."""
        for root in sorted({self.tmp, os.path.realpath(self.tmp)}, key=len, reverse=True):
            text = text.replace(root, "$TMP")
        for root in sorted({self.cwd, os.path.realpath(self.cwd)}, key=len, reverse=True):
            text = text.replace(root + "/", "")
        return re.sub(r"bazel-out/[^/ ]+/bin/", "", text)

    def add(self, family, tried, code, expected, message, names):
        message = self.clean(message.strip())
        problems = []
        if code != expected:
            problems.append("exit %s, expected %s" % (code, expected))
        if len(message) > self.max_message:
            problems.append("message longer than %d characters" % self.max_message)
        if names and not any(name in message for name in names):
            problems.append("message names none of %s" % ", ".join(names))
        if "NaN" in tried and code == "no error" and "propagated" not in message \
                and "NaN kept" not in message:
            problems.append("the NaN was dropped")
        tried = self.clean(tried)
        self.rows.append({"family": family, "input": tried, "exit_code": code,
                          "expected": expected, "message": message, "ok": not problems,
                          "problems": problems, "known_issue": KNOWN.get((family, tried), "")})

    def run(self, family, tried, argv, expected, names, cwd=None):
        """Runs a program; the message is the first non-empty line of stderr (of stdout for an
        exit 0), and must name one of `names` (the program, or the flag tried)."""
        env = dict(os.environ, OMP_NUM_THREADS="1")
        try:
            done = subprocess.run(argv, cwd=cwd or self.tmp, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT_S)
            code = done.returncode if done.returncode >= 0 else "signal %d" % -done.returncode
            stream = done.stdout if code == 0 else done.stderr
            lines = [l for l in stream.decode(errors="replace").splitlines() if l.strip()]
            if code == 0 and expected == 0:
                # --help: the usage line, which names the program.
                usage = [l for l in lines if l.startswith("Usage:") or l.startswith("usage:")]
                lines = usage or lines
            message = lines[0] if lines else "(nothing printed)"
        except subprocess.TimeoutExpired:
            code, message = "timeout", "(no answer within %d s)" % TIMEOUT_S
        self.add(family, tried, code, expected, message, names)

    def probe(self, probe, family, tried, argv, expected):
        """One call through the C++ API (bad_input_probe); the message must name the op
        ("pa::..."), unless the call is expected to succeed."""
        done = subprocess.run([probe] + argv, cwd=self.tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
        if done.returncode != 0:
            self.add(family, tried, done.returncode, expected,
                     done.stderr.decode(errors="replace"), ["pa::"])
            return
        for line in done.stdout.decode().splitlines():
            row = json.loads(line)
            message = (row["message"].splitlines() or [""])[0]
            self.add(family or row["family"], tried or row["input"], row["outcome"],
                     expected or row["expect"], message,
                     ["pa::"] if (expected or row["expect"]) == "pa::Error" else [])


def flag_rows(rec, name, path):
    integer, real, seed, device, d_model = TOOLS[name]
    family = "flags: " + name
    out = ["--out", os.path.join(rec.tmp, "unused", name)] if name != "check_golden" else []
    golden = ["--case", rec.golden] if name == "check_golden" else []
    base = [path] + golden

    def bad(tried, args, flag):
        rec.run(family, tried, base + args + out, 2, [name])
        # The message must also name the flag (or the argument) it is about.
        if flag and flag not in rec.rows[-1]["message"]:
            rec.rows[-1]["problems"].append("message does not name %s" % flag)
            rec.rows[-1]["ok"] = False

    def seed_rows():
        bad("%s -1 (a negative seed)" % seed, [seed, "-1"], seed)
        bad("%s 99999999999999999999 (beyond uint64)" % seed, [seed, "99999999999999999999"],
            seed)

    rec.run(family, "--help", [path, "--help"], 0, [name])
    bad("unknown flag --bogus", ["--bogus"], "--bogus")
    if integer:
        bad("%s abc (not a number)" % integer, [integer, "abc"], integer)
        bad("%s 1.5 (a fraction for an integer)" % integer, [integer, "1.5"], integer)
        bad("%s 99999999999999999999 (beyond int64)" % integer,
            [integer, "99999999999999999999"], integer)
        bad("%s -3 (negative)" % integer, [integer, "-3"], integer)
    if seed:
        seed_rows()
    if real:
        bad("%s nan" % real, [real, "nan"], real)
        bad("%s inf" % real, [real, "inf"], real)
    if device:
        bad("--device cuda (this build has no CUDA)", ["--device", "cuda"], "--device")
        bad("--device tpu", ["--device", "tpu"], "--device")
    if d_model:
        bad("--d-model 1073741824 (2^30: sizes beyond memory)", ["--d-model", "1073741824"],
            "--d-model")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", action="append", default=[], metavar="NAME=PATH",
                        help="a program of the table (every one in TOOLS is needed)")
    parser.add_argument("--probe", required=True, help="the bad_input_probe binary")
    parser.add_argument("--housing-csv", required=True, help="data/california_housing.csv")
    parser.add_argument("--golden-case", required=True, help="a valid golden case file")
    parser.add_argument("--out", required=True, help="the JSONL file to write")
    # User data is quoted at most 200 characters (engine/core/error.h); a message holds at most
    # two such quotes besides its own text.
    parser.add_argument("--max-message", type=int, default=600)
    parser.add_argument("--check", action="store_true", help="exit 1 when a row is not ok")
    args = parser.parse_args()
    bins = dict(entry.split("=", 1) for entry in args.bin)
    missing = sorted(set(TOOLS) - set(bins))
    if missing:
        parser.error("no --bin for %s" % ", ".join(missing))
    bins = {name: os.path.abspath(path) for name, path in bins.items()}
    probe = os.path.abspath(args.probe)
    csv = os.path.abspath(args.housing_csv)

    tmp = tempfile.mkdtemp(prefix="bad_input.")
    try:
        rec = Recorder(tmp, args.max_message)
        rec.golden = os.path.abspath(args.golden_case)
        run_all(rec, bins, probe, csv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rec.rows)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    bad = [row for row in rec.rows if not row["ok"] and not row["known_issue"]]
    known = [row for row in rec.rows if not row["ok"] and row["known_issue"]]
    stale = [row for row in rec.rows if row["ok"] and row["known_issue"]]
    for label, rows in (("NOT OK", bad), ("KNOWN", known), ("FIXED (drop from KNOWN)", stale)):
        for row in rows:
            print("%s: %s | %s -> %s: %s (%s)" % (label, row["family"], row["input"],
                                                  row["exit_code"], row["message"],
                                                  "; ".join(row["problems"]) or "ok"))
    print("bad_input: %d tries, %d as expected, %d known issues, written to %s"
          % (len(rec.rows), len(rec.rows) - len(bad) - len(known), len(known), args.out))
    if args.check and (bad or stale):
        sys.exit(1)


def run_all(rec, bins, probe, csv):
    tmp = rec.tmp

    # ---- readers through the C++ API: .npy, safetensors, weights, checkpoints ----
    folder = os.path.join(tmp, "npy")
    os.makedirs(folder)
    for tried, path, expected in npy_cases(folder):
        rec.probe(probe, "reader: .npy (io::load_npy)", tried, ["read", "npy", path], expected)

    folder = os.path.join(tmp, "safetensors")
    os.makedirs(folder)
    good = write(folder, "good.safetensors",
                 safetensors_bytes({"x": tensor_entry("F32", [2, 3], 0, 24)},
                                   floats([1, 2, 3, 4, 5, 6])))
    for tried, path in safetensors_cases(folder, good):
        rec.probe(probe, "reader: safetensors (io::load_safetensors)", tried,
                  ["read", "safetensors", path], "pa::Error")
    rec.probe(probe, "reader: safetensors (io::load_safetensors)",
              "NaN in the data (legal: loaded as is)",
              ["read", "safetensors", write(folder, "nan.safetensors", safetensors_bytes(
                  {"x": tensor_entry("F32", [2, 3], 0, 24)},
                  floats([float("nan")] + [1] * 5)))], "no error")

    folder = os.path.join(tmp, "weights")
    os.makedirs(folder)
    weights_family = "reader: weights (train::load_weights)"
    for tried, path in safetensors_cases(folder, good, "linear1.weight"):
        rec.probe(probe, weights_family, tried, ["read", "weights", path], "pa::Error")
    rec.probe(probe, weights_family, "a valid safetensors file with none of the model's names",
              ["read", "weights", good], "pa::Error")
    rec.probe(probe, weights_family, "linear1.weight stored as int64",
              ["read", "weights", write(folder, "int64.safetensors", safetensors_bytes(
                  {"linear1.weight": tensor_entry("I64", [24, 12], 0, 24 * 12 * 8)},
                  bytes(24 * 12 * 8)))], "pa::Error")

    # ---- checkpoints through `denoising --resume` ----
    small = ["--steps", "3", "--warmup", "1", "--d-model", "8", "--nhead", "2", "--ff", "16", "--layers", "1",
             "--batch", "2", "--seq-len", "4", "--eval-batch", "2", "--predictions", "0",
             "--log-every", "1", "--threads", "1"]
    denoising = bins["denoising"]
    run_dir = os.path.join(tmp, "run")
    rec.run("run folder: denoising --out", "a short run that writes a checkpoint (must work)",
            [denoising] + small + ["--checkpoint-every", "1", "--out", run_dir], 0,
            ["denoising", "results"])
    checkpoint = os.path.join(run_dir, "checkpoint.safetensors")
    folder = os.path.join(tmp, "checkpoints")
    os.makedirs(folder)
    if os.path.isfile(checkpoint):
        for index, (tried, path) in enumerate(safetensors_cases(folder, checkpoint, "model.x")):
            copy = os.path.join(tmp, "resume%d" % index)
            shutil.copytree(run_dir, copy)
            os.remove(os.path.join(copy, "checkpoint.safetensors"))
            if os.path.exists(path):
                shutil.copy(path, os.path.join(copy, "checkpoint.safetensors"))
            rec.run("checkpoint: denoising --resume", tried.replace("missing file", "no checkpoint in the run folder"),
                    [denoising] + small + ["--checkpoint-every", "1", "--resume", "--out", copy], 1,
                    ["denoising"])
        copy = os.path.join(tmp, "resume_flags")
        shutil.copytree(run_dir, copy)
        rec.run("checkpoint: denoising --resume", "a valid checkpoint of a run with other flags "
                "(--d-model 16)", [denoising] + small[:4] + ["--d-model", "16"] + small[6:] +
                ["--checkpoint-every", "1", "--resume", "--out", copy], 1, ["denoising"])
        other = os.path.join(tmp, "resume_other")
        subprocess.run([bins["least_squares"], "--steps", "3", "--warmup", "1", "--threads", "1",
                        "--checkpoint-every", "1", "--out", other], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT_S)
        rec.run("checkpoint: denoising --resume", "a valid checkpoint of another experiment "
                "(the folder of a least_squares run)",
                [denoising] + small + ["--checkpoint-every", "1", "--resume", "--out", other], 1,
                ["least_squares"])
        rec.probe(probe, "checkpoint: train::load_checkpoint",
                  "a denoising checkpoint loaded into another model (Linear 4->3)",
                  ["read", "checkpoint", checkpoint], "pa::Error")
        rec.probe(probe, "checkpoint: train::load_checkpoint",
                  "a safetensors file that is not a checkpoint", ["read", "checkpoint", good],
                  "pa::Error")

    # ---- run folders ----
    family = "run folder: denoising --out"
    a_file = write(tmp, "a_file", b"not a folder\n")
    rec.run(family, "--out naming a file", [denoising] + small + ["--out", a_file], 1,
            ["denoising"])
    rec.run(family, "--overwrite and --resume together",
            [denoising] + small + ["--overwrite", "--resume", "--out", os.path.join(tmp, "o")],
            2, ["denoising"])
    rec.run(family, "--resume of a folder that does not exist",
            [denoising] + small + ["--resume", "--out", os.path.join(tmp, "nowhere")], 1,
            ["denoising"])
    rec.run(family, "--out of a finished run again, without --overwrite or --resume",
            [denoising] + small + ["--out", run_dir], 1, ["denoising"])
    rec.run(family, "--out below a file ($TMP/a_file/sub)",
            [denoising] + small + ["--out", os.path.join(a_file, "sub")], 1, ["denoising"])

    # ---- the housing CSV through `housing --data` ----
    with open(csv, "rb") as f:
        good_csv = f.read()
    housing = bins["housing"]
    quick = ["--steps", "1", "--threads", "1", "--seed", "0"]
    family = "data: housing --data (CSV)"
    folder = os.path.join(tmp, "csv")
    os.makedirs(folder)
    lines = good_csv.split(b"\n")
    changed = bytearray(good_csv)
    changed[-10] = ord("7") if changed[-10] != ord("7") else ord("8")
    cases = [
        ("missing file", os.path.join(folder, "no_such.csv"), 2, []),
        ("checksum mismatch: one digit changed", write(folder, "changed.csv", bytes(changed)), 1,
         []),
        ("empty file", write(folder, "empty.csv", b""), 1, ["--no-checksum"]),
        ("truncated in the middle of a row",
         write(folder, "truncated.csv", good_csv[: len(good_csv) // 2]), 1, ["--no-checksum"]),
        ("not the format: binary bytes", write(folder, "binary.csv", bytes(range(256)) * 4), 1,
         ["--no-checksum"]),
        ("wrong header (a column renamed)",
         write(folder, "header.csv", good_csv.replace(b"median_income", b"income", 1)), 1,
         ["--no-checksum"]),
        ("a number cell holding text (line 3)",
         write(folder, "text.csv", b"\n".join(lines[:2] + [lines[2].replace(b"37.86", b"abc", 1)]
                                              + lines[3:])), 1, ["--no-checksum"]),
        ("NaN in a number cell (line 3)",
         write(folder, "nan.csv", b"\n".join(lines[:2] + [lines[2].replace(b"37.86", b"nan", 1)]
                                             + lines[3:])), 1, ["--no-checksum"]),
        ("a row with one cell too few (line 3)",
         write(folder, "short.csv", b"\n".join(lines[:2] + [lines[2].split(b",", 1)[1]]
                                               + lines[3:])), 1, ["--no-checksum"]),
        ("unknown ocean_proximity category (line 2)",
         write(folder, "category.csv", good_csv.replace(b"NEAR BAY", b"ON MARS", 1)), 1,
         ["--no-checksum"]),
    ]
    for index, (tried, path, expected, extra) in enumerate(cases):
        rec.run(family, tried + (" (with --no-checksum)" if extra else ""),
                [housing] + quick + extra + ["--data", path, "--out",
                                             os.path.join(tmp, "housing%d" % index)],
                expected, ["housing"])
    rec.probe(probe, "reader: CSV (io::read_csv)", "missing file",
              ["read", "csv", os.path.join(folder, "no_such.csv")], "pa::Error")
    rec.probe(probe, "reader: CSV (io::read_csv)", "a quoted cell never closed",
              ["read", "csv", write(folder, "quote.csv", b"a,b\n1,\"2\n3,4\n")], "pa::Error")

    # ---- golden cases: `check_golden --case` treats a bad case file as a bad flag value (2);
    # pytorch_compare only a missing one (2), a case it cannot use is a run error (1) ----
    check_golden = bins["check_golden"]
    folder = os.path.join(tmp, "golden")
    os.makedirs(folder)
    for tried, path in safetensors_cases(folder, rec.golden):
        rec.run("golden case: check_golden --case", tried, [check_golden, "--case", path], 2,
                ["check_golden"])
    rec.run("golden case: check_golden --case", "a valid safetensors file that is not a case",
            [check_golden, "--case", good], 2, ["check_golden"])
    rec.run("golden case: pytorch_compare --case", "a golden case that is not a trajectory",
            [bins["pytorch_compare"], "--case", rec.golden, "--out", os.path.join(tmp, "pc")], 1,
            ["pytorch_compare"])
    rec.run("golden case: pytorch_compare --case", "truncated: the first half of a valid file",
            [bins["pytorch_compare"], "--case", os.path.join(folder, "truncated.safetensors"),
             "--out", os.path.join(tmp, "pc2")], 1, ["pytorch_compare"])
    rec.run("golden case: pytorch_compare --case", "missing file",
            [bins["pytorch_compare"], "--case", os.path.join(folder, "no_such.safetensors"),
             "--out", os.path.join(tmp, "pc3")], 2, ["pytorch_compare"])

    # ---- every program's flags ----
    for name in TOOLS:
        flag_rows(rec, name, bins[name])
    rec.run("flags: check_golden", "no --case (a required flag)", [check_golden], 2,
            ["check_golden"])

    # ---- op families through the C++ API ----
    rec.probe(probe, None, None, ["ops"], None)


if __name__ == "__main__":
    main()
