"""Sine inversion: the baseline (constant learning rate, no clipping) and the fixed run
(warmup + cosine schedule and gradient clipping) from the same initialisations, one line per
seed, with the 0.5 = E[sin^2] plateau marked."""
import matplotlib.pyplot as plt

import common

args = common.parse_args("sine_inversion", __doc__)
m = common.read_metrics(args.results, ["run", "seed", "step", "loss"])
s = common.read_summary(args.results)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, run, title in zip(axes, ("baseline", "fixed"),
                          ("Constant learning rate", "Schedule + clipping (the fix)")):
    for seed, rows in m[m.run == run].groupby("seed"):
        ax.plot(rows.step, rows.loss, lw=1.2, label="seed %d" % seed)
    ax.axhline(s["plateau"], color="k", ls="--", lw=1, label="0.5 = E[sin^2]")
    ax.set_yscale("log")
    r = s[run]
    ax.set(xlabel="step", title="%s\n%d of %d seeds escaped (< %g), %d ended on the plateau"
           % (title, r["escaped"], len(r["seeds"]), s["escaped_below"], r["ended_on_plateau"]))
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
axes[0].set_ylabel("MSE")
common.save(fig, args.out, "sine_inversion")
config = common.read_provenance_config(args.results)
words = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]
numbers = [
    ("paSineSteps", "%d" % config["common"]["steps"], "provenance.json config.common.steps"),
    ("paSineLr", common.fmt(config["common"]["lr"]), "provenance.json config.common.lr"),
    ("paSineSeeds", "%d" % len(s["baseline"]["seeds"]), "summary.json baseline.seeds"),
    ("paSineEscapedBelow", common.fmt(s["escaped_below"]), "summary.json escaped_below"),
    ("paSinePlateau", common.fmt(s["plateau"]), "summary.json plateau"),
]
for run, prefix in (("baseline", "paSineBase"), ("fixed", "paSineFix")):
    r = s[run]
    numbers += [(prefix + "Escaped", "%d" % r["escaped"], "summary.json %s.escaped" % run),
                (prefix + "EndedOnPlateau", "%d" % r["ended_on_plateau"],
                 "summary.json %s.ended_on_plateau" % run),
                (prefix + "BestFinal", common.fmt(min(x["final_loss"] for x in r["seeds"]), 2),
                 "summary.json min %s.seeds[].final_loss" % run),
                (prefix + "WorstFinal", common.fmt(max(x["final_loss"] for x in r["seeds"]), 2),
                 "summary.json max %s.seeds[].final_loss" % run)]
    for i, seed in enumerate(r["seeds"]):
        where = "summary.json %s.seeds[%d]" % (run, i)
        numbers += [(prefix + "Final" + words[i], common.fmt(seed["final_loss"], 2), where + ".final_loss"),
                    (prefix + "Best" + words[i], common.fmt(seed["best_loss"], 2), where + ".best_loss"),
                    (prefix + "PlateauSteps" + words[i], "%d" % seed["plateau_steps"],
                     where + ".plateau_steps")]
common.write_numbers(args.out, "sine_inversion", numbers)
common.write_sources(args.out, "sine_inversion", ["sine_inversion.pdf"],
                     common.run_inputs(args.results))
