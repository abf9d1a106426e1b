#!/usr/bin/python3
"""Record PyTorch golden cases for PureAttention as safetensors files.

Each case is one self-contained .safetensors file (all tensors F32, little-endian,
row-major): the input, an optional key padding mask, a random grad_output, every
parameter under its PyTorch state_dict name, and the expected output and gradients of
(output * grad_output).sum().  A training trajectory (20 Adam steps of a small
denoising Transformer) is recorded the same way.  See README.md beside this script for
the exact format.

Usage:
    /usr/bin/python3 reference/pytorch/record_baselines.py [--out DIR] [--only NAME] [--list]

The script is deterministic: running it twice writes byte-identical files.  safetensors
is written and read by the small functions below (no safetensors package needed); every
file is read back after writing and checked (bytes, metadata, and a re-run of the module
from the file's own contents).
"""

import argparse
import copy
import json
import math
import os
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    sys.exit("record_baselines.py needs PyTorch and numpy (%s).\n"
             "On Debian/Ubuntu: apt-get install python3-torch python3-numpy, "
             "then run it with /usr/bin/python3." % e)


# --------------------------------------------------------------------------------------
# safetensors, written and read by hand
# --------------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """tensors: {name: float32 torch tensor}; metadata: {str: str}.

    Layout: u64 LE header length N, N bytes of UTF-8 JSON padded with spaces to a
    multiple of 8, then the data buffer.  Tensors are ordered by name both in the
    header and in the buffer; data_offsets are relative to the buffer start.
    """
    for k, v in metadata.items():
        assert isinstance(k, str) and isinstance(v, str), (k, v)
    names = sorted(tensors)
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in names:
        t = tensors[name]
        assert t.dtype == torch.float32, (name, t.dtype)
        data = np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (tensors {name: float32 torch tensor}, metadata {str: str})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("%s: header length %d runs past the end of the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buf = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError("%s: tensor %s has dtype %s, expected F32" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        shape = info["shape"]
        count = 1
        for d in shape:
            count *= d
        if e - b != 4 * count or e > len(buf) or b < 0:
            raise ValueError("%s: tensor %s has bad data_offsets %s for shape %s" % (path, name, [b, e], shape))
        arr = np.frombuffer(buf, dtype="<f4", count=count, offset=b).reshape(shape)
        tensors[name] = torch.from_numpy(arr.astype(np.float32))
        spans.append((b, e))
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError("%s: data buffer has a gap or overlap at byte %d" % (path, b))
        pos = e
    if pos != len(buf):
        raise ValueError("%s: data buffer has %d trailing bytes" % (path, len(buf) - pos))
    return tensors, metadata


# --------------------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------------------

def layer_cfg(d_model, nhead, ff, activation, norm_first, causal, eps=1e-5):
    return {"d_model": d_model, "nhead": nhead, "dim_feedforward": ff, "dropout": 0.0,
            "activation": activation, "layer_norm_eps": eps, "batch_first": True,
            "norm_first": norm_first, "causal": causal}


def mha_cfg(e, h, causal):
    return {"embed_dim": e, "num_heads": h, "bias": True, "batch_first": True,
            "dropout": 0.0, "causal": causal}


def encoder_cfg(**kw):
    cfg = layer_cfg(**kw)
    cfg["num_layers"] = 2
    cfg["enable_nested_tensor"] = False
    return cfg


# name -> (module, config, batch, seq, pad lengths per sequence or None, seed, description)
CASES = {
    "linear": ("Linear",
               {"in_features": 13, "out_features": 7, "bias": True, "causal": False},
               3, 5, None, 1001,
               "nn.Linear 13->7 with bias on a (3,5,13) input"),
    "layernorm": ("LayerNorm",
                  {"normalized_shape": [12], "eps": 1e-05, "elementwise_affine": True, "causal": False},
                  2, 7, None, 1002,
                  "nn.LayerNorm over the last dim (12) with affine weight and bias"),
    "mha_plain": ("MultiheadAttention", mha_cfg(12, 3, False), 2, 7, None, 1003,
                  "self-attention E=12 H=3, no masks"),
    "mha_causal": ("MultiheadAttention", mha_cfg(20, 4, True), 2, 33, None, 1004,
                   "self-attention E=20 H=4 S=33 with a causal mask (key j > query i hidden)"),
    "mha_key_padding": ("MultiheadAttention", mha_cfg(12, 2, False), 3, 7, [7, 4, 2], 1005,
                        "self-attention E=12 H=2 with key padding at the end (valid lengths 7,4,2)"),
    "encoder_layer_post_relu": ("TransformerEncoderLayer",
                                layer_cfg(12, 2, 24, "relu", False, False), 2, 7, None, 1006,
                                "post-norm encoder layer, relu, no masks"),
    "encoder_layer_post_gelu": ("TransformerEncoderLayer",
                                layer_cfg(20, 4, 36, "gelu", False, True), 2, 33, None, 1007,
                                "post-norm encoder layer, exact (erf) gelu, causal mask, S=33"),
    "encoder_layer_pre_relu": ("TransformerEncoderLayer",
                               layer_cfg(12, 3, 20, "relu", True, False, eps=1e-6), 3, 1, None, 1008,
                               "pre-norm encoder layer, relu, S=1, layer_norm_eps 1e-6"),
    "encoder_layer_pre_gelu": ("TransformerEncoderLayer",
                               layer_cfg(20, 4, 40, "gelu", True, False), 2, 7, [5, 7], 1009,
                               "pre-norm encoder layer, exact (erf) gelu, key padding (valid lengths 5,7)"),
    "encoder_2layer": ("TransformerEncoder",
                       encoder_cfg(d_model=12, nhead=2, ff=24, activation="relu", norm_first=False, causal=True),
                       2, 9, [9, 6], 1010,
                       "2-layer post-norm relu encoder (layers differ), causal mask + key padding (valid lengths 9,6)"),
}

OPTIMIZER_NAMES = ["optim_sgd", "optim_sgd_momentum", "optim_sgd_nesterov", "optim_adam",
                   "optim_adamw", "optim_sgd_clip"]
TRAJECTORY_NAME = "denoising_trajectory"
TRAJECTORY_SEED = 2001
TRAJECTORY_CONFIG = {
    "d_model": 16, "nhead": 2, "dim_feedforward": 32, "num_layers": 2, "activation": "relu",
    "norm_first": False, "layer_norm_eps": 1e-05, "causal": False,
    "batch": 4, "seq_len": 12, "steps": 20, "optimizer": "Adam", "lr": 0.001,
    "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0, "loss": "mse",
}
TRAJECTORY_DESCRIPTION = ("sine denoising: 20 Adam steps of a 2-layer post-norm relu encoder + "
                          "Linear head, MSE(model(noisy), clean), fresh batch per step")

ALL_NAMES = list(CASES) + [TRAJECTORY_NAME] + OPTIMIZER_NAMES


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------

class DenoisingTransformer(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward, num_layers, activation, norm_first, layer_norm_eps):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0, activation=activation,
                                           layer_norm_eps=layer_norm_eps, batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, d_model)

    def forward(self, x):            # x (B, S, E)
        return self.head(self.encoder(x))


def make_layer(c):
    return nn.TransformerEncoderLayer(c["d_model"], c["nhead"], c["dim_feedforward"], dropout=c["dropout"],
                                      activation=c["activation"], layer_norm_eps=c["layer_norm_eps"],
                                      batch_first=c["batch_first"], norm_first=c["norm_first"])


def build_module(module, c):
    if module == "Linear":
        return nn.Linear(c["in_features"], c["out_features"], bias=c["bias"])
    if module == "LayerNorm":
        return nn.LayerNorm(c["normalized_shape"], eps=c["eps"], elementwise_affine=c["elementwise_affine"])
    if module == "MultiheadAttention":
        return nn.MultiheadAttention(c["embed_dim"], c["num_heads"], dropout=c["dropout"], bias=c["bias"],
                                     batch_first=c["batch_first"])
    if module == "TransformerEncoderLayer":
        return make_layer(c)
    if module == "TransformerEncoder":
        return nn.TransformerEncoder(make_layer(c), c["num_layers"],
                                     enable_nested_tensor=c["enable_nested_tensor"])
    if module == "DenoisingTransformer":
        return DenoisingTransformer(c["d_model"], c["nhead"], c["dim_feedforward"], c["num_layers"],
                                    c["activation"], c["norm_first"], c["layer_norm_eps"])
    raise ValueError("unknown module " + module)


def in_features(module, c):
    if module == "Linear":
        return c["in_features"]
    if module == "LayerNorm":
        return c["normalized_shape"][-1]
    if module == "MultiheadAttention":
        return c["embed_dim"]
    return c["d_model"]


def randomise_parameters(model):
    """Give every parameter a random, non-trivial value (in state_dict order), so that
    zero biases / unit LayerNorm weights / identical deep-copied layers cannot hide bugs."""
    owner = {}
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owner[(mname + "." + pname) if mname else pname] = m
    with torch.no_grad():
        for name, p in model.named_parameters():
            if isinstance(owner[name], nn.LayerNorm):
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.1 * torch.randn_like(p))
            elif p.dim() >= 2:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[1]))
            else:
                p.copy_(0.1 * torch.randn_like(p))


def causal_mask(s):
    return torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)  # True = hidden (key j > query i)


def run_module(module, c, model, x, kpm_bool):
    attn = causal_mask(x.shape[1]) if c.get("causal") else None
    if module in ("Linear", "LayerNorm"):
        return model(x)
    if module == "MultiheadAttention":
        return model(x, x, x, key_padding_mask=kpm_bool, attn_mask=attn, need_weights=False)[0]
    if module == "TransformerEncoderLayer":
        return model(x, src_mask=attn, src_key_padding_mask=kpm_bool)
    if module == "TransformerEncoder":
        return model(x, mask=attn, src_key_padding_mask=kpm_bool)
    raise ValueError(module)


def forward_backward(module, c, model, x, kpm_f32, grad_output):
    """Returns (output, grad_input, {name: grad}) of (output * grad_output).sum()."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    kpm_bool = None if kpm_f32 is None else (kpm_f32 != 0)
    out = run_module(module, c, model, x, kpm_bool)
    (out * grad_output).sum().backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return out.detach(), x.grad.detach().clone(), grads


def setup_torch(seed):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(seed)


def state_dict_f32(model):
    sd = model.state_dict()
    names = [n for n, _ in model.named_parameters()]
    assert list(sd) == names, "state_dict has non-parameter entries: %s" % sorted(set(sd) - set(names))
    return {n: t.detach().clone().float().contiguous() for n, t in sd.items()}


def load_params(model, tensors, prefix="param."):
    sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(sd, strict=True)


# --------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------

def record_case(name):
    module, cfg, b, s, pad, seed, desc = CASES[name]
    setup_torch(seed)
    model = build_module(module, cfg)
    randomise_parameters(model)
    model.train()
    params = state_dict_f32(model)
    x = torch.randn(b, s, in_features(module, cfg))
    kpm = None
    if pad is not None:
        assert len(pad) == b and all(1 <= n <= s for n in pad)
        kpm = torch.zeros(b, s)
        for i, n in enumerate(pad):
            kpm[i, n:] = 1.0  # 1.0 = ignore this key; padding only at the end
    with torch.no_grad():
        out_shape = run_module(module, cfg, copy.deepcopy(model), x, None if kpm is None else kpm != 0).shape
    grad_output = torch.randn(out_shape)
    out, gx, gparams = forward_backward(module, cfg, model, x, kpm, grad_output)
    for t in [out, gx] + list(gparams.values()):
        assert torch.isfinite(t).all(), name

    tensors = {"input": x, "grad_output": grad_output,
               "expected.output": out, "expected.grad.input": gx}
    if kpm is not None:
        tensors["key_padding_mask"] = kpm
    for n, p in params.items():
        tensors["param." + n] = p
        tensors["expected.grad.param." + n] = gparams[n]
    metadata = {"module": module, "config": json.dumps(cfg), "torch_version": torch.__version__,
                "seed": str(seed), "description": desc}

    # float64 re-run of the same case: how far float32 torch is from the exact answer
    # (informs the C++ checker's tolerances; not stored).
    m64 = copy.deepcopy(model).double()
    o64, gx64, gp64 = forward_backward(module, cfg, m64, x.double(), None if kpm is None else kpm.double(),
                                       grad_output.double())
    drift = max(rel_err(out, o64), rel_err(gx, gx64), max(rel_err(gparams[n], gp64[n]) for n in gparams))
    return tensors, metadata, drift


def rel_err(a, ref):
    """max |a - ref| / (max|ref| + tiny): a scale-aware error summary."""
    a, ref = a.double(), ref.double()
    return float((a - ref).abs().max() / (ref.abs().max() + 1e-30))


def sine_batch(gen, b, s, e):
    phi = torch.rand(b, generator=gen, dtype=torch.float64) * (2 * math.pi)
    si = torch.arange(s, dtype=torch.float64).view(1, s, 1)
    ei = torch.arange(e, dtype=torch.float64).view(1, 1, e)
    clean = torch.sin(0.1 * si + 0.05 * ei + phi.view(b, 1, 1)).float()
    noise = torch.rand(b, s, e, generator=gen, dtype=torch.float32) - 0.5
    return clean + noise, clean


def train_trajectory(model, inputs, targets, c):
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"],
                           weight_decay=c["weight_decay"], foreach=False)
    model.train()
    losses = []
    for k in range(c["steps"]):
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(inputs[k]), targets[k])
        losses.append(loss.detach().clone())
        loss.backward()
        opt.step()
    return torch.stack(losses)


def record_trajectory():
    c = TRAJECTORY_CONFIG
    setup_torch(TRAJECTORY_SEED)
    model = build_module("DenoisingTransformer", c)
    randomise_parameters(model)
    init = state_dict_f32(model)
    gen = torch.Generator().manual_seed(TRAJECTORY_SEED + 1)
    batches = [sine_batch(gen, c["batch"], c["seq_len"], c["d_model"]) for _ in range(c["steps"])]
    inputs = torch.stack([bt[0] for bt in batches])
    targets = torch.stack([bt[1] for bt in batches])
    losses = train_trajectory(model, inputs, targets, c)
    final = state_dict_f32(model)
    assert torch.isfinite(losses).all()
    tensors = {"batch.input": inputs, "batch.target": targets, "expected.loss": losses}
    for n in init:
        tensors["param." + n] = init[n]
        tensors["expected.param." + n] = final[n]
    metadata = {"module": "DenoisingTransformer", "config": json.dumps(c), "torch_version": torch.__version__,
                "seed": str(TRAJECTORY_SEED), "description": TRAJECTORY_DESCRIPTION}
    return tensors, metadata, None


# --------------------------------------------------------------------------------------
# Optimizer cases: fixed gradient sequences fed to torch.optim, parameters after every step
# --------------------------------------------------------------------------------------

OPTIMIZER_CASES = {
    # name: (config, seed, description)
    "optim_sgd": ({"optimizer": "SGD", "lr": 0.1, "momentum": 0.0, "dampening": 0.0,
                   "weight_decay": 0.01, "nesterov": False}, 3001, "plain SGD with weight decay"),
    "optim_sgd_momentum": ({"optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "dampening": 0.1,
                            "weight_decay": 0.0, "nesterov": False}, 3002,
                           "SGD with momentum 0.9 and dampening 0.1"),
    "optim_sgd_nesterov": ({"optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "dampening": 0.0,
                            "weight_decay": 0.01, "nesterov": True}, 3003,
                           "SGD with Nesterov momentum and weight decay"),
    "optim_adam": ({"optimizer": "Adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-08,
                    "weight_decay": 0.1}, 3004, "Adam with L2 weight decay"),
    "optim_adamw": ({"optimizer": "AdamW", "lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-06,
                     "weight_decay": 0.1}, 3005, "AdamW with decoupled weight decay"),
    "optim_sgd_clip": ({"optimizer": "SGD", "lr": 0.1, "momentum": 0.5, "dampening": 0.0,
                        "weight_decay": 0.0, "nesterov": False, "clip_grad_norm": 1.0}, 3006,
                       "SGD with clip_grad_norm_(1.0) before every step"),
}
assert list(OPTIMIZER_CASES) == OPTIMIZER_NAMES
OPTIMIZER_STEPS = 6
OPTIMIZER_SHAPES = {"p0": (5, 7), "p1": (3,)}


def make_optimizer(c, params):
    if c["optimizer"] == "SGD":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], dampening=c["dampening"],
                               weight_decay=c["weight_decay"], nesterov=c["nesterov"])
    cls = torch.optim.Adam if c["optimizer"] == "Adam" else torch.optim.AdamW
    return cls(params, lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"],
               weight_decay=c["weight_decay"], foreach=False)


def run_optimizer(c, initial, grads):
    """Feeds grads[name][k] at step k; returns ({name: (steps, ...) params after each step},
    (steps,) gradient norms before clipping, or None)."""
    params = {n: initial[n].clone().requires_grad_(True) for n in OPTIMIZER_SHAPES}
    optimizer = make_optimizer(c, list(params.values()))
    history = {n: [] for n in params}
    norms = []
    for k in range(OPTIMIZER_STEPS):
        for n, p in params.items():
            p.grad = grads[n][k].clone()
        if "clip_grad_norm" in c:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()),
                                                              c["clip_grad_norm"])))
        optimizer.step()
        for n, p in params.items():
            history[n].append(p.detach().clone())
    stacked = {n: torch.stack(h) for n, h in history.items()}
    return stacked, (torch.tensor(norms, dtype=torch.float32) if norms else None)


def record_optimizer(name):
    c, seed, description = OPTIMIZER_CASES[name]
    setup_torch(seed)
    initial = {n: torch.randn(*shape) for n, shape in OPTIMIZER_SHAPES.items()}
    grads = {n: 3.0 * torch.randn(OPTIMIZER_STEPS, *shape) for n, shape in OPTIMIZER_SHAPES.items()}
    history, norms = run_optimizer(c, initial, grads)
    tensors = {}
    for n in OPTIMIZER_SHAPES:
        tensors["param." + n] = initial[n]
        tensors["grads." + n] = grads[n]
        tensors["expected.param." + n] = history[n]
    if norms is not None:
        tensors["expected.grad_norm"] = norms
    config = dict(c, steps=OPTIMIZER_STEPS)
    metadata = {"module": "Optimizer", "config": json.dumps(config),
                "torch_version": torch.__version__, "seed": str(seed), "description": description}
    return tensors, metadata, None


# --------------------------------------------------------------------------------------
# Self-check: read the file back, compare, and re-run from the file's own contents
# --------------------------------------------------------------------------------------

def self_check(path, tensors, metadata):
    got, meta = read_safetensors(path)
    if meta != metadata:
        raise AssertionError("%s: metadata read back differs" % path)
    if sorted(got) != sorted(tensors):
        raise AssertionError("%s: tensor names read back differ" % path)
    for n, t in tensors.items():
        if got[n].shape != t.shape or not torch.equal(got[n], t.float()):
            raise AssertionError("%s: tensor %s read back differs" % (path, n))

    module = meta["module"]
    c = json.loads(meta["config"])
    setup_torch(int(meta["seed"]))
    if module == "Optimizer":
        history, norms = run_optimizer(c, {n: got["param." + n] for n in OPTIMIZER_SHAPES},
                                       {n: got["grads." + n] for n in OPTIMIZER_SHAPES})
        checks = [("expected.param." + n, h) for n, h in history.items()]
        if norms is not None:
            checks.append(("expected.grad_norm", norms))
        for n, t in checks:
            if not torch.equal(got[n], t):
                raise AssertionError("%s: re-running does not reproduce %s" % (path, n))
        return
    model = build_module(module, c)
    load_params(model, got)
    if module == "DenoisingTransformer":
        losses = train_trajectory(model, got["batch.input"], got["batch.target"], c)
        checks = [("expected.loss", losses)] + [("expected.param." + n, p.detach())
                                                 for n, p in model.state_dict().items()]
    else:
        out, gx, gp = forward_backward(module, c, model, got["input"], got.get("key_padding_mask"),
                                       got["grad_output"])
        checks = [("expected.output", out), ("expected.grad.input", gx)] + \
                 [("expected.grad.param." + n, g) for n, g in gp.items()]
    names = {n for n, _ in checks}
    missing = {n for n in got if n.startswith("expected.")} - names
    if missing:
        raise AssertionError("%s: expected tensors not re-derived: %s" % (path, sorted(missing)))
    for n, t in checks:
        if not torch.equal(got[n], t):
            raise AssertionError("%s: re-running the case from the file does not reproduce %s "
                                 "(max diff %g)" % (path, n, float((got[n] - t).abs().max())))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "cases"), help="output folder (default: %(default)s)")
    ap.add_argument("--only", choices=ALL_NAMES, metavar="NAME", help="record only this case")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args()

    if args.list:
        for n in CASES:
            print("%-26s %-24s %s" % (n, CASES[n][0], CASES[n][6]))
        print("%-26s %-24s %s" % (TRAJECTORY_NAME, "DenoisingTransformer", TRAJECTORY_DESCRIPTION))
        for n, (_, _, description) in OPTIMIZER_CASES.items():
            print("%-26s %-24s %s" % (n, "Optimizer", description))
        return 0

    os.makedirs(args.out, exist_ok=True)
    names = [args.only] if args.only else ALL_NAMES
    total = 0
    for name in names:
        if name == TRAJECTORY_NAME:
            tensors, metadata, drift = record_trajectory()
        elif name in OPTIMIZER_CASES:
            tensors, metadata, drift = record_optimizer(name)
        else:
            tensors, metadata, drift = record_case(name)
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        self_check(path, tensors, metadata)
        size = os.path.getsize(path)
        total += size
        extra = "" if drift is None else "  (fp32 vs fp64 max rel err %.1e)" % drift
        print("wrote %s  %d bytes%s" % (path, size, extra))
    print("%d file(s), %d bytes, torch %s" % (len(names), total, torch.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
