"""The tiny demo families other than LLaVA-1.5: batched training modules with the checkpoints' real tensor names,
the data each family trains on, the files each family writes, and the reference forward used for the goldens.

Every family provides:
  views_for_image(image, shapes)  -> [(pixels [3,H,W] float32, labels or None)] in placeholder order
  image_part(n_views)             -> the prompt part (token counts per view, grid, kind) for the prompt port
  tasks(rng)                      -> extra training/evaluation items (videos, PDFs) beyond single images
  model(vocab) / save(out, tok, stored) / reference(W) (eval in eng/managed/reference.py's float32 math)
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "managed"))

import modules as M  # noqa: E402
import prompts as P  # noqa: E402
import reference as ref  # noqa: E402
import scenes as S  # noqa: E402
from common import write_json, write_safetensors  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CLIP_TINY = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 3,
             "image_size": 112, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}


def clip_config(c):
    return dict(c, model_type="clip_vision_model", num_channels=3, projection_dim=c["hidden_size"])


def clip_preprocessor(size):
    return {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": size},
            "resample": 3, "do_center_crop": True, "crop_size": {"height": size, "width": size}, "do_rescale": True,
            "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
            "do_convert_rgb": True}


def centre_labels(points, size, patch):
    """points: [(x, y, kind, colour)] in view pixels -> [2, g*g] labels (0 = none)."""
    g = size // patch
    lab = np.zeros((2, g * g), dtype=np.int64)
    for x, y, kind, colour in points:
        if 0 <= x < size and 0 <= y < size:
            i = min(g - 1, int(y) // patch) * g + min(g - 1, int(x) // patch)
            lab[0, i] = 1 + S.SHAPES.index(kind)
            lab[1, i] = 1 + list(S.COLOURS).index(colour)
    return lab


def shape_points(shapes, scale=1.0, dx=0.0, dy=0.0):
    return [(s["x"] * scale - dx, s["y"] * scale - dy, s["kind"], s["colour"]) for s in shapes]


class ClipTower(nn.Module):
    """CLIP vision tower (names under vision_model.) with an optional in-layer ToMe (AuroraCap), batched."""

    def __init__(self, c):
        super().__init__()
        self.vision_model = M.ClipVision(c)

    def forward(self, pixels, layers, tome_r=0):
        vm = self.vision_model
        x = vm.embeddings.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = vm.embeddings.class_embedding[None, None].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + vm.embeddings.position_embedding.weight[None]
        x = vm.pre_layrnorm(x)
        size = None
        for layer in vm.encoder.layers[:layers]:
            q, k, v = layer.attn_parts(layer.layer_norm1(x))
            x = x + layer.self_attn.out_proj(M.attention(q, k, v, layer.heads, layer.heads, 1.0))
            if tome_r > 0:
                x, size = tome_batched(x, k, size, tome_r, layer.heads)
            x = x + layer.mlp.fc2(layer.act(layer.mlp.fc1(layer.layer_norm2(x))))
        return x


def tome_batched(x, k, size, r, heads):
    """ToMe bipartite soft matching with a protected class token and size-weighted merging, over a batch (the
    same r for every item, so every item keeps the same number of tokens)."""
    b, t, d = x.shape
    r = min(r, (t - 1) // 2)
    if size is None:
        size = torch.ones(b, t, 1)
    if r <= 0:
        return x, size
    metric = k.view(b, t, heads, -1).mean(2)
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a, bb = metric[:, 0::2], metric[:, 1::2]
    scores = a @ bb.transpose(1, 2)
    scores[:, 0, :] = float("-inf")
    node_max, node_idx = scores.max(dim=-1)
    order = torch.sort(node_max, dim=-1, descending=True, stable=True).indices
    src_idx, unm_idx = order[:, :r], torch.sort(order[:, r:], dim=-1).values
    dst_idx = node_idx.gather(1, src_idx)

    def merge(v):
        c = v.shape[-1]
        src, dst = v[:, 0::2], v[:, 1::2]
        unm = src.gather(1, unm_idx[..., None].expand(-1, -1, c))
        moved = src.gather(1, src_idx[..., None].expand(-1, -1, c))
        dst = dst.scatter_add(1, dst_idx[..., None].expand(-1, -1, c), moved)
        return torch.cat([unm, dst], dim=1)

    xs = merge(x * size)
    s = merge(size)
    return xs / s, s


def tome_r(image_size, patch, ratio, layers):
    return int(image_size * image_size / patch ** 2 * (1 - ratio) / layers)


def tome_tokens(n_patches, r, layers_run):
    t = n_patches + 1
    for _ in range(layers_run):
        t -= max(0, min(r, (t - 1) // 2))
    return t - 1


class MptModel(nn.Module):
    """HF MPT (transformer.*): LayerNorm without bias, fused Wqkv, ALiBi, exact GELU, tied embeddings."""

    def __init__(self, mc):
        super().__init__()
        d, h = mc["d_model"], mc["n_heads"]
        self.h = h
        self.wte = nn.Embedding(mc["vocab_size"], d)
        nn.init.normal_(self.wte.weight, std=0.02)
        self.blocks = nn.ModuleList()
        for _ in range(mc["n_layers"]):
            blk = nn.Module()
            blk.norm_1 = nn.LayerNorm(d, eps=1e-5, elementwise_affine=True)
            blk.attn = nn.Module()
            blk.attn.Wqkv = nn.Linear(d, 3 * d, bias=False)
            blk.attn.out_proj = nn.Linear(d, d, bias=False)
            blk.norm_2 = nn.LayerNorm(d, eps=1e-5)
            blk.ffn = nn.Module()
            blk.ffn.up_proj = nn.Linear(d, d * mc["expansion_ratio"], bias=False)
            blk.ffn.down_proj = nn.Linear(d * mc["expansion_ratio"], d, bias=False)
            self.blocks.append(blk)
        self.norm_f = nn.LayerNorm(d, eps=1e-5)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                m.bias = None  # no_bias: the checkpoint stores no LayerNorm bias
        self.slopes = ref.alibi_slopes(h, 8)

    def forward(self, x, key_mask):
        t = x.shape[1]
        bias = torch.zeros(x.shape[0], 1, t, t)
        bias = bias.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1)[None, None], float("-inf"))
        bias = bias.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        rel = torch.arange(1 - t, 1).float()
        bias = bias + (self.slopes[:, None, None] * rel[None, None, :])[None]
        hd = x.shape[-1] // self.h
        for blk in self.blocks:
            q, k, v = blk.attn.Wqkv(blk.norm_1(x)).chunk(3, dim=-1)
            x = x + blk.attn.out_proj(M.attention(q, k, v, self.h, self.h, hd ** -0.5, bias))
            x = x + blk.ffn.down_proj(F.gelu(blk.ffn.up_proj(blk.norm_2(x))))
        return self.norm_f(x) @ self.wte.weight.T


def splice_rows(embeds, ids, rows):
    return M.splice(embeds, ids, P.SENTINEL, rows)


# ----------------------------------------------------------------------------------------------- LLaVA-MPT

class LlavaMptNet(nn.Module):
    def __init__(self, vc, mc):
        super().__init__()
        self.vc = vc
        self.vision_tower = ClipTower(vc)
        self.transformer = MptModel(mc)
        self.transformer.mm_projector = nn.Linear(vc["hidden_size"], mc["d_model"])
        self.aux = nn.Linear(vc["hidden_size"], 10)

    def encode(self, views, extra=None):
        feats = self.vision_tower(views, self.vc["num_hidden_layers"] - 1)[:, 1:]
        return feats, self.transformer.mm_projector(feats)

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views)
        x = self.transformer.wte(ids.clamp(min=0))
        x = splice_rows(x, ids, visual.reshape(-1, visual.shape[-1]))
        return self.transformer(x, mask), self.aux(feats)


class LlavaMptFamily:
    name = "llava-mpt"
    folder = "llava-mpt-tiny"
    dtype = torch.float16
    scene = 112
    vision = CLIP_TINY
    mc = {"d_model": 128, "n_heads": 4, "n_layers": 3, "expansion_ratio": 3, "max_seq_len": 1024}
    tokens = (112 // 14) ** 2

    def render(self, messages, tok, gen):
        return P.llava_mpt(messages, tok, gen)

    def views_for_image(self, image, shapes):
        import family_pixels as fp
        return [(fp.clip_preprocess(image, self.scene, self.scene), centre_labels(shape_points(shapes), 112, 14))]

    def image_part(self):
        return {"type": "image", "tokens": [self.tokens], "grid": [0, 0], "kind": "image"}

    def model(self, vocab):
        return LlavaMptNet(self.vision, dict(self.mc, vocab_size=vocab))

    def warm_start(self, net, llava_state):
        """The CLIP tower starts from the trained LLaVA tower (same tiny CLIP), as the real models share CLIP."""
        p = "vision_tower.vision_model."
        net.vision_tower.load_state_dict({k[len("vision_tower."):]: v for k, v in llava_state.items() if k.startswith(p)})

    def save(self, out, tok, state):
        tower = {k[len("vision_tower."):]: v for k, v in state.items() if k.startswith("vision_tower.")}
        rest = {k: v for k, v in state.items() if not k.startswith("vision_tower.")}
        os.makedirs(os.path.join(out, "vision_tower"), exist_ok=True)
        write_safetensors(os.path.join(out, "model.safetensors"), rest, {"format": "pt"})
        write_safetensors(os.path.join(out, "vision_tower", "model.safetensors"), tower, {"format": "pt"})
        mc = dict(self.mc, vocab_size=tok.size)
        write_json(os.path.join(out, "config.json"), dict(
            architectures=["LlavaMPTForCausalLM"], model_type="llava_mpt", **mc, no_bias=True, learned_pos_emb=True,
            norm_type="low_precision_layernorm", layer_norm_epsilon=1e-5, emb_pdrop=0, resid_pdrop=0,
            attn_config={"alibi": True, "alibi_bias_max": 8, "attn_impl": "torch", "attn_pdrop": 0,
                         "attn_type": "multihead_attention", "attn_uses_sequence_id": False, "clip_qkv": None,
                         "prefix_lm": False, "qk_ln": False, "softmax_scale": None},
            init_device="cpu", logit_scale=None, torch_dtype="float16", use_cache=True,
            mm_vision_tower="vision_tower", mm_hidden_size=self.vision["hidden_size"], mm_use_im_start_end=True,
            mm_use_im_patch_token=True, mm_vision_select_layer=-2, tune_mm_mlp_adapter=False,
            freeze_mm_mlp_adapter=False))
        write_json(os.path.join(out, "generation_config.json"), {"eos_token_id": tok.added["<|endoftext|>"],
                                                                 "max_new_tokens": 64})
        write_json(os.path.join(out, "vision_tower", "config.json"), {
            "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": self.vision["hidden_size"],
            "torch_dtype": "float16", "vision_config": clip_config(self.vision)})
        write_json(os.path.join(out, "vision_tower", "preprocessor_config.json"), clip_preprocessor(self.scene))

    def reference(self, W, tok):
        vc = self.vision

        def encode(pixels, extra=None):
            out = ref.clip_vision(W, "vision_tower.vision_model.", vc, torch.from_numpy(pixels))
            return ref.linear(out["layers"][vc["num_hidden_layers"] - 2][1:], W, "transformer.mm_projector")

        dec = ref.Decoder(W, "mpt", self.mc["d_model"], self.mc["n_heads"], self.mc["n_heads"], self.mc["n_layers"],
                          tok.size, 1e-5, alibi_bias_max=8)
        return encode, dec


# ----------------------------------------------------------------------------------------------- AuroraCap

class AuroraCapNet(nn.Module):
    def __init__(self, vc, tc):
        super().__init__()
        self.vc = vc
        self.visual_encoder = ClipTower(vc)
        self.projector = nn.Module()
        self.projector.model = nn.Sequential(nn.Linear(vc["hidden_size"], tc["hidden_size"]), nn.GELU(),
                                             nn.Linear(tc["hidden_size"], tc["hidden_size"]))
        self.llm = nn.Module()
        self.llm.model = M.LlamaModel(tc)
        self.llm.lm_head = nn.Linear(tc["hidden_size"], tc["vocab_size"], bias=False)
        self.aux = nn.Linear(vc["hidden_size"], 10)

    def encode(self, views, extra=None):
        r = (extra or {}).get("tome_r", 0)
        feats = self.visual_encoder(views, self.vc["num_hidden_layers"] - 1, r)[:, 1:]
        return feats, self.projector.model(feats)

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views, extra)
        x = self.llm.model.embed_tokens(ids.clamp(min=0))
        x = splice_rows(x, ids, visual.reshape(-1, visual.shape[-1]))
        # Dense labels only make sense before merging moves tokens around.
        return self.llm.lm_head(self.llm.model(x, mask)), (self.aux(feats) if not (extra or {}).get("tome_r") else None)


class AuroraCapFamily:
    name = "auroracap"
    folder = "auroracap-tiny"
    dtype = torch.bfloat16
    scene = 112
    vision = CLIP_TINY
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
            "num_hidden_layers": 3, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 2048}
    ratios = [0.2, 0.5, 0.8]
    eval_ratio = 0.2
    frames = 4

    def r_for(self, ratio):
        return tome_r(self.scene, 14, ratio, self.vision["num_hidden_layers"])

    def tokens_for(self, ratio):
        return tome_tokens((self.scene // 14) ** 2, self.r_for(ratio), self.vision["num_hidden_layers"] - 1)

    def render(self, messages, tok, gen):
        return P.auroracap(messages, tok, gen)

    def views_for_image(self, image, shapes):
        import family_pixels as fp
        return [(fp.clip_preprocess(image, self.scene, self.scene), centre_labels(shape_points(shapes), 112, 14))]

    def views_for_video(self, frames, shape):
        import family_pixels as fp
        return [(fp.clip_preprocess(f, self.scene, self.scene),
                 centre_labels([(x, y, shape["kind"], shape["colour"])], 112, 14))
                for f, (x, y) in zip(frames, shape["track"])]

    def image_part(self, ratio):
        return {"type": "image", "tokens": [self.tokens_for(ratio)], "grid": [0, 0], "kind": "image"}

    def video_part(self, ratio, n):
        return {"type": "image", "tokens": [self.tokens_for(ratio)] * n, "grid": [0, 0], "kind": "video"}

    def model(self, vocab):
        return AuroraCapNet(self.vision, dict(self.text, vocab_size=vocab))

    def warm_start(self, net, llava_state):
        p = "vision_tower.vision_model."
        net.visual_encoder.load_state_dict({k[len("vision_tower."):]: v for k, v in llava_state.items() if k.startswith(p)})

    def save(self, out, tok, state):
        enc = {k[len("visual_encoder."):]: v for k, v in state.items() if k.startswith("visual_encoder.")}
        prj = {k[len("projector."):]: v.float() for k, v in state.items() if k.startswith("projector.")}
        llm = {k[len("llm."):]: v for k, v in state.items() if k.startswith("llm.")}
        for sub in ("visual_encoder", "projector"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
        write_safetensors(os.path.join(out, "model.safetensors"), llm, {"format": "pt"})
        write_safetensors(os.path.join(out, "visual_encoder", "model.safetensors"), enc, {"format": "pt"})
        write_safetensors(os.path.join(out, "projector", "model.safetensors"), prj, {"format": "pt"})
        tc = dict(self.text, vocab_size=tok.size)
        write_json(os.path.join(out, "config.json"), dict(
            architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu", bos_token_id=1, eos_token_id=2,
            pad_token_id=0, tie_word_embeddings=False, torch_dtype="bfloat16", rope_scaling=None, **tc))
        write_json(os.path.join(out, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2,
                                                                 "pad_token_id": 0, "max_new_tokens": 64})
        write_json(os.path.join(out, "visual_encoder", "config.json"),
                   dict(clip_config(self.vision), architectures=["PikaVidEncoder"], torch_dtype="bfloat16"))
        write_json(os.path.join(out, "visual_encoder", "preprocessor_config.json"), clip_preprocessor(self.scene))
        write_json(os.path.join(out, "projector", "config.json"), {
            "architectures": ["ProjectorModel"], "model_type": "projector",
            "visual_hidden_size": self.vision["hidden_size"], "llm_hidden_size": self.text["hidden_size"],
            "depth": 2, "hidden_act": "gelu", "bias": True, "torch_dtype": "float32"})

    def reference(self, W, tok):
        vc = self.vision

        def encode(pixels, extra=None):
            r = (extra or {}).get("tome_r", 0)
            out = ref.clip_vision(W, "visual_encoder.vision_model.", vc, torch.from_numpy(pixels), tome_r=r)
            feats = out["layers"][vc["num_hidden_layers"] - 2][1:]
            return ref.mlp2x_gelu(W, "projector.model.0", "projector.model.2", feats)

        t = self.text
        dec = ref.Decoder(W, "llama", t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"],
                          t["num_hidden_layers"], tok.size, t["rms_norm_eps"], t["rope_theta"], prefix="llm.model.",
                          lm_head="llm.lm_head.weight")
        return encode, dec


# ----------------------------------------------------------------------------------------------- LongVA

class LongVaNet(nn.Module):
    def __init__(self, vc, tc):
        super().__init__()
        self.vc = vc
        self.model = M.LlamaModel(tc, qkv_bias=True)
        self.model.vision_tower = nn.Module()
        self.model.vision_tower.vision_tower = ClipTower(vc)
        self.model.mm_projector = nn.Sequential(nn.Linear(vc["hidden_size"], tc["hidden_size"]), nn.GELU(),
                                                nn.Linear(tc["hidden_size"], tc["hidden_size"]))
        self.lm_head = nn.Linear(tc["hidden_size"], tc["vocab_size"], bias=False)
        self.aux = nn.Linear(vc["hidden_size"], 10)

    def encode(self, views, extra=None):
        feats = self.model.vision_tower.vision_tower(views, self.vc["num_hidden_layers"] - 1)[:, 1:]
        proj = self.model.mm_projector(feats)
        g = self.vc["image_size"] // self.vc["patch_size"]
        b, n, c = proj.shape
        pooled = F.avg_pool2d(proj.view(b, g, g, c).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1).reshape(b, -1, c)
        return feats, pooled

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views)
        x = self.model.embed_tokens(ids.clamp(min=0))
        x = splice_rows(x, ids, visual.reshape(-1, visual.shape[-1]))
        return self.lm_head(self.model(x, mask)), self.aux(feats)


class LongVaFamily:
    name = "longva"
    folder = "longva-tiny"
    dtype = torch.bfloat16
    scene = 112
    vision = CLIP_TINY
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 2,
            "num_hidden_layers": 3, "rms_norm_eps": 1e-6, "rope_theta": 1000000000.0,
            "max_position_embeddings": 4096}
    pinpoints = [[112, 112], [112, 224], [224, 112], [224, 224]]
    frames = 8
    pooled = (112 // 14 // 2) ** 2

    def render(self, messages, tok, gen):
        return P.longva(messages, tok, gen)

    def views_for_image(self, image, shapes):
        """anyres at a 112 square picks the 1x1 grid: the base view (dropped by UniRes, not encoded) and one tile
        equal to the CLIP-processed image."""
        import family_pixels as fp
        return [(fp.clip_preprocess(image, self.scene, self.scene), centre_labels(shape_points(shapes), 112, 14))]

    def views_for_video(self, frames, shape):
        import family_pixels as fp
        return [(fp.clip_preprocess(f, self.scene, self.scene),
                 centre_labels([(x, y, shape["kind"], shape["colour"])], 112, 14))
                for f, (x, y) in zip(frames, shape["track"])]

    def image_part(self):
        return {"type": "image", "tokens": [self.pooled, self.pooled], "grid": [1, 1], "kind": "image"}

    def video_part(self, n):
        return {"type": "image", "tokens": [self.pooled] * n, "grid": [0, 0], "kind": "video"}

    def model(self, vocab):
        return LongVaNet(self.vision, dict(self.text, vocab_size=vocab))

    def warm_start(self, net, llava_state):
        p = "vision_tower.vision_model."
        net.model.vision_tower.vision_tower.load_state_dict(
            {k[len("vision_tower."):]: v for k, v in llava_state.items() if k.startswith(p)})

    def save(self, out, tok, state):
        write_safetensors(os.path.join(out, "model.safetensors"), state, {"format": "pt"})
        tc = dict(self.text, vocab_size=tok.size)
        write_json(os.path.join(out, "config.json"), dict(
            architectures=["LlavaQwenForCausalLM"], model_type="llava_qwen", hidden_act="silu",
            bos_token_id=tok.added["<|endoftext|>"], eos_token_id=tok.added["<|im_end|>"], tie_word_embeddings=False,
            torch_dtype="bfloat16", use_sliding_window=False, sliding_window=4096, max_window_layers=28,
            attention_dropout=0.0, **tc,
            mm_vision_tower="openai/clip-vit-large-patch14-336", mm_projector_type="mlp2x_gelu",
            mm_vision_select_layer=-2, mm_vision_select_feature="patch", mm_hidden_size=self.vision["hidden_size"],
            mm_use_im_start_end=False, mm_use_im_patch_token=False, mm_resampler_type=None,
            image_aspect_ratio="anyres", image_grid_pinpoints=self.pinpoints, mm_patch_merge_type="unires",
            mm_spatial_pool_stride=2, mm_spatial_pool_mode="average", tokenizer_model_max_length=4096,
            use_mm_proj=True,
            mm_vision_tower_config=dict(clip_config(self.vision), _comment=(
                "tiny-model only: the real LongVA config has no such object; its tower comes from the named "
                "mm_vision_tower (CLIP ViT-L/14-336)"))))
        write_json(os.path.join(out, "generation_config.json"), {
            "bos_token_id": tok.added["<|endoftext|>"],
            "eos_token_id": [tok.added["<|im_end|>"], tok.added["<|endoftext|>"]], "max_new_tokens": 64})
        write_json(os.path.join(out, "preprocessor_config.json"), clip_preprocessor(self.scene))

    def reference(self, W, tok):
        vc = self.vision
        g = vc["image_size"] // vc["patch_size"]

        def encode(pixels, extra=None):
            out = ref.clip_vision(W, "model.vision_tower.vision_tower.vision_model.", vc, torch.from_numpy(pixels))
            feats = out["layers"][vc["num_hidden_layers"] - 2][1:]
            return ref.pool2x2(ref.mlp2x_gelu(W, "model.mm_projector.0", "model.mm_projector.2", feats), g)

        t = self.text
        dec = ref.Decoder(W, "qwen2", t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"],
                          t["num_hidden_layers"], tok.size, t["rms_norm_eps"], t["rope_theta"], prefix="model.",
                          lm_head="lm_head.weight")
        return encode, dec
