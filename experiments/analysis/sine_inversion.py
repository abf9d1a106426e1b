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
