"""Denoising: the training and held-out loss next to the copy-the-input floor (1/12), and
example predictions on held-out signals (noisy input, clean target, prediction)."""
import os

import matplotlib.pyplot as plt
import numpy as np

import common

args = common.parse_args("denoising", __doc__)
m = common.read_metrics(args.results, ["step", "train_loss", "eval_loss"])
s = common.read_summary(args.results)
predictions = os.path.join(args.results, "predictions")
try:
    noisy, clean, predicted = (np.load(os.path.join(predictions, n + ".npy"))
                               for n in ("noisy", "clean", "predicted"))
except OSError as error:
    common.fail("cannot read the predictions in %s: %s" % (predictions, error))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(m.step, m.train_loss, lw=1, alpha=0.6, label="train batch")
left.plot(m.step, m.eval_loss, lw=1.5, label="held-out signals")
left.axhline(s["copy_floor"], color="k", ls="--", lw=1, label="copy the input (1/12)")
left.set_yscale("log")
left.set(xlabel="step", ylabel="MSE", title="Loss: final %.4f = %.2f x the copy floor"
         % (s["final_eval_loss"], s["ratio_to_floor"]))
left.legend()

# One held-out sequence, channel 0, over the positions s.
example = 0
steps = np.arange(noisy.shape[1])
right.plot(steps, noisy[example, :, 0], ".", color="gray", label="noisy input")
right.plot(steps, clean[example, :, 0], "k-", lw=1.5, label="clean target")
right.plot(steps, predicted[example, :, 0], "-", color="C3", lw=1.5, label="prediction")
right.set(xlabel="position s (channel e = 0)", ylabel="signal", title="A held-out sequence")
right.legend()
common.save(fig, args.out, "denoising")
config = common.read_provenance_config(args.results)
model = config["model"]
common.write_numbers(args.out, "denoising", [
    ("paDenoisingSteps", "%d" % config["common"]["steps"], "provenance.json config.common.steps"),
    ("paDenoisingLayers", "%d" % model["layers"], "provenance.json config.model.layers"),
    ("paDenoisingDModel", "%d" % model["d_model"], "provenance.json config.model.d_model"),
    ("paDenoisingHeads", "%d" % model["nhead"], "provenance.json config.model.nhead"),
    ("paDenoisingParameters", "{:,}".format(s["parameters"]), "summary.json parameters"),
    ("paDenoisingFinalMse", common.fmt(s["final_eval_loss"], 2), "summary.json final_eval_loss"),
    ("paDenoisingBestMse", common.fmt(s["best_eval_loss"], 2), "summary.json best_eval_loss"),
    ("paDenoisingCopyFloor", common.fmt(s["copy_floor"], 3), "summary.json copy_floor"),
    ("paDenoisingFloorFactor", "%.0f" % (1 / s["ratio_to_floor"]),
     "summary.json 1 / ratio_to_floor"),
])
common.write_sources(args.out, "denoising", ["denoising.pdf"],
                     common.run_inputs(args.results, ("metrics.jsonl", "summary.json",
                                                      "predictions/noisy.npy",
                                                      "predictions/clean.npy",
                                                      "predictions/predicted.npy")))
