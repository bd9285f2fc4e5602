"""Exports tests/data/models/tiny-minicpm-v-2's vision encoder (timm tower + resampler, any view size) to
tests/data/onnx/tiny-minicpm-v-2/vision_encoder.onnx, for the C# tests that hold ONNX Runtime to the managed engine
on MiniCPM-V's slices (tests/Multimodal.Models.Tests/MiniCpmVOnnxVisionEncoderTests.cs).

    /usr/bin/python3 eng/onnx/make_minicpmv_vision_test_model.py [--model tests/data/models/tiny-minicpm-v-2] [--out tests/data/onnx/tiny-minicpm-v-2]

Before writing, the export module is checked against eng/managed/reference.py on grids smaller, larger and other in
shape than the checkpoint's 4 x 4 position table, and against the committed goldens of tests/data/managed/minicpm-v-2
(the reference run on the real slicer's views: 56 x 56, 70 x 42 and 42 x 70). The file is the same export.py writes
for a trained MiniCPM-V (eng/onnx/minicpmv_vision.py; weights stored as float16 where that is exact), deterministic,
and about 100 KB.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import export as E  # noqa: E402
import minicpmv_vision as V  # noqa: E402


def check_goldens(module, goldens):
    """The module on the goldens' views against their resampler outputs."""
    with open(os.path.join(goldens, "manifest.json")) as f:
        manifest = json.load(f)
    worst = 0.0
    with torch.no_grad():
        for view in manifest["views"]:
            pixels = torch.from_numpy(np.load(os.path.join(goldens, view["files"]["pixels"])))
            want = torch.from_numpy(np.load(os.path.join(goldens, view["files"]["projector"])))
            got = module(pixels.reshape(1, 3, view["size_wh"][1], view["size_wh"][0]))[0]
            worst = max(worst, float((got - want.reshape(got.shape)).abs().max()))
    sizes = [tuple(v["size_wh"]) for v in manifest["views"]]
    print(f"check: against the goldens of {os.path.relpath(goldens, ROOT)} ({sizes}): max |diff| {worst:.2e}")
    assert worst < 1e-4, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "models", "tiny-minicpm-v-2"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "onnx", "tiny-minicpm-v-2"))
    parser.add_argument("--goldens", default=os.path.join(ROOT, "tests", "data", "managed", "minicpm-v-2"),
                        help="golden folder whose manifest names --model ('' to skip)")
    args = parser.parse_args()
    torch.manual_seed(0)
    module, _, W, ref_cfg = V.load_folder(args.model)
    V.check(module, W, ref_cfg)
    if args.goldens:
        check_goldens(module, args.goldens)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vision_encoder.onnx")
    with torch.no_grad():
        E.export(module, V.example_inputs(module), path, V.INPUTS, V.OUTPUTS, V.DYNAMIC_AXES)
    V.pin_query_count(path, module)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
