"""Aria's vision_encoder.onnx with the pixel mask: pixel_values [N, 3, H, W] float + pixel_mask [N, H, W] bool
-> image_features [N, queries, text hidden] (the Idefics2-style SigLIP tower and the cross-attention projector).

The training module (eng/train/families.py IdeficsVision / AriaProjector) sees full square crops only and ignores the
mask. This module computes what the managed engine and the reference (eng/managed/reference.py idefics_vision,
aria_projector) compute for padded crops, with ops torch 1.13 exports at opset 17:

  patch mask     a patch is valid when any of its pixels is (the mask reshaped to [N, gh, p, gw, p], ReduceMax)
  positions      NaViT: with nh valid patches in the first column and nw in the first row, valid patch (r, c) takes
                 bucket(nh, r) * per_side + bucket(nw, c), invalid patches 0. bucket(n, j) is looked up in a
                 [per_side, per_side] table built at export time by the reference's own arithmetic (torch.arange with
                 a float32 step 1/n, bucketize right=True), so the graph reproduces its float32 edge cases exactly
                 rather than recomputing them in ONNX arithmetic
  tower          pre-LN layers; invalid patches are masked as keys (finfo(float32).min added to their scores)
  projector      the first projector_patch_to_query_dict[gh * gw] queries cross-attend to the patches, invalid
                 patches masked as keys; a patch count the dict lacks makes the graph's lookup Gather fail at run time
                 (rather than return no rows)

Masks are expected as the Aria processor makes them: the valid pixels a top-left rectangle. The managed engine
rejects other shapes (and an all-false mask); the graph does not check them.

H and W are dynamic, so one graph serves every crop size the projector supports (980 and 490 for Aria; 56 and 28
for tests/data/models/tiny-aria). The weights come from the trained modules (export.py --family aria) or from any
checkpoint in the rhymes-ai or transformers layout (load_folder; see make_aria_vision_test_model.py).
"""

import json
import math
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
import modules as M  # noqa: E402
import reference as ref  # noqa: E402
from common import read_checkpoint  # noqa: E402

INPUTS = ["pixel_values", "pixel_mask"]
OUTPUTS = ["image_features"]
DYNAMIC_AXES = {"pixel_values": {0: "num_views", 2: "height", 3: "width"},
                "pixel_mask": {0: "num_views", 1: "height", 2: "width"},
                "image_features": {0: "num_views", 1: "num_queries"}}
MASKED = torch.finfo(torch.float32).min  # the reference's key bias on padding patches


def bucket_table(per_side):
    """[per_side, per_side] int64: row n - 1 holds the NaViT bucket of coordinates j = 0..n-1 for n valid patches
    along an axis (reference.navit_position_ids on a 1 x n valid strip), zero beyond n."""
    table = torch.zeros(per_side, per_side, dtype=torch.int64)
    for n in range(1, per_side + 1):
        table[n - 1, :n] = ref.navit_position_ids(torch.ones(1, n, dtype=torch.bool), per_side)
    return table


def feature_layers(feature_layer, layers):
    """How many tower layers run for vision_feature_layer (as the managed engine's ClipVisionTower.LayersFor)."""
    index = layers + 1 + feature_layer if feature_layer < 0 else feature_layer
    if not 0 <= index <= layers:
        raise SystemExit(f"vision_feature_layer {feature_layer} does not exist in a {layers}-layer tower")
    return index


def attend(q, k, v, heads, bias=None):
    """q [B, T, E], k/v [B, S, E], bias broadcasting to [B, heads, T, S] (or None) -> [B, T, E]."""
    b, t, e = q.shape
    s = k.shape[1]
    hd = e // heads
    q = q.reshape(b, t, heads, hd).transpose(1, 2)
    k = k.reshape(b, s, heads, hd).transpose(1, 2)
    v = v.reshape(b, s, heads, hd).transpose(1, 2)
    scores = (q @ k.transpose(-1, -2)) * (hd ** -0.5)
    if bias is not None:
        scores = scores + bias
    return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, e)


class AriaVisionEncoder(nn.Module):
    """pixel_values [N, 3, H, W], pixel_mask [N, H, W] bool -> image_features [N, queries, text hidden]."""

    def __init__(self, tower, projector, patch_to_query, layers):
        """tower: families.IdeficsVision; projector: families.AriaProjector; patch_to_query: the config's
        projector_patch_to_query_dict; layers: how many tower layers run (feature_layers)."""
        super().__init__()
        self.tower, self.projector, self.layers = tower, projector, layers
        self.patch = tower.embeddings.patch_embedding.kernel_size[0]
        self.per_side = math.isqrt(tower.embeddings.position_embedding.weight.shape[0])
        self.heads = tower.heads
        self.register_buffer("buckets", bucket_table(self.per_side), persistent=False)
        counts = sorted((int(k), int(v)) for k, v in patch_to_query.items())
        self.register_buffer("patch_counts", torch.tensor([k for k, _ in counts], dtype=torch.int64), persistent=False)
        self.register_buffer("query_counts", torch.tensor([v for _, v in counts], dtype=torch.int64), persistent=False)

    def patch_validity(self, pixel_mask, gh, gw):
        """[N, H, W] bool -> [N, gh, gw] bool: a patch is valid when any of its pixels is."""
        n, p = pixel_mask.shape[0], self.patch
        m = pixel_mask[:, :gh * p, :gw * p].reshape(n, gh, p, gw, p).to(torch.float32)
        return m.amax(dim=(2, 4)) > 0

    def position_ids(self, valid, gh, gw):
        """[N, gh, gw] validity -> [N, gh * gw] NaViT position ids (0 on invalid patches)."""
        counts = valid.to(torch.int64)
        nh = counts[:, :, 0].sum(dim=1)
        nw = counts[:, 0, :].sum(dim=1)
        bh = self.buckets.index_select(0, (nh - 1).clamp(min=0)).index_select(1, torch.arange(gh))
        bw = self.buckets.index_select(0, (nw - 1).clamp(min=0)).index_select(1, torch.arange(gw))
        ids = bh[:, :, None] * self.per_side + bw[:, None, :]
        return torch.where(valid, ids, torch.zeros_like(ids)).reshape(valid.shape[0], -1)

    def encode_tower(self, pixel_values, pixel_mask):
        """The tower: (features [N, T, D], patch validity [N, T])."""
        t = self.tower
        x = t.embeddings.patch_embedding(pixel_values)
        n, _, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2)
        valid = self.patch_validity(pixel_mask, gh, gw)
        x = x + t.embeddings.position_embedding(self.position_ids(valid, gh, gw))
        valid = valid.reshape(n, -1)
        bias = torch.where(valid, torch.zeros(()), torch.full((), MASKED))[:, None, None, :]
        for layer in t.encoder.layers[:self.layers]:
            a = layer.self_attn
            h = layer.layer_norm1(x)
            x = x + a.out_proj(attend(a.q_proj(h), a.k_proj(h), a.v_proj(h), self.heads, bias))
            x = x + layer.mlp.fc2(t.act(layer.mlp.fc1(layer.layer_norm2(x))))
        return x, valid

    def project(self, x, valid):
        """The projector on features [N, T, D] with validity [N, T] -> [N, queries, text hidden]."""
        p = self.projector
        c = p.cross_attn
        n, patches = x.shape[0], x.shape[1]
        hit = self.patch_counts == patches
        slot = (hit.to(torch.int64) * torch.arange(self.patch_counts.shape[0])).sum()
        # An unknown patch count looks up index len(counts), one past the end: the Gather fails instead of giving 0 queries.
        slot = slot + (1 - hit.to(torch.int64).sum()) * self.query_counts.shape[0]
        queries = self.query_counts.index_select(0, slot.reshape(1))[0]
        q = c.q_proj(c.layer_norm(p.query.index_select(0, torch.arange(queries))))
        kv = c.ln_kv(x)
        k, v = c.k_proj(kv), c.v_proj(kv)
        mha = c.multihead_attn
        wq, wk, wv = mha.in_proj_weight.chunk(3)
        bq, bk, bv = mha.in_proj_bias.chunk(3)
        q = F.linear(q, wq, bq)[None].expand(n, -1, -1)
        bias = torch.where(valid, torch.zeros(()), torch.full((), MASKED))[:, None, None, :]
        a = attend(q, F.linear(k, wk, bk), F.linear(v, wv, bv), p.heads, bias)
        a = c.linear(mha.out_proj(a))
        return p.ffn.linear_out(F.gelu(p.ffn.linear_in(p.ln_ffn(a)), approximate="tanh"))

    def forward(self, pixel_values, pixel_mask):
        x, valid = self.encode_tower(pixel_values, pixel_mask)
        return self.project(x, valid)


def from_net(net, config):
    """The export module over a trained families.AriaNet (export.py --family aria)."""
    tower = net.vision_tower.vision_model
    layers = feature_layers(config.get("vision_feature_layer", -1), len(tower.encoder.layers))
    return AriaVisionEncoder(tower, net.multi_modal_projector, config["projector_patch_to_query_dict"], layers).eval()


def _canonical(name):
    """A tensor name in the rhymes-ai layout (vision_tower.vision_model.*, ln_kv, ln_ffn, ffn), from either layout."""
    if name.startswith("vision_tower.") and not name.startswith("vision_tower.vision_model."):
        name = "vision_tower.vision_model." + name[len("vision_tower."):]
    if name.startswith("multi_modal_projector."):
        name = name.replace("multi_modal_projector.layer_norm.", "multi_modal_projector.ln_ffn.")
        name = name.replace(".feed_forward.", ".ffn.").replace(".layer_norm_kv.", ".ln_kv.")
    return name


def load_folder(folder):
    """(export module, config, W): the module built from a checkpoint folder's config.json and safetensors (float32),
    and W, the rhymes-ai-named float32 tensors reference.py takes. Config defaults as the managed engine's."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    vc = config.get("vision_config", {})
    W = {_canonical(k): v.float() for k, v in read_checkpoint(folder).items()
         if k.startswith(("vision_tower.", "multi_modal_projector."))}
    c = {"hidden_size": vc.get("hidden_size", 1152), "intermediate_size": vc.get("intermediate_size", 4304),
         "attention_heads": vc.get("num_attention_heads", vc.get("attention_heads", 16)),
         "num_hidden_layers": vc.get("num_hidden_layers", 27), "image_size": vc.get("image_size", 980),
         "patch_size": vc.get("patch_size", 14)}
    act = vc.get("hidden_act", "gelu_pytorch_tanh")
    eps = vc.get("layer_norm_eps", 1e-6)
    tower = F_.IdeficsVision(c)
    if act not in ("gelu_pytorch_tanh", "gelu_new", "gelu"):
        raise SystemExit(f"{folder}: vision_config.hidden_act is {act!r}; gelu_pytorch_tanh, gelu_new or gelu was expected")
    tower.act = M.ACT["gelu" if act == "gelu" else "gelu_pytorch_tanh"]
    for m in tower.modules():
        if isinstance(m, nn.LayerNorm):
            m.eps = eps
    p = "multi_modal_projector."
    query = W[p + "query"]
    projector = F_.AriaProjector(query.shape[1], W[p + "ffn.linear_out.weight"].shape[0], query.shape[0],
                                 c["attention_heads"])
    state = {"tower." + k[len("vision_tower.vision_model."):]: v for k, v in W.items() if k.startswith("vision_tower.")}
    state.update({"projector." + k[len(p):]: v for k, v in W.items() if k.startswith(p)})
    p2q = config.get("projector_patch_to_query_dict", {"1225": 128, "4900": 256})
    layers = feature_layers(config.get("vision_feature_layer", -1), c["num_hidden_layers"])
    module = AriaVisionEncoder(tower, projector, p2q, layers)
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("tower.encoder.layers.") or int(k.split(".")[3]) < layers]
    if missing or unexpected:
        raise SystemExit(f"{folder}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    ref_cfg = dict(c, layer_norm_eps=eps, hidden_act=act, num_hidden_layers=layers)
    return module.float().eval(), config, W, ref_cfg


def example_inputs(module, views=2):
    """Traced example: full-size crops, the second one padded (so the traced graph sees a real mask)."""
    size = module.per_side * module.patch
    pixels = torch.randn(views, 3, size, size)
    mask = torch.ones(views, size, size, dtype=torch.bool)
    mask[-1, :, size // 2:] = False
    return pixels, mask


def test_views(size, patch):
    """(pixels [3, s, s], pixel mask [s, s]) cases: full, padded right, padded bottom, a sliver, unaligned edges."""
    cases = []
    g = torch.Generator().manual_seed(1)
    for valid_w, valid_h in [(size, size), (size // 2, size), (size, size // 3), (patch, patch),
                             (size - patch // 2, size // 2 + 3), (3, size)]:
        mask = torch.zeros(size, size, dtype=torch.bool)
        mask[:valid_h, :valid_w] = True
        pixels = torch.randn(3, size, size, generator=g) * mask
        cases.append((pixels, mask))
    return cases


def check(module, W, ref_cfg, config):
    """The module against reference.idefics_vision + aria_projector on masked crops of every supported size, one
    view at a time and batched; returns the max |diff|."""
    p2q = config.get("projector_patch_to_query_dict", {"1225": 128, "4900": 256})
    heads = ref_cfg["attention_heads"]
    patch = ref_cfg["patch_size"]
    worst = 0.0
    table = module.buckets
    if module.per_side == 70:  # the committed goldens' table (the reference machine's torch.arange)
        import numpy as np
        golden = torch.from_numpy(np.load(os.path.join(ROOT, "tests", "data", "managed", "aria", "navit.buckets.p70.npy")))
        assert torch.equal(torch.where(golden < 0, torch.zeros_like(golden), golden).to(torch.int64), table)
    sizes = sorted(math.isqrt(int(k)) * patch for k in p2q if math.isqrt(int(k)) ** 2 == int(k))
    with torch.no_grad():
        for size in sizes:
            cases = test_views(size, patch)
            got = module(torch.stack([c[0] for c in cases]), torch.stack([c[1] for c in cases]))
            for i, (pixels, mask) in enumerate(cases):
                out = ref.idefics_vision(W, "vision_tower.vision_model.", ref_cfg, pixels, mask)
                want = ref.aria_projector(W, out["features"], out["patch_mask"], p2q, heads)["output"]
                alone = module(pixels[None], mask[None])[0]
                worst = max(worst, float((got[i] - want).abs().max()), float((alone - want).abs().max()))
    print(f"check: aria vision encoder vs reference.py on masked {sizes} crops: max |diff| {worst:.2e}")
    assert worst < 1e-4, worst
    return worst


def check_net(module, net, folder):
    """export.py --check for a trained Aria: the module equals the training module's encode() on full square crops
    (where the mask changes nothing) and the reference (with the checkpoint's weights) on masked crops."""
    size = module.per_side * module.patch
    pixels = torch.randn(3, 3, size, size)
    with torch.no_grad():
        full = float((module(pixels, torch.ones(3, size, size, dtype=torch.bool)) - net.encode(pixels)[1]).abs().max())
    print(f"check: aria vision encoder vs the training encode on full {size} crops: max |diff| {full:.2e}")
    assert full < 1e-4, full
    _, config, W, ref_cfg = load_folder(folder)
    return max(full, check(module, W, ref_cfg, config))
