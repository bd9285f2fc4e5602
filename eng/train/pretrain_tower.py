"""Pretrains the tiny vision towers once per tower type, as the real models reuse pretrained CLIP/SigLIP towers.

    /usr/bin/python3 eng/train/pretrain_tower.py --kind clip|timm|idefics [--steps 2500]

The task is dense and plain: for every patch of a 112 x 112 scene, which shape (if any) covers it, its colour, and
whether a shape's centre lies in it; and the number of shapes in the image. A tower that gets these right hands the
language model everything the scene questions ask about. The result, artifacts/train/tower-<kind>.pt, starts the
vision tower of every family of that type (eng/train/train.py); the family training then fine-tunes it.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "images"))

import families as FAM  # noqa: E402
import family_pixels as fp  # noqa: E402
import scenes as S  # noqa: E402

ARTIFACTS = os.path.join(HERE, "..", "..", "artifacts", "train")
SIZE, PATCH = 112, 14


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def coverage_labels(shapes):
    """Per patch: covering shape kind (1-4, 0 none), colour (1-4, 0 none), and 1 where a shape's centre lies."""
    g = SIZE // PATCH
    kind = np.zeros(g * g, dtype=np.int64)
    colour = np.zeros(g * g, dtype=np.int64)
    best = np.zeros(g * g)
    for s in shapes:
        mask = Image.new("L", (SIZE, SIZE), 0)
        pen = ImageDraw.Draw(mask)
        if s["kind"] == "circle":
            pen.ellipse([s["x"] - s["r"], s["y"] - s["r"], s["x"] + s["r"], s["y"] + s["r"]], fill=255)
        else:
            pen.polygon(S._polygon(s["kind"], s["x"], s["y"], s["r"]), fill=255)
        cover = (np.asarray(mask, dtype=np.float64) / 255).reshape(g, PATCH, g, PATCH).mean(axis=(1, 3)).reshape(-1)
        take = (cover > 0.15) & (cover > best)
        kind[take] = 1 + S.SHAPES.index(s["kind"])
        colour[take] = 1 + list(S.COLOURS).index(s["colour"])
        best = np.maximum(best, cover)
    centre = FAM.centre_labels(FAM.shape_points(shapes), SIZE, PATCH)[0] > 0
    return np.stack([kind, colour, centre.astype(np.int64)])


class Probe(nn.Module):
    def __init__(self, kind, override=None):
        super().__init__()
        self.kind = kind
        if kind == "clip":
            self.cfg = dict(FAM.CLIP_TINY, **(override or {}))
            self.tower = FAM.M.ClipVision(self.cfg)
            self.layers = self.cfg["num_hidden_layers"] - 1
        elif kind == "timm":
            self.cfg = FAM.MiniCpmVFamily.vision
            self.tower = FAM.TimmVit(self.cfg, self.cfg["num_hidden_layers"] - 1)
        else:
            self.cfg = FAM.AriaFamily.vision
            self.tower = FAM.IdeficsVision(self.cfg)
        d = self.cfg["hidden_size"]
        self.patch_head = nn.Linear(d, 5 + 5 + 2)
        self.count_head = nn.Linear(d, 5)

    def forward(self, pixels):
        if self.kind == "clip":
            x = self.tower(pixels, self.layers)
            patches, pooled = x[:, 1:], x[:, 0]
        else:
            patches = self.tower(pixels)
            pooled = patches.mean(1)
        return self.patch_head(patches), self.count_head(pooled)


def pixels_for(kind, image):
    return fp.clip_preprocess(image, SIZE, SIZE) if kind == "clip" else fp.tv_transform(image)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True, choices=["clip", "timm", "idefics"])
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scenes", type=int, default=16000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--override", default="{}", help="JSON overriding the CLIP config (experiments)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--radius-divisor", type=int, default=S.RADIUS_DIVISOR)
    args = ap.parse_args()
    import json
    override = json.loads(args.override)
    S.RADIUS_DIVISOR = args.radius_divisor
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(7100)  # not the families' training (6100) or held-out (6200+) seeds
    log("scenes")
    pix, labels, counts, shapes_all = [], [], [], []
    for i in range(args.scenes + 500):
        if i % 4 == 3:  # single-shape frames of the video task too
            frames, shape, _ = S.video(rng, SIZE, 8)
            j = int(rng.integers(len(frames)))
            x, y = shape["track"][j]
            image, shapes = frames[j], [dict(shape, x=x, y=y)]
        else:
            image, shapes = S.scene(rng, SIZE)
        pix.append(torch.from_numpy(pixels_for(args.kind, image)).half())
        labels.append(torch.from_numpy(coverage_labels(shapes)))
        shapes_all.append(shapes)
        counts.append(len(shapes))
    pix, labels, counts = torch.stack(pix), torch.stack(labels), torch.tensor(counts)
    test = slice(args.scenes, args.scenes + 500)
    torch.manual_seed(3)
    net = Probe(args.kind, override)
    global PATCH
    PATCH = net.cfg["patch_size"]
    if PATCH != 14:
        labels = torch.stack([torch.from_numpy(coverage_labels(sh)) for sh in shapes_all])
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(5)
    t0 = time.time()
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, args.scenes, (args.batch,), generator=gen)
        out, cnt = net(pix[idx].float())
        lab = labels[idx]
        loss = F.cross_entropy(out[..., :5].reshape(-1, 5), lab[:, 0].reshape(-1)) \
            + F.cross_entropy(out[..., 5:10].reshape(-1, 5), lab[:, 1].reshape(-1)) \
            + F.cross_entropy(out[..., 10:].reshape(-1, 2), lab[:, 2].reshape(-1), weight=torch.tensor([1.0, 5.0])) \
            + F.cross_entropy(cnt, counts[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0:
            log(f"step {step + 1} loss {loss.item():.4f} {(time.time() - t0) / 100:.2f}s/step")
            t0 = time.time()
        if (step + 1) % 1000 == 0 or step + 1 == args.steps:
            evaluate_and_save(net, pix, labels, counts, test, args, step + 1)


def evaluate_and_save(net, pix, labels, counts, test, args, step):
    net.eval()
    with torch.no_grad():
        out, cnt = net(pix[test].float())
        lab = labels[test]
        centre = lab[:, 2] == 1
        kind_acc = (out[..., :5].argmax(-1)[centre] == lab[:, 0][centre]).float().mean().item()
        colour_acc = (out[..., 5:10].argmax(-1)[centre] == lab[:, 1][centre]).float().mean().item()
        count_acc = (cnt.argmax(-1) == counts[test]).float().mean().item()
    net.train()
    log(f"held-out after {step} steps: shape at centres {kind_acc:.3f}, colour at centres {colour_acc:.3f}, "
        f"count {count_acc:.3f}")
    os.makedirs(ARTIFACTS, exist_ok=True)
    torch.save({"kind": args.kind, "tower": net.tower.state_dict(), "shape_acc": kind_acc, "colour_acc": colour_acc,
                "count_acc": count_acc, "config": net.cfg, "step": step},
               os.path.join(ARTIFACTS, f"tower-{args.kind}{args.tag}.pt"))


if __name__ == "__main__":
    main()
