"""Measures how sharply a bundled Aria model's projector attends: the entropy of its cross-attention weights over the
patches of held-out scenes, per query and head, against log(patches) for uniform weights; how far apart its queries
attend (query_spread_l1: the L1 distance of a query's weights from the mean of its head's queries) and how much of its
weight a query puts on its own block of the patch grid (own_block_weight, what train.py --attend-region trains); and
the spread of the visual rows it hands the language model next to that of the text embeddings.

    /usr/bin/python3 eng/train/projector_attention.py [--model models/aria-tiny] [--checkpoint artifacts/train/aria-NAME/ckpt.pt] [--scenes 16]

An entropy at log(patches) means every query averages the patches, so the visual tokens cannot say what is where
(what happened to the first trained aria-tiny: docs/families.md). Measures the bundled weights, or with --checkpoint
a training run's (e.g. a train.py --experiment run).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "eng", "onnx"))

import export as E  # noqa: E402
import train as T  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "aria-tiny"))
    parser.add_argument("--checkpoint", help="a train.py checkpoint (ckpt.pt, e.g. of an --experiment run) to measure "
                                             "instead of the bundled weights")
    parser.add_argument("--scenes", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    fam = T.FAMILIES["aria"]()
    net, _ = E.load_net(fam, args.model)
    if args.checkpoint:
        state = {k: v for k, v in torch.load(args.checkpoint)["net"].items() if not k.startswith(T.F_.TRAINING_ONLY)}
        net.load_state_dict(state, strict=False)
        net.float().eval()
    held = T.make_scenes(6200, args.scenes, fam.scene)  # the held-out scenes' seed
    views = torch.from_numpy(np.stack([fam.views_for_image(image, shapes)[0][0] for image, shapes, _ in held])).float()
    with torch.no_grad():
        net.multi_modal_projector.keep_weights = True
        feats, rows = net.encode(views)  # rows: the visual rows the language model receives
        w = net.multi_modal_projector.last_weights  # [scenes, heads, queries, patches]
    entropy = -(w * (w + 1e-12).log()).sum(-1)  # [scenes, heads, queries]
    # How far apart the queries of a head look: 0 when every query attends exactly like the others (then a view's
    # visual tokens are copies of a few patch mixtures), 2 when no two share a patch.
    spread = (w - w.mean(2, keepdim=True)).abs().sum(-1)
    # The share of its weight a query puts on its own block of the grid (train.py --attend-region; 1: all of it).
    own = (w * (T.F_.query_regions(w.shape[2], w.shape[3]) > 0)).sum(-1)
    print(json.dumps({"model": os.path.relpath(args.checkpoint or args.model, ROOT), "scenes": len(held),
                      "patches": feats.shape[1],
                      "uniform_entropy": round(math.log(feats.shape[1]), 4),
                      "entropy_mean": round(float(entropy.mean()), 4), "entropy_min": round(float(entropy.min()), 4),
                      "max_weight": round(float(w.max()), 4), "query_spread_l1": round(float(spread.mean()), 4),
                      "own_block_weight": round(float(own.mean()), 4), "visual_row_std": round(float(rows.std()), 4),
                      "text_embedding_std": round(float(net.language_model.model.embed_tokens.weight.std()), 4)}))


if __name__ == "__main__":
    main()
