"""How well the tokens a bundled model's vision tower hands on say where they lie on the image.

    /usr/bin/python3 eng/train/position_probe.py --family auroracap|minicpmv|aria [--model models/<family>-tiny]

Fits a least-squares linear map from each token's features to its (row, column) on the patch grid over 400 training
scenes and reports R^2 on 150 held-out scenes (1.0: the position can be read off the features by a linear map; 0: not
at all). For AuroraCap the tokens are those after ToMe at token_kept_ratio 0.2 (the captioning default) and their
position is the size-weighted average ToMe gives them; for MiniCPM-V and Aria they are the tower's patch features of
every view (the values of the resampler / projector), and the script also reports how sharply the queries attend.
These are the families whose language model cannot tell a visual token's place from its index in the sequence
(docs/families.md, "Position"): train.py --position-aux trains the features to carry it.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "images"))

import families as F_  # noqa: E402
import family_pixels as fp  # noqa: E402
import train as T  # noqa: E402


def auroracap_tokens(folder, scenes, fam):
    tower = F_.ClipTower(fam.vision)
    stored = T.read_safetensors(os.path.join(folder, "visual_encoder", "model.safetensors"))
    tower.load_state_dict({k: v.float() for k, v in stored.items()})
    pix = torch.stack([torch.from_numpy(fp.clip_preprocess(im, fam.scene, fam.scene)) for im, _, _ in scenes]).float()
    with torch.no_grad():
        x, pos = tower(pix, fam.vision["num_hidden_layers"] - 1, fam.r_for(fam.eval_ratio), positions=True)
    return x[:, 1:].reshape(-1, x.shape[-1]).numpy(), pos[:, 1:].reshape(-1, 2).numpy(), None


def entropy(w):
    """Mean entropy of attention rows w [..., patches], and that of a uniform row."""
    return float(-(w * np.log(w + 1e-12)).sum(-1).mean()), float(np.log(w.shape[-1]))


def minicpmv_tokens(folder, scenes, fam):
    stored = T.read_safetensors(os.path.join(folder, "model.safetensors"))
    vpm = F_.TimmVit(fam.vision, fam.vision["num_hidden_layers"] - 1)
    vpm.load_state_dict({k[4:]: v.float() for k, v in stored.items() if k.startswith("vpm.")})
    g = fam.vision["image_size"] // fam.vision["patch_size"]
    rs = F_.Resampler(fam.vision["hidden_size"], fam.text["hidden_size"], fam.queries, int(fam.queries ** 0.5))
    rs.load_state_dict({k[10:]: v.float() for k, v in stored.items() if k.startswith("resampler.")})
    views = [v for im, shapes, _ in scenes for v, _ in fam.views_for_image(im, shapes)]
    x = torch.stack([torch.from_numpy(v) for v in views]).float()
    with torch.no_grad():
        feats = vpm(x)
        kv = rs.ln_kv(rs.kv_proj(feats))
        q = (rs.ln_q(rs.query) + rs.pos_embed)[None].expand(len(x), -1, -1)
        keys = kv + F_.ref.sincos_2d(rs.e, (g, g))[None]
        _, w = rs.attn(q, keys, kv, need_weights=True, average_attn_weights=True)
    return feats.reshape(-1, feats.shape[-1]).numpy(), F_.grid_positions(len(x), g).reshape(-1, 2).numpy(), \
        entropy(w.numpy())


def aria_tokens(folder, scenes, fam):
    stored = T.read_safetensors(os.path.join(folder, "model.safetensors"))
    tower = F_.IdeficsVision(fam.vision)
    prefix = "vision_tower.vision_model."
    tower.load_state_dict({k[len(prefix):]: v.float() for k, v in stored.items() if k.startswith(prefix)})
    projector = F_.AriaProjector(fam.vision["hidden_size"], fam.text["hidden_size"], fam.queries,
                                 fam.vision["attention_heads"])
    prefix = "multi_modal_projector."
    projector.load_state_dict({k[len(prefix):]: v.float() for k, v in stored.items() if k.startswith(prefix)})
    projector.keep_weights = True
    views = [v for im, shapes, _ in scenes for v, _ in fam.views_for_image(im, shapes)]
    x = torch.stack([torch.from_numpy(v) for v in views]).float()
    with torch.no_grad():
        feats = tower(x)
        projector(feats)
    g = math.isqrt(feats.shape[1])
    return feats.reshape(-1, feats.shape[-1]).numpy(), F_.grid_positions(len(x), g).reshape(-1, 2).numpy(), \
        entropy(projector.last_weights.numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", required=True, choices=["auroracap", "minicpmv", "aria"])
    ap.add_argument("--model", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fam = T.FAMILIES[args.family]()
    folder = args.model or os.path.join(T.ROOT, "models", fam.folder)
    tokens = {"auroracap": auroracap_tokens, "minicpmv": minicpmv_tokens, "aria": aria_tokens}[args.family]
    xa, ya, _ = tokens(folder, T.make_scenes(6100, 400, fam.scene), fam)
    xb, yb, attention = tokens(folder, T.make_scenes(6200, 150, fam.scene), fam)
    w, *_ = np.linalg.lstsq(np.c_[xa, np.ones(len(xa))], ya, rcond=None)
    pred = np.c_[xb, np.ones(len(xb))] @ w
    r2 = 1 - ((pred - yb) ** 2).sum(0) / ((yb - yb.mean(0)) ** 2).sum(0)
    print(f"{args.family} ({folder}): {len(xb)} held-out tokens; linear read-out of the position: "
          f"R^2 row {r2[0]:.3f}, column {r2[1]:.3f}")
    if attention:
        print(f"the queries' attention over the patches: entropy {attention[0]:.2f} (uniform {attention[1]:.2f})")


if __name__ == "__main__":
    main()
