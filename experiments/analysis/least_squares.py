"""Least-squares convergence: the loss against the closed-form optimum, and the distance of the
learned W, b from the closed-form solution (thesis figure 4.1)."""
import matplotlib.pyplot as plt

import common

args = common.parse_args("least_squares", __doc__)
m = common.read_metrics(args.results, ["step", "loss", "closed_form_loss", "weight_max_abs_diff",
                                       "bias_max_abs_diff"])
s = common.read_summary(args.results)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
left.plot(m.step, m.loss, label="Adam (engine)")
left.axhline(s["closed_form_loss"], color="k", ls="--", lw=1, label="closed form (Eigen)")
left.set_yscale("log")
left.set(xlabel="step", ylabel="MSE on the batch", title="Loss")
left.legend()
right.plot(m.step, m.weight_max_abs_diff, label="max |W - W*|")
right.plot(m.step, m.bias_max_abs_diff, label="max |b - b*|")
right.axhline(s["tolerance"], color="gray", ls=":", lw=1, label="tolerance")
right.set_yscale("log")
right.set(xlabel="step", ylabel="distance", title="Distance to the least-squares solution")
right.legend()
fig.suptitle("Least squares: final max |W - W*| = %.1e" % s["weight_max_abs_diff"], y=1.03)
common.save(fig, args.out, "least_squares")
config = common.read_provenance_config(args.results)
common.write_numbers(args.out, "least_squares", [
    ("paLsqSteps", "%d" % m.step.iloc[-1], "metrics.jsonl last step"),
    ("paLsqWeightDiff", common.fmt(s["weight_max_abs_diff"], 2), "summary.json weight_max_abs_diff"),
    ("paLsqBiasDiff", common.fmt(s["bias_max_abs_diff"], 2), "summary.json bias_max_abs_diff"),
    ("paLsqFinalLoss", common.fmt(s["final_loss"], 4), "summary.json final_loss"),
    ("paLsqClosedFormLoss", common.fmt(s["closed_form_loss"], 4), "summary.json closed_form_loss"),
    ("paLsqTolerance", common.fmt(s["tolerance"], 2), "summary.json tolerance"),
    ("paLsqInputs", "%d" % config["inputs"], "provenance.json config.inputs"),
    ("paLsqOutputs", "%d" % config["outputs"], "provenance.json config.outputs"),
])
common.write_sources(args.out, "least_squares", ["least_squares.pdf"], common.run_inputs(args.results))
