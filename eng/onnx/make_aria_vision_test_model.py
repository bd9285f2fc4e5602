"""Exports tests/data/models/tiny-aria's vision encoder (tower + projector, with the pixel-mask input) to
tests/data/onnx/tiny-aria/vision_encoder.onnx, for the C# tests that hold ONNX Runtime to the managed engine on padded
crops (tests/Multimodal.Models.Tests/AriaOnnxVisionEncoderTests.cs).

    /usr/bin/python3 eng/onnx/make_aria_vision_test_model.py [--model tests/data/models/tiny-aria] [--out tests/data/onnx/tiny-aria]

Before writing, the export module is checked against eng/managed/reference.py on masked crops of both sizes the
checkpoint's projector supports (56 and 28) and against the committed goldens of tests/data/managed/aria (the reference
run on the real splitter's crops). The file is the same export.py writes for a trained Aria model
(eng/onnx/aria_vision.py; weights stored as float16 where that is exact), deterministic, and about 150 KB.
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

import aria_vision as A  # noqa: E402
import export as E  # noqa: E402


def check_goldens(module, goldens):
    """The module on the goldens' views (pixels + pixel mask) against their projector outputs."""
    with open(os.path.join(goldens, "manifest.json")) as f:
        manifest = json.load(f)
    worst = 0.0
    with torch.no_grad():
        for view in manifest["views"]:
            files = view["files"]
            pixels = torch.from_numpy(np.load(os.path.join(goldens, files["pixels"])))
            mask = torch.from_numpy(np.load(os.path.join(goldens, files["pixel_mask"])) != 0)
            want = torch.from_numpy(np.load(os.path.join(goldens, files["projector"])))
            got = module(pixels[None], mask[None])[0]
            worst = max(worst, float((got - want.reshape(got.shape)).abs().max()))
    print(f"check: against the goldens of {os.path.relpath(goldens, ROOT)}: max |diff| {worst:.2e}")
    assert worst < 1e-4, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "models", "tiny-aria"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "onnx", "tiny-aria"))
    parser.add_argument("--goldens", default=os.path.join(ROOT, "tests", "data", "managed", "aria"),
                        help="golden folder whose manifest names --model ('' to skip)")
    args = parser.parse_args()
    torch.manual_seed(0)
    module, config, W, ref_cfg = A.load_folder(args.model)
    A.check(module, W, ref_cfg, config)
    if args.goldens:
        check_goldens(module, args.goldens)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vision_encoder.onnx")
    with torch.no_grad():
        E.export(module, A.example_inputs(module), path, A.INPUTS, A.OUTPUTS, A.DYNAMIC_AXES)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
