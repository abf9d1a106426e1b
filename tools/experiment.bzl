"""experiment_run and analysis: the thesis pipeline as Bazel build actions.

experiment_run runs one experiment binary as a build action: no network, no absolute paths,
a fixed seed (in `flags`) and one thread, writing its metrics.jsonl, summary.json,
provenance.json (and any `extra_outs`) under bazel-bin/<package>/<name>/. Its log goes to
log.txt beside them; a failed run prints it.

analysis runs one script of experiments/analysis on result files (an experiment_run's outputs
or committed results) and declares what the script writes: <script>.pdf and .png (the figure),
<script>_numbers.tex (the number macros), <script>_sources.json (its inputs' provenance) and
any tables.
"""

def experiment_run(name, binary, flags, data = [], extra_outs = []):
    """Runs `binary` with `flags` plus --threads 1 --out <name>/ as a build action."""
    out_dir = "$(RULEDIR)/" + name
    native.genrule(
        name = name,
        # The binary is a src, not a tool: built in the target configuration (the engine's
        # -march and OpenMP flags) and shared with the tests, instead of a second host build.
        srcs = [binary] + data,
        outs = ["%s/%s" % (name, f) for f in
                ["metrics.jsonl", "summary.json", "provenance.json", "log.txt"] + extra_outs],
        # The log is written beside the folder and moved in afterwards: a run refuses an
        # output folder that already holds files (experiments/common/run_folder.h).
        cmd = " ".join([
            "log=$$(mktemp) &&",
            "OMP_NUM_THREADS=1 $(location %s)" % binary,
            " ".join(flags),
            "--threads 1 --out %s > $$log 2>&1" % out_dir,
            "|| { status=$$?; cat $$log; rm -f $$log; exit $$status; };",
            "mv $$log %s/log.txt" % out_dir,
        ]),
        message = "Running experiment %s (thesis configuration)" % name,
    )

def analysis(name, script, inputs, results_dir, tables = [], figures = [], figure = True,
             visibility = None):
    """Runs experiments/analysis/<script>.py --results <results_dir> --out <name>/.

    `results_dir` is a path relative to the execution root ($(RULEDIR) and $(location) expand);
    `tables` are the table names the script writes (<table>_table.tex), `figures` its figures
    beyond <script>.pdf/.png (each as <figure>.pdf and .png); `figure = False` for a script
    that writes no <script>.pdf/.png (tables and numbers only).
    """
    outs = ["%s/%s%s" % (name, script, suffix) for suffix in
            ([".pdf", ".png"] if figure else []) + ["_numbers.tex", "_sources.json"]]
    outs += ["%s/%s_table.tex" % (name, table) for table in tables]
    outs += ["%s/%s.%s" % (name, figure, ext) for figure in figures for ext in ("pdf", "png")]
    native.genrule(
        name = name,
        srcs = inputs,
        outs = outs,
        tools = [
            "//experiments/analysis:run_script.sh",
            "//experiments/analysis:common.py",
            "//experiments/analysis:recorded.py",
            "//experiments/analysis:%s.py" % script,
        ],
        # Python writes no bytecode into the source tree; matplotlib gets a scratch config dir.
        cmd = " ".join([
            "export PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=$$(mktemp -d) && log=$$(mktemp) &&",
            "$(location //experiments/analysis:run_script.sh) %s.py" % script,
            "--results %s --out $(RULEDIR)/%s > $$log 2>&1" % (results_dir, name),
            "|| { status=$$?; cat $$log; exit $$status; }",
        ]),
        message = "Analysis %s" % script,
        visibility = visibility,
    )
