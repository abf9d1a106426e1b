"""One training step of the denoising Transformer in PyTorch, timed: the anchor of cpu_bench's
training-step row (CPU) and of train_step_bench's (--device cuda: PyTorch eager on the GPU, each
step timed to a torch.cuda.synchronize()). Same model as experiments/denoising (post-norm
nn.TransformerEncoder + Linear head, dropout 0), same shapes, Adam, MSE on random signals.

Usage: /usr/bin/python3 torch_step.py --d-model 32 --nhead 4 --ff 64 --layers 2 --batch 32
       --seq-len 32 --threads 2 --steps 30
Prints one JSON object: {"torch_version", "threads", "ms_median", "ms_all"}.
"""
import argparse
import json
import time

import torch
from torch import nn

parser = argparse.ArgumentParser(description=__doc__)
for name, default in (("d-model", 32), ("nhead", 4), ("ff", 64), ("layers", 2), ("batch", 32),
                      ("seq-len", 32), ("threads", 1), ("steps", 30), ("warmup", 5)):
    parser.add_argument("--" + name, type=int, default=default)
parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


class DenoisingTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(args.d_model, args.nhead, args.ff, dropout=0.0,
                                           batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, args.layers, enable_nested_tensor=False)
        self.head = nn.Linear(args.d_model, args.d_model)

    def forward(self, x):
        return self.head(self.encoder(x))


model = DenoisingTransformer().to(args.device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x = (torch.rand(args.batch, args.seq_len, args.d_model) - 0.5).to(args.device)
y = torch.sin(x)


def synchronize():
    if args.device == "cuda":
        torch.cuda.synchronize()


times = []
for step in range(args.warmup + args.steps):
    synchronize()
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    synchronize()
    elapsed = (time.perf_counter() - start) * 1e3
    if step >= args.warmup:
        times.append(elapsed)
times.sort()
print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(),
                  "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
                  "ms_median": times[len(times) // 2], "ms_all": times}))
