#!/usr/bin/env python3
"""Golden outputs of Pillow's Image.resize for the C# resampler (bit-exact comparison).

Writes tests/data/images/resize/:
  - <name>.npy: deterministic source images (uint8, H x W x 4 RGBA; the tests derive RGB and L from them the
    same way this script does: RGB = first three channels, L = first channel);
  - goldens.jsonl: one line per case {"source", "mode", "filter", "width", "height", "box", "sha256"} where sha256
    is of Pillow's output bytes (row-major, interleaved).
Run with Debian's Pillow 9.4: /usr/bin/python3 eng/images/make_resize_goldens.py
"""
import hashlib
import json
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "images", "resize")
FILTERS = {"nearest": Image.Resampling.NEAREST, "box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
           "hamming": Image.Resampling.HAMMING, "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


def sources():
    rng = np.random.default_rng(20261122)
    out = {}
    h, w = 48, 64
    y, x = np.mgrid[0:h, 0:w]
    grad = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2), 255 - x * 2], -1)
    out["gradient"] = grad.astype(np.uint8)
    out["noise"] = rng.integers(0, 256, (89, 97, 4), dtype=np.uint8)
    edges = np.zeros((40, 120, 4), np.uint8)
    edges[..., 3] = 255
    for _ in range(25):
        x0, y0 = rng.integers(0, 120), rng.integers(0, 40)
        edges[y0:y0 + rng.integers(1, 12), x0:x0 + rng.integers(1, 30), :3] = rng.integers(0, 256, 3)
    edges[::7, :, :3] = 255
    out["edges"] = edges
    out["pixel"] = np.array([[[200, 100, 50, 128]]], np.uint8)
    out["tall"] = rng.integers(0, 256, (4000, 1, 4), dtype=np.uint8)
    out["wide"] = rng.integers(0, 256, (3, 4000, 4), dtype=np.uint8)
    checker = ((np.indices((17, 33)).sum(0) % 2) * 255).astype(np.uint8)
    out["checker"] = np.stack([checker, 255 - checker, checker // 2, (checker // 3) + 40], -1)
    alpha = rng.integers(0, 256, (31, 29, 4), dtype=np.uint8)
    alpha[::4, :, 3] = 0
    alpha[1::4, :, 3] = 255
    out["alpha"] = alpha
    return out


def targets(w, h):
    t = [(1, 1), (w * 2 + 1, h * 3), (max(1, w // 3), max(1, h // 2)), (w, max(1, h // 4)), (max(1, w // 5) + 7, h),
         (336, 336), (13, 500), (max(1, w * 7 // 10), max(1, h * 7 // 10))]
    return list(dict.fromkeys(t))


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, rgba in sources().items():
        np.save(os.path.join(OUT, name + ".npy"), rgba)
        h, w = rgba.shape[:2]
        images = {"RGBA": Image.fromarray(rgba, "RGBA"), "RGB": Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB"),
                  "L": Image.fromarray(np.ascontiguousarray(rgba[..., 0]), "L")}
        for mode, im in images.items():
            for fname, f in FILTERS.items():
                cases = [(tw, th, None) for tw, th in targets(w, h)]
                if w >= 4 and h >= 4:
                    cases.append((max(1, w // 2), max(1, h // 2), (0.5, 1.25, w - 1.5, h - 0.75)))
                    cases.append((w, h, (1.0, 1.0, float(w - 1), float(h - 1))))
                for tw, th, box in cases:
                    out = im.resize((tw, th), f, box=box)
                    data = np.asarray(out).tobytes()
                    lines.append(json.dumps({"source": name, "mode": mode, "filter": fname, "width": tw, "height": th,
                                             "box": box, "sha256": hashlib.sha256(data).hexdigest()}))
    with open(os.path.join(OUT, "goldens.jsonl"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to tests/data/images/resize/goldens.jsonl")


if __name__ == "__main__":
    main()
