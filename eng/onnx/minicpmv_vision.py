"""MiniCPM-V 2's vision_encoder.onnx for views of any size: pixel_values [N, 3, H, W] float -> image_features
[N, query_num, llm hidden] (the timm SigLIP tower `vpm` and the perceiver resampler).

MiniCPM-V 2 slices an image into a source view and a grid of slices whose sides are multiples of the patch size but
otherwise vary with the image's aspect ratio (a 448 x 336 slice is a 32 x 24 patch grid). Two things depend on the
grid, and this module computes both inside the graph from H and W, so one graph serves every view size:

  tower positions    timm's resample_abs_pos_embed of the stored [1, G*G, D] table to the view's gh x gw grid:
                     PyTorch's antialiased bicubic (align_corners=False, a = -0.5), written as two weight matrices
                     [gh, G] and [gw, G] computed in float64 from the sizes (reference.aa_bicubic_weights, vectorised:
                     the kernel is zero outside its support, so every input index can be a tap), then
                     pos = Wy . table . Wx^T. For gh = gw = G the matrices are the identity and the stored table comes
                     back unchanged, as timm returns it
  resampler keys     the 2-D sin-cos table of the gh x gw grid (reference.sincos_2d): the column's code, then the
                     row's, each sin | cos of index x omega, omega the same float32 constants numpy computes

Views of one size batch; views of different sizes run as separate calls (the encoder groups them). Sides that are not
multiples of the patch size lose their remainder in the patch convolution (the processor never makes such views).

torch 1.13 cannot export F.interpolate(antialias=True) (ONNX Resize gained antialias in opset 18), hence the explicit
weights. The weights come from the trained modules (export.py --family minicpmv) or from any checkpoint in the
MiniCPM-V 2 layout (load_folder; see make_minicpmv_vision_test_model.py).
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "eng", "train"))
sys.path.insert(0, os.path.join(ROOT, "eng", "managed"))

import families as F_  # noqa: E402
from aria_vision import attend  # noqa: E402
import reference as ref  # noqa: E402
from common import read_checkpoint  # noqa: E402

INPUTS = ["pixel_values"]
OUTPUTS = ["image_features"]
DYNAMIC_AXES = {"pixel_values": {0: "num_views", 2: "height", 3: "width"}, "image_features": {0: "num_views"}}
CUBIC_A = -0.5  # PyTorch's antialiased bicubic uses PIL's kernel coefficient


def bicubic_weights(in_size, out_size):
    """[out_size, in_size] float64: PyTorch's antialiased bicubic resampling from in_size (a Python int) to out_size (a
    traced size), as reference.aa_bicubic_weights computes it tap by tap."""
    # Every scalar is a one-element float64 tensor derived from the inputs: torch 1.13's exporter gives Python numbers
    # and 0-d tensors mixed with float64 the wrong (float32) constant type.
    out = torch.arange(out_size, dtype=torch.float64)
    taps = torch.arange(in_size, dtype=torch.float64)
    scale = torch.ones_like(taps).sum(0, keepdim=True) / torch.ones_like(out).sum(0, keepdim=True)  # [1], traced
    one = torch.ones_like(scale)
    half = one * 0.5
    down = scale >= one
    inv = torch.where(down, one / scale, one)
    centre = scale * (out + half)
    x = ((taps[None, :] - centre[:, None] + half) * inv).abs()
    a = one * CUBIC_A
    near = ((a + 2 * one) * x - (a + 3 * one)) * x * x + one
    far = (((x - 5 * one) * x + 8 * one) * x - 4 * one) * a
    w = torch.where(x < one, near, torch.where(x < 2 * one, far, torch.zeros_like(x)))
    return w / w.sum(dim=1, keepdim=True)


class MiniCpmVVisionEncoder(nn.Module):
    """pixel_values [N, 3, H, W] -> image_features [N, queries, llm hidden] for any H, W multiple of the patch."""

    def __init__(self, vpm, resampler):
        """vpm: families.TimmVit (its stored blocks all run: drop_vision_last_layer is already applied to the
        checkpoint); resampler: families.Resampler."""
        super().__init__()
        self.vpm, self.resampler = vpm, resampler
        self.side = math.isqrt(vpm.pos_embed.shape[1])
        if self.side * self.side != vpm.pos_embed.shape[1]:
            raise SystemExit(f"vpm.pos_embed has {vpm.pos_embed.shape[1]} rows, not a square grid")
        omega = ref.sincos_omega(resampler.e // 2)  # reference.sincos_2d's per-axis frequencies
        self.register_buffer("omega", torch.from_numpy(omega.astype(np.float32)), persistent=False)

    def tower_positions(self, gh, gw):
        """[gh * gw, D]: the stored table resampled to the grid (float64 arithmetic, float32 result)."""
        g, d = self.side, self.vpm.pos_embed.shape[-1]
        table = self.vpm.pos_embed[0].to(torch.float64).reshape(g, g, d).permute(2, 0, 1)  # [D, G, G]
        pos = bicubic_weights(g, gh) @ table @ bicubic_weights(g, gw).transpose(0, 1)  # [D, gh, gw]
        return pos.permute(1, 2, 0).reshape(-1, d).to(torch.float32)

    def key_positions(self, gh, gw):
        """[gh * gw, E]: reference.sincos_2d(E, (gh, gw)), row-major over the grid."""
        def code(n):
            x = torch.arange(n, dtype=torch.int64).to(torch.float32)[:, None] * self.omega[None, :]
            return torch.cat([x.sin(), x.cos()], dim=1)  # [n, E / 2]
        cols, rows = code(gw), code(gh)
        half = cols.shape[1]
        cols = cols[None, :, :].expand(rows.shape[0], cols.shape[0], half)
        rows = rows[:, None, :].expand(rows.shape[0], cols.shape[1], half)
        return torch.cat([cols, rows], dim=2).reshape(-1, 2 * half)

    def forward(self, pixel_values):
        t = self.vpm
        x = t.patch_embed.proj(pixel_values)
        gh, gw = x.shape[2], x.shape[3]
        x = x.flatten(2).transpose(1, 2) + self.tower_positions(gh, gw)[None]
        for blk in t.blocks:
            q, k, v = blk.attn.qkv(blk.norm1(x)).chunk(3, dim=-1)
            x = x + blk.attn.proj(attend(q, k, v, t.heads))
            x = x + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(x))))
        x = t.norm(x)

        r = self.resampler
        kv = r.ln_kv(r.kv_proj(x))
        q = (r.ln_q(r.query) + r.pos_embed)[None].expand(x.shape[0], -1, -1)
        mha = r.attn
        wq, wk, wv = mha.in_proj_weight.chunk(3)
        bq, bk, bv = mha.in_proj_bias.chunk(3)
        keys = kv + self.key_positions(gh, gw)[None]
        a = attend(F.linear(q, wq, bq), F.linear(keys, wk, bk), F.linear(kv, wv, bv), r.heads)
        return r.ln_post(mha.out_proj(a)) @ r.proj


def pin_query_count(path, module):
    """Declares image_features' second dimension as the resampler's fixed query count (the trace leaves it symbolic),
    so the graph says how many rows a view gives whatever its size."""
    import onnx
    model = onnx.load(path)
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = module.resampler.query.shape[0]
    onnx.checker.check_model(model)
    onnx.save(model, path)


def from_net(net):
    """The export module over a trained families.MiniCpmNet (export.py --family minicpmv)."""
    return MiniCpmVVisionEncoder(net.vpm, net.resampler).eval()


def load_folder(folder):
    """(export module, config, W): the module built from a MiniCPM-V 2 checkpoint folder (vpm.*, resampler.*), and W,
    its float32 tensors as reference.py takes them. The tower's depth is the number of stored blocks."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    vc = config.get("vision_config", {})
    W = {k: v.float() for k, v in read_checkpoint(folder).items() if k.startswith(("vpm.", "resampler."))}
    blocks = len({k.split(".")[2] for k in W if k.startswith("vpm.blocks.")})
    pos = W["vpm.pos_embed"]
    d = pos.shape[-1]
    side = math.isqrt(pos.shape[1])
    c = {"hidden_size": d, "patch_size": W["vpm.patch_embed.proj.weight"].shape[-1],
         "num_attention_heads": vc.get("num_attention_heads", 16), "layer_norm_eps": vc.get("layer_norm_eps", 1e-6),
         "intermediate_size": W["vpm.blocks.0.mlp.fc1.weight"].shape[0]}
    c["image_size"] = side * c["patch_size"]
    vpm = F_.TimmVit(c, blocks)
    e = W["resampler.query"].shape[1]
    queries = W["resampler.query"].shape[0]
    resampler = F_.Resampler(d, e, queries, math.isqrt(queries))
    module = MiniCpmVVisionEncoder(vpm, resampler)
    state = {k: v for k, v in W.items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"{folder}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    ref_cfg = dict(c, stored_blocks=blocks)
    return module.float().eval(), config, W, ref_cfg


def example_inputs(module, views=2):
    """Traced example: views on a grid that differs from the table (so the traced graph resamples)."""
    p = module.vpm.patch_embed.proj.kernel_size[0]
    return (torch.randn(views, 3, (module.side + 1) * p, (module.side + 2) * p),)


def grids(side):
    """(gh, gw) cases: the table's own grid, wider, taller, smaller, a single row, a large one (upsampling)."""
    return [(side, side), (side - 1, side + 1), (side + 2, max(1, side - 2)), (max(1, side // 2), side),
            (1, side + 3), (2 * side + 1, 2 * side)]


def reference_features(W, ref_cfg, pixels):
    """reference.timm_vit + minicpm_resampler on one view [3, H, W] -> [queries, E]."""
    out = ref.timm_vit(W, "vpm.", ref_cfg, pixels)
    heads = max(1, W["resampler.query"].shape[1] // 128)
    return ref.minicpm_resampler(W, out["features"], out["grid"], heads)["output"]


def check(module, W, ref_cfg):
    """The module against reference.py on views of several grids, one at a time and batched; returns max |diff|.
    The bound is relative to the largest output (at least 1), as BackendParityTests' is: on noise views of a
    272-patch grid a trained tower's float32 differences reach ~1e-4 on outputs near 14."""
    p = ref_cfg["patch_size"]
    worst = relative = 0.0
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for gh, gw in grids(module.side):
            pixels = torch.randn(2, 3, gh * p, gw * p, generator=g)
            got = module(pixels)
            for i in range(2):
                want = reference_features(W, ref_cfg, pixels[i])
                alone = module(pixels[i:i + 1])[0]
                diff = max(float((got[i] - want).abs().max()), float((alone - want).abs().max()))
                worst = max(worst, diff)
                relative = max(relative, diff / max(1.0, float(want.abs().max())))
    print(f"check: minicpm-v vision encoder vs reference.py on grids {grids(module.side)}: max |diff| {worst:.2e}, "
          f"relative to the largest output {relative:.2e}")
    assert relative < 2e-5, relative
    return worst


def check_net(module, net, folder):
    """export.py --check for a trained MiniCPM-V: the module equals the training module's encode() on the trained
    view size and the reference (with the checkpoint's weights) on every grid."""
    size = module.side * module.vpm.patch_embed.proj.kernel_size[0]
    pixels = torch.randn(3, 3, size, size)
    with torch.no_grad():
        full = float((module(pixels) - net.encode(pixels)[1]).abs().max())
    print(f"check: minicpm-v vision encoder vs the training encode on {size} views: max |diff| {full:.2e}")
    assert full < 1e-4, full
    _, _, W, ref_cfg = load_folder(folder)
    return max(full, check(module, W, ref_cfg))
