"""PyTorch SDPA timings: the anchors of //cuda/bench:attention_bench, measured in the same run.

For each (B, H, N, D) shape, causal and not, and each requested backend, times the forward and
the backward (torch.autograd.grad of the output with a fixed upstream gradient) with CUDA events:
a warm-up, then the median of --repeats. Prints one JSON object per line; a backend that cannot
run a case (e.g. flash in fp32) prints its error instead of timings.

Usage: python3 torch_attention.py --shapes 4,48,4096,64 16,16,1024,64 --dtype fp32
       --backends efficient [--repeats 10]
"""
import argparse
import json

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention

BACKENDS = {"efficient": SDPBackend.EFFICIENT_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--shapes", nargs="+", required=True, help="B,H,N,D ...")
parser.add_argument("--dtype", choices=DTYPES, default="fp32")
parser.add_argument("--backends", default="efficient")
parser.add_argument("--repeats", type=int, default=10)
args = parser.parse_args()
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def median_ms(run):
    run()  # warm-up
    times = []
    for _ in range(args.repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


for text in args.shapes:
    B, H, N, D = (int(v) for v in text.split(","))
    generator = torch.Generator(device="cuda").manual_seed(0)
    make = lambda: torch.rand(B, H, N, D, device="cuda", dtype=DTYPES[args.dtype],
                              generator=generator).mul_(2).sub_(1).requires_grad_(True)
    q, k, v = make(), make(), make()
    dout = torch.rand(B, H, N, D, device="cuda", dtype=DTYPES[args.dtype], generator=generator)
    for causal in (False, True):
        for name in args.backends.split(","):
            row = {"backend": name, "dtype": args.dtype, "B": B, "H": H, "N": N, "D": D,
                   "causal": causal, "torch_version": torch.__version__}
            try:
                with sdpa_kernel(BACKENDS[name]):
                    forward = lambda: scaled_dot_product_attention(q, k, v, is_causal=causal)
                    row["fwd_ms"] = median_ms(forward)
                    out = forward()
                    row["bwd_ms"] = median_ms(
                        lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True))
                    del out
            except RuntimeError as error:
                row["error"] = str(error).splitlines()[0][:200]
            print(json.dumps(row), flush=True)
