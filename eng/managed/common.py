"""Shared helpers for the managed-backend reference scripts: safetensors writing, .npy goldens, seeding.

Only Debian packages are used (python3-torch, python3-numpy); the safetensors format is written by hand
(8-byte little-endian header length, JSON header, raw little-endian data), as the `safetensors` package is
not available here.
"""

import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "tests", "data", "models")
GOLDENS = os.path.join(ROOT, "tests", "data", "managed")

_DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.int32: "I32",
    torch.int64: "I64",
    torch.bool: "BOOL",
}


def seed(value):
    """Seeds torch and numpy so every script run writes the same bytes."""
    torch.manual_seed(value)
    np.random.seed(value)


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit pattern.
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes an ordered dict name -> tensor as one safetensors file (data in dict order, 8-byte aligned header)."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_sharded(folder, tensors, shards, metadata=None, stem="model"):
    """Splits tensors over `shards` files named like transformers' (model-00001-of-00002.safetensors) plus the index."""
    names = list(tensors)
    per = (len(names) + shards - 1) // shards
    weight_map = {}
    total = 0
    for i in range(shards):
        part = names[i * per:(i + 1) * per]
        file = f"{stem}-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, file), {n: tensors[n] for n in part}, metadata)
        for n in part:
            weight_map[n] = file
            total += tensors[n].numel() * tensors[n].element_size()
    with open(os.path.join(folder, f"{stem}.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def save_npy(path, array):
    """Saves a golden as .npy (float32 or int64, C order)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif array.dtype.kind in "iub":
        array = array.astype(np.int64)
    np.save(path, np.ascontiguousarray(array))


_NP_DTYPES = {"F32": "<f4", "F16": "<f2", "I8": "i1", "U8": "u1", "I32": "<i4", "I64": "<i8", "BOOL": "?"}


def read_safetensors(path):
    """Reads a safetensors file back (a small independent reader used to check what was written)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = data[a:b]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(buf, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(buf, dtype=_NP_DTYPES[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
    return out


def read_checkpoint(folder, stem="model"):
    """Reads a folder's weights: `{stem}.safetensors`, or every shard listed in `{stem}.safetensors.index.json`."""
    index = os.path.join(folder, f"{stem}.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        out = {}
        for file in sorted(set(weight_map.values())):
            part = read_safetensors(os.path.join(folder, file))
            for name, t in part.items():
                assert weight_map[name] == file, name
                out[name] = t
        assert set(out) == set(weight_map)
        return out
    return read_safetensors(os.path.join(folder, f"{stem}.safetensors"))


def folder_size(folder):
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total
