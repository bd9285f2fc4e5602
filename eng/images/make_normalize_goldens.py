#!/usr/bin/env python3
"""Goldens for pixel normalisation: every byte value through both references' arithmetic, as float32 bit patterns.

- huggingface: transformers' image processors: (v.astype(float64) * (1/255)).astype(float32), then (x - mean) / std
  with mean/std as float32 arrays (CLIP constants here);
- torchvision: ToTensor's float32(v) / 255, then Normalize's (x - mean) / std in float32 (mean = std = 0.5 here,
  MiniCPM-V's and Aria's constants).
Run: /usr/bin/python3 eng/images/make_normalize_goldens.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "images", "normalize.json")
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]

v = np.arange(256, dtype=np.uint8)
hf = {}
for c in range(3):
    x = (v.astype(np.float64) * 0.00392156862745098).astype(np.float32)
    hf[c] = ((x - np.array(CLIP_MEAN[c], np.float32)) / np.array(CLIP_STD[c], np.float32)).astype(np.float32)
tv = {}
for c in range(3):
    x = v.astype(np.float32) / np.float32(255)
    tv[c] = ((x - np.float32(0.5)) / np.float32(0.5)).astype(np.float32)
golden = {
    "huggingface": {"mean": CLIP_MEAN, "std": CLIP_STD, "bits": [hf[c].view(np.uint32).tolist() for c in range(3)]},
    "torchvision": {"mean": [0.5] * 3, "std": [0.5] * 3, "bits": [tv[c].view(np.uint32).tolist() for c in range(3)]},
}
with open(OUT, "w") as f:
    json.dump(golden, f)
diff = sum(int((hf[c] != ((v.astype(np.float32) / np.float32(255)) - np.float32(CLIP_MEAN[c])) / np.float32(CLIP_STD[c])).sum()) for c in range(3))
print("wrote tests/data/images/normalize.json;", diff, "of 768 CLIP values would differ with torchvision's rescale")
