#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets (fuzz/README.md) into fuzz/seeds/<target>/.

Run from anywhere: python3 fuzz/seeds/make_seeds.py. Standard library only (no NumPy, no
PyTorch); the files are small and deterministic, and are committed. The weights seed is the
golden case encoder_layer_post_relu's parameters without their "param." prefix, so it loads
into fuzz/weights_fuzz.cc's model; the checkpoint seeds fit fuzz/checkpoint_fuzz.cc's
Linear(4, 3) + Adam + generator "default".
"""
import json
import pathlib
import struct

FUZZ = pathlib.Path(__file__).resolve().parent.parent
ROOT = FUZZ.parent
FORMATS = {"F32": "<f", "F64": "<d", "I64": "<q"}


def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, values or raw bytes); name order, header padded to 8."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        raw = values if isinstance(values, bytes) else b"".join(
            struct.pack(FORMATS[dtype], v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def read_safetensors(path):
    blob = path.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    start = 8 + length
    return {name: (entry["dtype"], entry["shape"],
                   blob[start + entry["data_offsets"][0]:start + entry["data_offsets"][1]])
            for name, entry in header.items() if name != "__metadata__"}


def npy(descr, shape, raw, version=1, fortran=False):
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}"
    length_bytes = 2 if version == 1 else 4
    unpadded = 6 + 2 + length_bytes + len(header) + 1
    header += " " * (-unpadded % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + raw


def write(target, name, blob):
    folder = FUZZ / "seeds" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(blob)


def floats(count, scale=0.25):
    return [scale * ((i * 7) % 11 - 5) for i in range(count)]


def main():
    write("safetensors", "mixed_dtypes.safetensors", safetensors({
        "a": ("F32", [2, 3], floats(6)),
        "b": ("F64", [], [1.5]),
        "c": ("I64", [4], [0, -1, 2, 1 << 40]),
        "d": ("BF16", [2], b"\x80\x3f\x00\xc0"),
        "empty": ("F32", [0, 3], []),
    }, {"note": "hand-made seed", "config": "{\"k\": 1}"}))

    write("npy", "f4_2x3.npy", npy("<f4", [2, 3], struct.pack("<6f", *floats(6))))
    write("npy", "f8_scalar.npy", npy("<f8", [], struct.pack("<d", 2.5)))
    write("npy", "i8_vector.npy", npy("<i8", [3], struct.pack("<3q", 1, -2, 3)))
    write("npy", "f4_v2_empty.npy", npy("<f4", [0, 4], b"", version=2))
    write("npy", "f4_fortran.npy", npy("<f4", [2, 2], struct.pack("<4f", 1, 2, 3, 4),
                                       fortran=True))

    housing = (ROOT / "data" / "california_housing.csv").read_bytes().split(b"\n")
    write("csv", "housing_head.csv", b"\n".join(housing[:6]) + b"\n")
    write("csv", "quoted_crlf_bom.csv",
          b'\xef\xbb\xbfname,text,value\r\n"a, b","say ""hi""",1\r\n\r\n'
          b'c,"two\nlines",2.5\r\nd,,-3')

    case = read_safetensors(ROOT / "reference" / "pytorch" / "cases" /
                            "encoder_layer_post_relu.safetensors")
    write("weights", "encoder_layer.safetensors", safetensors(
        {name[len("param."):]: value for name, value in case.items()
         if name.startswith("param.")}, {"source": "encoder_layer_post_relu"}))

    model = {"model.weight": ("F32", [3, 4], floats(12)), "model.bias": ("F32", [3], floats(3))}
    rng = {"rng.default": ("I64", [4], [1, 2, 3, 4])}
    base = {"format": "pureattention-checkpoint-v1", "step": "5", "optimizer.optimizer": "Adam",
            "optimizer.lr": "0.001", "extra.note": "seed"}
    buffers = {f"optimizer.state.{i}.{kind}": ("F32", shape, floats(count, 0.01))
               for i, (shape, count) in enumerate([([3, 4], 12), ([3], 3)])
               for kind in ("exp_avg", "exp_avg_sq")}
    write("checkpoint", "adam_after_5_steps.safetensors", safetensors(
        {**model, **rng, **buffers},
        {**base, "optimizer.state.0.step": "5", "optimizer.state.1.step": "5"}))
    write("checkpoint", "adam_fresh.safetensors", safetensors(
        {**model, **rng},
        {**base, "step": "0", "optimizer.state.0.step": "0", "optimizer.state.1.step": "0"}))

    for name, argv in {
        "model_flags": ["--d-model", "8", "--nhead", "2", "--ff", "16", "--layers", "1",
                        "--norm", "pre", "--activation", "gelu", "--dropout", "0.1"],
        "common_flags": ["--device", "cpu", "--seed", "3", "--steps", "20", "--lr", "3e-4",
                         "--batch", "4", "--log-every", "5", "--threads", "1", "--out", "o"],
        "schedule_flags": ["--schedule=cosine", "--warmup=5", "--clip=1.0", "--steps=10"],
        "help": ["--help"],
        "bad_nhead": ["--d-model", "10", "--nhead", "3"],
    }.items():
        write("cli", name, b"\0".join(arg.encode() for arg in argv))


if __name__ == "__main__":
    main()
