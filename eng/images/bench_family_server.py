#!/usr/bin/env python3
"""Benchmark peer for decode + preprocess per family: the Python reference pipeline (Pillow 9.4 decode +
convert("RGB") + the family's algorithm with PIL and NumPy, from eng/images/family_pixels.py), kept loaded so that
BenchmarkDotNet times only the work.

Protocol (one line each way): "jpeg <path> <width> <height>" writes a deterministic photo-like JPEG (quality 90)
and answers "ok"; "run <family> <path>" decodes the file and preprocesses it, answering the number of views.
"""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import family_pixels as fp  # noqa: E402

FAMILIES = {"llava": fp.llava15, "longva": fp.longva, "auroracap": fp.auroracap, "minicpmv": fp.minicpmv, "aria": fp.aria}


def photo(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(11)
    base = np.stack([128 + 100 * np.sin(x / 97.0), 128 + 100 * np.cos(y / 61.0), 128 + 90 * np.sin((x + y) / 150.0)], -1)
    noise = rng.normal(0, 12, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


print("ready", flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "jpeg":
        Image.fromarray(photo(int(parts[2]), int(parts[3])), "RGB").save(parts[1], quality=90)
        print("ok", flush=True)
    elif parts[0] == "run":
        img = Image.open(parts[2]).convert("RGB")
        views = FAMILIES[parts[1]](img, {})[0]
        print(len(views), flush=True)
