#!/usr/bin/env python3
"""Benchmark peer: Pillow 9.4 (Debian's python3-pil) kept loaded with test images, timing only the requested
operation each time BenchmarkDotNet asks (no process start, no import).

Protocol (stdin/stdout, one line each): "load <name> <width> <height>" creates a deterministic RGB noise image;
"resize <name> <w> <h> <filter>" resizes it and answers the output's byte sum (so work cannot be skipped).
"""
import sys

import numpy as np
from PIL import Image

FILTERS = {"nearest": Image.Resampling.NEAREST, "box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
           "hamming": Image.Resampling.HAMMING, "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
images = {}
print("ready", flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "load":
        name, w, h = parts[1], int(parts[2]), int(parts[3])
        rng = np.random.default_rng(7)
        images[name] = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        print("ok", flush=True)
    elif parts[0] == "resize":
        out = images[parts[1]].resize((int(parts[2]), int(parts[3])), FILTERS[parts[4]])
        print(out.tobytes()[::997].__len__(), flush=True)
