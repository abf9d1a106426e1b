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
