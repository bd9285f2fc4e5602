"""AuroraCap's vision_encoder.onnx with in-tower ToMe token merging driven by an input, so one graph serves every
token_kept_ratio (and r = 0, no merging).

    vision_encoder.onnx   pixel_values float [N, 3, H, W], tome_r int64 [num_hidden_layers]
                          -> image_features float [N, tokens, hidden]

tome_r[l] is ToMe's r for tower layer l (the C# encoder fills every entry with
int(patches * (1 - token_kept_ratio) / num_hidden_layers), or a BipartiteTokenMerger's r). The input has one entry per
tower layer, so its length is also the formula's denominator; the graph runs the layers its feature needs
(hidden_states[-2]: num_hidden_layers - 1) and ignores the rest. Each layer merges min(r, (tokens - 1) // 2) tokens
exactly as eng/train/families.py `tome_batched` does (the class token protected, the A tokens' best B matches by
cosine similarity of the head-averaged keys, a stable descending sort, size-weighted averages) and leaves the tokens
untouched (no reordering) when that is 0.

The cosine similarities are computed in float64, as the C# BipartiteTokenMerger computes them: flat image regions
give near-parallel keys whose float32 scores differ by a few ulps, so float32 rounding (different in every
implementation) would decide which tokens merge. Measured on the held-out scenes and video frames with a
mid-training AuroraCap: float32 scores merged differently from the managed engine in 7 of 630 views at ratio 0.2,
float64 scores in none at 0.2, 0.5 or 0.8.

torch 1.13's tracer bakes Python ints, so the merge step below is written with tensors only: r is a tensor, counts
come from tensor shapes (Shape), the sort is TopK over a dynamic length (ONNX TopK puts the lower index first on
ties, as a stable descending sort does), the merge lists are Slices with dynamic ends, rows move with GatherElements
and merged rows are summed with ScatterElements(reduction="add") (opset 16+).

`--model DIR --out DIR` exports another checkpoint in AuroraCap's xtuner layout with its own dimensions (read from
its config files); the default writes the small test graph of tests/data/models/tiny-auroracap (random weights) to
tests/data/onnx/auroracap/, which the C# tests compare with the managed engine:

    /usr/bin/python3 eng/onnx/auroracap_vision.py [--model tests/data/models/tiny-auroracap] [--out tests/data/onnx/auroracap]

eng/onnx/export.py --family auroracap uses the same module for models/auroracap-tiny.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "eng", "train"))
sys.path.insert(0, os.path.join(ROOT, "eng", "managed"))

import families as F_  # noqa: E402

INPUT_NAMES = ["pixel_values", "tome_r"]
OUTPUT_NAMES = ["image_features"]
DYNAMIC_AXES = {"pixel_values": {0: "num_views"}, "image_features": {0: "num_views", 1: "num_image_tokens"}}


def tome_step(x, k, size, r, heads):
    """One ToMe merge over a batch, with r a 0-d int64 tensor: (x [B, T, D], sizes [B, T, 1]) -> merged (x, sizes)
    with T - min(r, (T - 1) // 2) rows. The same math as families.tome_batched, in export-friendly ops, with the
    similarities in float64."""
    d = x.shape[-1]
    shape = torch._shape_as_tensor(x)
    t = shape[1]
    r = torch.minimum(r, torch.div(t - 1, 2, rounding_mode="floor"))
    metric = k.reshape(k.shape[0], k.shape[1], heads, -1).mean(2).double()
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a, b = metric[:, 0::2], metric[:, 1::2]
    scores = a @ b.transpose(1, 2)
    # scores[:, 0, :] = -inf (the class token never merges), without an in-place write.
    scores = torch.cat([torch.full_like(scores[:, :1], float("-inf")), scores[:, 1:]], dim=1)
    node_max, node_idx = scores.max(dim=-1)
    # Exported as TopK, which breaks ties by the lower index; torch's stable sort does the same in eager mode.
    order = torch.sort(node_max, dim=-1, descending=True, **({} if torch.jit.is_tracing() else {"stable": True})).indices
    src_idx = order[:, :r]
    unm_idx = torch.sort(order[:, r:], dim=-1).values
    dst_idx = node_idx.gather(1, src_idx)
    # Output row j comes from input row rows[j]: the unmerged A tokens (even positions) in order, then every B token
    # (odd positions). With r == 0 that would reorder the tokens, so the identity is used instead.
    ones = torch.ones_like(x[:, :, 0], dtype=torch.int64)
    odd = torch.cumsum(ones[:, 1::2], dim=1) * 2 - 1
    rows = torch.cat([unm_idx * 2, odd], dim=1)
    identity = (torch.cumsum(ones, dim=1) - 1)[:, :rows.shape[1]]
    rows = torch.where(r > 0, rows, identity)
    # Merged A tokens add into their B partner's output row (after the unm_idx.shape[1] unmerged A rows).
    dst_rows = dst_idx + unm_idx.shape[1]

    def merge(v):
        c = v.shape[-1]
        out = v.gather(1, rows[..., None].expand(-1, -1, c))
        moved = v.gather(1, (src_idx * 2)[..., None].expand(-1, -1, c))
        return out.scatter_add(1, dst_rows[..., None].expand(-1, -1, c), moved)

    xs = merge(x * size)
    s = merge(size)
    return xs / s, s


class AuroraCapVisionEncoder(nn.Module):
    """(pixel_values [N, 3, H, W], tome_r [layers]) -> image_features [N, tokens, hidden]: the training module's
    CLIP tower (families.ClipTower) up to hidden_states[-2] with ToMe after every layer's attention, without the class
    token, through the projector; the same weights as AuroraCapNet.encode."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.layers = net.vc["num_hidden_layers"] - 1

    def forward(self, pixel_values, tome_r):
        vm = self.net.visual_encoder.vision_model
        x = vm.embeddings.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = vm.embeddings.class_embedding[None, None].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + vm.embeddings.position_embedding.weight[None]
        x = vm.pre_layrnorm(x)
        size = torch.ones_like(x[:, :, :1])
        for i, layer in enumerate(vm.encoder.layers[:self.layers]):
            q, k, v = layer.attn_parts(layer.layer_norm1(x))
            x = x + layer.self_attn.out_proj(F_.M.attention(q, k, v, layer.heads, layer.heads, 1.0))
            x, size = tome_step(x, k, size, tome_r[i], layer.heads)
            x = x + layer.mlp.fc2(layer.act(layer.mlp.fc1(layer.layer_norm2(x))))
        return self.net.projector.model(x[:, 1:])


def example_inputs(net, views=2):
    size = net.vc["image_size"]
    return torch.randn(views, 3, size, size), torch.zeros(net.vc["num_hidden_layers"], dtype=torch.int64)


def check(net, module, seed=0):
    """The graph's module against the training module's own encode (tome_batched with a Python r) at every r from 0
    to the most a layer can merge, for a batch of three views; returns the largest |difference|."""
    gen = torch.Generator().manual_seed(seed)
    size, layers = net.vc["image_size"], net.vc["num_hidden_layers"]
    patches = (size // net.vc["patch_size"]) ** 2
    pixels = torch.randn(3, 3, size, size, generator=gen)
    worst = 0.0
    for r in range(0, patches // 2 + 2):
        expected = net.encode(pixels, {"tome_r": r})[1]
        actual = module(pixels, torch.full((layers,), r, dtype=torch.int64))
        assert actual.shape == expected.shape, (r, tuple(actual.shape), tuple(expected.shape))
        tokens = F_.tome_tokens(patches, r, layers - 1)
        assert actual.shape[1] == tokens, (r, actual.shape[1], tokens)
        worst = max(worst, float((actual - expected).abs().max()))
    assert worst < 1e-5, worst
    return worst


def load_folder(folder):
    """An AuroraCapNet with the dimensions and weights of an xtuner-layout folder (float32)."""
    import export as E  # noqa: E402 (export.py imports this module at load)
    with open(os.path.join(folder, "config.json")) as f:
        text = json.load(f)
    with open(os.path.join(folder, "visual_encoder", "config.json")) as f:
        vision = json.load(f)
    vc = {k: vision[k] for k in F_.CLIP_TINY}
    tc = {k: text[k] for k in F_.AuroraCapFamily.text}
    net = F_.AuroraCapNet(vc, dict(tc, vocab_size=text["vocab_size"]))
    E.load_weights(net, folder)
    return net.float().eval()


def main():
    import export as E  # noqa: E402 (export.py imports this module; only the command line needs it back)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "models", "tiny-auroracap"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "onnx", "auroracap"))
    args = parser.parse_args()
    torch.manual_seed(0)
    net = load_folder(args.model)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vision_encoder.onnx")
    with torch.no_grad():
        module = AuroraCapVisionEncoder(net)
        E.export(module, example_inputs(net), path, INPUT_NAMES, OUTPUT_NAMES, DYNAMIC_AXES)
        worst = check(net, module)
    print(f"{path}: {os.path.getsize(path)} bytes; module vs training encode max |diff| {worst:.2e}")


if __name__ == "__main__":
    main()
