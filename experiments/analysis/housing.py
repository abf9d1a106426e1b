"""California Housing: training and validation loss of the MLP, with the closed-form linear
regression on the same split for reference, and the test RMSE of both."""
import matplotlib.pyplot as plt

import common

args = common.parse_args("housing", __doc__)
m = common.read_metrics(args.results, ["step", "train_loss", "val_loss"])
s = common.read_summary(args.results)

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(m.step, m.train_loss, lw=1, alpha=0.7, label="MLP train")
ax.plot(m.step, m.val_loss, lw=1.5, label="MLP validation")
ax.axhline(s["linear"]["val_mse"], color="k", ls="--", lw=1, label="linear regression validation")
ax.set_yscale("log")
ax.set(xlabel="step", ylabel="MSE (units of $100k squared)",
       title="Test RMSE: MLP %.3f vs linear %.3f ($100k)"
       % (s["mlp"]["test_rmse"], s["linear"]["test_rmse"]))
ax.legend()
common.save(fig, args.out, "housing")
config = common.read_provenance_config(args.results)
mlp, linear = s["mlp"], s["linear"]
common.write_numbers(args.out, "housing", [
    ("paHousingRows", "{:,}".format(s["rows"]), "summary.json rows"),
    ("paHousingImputed", "%d" % s["imputed_total_bedrooms"], "summary.json imputed_total_bedrooms"),
    ("paHousingBedroomsMedian", "%.0f" % s["total_bedrooms_median"],
     "summary.json total_bedrooms_median"),
    ("paHousingTrainRows", "{:,}".format(s["split"]["train"]), "summary.json split.train"),
    ("paHousingValRows", "{:,}".format(s["split"]["val"]), "summary.json split.val"),
    ("paHousingTestRows", "{:,}".format(s["split"]["test"]), "summary.json split.test"),
    ("paHousingSteps", "%d" % config["steps"], "provenance.json config.steps"),
    ("paHousingMlpTestRmse", "%.3f" % mlp["test_rmse"], "summary.json mlp.test_rmse"),
    ("paHousingLinearTestRmse", "%.3f" % linear["test_rmse"], "summary.json linear.test_rmse"),
    ("paHousingMlpValRmse", "%.3f" % mlp["val_rmse"], "summary.json mlp.val_rmse"),
    ("paHousingLinearValRmse", "%.3f" % linear["val_rmse"], "summary.json linear.val_rmse"),
    ("paHousingRmseGainPercent", "%.0f" % (100 * (1 - mlp["test_rmse"] / linear["test_rmse"])),
     "summary.json 1 - mlp.test_rmse / linear.test_rmse"),
    ("paHousingBestValStep", "%d" % mlp["best_val_step"], "summary.json mlp.best_val_step"),
])
common.write_sources(args.out, "housing", ["housing.pdf"], common.run_inputs(args.results))
