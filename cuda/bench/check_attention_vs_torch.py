"""Our bf16 FlashAttention-2 kernels against PyTorch SDPA in bf16, on the GPU machine.

Runs the attention_dump binary (cuda/bench/attention_dump.cc: our kernels on random bf16 cases,
inputs and outputs written to --work), then recomputes every case twice on the same GPU:
PyTorch's scaled_dot_product_attention in bf16 (the backend PyTorch picks for the mask), and a
float64 reference (scores, softmax and products in float64 from the same bf16 inputs). For each
tensor (out, and dq, dk, dv when the dump has them) it reports the error of ours and of PyTorch
against the float64 reference, max |x - ref| / max |ref|, and the case passes when ours is no
worse than twice PyTorch's own bf16 error plus 1e-3 (the bf16 rounding of one output element
alone is up to 2^-9 of it); the rows also hold max |ours - PyTorch| / max |PyTorch|. lse (base
2, fp32) must be within 1e-3 of the reference.

Usage: python3 check_attention_vs_torch.py --dump .gpu/attention_dump --work /tmp/attn
       [--dims 32,64,128] [--out FILE.jsonl] [--commit SHA]
Exit status 1 when a case fails, 2 when the dump fails.
"""
import argparse
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import torch
from torch.nn.functional import scaled_dot_product_attention

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--dump", required=True, help="the attention_dump binary")
parser.add_argument("--work", required=True, help="a scratch folder for the dumped cases")
parser.add_argument("--dims", default="32,64,128", help="head dims, comma separated")
parser.add_argument("--out", help="write one JSON row per case here")
parser.add_argument("--commit", default="", help="recorded in every row")
args = parser.parse_args()
torch.backends.cuda.matmul.allow_tf32 = False

dump = subprocess.run([args.dump, "--dir", args.work, "--dims", args.dims])
if dump.returncode != 0:
    sys.exit(2)
work = pathlib.Path(args.work)


def load(path, shape, dtype):
    raw = np.fromfile(path, dtype=np.int16 if dtype == torch.bfloat16 else np.float32)
    tensor = torch.from_numpy(raw).cuda()
    return (tensor.view(torch.bfloat16) if dtype == torch.bfloat16 else tensor).reshape(shape)


def relative_error(x, ref):
    """max |x - ref| / max |ref|; the absolute max |x| where ref is all zeros (one key: dq, dk)."""
    scale = ref.double().abs().max().item()
    diff = (x.double() - ref.double()).abs().max().item()
    return diff / scale if scale > 0 else diff


device = torch.cuda.get_device_name()
rows, failures = [], 0
print(f"{device}, torch {torch.__version__}")
print(f"{'case':9} {'B,H,Nq,Nk,D':20} causal pad  tensor  ours       torch      verdict")
for line in (work / "cases.jsonl").read_text().splitlines():
    case = json.loads(line)
    B, H, Nq, Nk, D = (case[key] for key in ("B", "H", "Nq", "Nk", "D"))
    folder = work / case["name"]
    q, k, v, dout = (load(folder / f"{name}.bf16", (B, H, n, D), torch.bfloat16)
                     for name, n in (("q", Nq), ("k", Nk), ("v", Nk), ("dout", Nq)))
    visible = torch.ones(B, 1, Nq, Nk, dtype=torch.bool, device="cuda")
    if case["padding"]:
        padding = load(folder / "padding.f32", (B, Nk), torch.float32)
        visible &= (padding == 0).view(B, 1, 1, Nk)
    if case["causal"]:
        visible &= torch.ones(Nq, Nk, dtype=torch.bool, device="cuda").tril()
    grads = [name for name in ("dq", "dk", "dv") if (folder / f"{name}.bf16").exists()]

    # The float64 reference.
    q64, k64, v64 = (x.double().requires_grad_(True) for x in (q, k, v))
    scores = (q64 @ k64.transpose(-1, -2) * case["scale"]).masked_fill(~visible, -math.inf)
    ref = {"lse": torch.logsumexp(scores, -1) / math.log(2)}
    ref["out"] = torch.softmax(scores, -1) @ v64
    if grads:
        ref["dq"], ref["dk"], ref["dv"] = torch.autograd.grad(ref["out"], (q64, k64, v64),
                                                              dout.double())
    del scores

    # PyTorch SDPA in bf16.
    qt, kt, vt = (x.clone().requires_grad_(True) for x in (q, k, v))
    mask = visible if case["padding"] else None
    torch_out = scaled_dot_product_attention(qt, kt, vt, attn_mask=mask,
                                             is_causal=case["causal"] and mask is None,
                                             scale=case["scale"])
    theirs = {"out": torch_out}
    if grads:
        theirs["dq"], theirs["dk"], theirs["dv"] = torch.autograd.grad(torch_out, (qt, kt, vt),
                                                                       dout)

    ours = {"out": load(folder / "out.bf16", (B, H, Nq, D), torch.bfloat16)}
    for name, n in (("dq", Nq), ("dk", Nk), ("dv", Nk)):
        if name in grads:
            ours[name] = load(folder / f"{name}.bf16", (B, H, n, D), torch.bfloat16)
    lse = load(folder / "lse.f32", (B, H, Nq), torch.float32)
    row = dict(case, device=device, torch_version=torch.__version__, commit=args.commit,
               lse_abs_error=(lse.double() - ref["lse"]).abs().max().item())
    passed = row["lse_abs_error"] <= 1e-3
    shape = f"{B},{H},{Nq},{Nk},{D}"
    for name in ["out"] + grads:
        mine, other = relative_error(ours[name], ref[name]), relative_error(theirs[name], ref[name])
        ok = mine <= 2 * other + 1e-3 and math.isfinite(mine)
        passed &= ok
        row[f"{name}_error_ours"], row[f"{name}_error_torch"] = mine, other
        row[f"{name}_ours_vs_torch"] = relative_error(ours[name], theirs[name])
        print(f"{case['name']:9} {shape:20} {case['causal']:d}      {case['padding']:d}    "
              f"{name:6}  {mine:.3e}  {other:.3e}  {'ok' if ok else 'FAIL'}")
    print(f"{case['name']:9} {shape:20} {case['causal']:d}      {case['padding']:d}    lse     "
          f"{row['lse_abs_error']:.3e} (abs){'' if row['lse_abs_error'] <= 1e-3 else '  FAIL'}")
    row["passed"] = passed
    failures += not passed
    rows.append(row)
    torch.cuda.empty_cache()

if args.out:
    pathlib.Path(args.out).write_text("".join(json.dumps(row) + "\n" for row in rows))
print(f"{len(rows) - failures} of {len(rows)} cases pass")
sys.exit(1 if failures else 0)
