#!/usr/bin/env python3
"""Checks that train.py --grow-layers starts from the bundled model's function: the decoder of models/<family>-tiny
loaded as it is, and loaded with N layers inserted after the first (zero output projections; MiniCPM's depth-scaled
residuals compensated), give the same hidden states on random input.

    /usr/bin/python3 eng/train/grow_check.py --family minicpmv [--layers 1]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modules as M  # noqa: E402
import train as T  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", required=True, choices=sorted(T.FAMILIES))
    ap.add_argument("--layers", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    fam = T.FAMILIES[args.family]()
    if not hasattr(fam, "text"):
        raise SystemExit(f"{args.family} has no Llama-style decoder to grow")
    folder = os.path.join(T.ROOT, "models", fam.folder)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    text = config.get("text_config", config)
    vocab = text["vocab_size"]
    fam.img_id = T.Tok(folder).img_id  # Aria's network takes its image token id
    nets = []
    for grown in (0, args.layers):
        fam.text = dict(fam.text, num_hidden_layers=text["num_hidden_layers"] + grown)
        torch.manual_seed(0)
        net = fam.model(vocab)
        T.load_bundled(net, folder, grown)
        nets.append(next(m for m in net.modules() if isinstance(m, M.LlamaModel)))
    dtype = next(nets[0].parameters()).dtype
    x = torch.randn(2, 24, fam.text["hidden_size"], generator=torch.Generator().manual_seed(1)).to(dtype)
    mask = torch.ones(2, 24, dtype=torch.bool)
    with torch.no_grad():
        diff = (nets[0](x, mask).float() - nets[1](x, mask).float()).abs().max().item()
    print(f"{args.family}: {len(nets[0].layers)} -> {len(nets[1].layers)} decoder layers, max |diff| {diff:.3g}")
    if diff > 1e-3:
        raise SystemExit("the grown decoder does not start from the bundled model's function")


if __name__ == "__main__":
    main()
