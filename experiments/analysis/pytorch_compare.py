"""The engine and PyTorch on the recorded denoising trajectory: the two loss curves (same
initialisation, batches and Adam steps) and their relative difference per step."""
import matplotlib.pyplot as plt

import common

args = common.parse_args("pytorch_compare", __doc__)
m = common.read_metrics(args.results, ["step", "engine_loss", "pytorch_loss", "rel_diff"])
s = common.read_summary(args.results)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
left.plot(m.step, m.pytorch_loss, "o-", ms=5, color="C1", label="PyTorch %s" % s["torch_version"])
left.plot(m.step, m.engine_loss, "x--", ms=6, color="C0", label="PureAttention")
left.set(xlabel="Adam step", ylabel="MSE", title="Loss curves")
left.legend()
nonzero, equal = m[m.rel_diff > 0], m[m.rel_diff == 0]
right.semilogy(nonzero.step, nonzero.rel_diff, "o", ms=5, label="differs")
if len(equal):
    floor = nonzero.rel_diff.min() / 10 if len(nonzero) else 1e-9
    right.semilogy(equal.step, [floor] * len(equal), "v", ms=6, color="C2",
                   label="bitwise equal (%d steps)" % len(equal))
right.legend()
right.set(xlabel="Adam step", ylabel="|engine - PyTorch| / PyTorch",
          title="Relative difference (max %.1e)" % s["max_rel_loss_diff"])
common.save(fig, args.out, "pytorch_compare")
common.write_numbers(args.out, "pytorch_compare", [
    ("paCompareSteps", "%d" % s["steps"], "summary.json steps"),
    ("paCompareTorchVersion", s["torch_version"], "summary.json torch_version"),
    ("paCompareMaxRelLoss", common.fmt(s["max_rel_loss_diff"], 2), "summary.json max_rel_loss_diff"),
    ("paCompareBitwiseSteps", "%d" % len(equal), "metrics.jsonl rows with rel_diff == 0"),
    ("paCompareMaxParamError", common.fmt(s["max_param_abs_error"], 2),
     "summary.json max_param_abs_error"),
])
common.write_sources(args.out, "pytorch_compare", ["pytorch_compare.pdf"],
                     common.run_inputs(args.results))
