"""Creates the tiny random checkpoints (real Hugging Face layouts) and the managed-engine goldens.

    /usr/bin/python3 eng/managed/make_tiny_models.py [--family NAME ...]

Checkpoints go to tests/data/models/tiny-<family>/, goldens to tests/data/managed/<family>/ (see the README
there). Every family seeds its own generators, so a re-run (of all families or of one) rewrites identical bytes.
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import GOLDENS, MODELS, ROOT, folder_size, read_checkpoint, save_npy, seed, write_json, \
    write_safetensors, write_sharded  # noqa: E402
import reference as ref  # noqa: E402

GREEDY_STEPS = 32
TOLERANCE = 1e-4
ST_META = {"format": "pt"}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


# ----------------------------------------------------------------------------------------------- weights

class Builder:
    """Random weights in insertion order (float32); stored() rounds them to the stored dtype."""

    def __init__(self):
        self.t = {}

    def normal(self, name, shape, std, mean=0.0):
        assert name not in self.t, name
        self.t[name] = torch.randn(shape) * std + mean

    def lin(self, name, out, inp, bias=True, gain=1.0):
        self.normal(name + ".weight", (out, inp), gain / math.sqrt(inp))
        if bias:
            self.normal(name + ".bias", (out,), 0.1)

    def norm(self, name, d, bias=True):
        self.normal(name + ".weight", (d,), 0.1, 1.0)
        if bias:
            self.normal(name + ".bias", (d,), 0.1)

    def stored(self, dtype, overrides=None):
        overrides = overrides or {}
        out = {}
        for name, t in self.t.items():
            dt = dtype
            for prefix, d in overrides.items():
                if name.startswith(prefix):
                    dt = d
            out[name] = t.to(dt)
        return out


def as_f32(stored):
    return {k: v.float() for k, v in stored.items()}


def build_clip(b, p, c, post=True):
    d, pt, inter = c["hidden_size"], c["patch_size"], c["intermediate_size"]
    n = (c["image_size"] // pt) ** 2 + 1
    b.normal(p + "embeddings.class_embedding", (d,), 1.0)
    b.normal(p + "embeddings.patch_embedding.weight", (d, 3, pt, pt), 1.0 / math.sqrt(3 * pt * pt))
    b.normal(p + "embeddings.position_embedding.weight", (n, d), 0.5)
    b.norm(p + "pre_layrnorm", d)
    for i in range(c["num_hidden_layers"]):
        lp = f"{p}encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            b.lin(lp + "self_attn." + proj, d, d)
        b.norm(lp + "layer_norm1", d)
        b.lin(lp + "mlp.fc1", inter, d)
        b.lin(lp + "mlp.fc2", d, inter)
        b.norm(lp + "layer_norm2", d)
    if post:
        b.norm(p + "post_layernorm", d)


def build_llama(b, p, lm_head, t, qkv_bias=False, emb_std=1.0, moe=None):
    d, h, kv, inter, v = t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"], \
        t.get("intermediate_size"), t["vocab_size"]
    hd = d // h
    b.normal(p + "embed_tokens.weight", (v, d), emb_std)
    for i in range(t["num_hidden_layers"]):
        lp = f"{p}layers.{i}."
        b.norm(lp + "input_layernorm", d, bias=False)
        b.lin(lp + "self_attn.q_proj", h * hd, d, bias=qkv_bias)
        b.lin(lp + "self_attn.k_proj", kv * hd, d, bias=qkv_bias)
        b.lin(lp + "self_attn.v_proj", kv * hd, d, bias=qkv_bias)
        b.lin(lp + "self_attn.o_proj", d, h * hd, bias=False)
        if moe is None:
            b.lin(lp + "mlp.gate_proj", inter, d, bias=False)
            b.lin(lp + "mlp.up_proj", inter, d, bias=False)
            b.lin(lp + "mlp.down_proj", d, inter, bias=False)
        else:
            e, mi, shared = moe["moe_num_experts"], moe["moe_intermediate_size"], moe["moe_num_shared_experts"]
            b.normal(lp + "mlp.router.weight", (e, d), 2.0 / math.sqrt(d))
            b.normal(lp + "mlp.experts.fc1.weight", (e, d, 2 * mi), 1.0 / math.sqrt(d))
            b.normal(lp + "mlp.experts.fc2.weight", (e, mi, d), 1.0 / math.sqrt(mi))
            b.lin(lp + "mlp.shared_experts.gate_proj", mi * shared, d, bias=False)
            b.lin(lp + "mlp.shared_experts.up_proj", mi * shared, d, bias=False)
            b.lin(lp + "mlp.shared_experts.down_proj", d, mi * shared, bias=False)
        b.norm(lp + "post_attention_layernorm", d, bias=False)
    b.norm(p + "norm", d, bias=False)
    b.normal(lm_head, (v, d), 4.0 / math.sqrt(d))  # wide logits: clear greedy margins


def clip_config(c):
    return {
        "model_type": "clip_vision_model",
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "image_size": c["image_size"],
        "patch_size": c["patch_size"],
        "num_channels": 3,
        "hidden_act": c["hidden_act"],
        "layer_norm_eps": c["layer_norm_eps"],
        "projection_dim": c["hidden_size"],
    }


# ----------------------------------------------------------------------------------------------- goldens

class Family:
    def __init__(self, name, model_dirs):
        self.name = name
        self.gdir = os.path.join(GOLDENS, name)
        self.model_dirs = [os.path.join(MODELS, d) for d in model_dirs]
        for d in [self.gdir] + self.model_dirs:
            if os.path.isdir(d):
                shutil.rmtree(d)
            os.makedirs(d)
        self.files = {}
        self.manifest = {"family": name, "tolerance": TOLERANCE, "greedy_steps": GREEDY_STEPS}
        self.views = []
        self.images = {}
        self.prompts = {}

    def npy(self, name, arr):
        if isinstance(arr, torch.Tensor):
            arr = arr.detach().cpu().numpy()
        arr = np.asarray(arr)
        save_npy(os.path.join(self.gdir, name), arr)
        self.files[name] = {"shape": list(arr.shape), "dtype": "float32" if arr.dtype.kind == "f" else "int64"}
        return name

    def check_reread(self, folder, stored, stem="model"):
        back = read_checkpoint(folder, stem)
        assert list(sorted(back)) == list(sorted(stored)), (folder, set(back) ^ set(stored))
        for k, v in stored.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v), (folder, k)

    def prompt(self, dec, case, input_ids, embeds, splice, extra=None):
        """Writes the decoder goldens of one prompt: ids, spliced embeddings, every layer, logits, greedy."""
        dec.router_gaps = []
        cache = dec.new_cache()
        layers, logits = dec.forward(embeds, 0, cache)
        router_gap = min(dec.router_gaps) if dec.router_gaps else None
        tokens, step_logits, margin, diff = ref.greedy(dec, embeds, GREEDY_STEPS)
        assert margin > 1e-3, f"{self.name}/{case}: greedy margin {margin} too small"
        entry = {
            "input_ids": self.npy(f"prompt.{case}.input_ids.npy", torch.as_tensor(input_ids, dtype=torch.int64)),
            "inputs_embeds": self.npy(f"prompt.{case}.inputs_embeds.npy", embeds),
            "layers": [self.npy(f"prompt.{case}.layer{i}.npy", x) for i, x in enumerate(layers)],
            "logits": self.npy(f"prompt.{case}.logits.npy", logits),
            "greedy": self.npy(f"prompt.{case}.greedy.npy", torch.as_tensor(tokens, dtype=torch.int64)),
            "greedy_logits": self.npy(f"prompt.{case}.greedy_logits.npy", step_logits),
            "length": int(embeds.shape[0]),
            "splice": splice,
            "greedy_min_margin": margin,
            "greedy_cache_vs_full_max_abs_diff": diff,
        }
        if router_gap is not None:
            entry["router_min_topk_gap"] = router_gap
            assert router_gap > 1e-3, f"router gap {router_gap}"
        if extra:
            entry.update(extra)
        self.prompts[case] = entry

    def finish(self, t0):
        self.manifest["views"] = self.views
        self.manifest["images"] = self.images
        self.manifest["prompts"] = self.prompts
        self.manifest["files"] = dict(sorted(self.files.items()))
        write_json(os.path.join(self.gdir, "manifest.json"), self.manifest)
        sizes = ", ".join(f"{rel(d)} {folder_size(d) / 1024:.0f} KiB" for d in self.model_dirs)
        print(f"{self.name}: {sizes}; goldens {folder_size(self.gdir) / 1024:.0f} KiB in {len(self.files)} files; "
              f"{time.time() - t0:.1f} s", flush=True)


def splice_sentinel(dec, ids, images, sentinel=-200):
    """LLaVA-style splice: each sentinel id is replaced by the whole row block of the next image case."""
    rows, splice, k = [], [], 0
    off = 0
    for idx, tok in enumerate(ids):
        if tok == sentinel:
            case, feats = images[k]
            k += 1
            splice.append({"input_index": idx, "embeds_offset": off, "rows": int(feats.shape[0]), "image": case,
                           "source": f"image.{case}.embeddings.npy"})
            rows.append(feats)
            off += feats.shape[0]
        else:
            rows.append(dec.embed([tok]))
            off += 1
    assert k == len(images)
    return torch.cat(rows), splice


def splice_overwrite(dec, ids, blocks):
    """MiniCPM/Aria-style: text embeddings (as the model scales them), then each block overwrites rows
    [start, start + n) with an image case's rows."""
    x = dec.embed(ids).clone()
    splice = []
    for start, case, feats in blocks:
        x[start:start + feats.shape[0]] = feats
        splice.append({"input_index": start, "embeds_offset": start, "rows": int(feats.shape[0]), "image": case,
                       "source": f"image.{case}.embeddings.npy"})
    return x, splice


def text_ids(gen, n, low=3, high=300, avoid=()):
    out = []
    while len(out) < n:
        t = int(torch.randint(low, high, (1,), generator=gen))
        if t not in avoid:
            out.append(t)
    return out


def clip_pixels(gen, h, w):
    x = torch.rand(3, h, w, generator=gen)
    return (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]


def save_clip_view(fam, i, pixels, out, feature_layer):
    files = {"pixels": fam.npy(f"vision.{i}.pixels.npy", pixels),
             "embeddings": fam.npy(f"vision.{i}.embeddings.npy", out["embeddings"]),
             "pre_layrnorm": fam.npy(f"vision.{i}.pre_layrnorm.npy", out["pre_layrnorm"]),
             "layers": [fam.npy(f"vision.{i}.layer{L}.npy", x) for L, x in enumerate(out["layers"])]}
    feats = out["layers"][feature_layer][1:]  # hidden_states[-2] = output of layer N-2; drop CLS
    files["features"] = fam.npy(f"vision.{i}.features.npy", feats)
    return files, feats


# ----------------------------------------------------------------------------------------------- llava-1.5

def llava15():
    t0 = time.time()
    fam = Family("llava-1.5", ["tiny-llava-1.5"])
    seed(1001)
    gen = torch.Generator().manual_seed(2001)
    vc = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3,
          "image_size": 56, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    tc = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4,
          "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 320,
          "max_position_embeddings": 256}
    b = Builder()
    build_clip(b, "vision_tower.vision_model.", vc)
    b.lin("multi_modal_projector.linear_1", tc["hidden_size"], vc["hidden_size"])
    b.lin("multi_modal_projector.linear_2", tc["hidden_size"], tc["hidden_size"])
    build_llama(b, "language_model.model.", "language_model.lm_head.weight", tc)
    stored = b.stored(torch.float16)
    mdir = fam.model_dirs[0]
    write_safetensors(os.path.join(mdir, "model.safetensors"), stored, ST_META)
    fam.check_reread(mdir, stored)
    config = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "ignore_index": -100,
        "image_token_index": 300,
        "pad_token_id": 0,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "vocab_size": tc["vocab_size"],
        "vision_config": clip_config(vc),
        "text_config": dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_act="silu",
                            bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False, **tc),
    }
    write_json(os.path.join(mdir, "config.json"), config)
    write_json(os.path.join(mdir, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0})

    W = as_f32(stored)
    pixels = clip_pixels(gen, 56, 56)
    out = ref.clip_vision(W, "vision_tower.vision_model.", vc, pixels)
    files, feats = save_clip_view(fam, 0, pixels, out, -2)
    proj = ref.mlp2x_gelu(W, "multi_modal_projector.linear_1", "multi_modal_projector.linear_2", feats)
    files["projector"] = fam.npy("projector.0.npy", proj)
    fam.views.append({"index": 0, "size_hw": [56, 56], "files": files})
    fam.images["0"] = {"views": [0], "rows": int(proj.shape[0]),
                       "embeddings": fam.npy("image.0.embeddings.npy", proj),
                       "how": "projector.0 rows as they are (flat)"}

    dec = ref.Decoder(W, "llama", tc["hidden_size"], 4, 4, 2, 320, 1e-5, 10000.0, prefix="language_model.model.",
                      lm_head="language_model.lm_head.weight")
    ids = [1] + text_ids(gen, 8) + [-200] + text_ids(gen, 7)
    embeds, splice = splice_sentinel(dec, ids, [("0", proj)])
    fam.prompt(dec, "0", ids, embeds, splice)

    fam.manifest.update({
        "model_dir": rel(mdir),
        "layout": "llava-hf LlavaForConditionalGeneration, single model.safetensors",
        "stored_dtype": "float16",
        "vision": dict(kind="clip", tensor_prefix="vision_tower.vision_model.", feature_layer_index=1,
                       feature="hidden_states[-2] = output of encoder layer num_hidden_layers-2; CLS dropped",
                       **vc),
        "projector": {"kind": "mlp2x_gelu", "linear_1": "multi_modal_projector.linear_1",
                      "linear_2": "multi_modal_projector.linear_2", "act": "gelu (erf)"},
        "text": dict(kind="llama", tensor_prefix="language_model.model.", lm_head="language_model.lm_head.weight",
                     **tc),
        "image_placeholder": "-200 sentinel in input_ids (LLaVA tokenizer_image_token); config.image_token_index "
                             "300 is the llava-hf id and does not appear in the goldens",
        "bos_token_id": 1,
    })
    fam.finish(t0)


# ----------------------------------------------------------------------------------------------- longva

def longva():
    t0 = time.time()
    fam = Family("longva", ["tiny-longva"])
    seed(1002)
    gen = torch.Generator().manual_seed(2002)
    vc = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3,
          "image_size": 56, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    tc = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
          "num_hidden_layers": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000000.0, "vocab_size": 320,
          "max_position_embeddings": 512}
    b = Builder()
    build_llama(b, "model.", "lm_head.weight", tc, qkv_bias=True)
    lm_head = b.t.pop("lm_head.weight")
    build_clip(b, "model.vision_tower.vision_tower.vision_model.", vc)
    b.lin("model.mm_projector.0", tc["hidden_size"], vc["hidden_size"])
    b.lin("model.mm_projector.2", tc["hidden_size"], tc["hidden_size"])
    b.t["lm_head.weight"] = lm_head
    stored = b.stored(torch.bfloat16)
    mdir = fam.model_dirs[0]
    write_sharded(mdir, stored, 2, ST_META)
    fam.check_reread(mdir, stored)
    pinpoints = [[56, 112], [56, 168], [112, 56], [112, 112], [168, 56]]
    config = dict(
        architectures=["LlavaQwenForCausalLM"], model_type="llava_qwen", hidden_act="silu",
        eos_token_id=2, tie_word_embeddings=False, torch_dtype="bfloat16",
        use_sliding_window=False, sliding_window=4096, max_window_layers=28, attention_dropout=0.0,
        **tc,
        mm_vision_tower="openai/clip-vit-large-patch14-336",
        mm_projector_type="mlp2x_gelu", mm_vision_select_layer=-2, mm_vision_select_feature="patch",
        mm_hidden_size=vc["hidden_size"], mm_use_im_start_end=False, mm_use_im_patch_token=False,
        mm_resampler_type=None, image_aspect_ratio="anyres", image_grid_pinpoints=pinpoints,
        mm_patch_merge_type="unires", mm_spatial_pool_stride=2, mm_spatial_pool_mode="average",
        tokenizer_model_max_length=512, use_mm_proj=True,
        mm_vision_tower_config=dict(clip_config(vc), _comment=(
            "tiny-model only: the real LongVA config has no such object; its tower dims come from the named "
            "mm_vision_tower (CLIP ViT-L/14-336: hidden 1024, 24 layers, 16 heads, MLP 4096, image 336, "
            "patch 14, quick_gelu, eps 1e-5)")),
    )
    write_json(os.path.join(mdir, "config.json"), config)

    W = as_f32(stored)
    vp = "model.vision_tower.vision_tower.vision_model."
    grid = vc["image_size"] // vc["patch_size"]
    proj_rows = {}
    view_roles = ["image base (dropped by unires)", "image tile (0,0)", "image tile (0,1)", "image tile (1,0)",
                  "image tile (1,1)", "video frame 0", "video frame 1", "video frame 2"]
    for i, role in enumerate(view_roles):
        pixels = clip_pixels(gen, 56, 56)
        out = ref.clip_vision(W, vp, vc, pixels)
        files, feats = save_clip_view(fam, i, pixels, out, -2)
        proj = ref.mlp2x_gelu(W, "model.mm_projector.0", "model.mm_projector.2", feats)
        files["projector"] = fam.npy(f"projector.{i}.npy", proj)
        pooled = ref.pool2x2(proj, grid)
        files["pooled"] = fam.npy(f"projector.{i}.pooled.npy", pooled)
        proj_rows[i] = pooled
        fam.views.append({"index": i, "role": role, "size_hw": [56, 56], "files": files})
    img = torch.cat([proj_rows[i] for i in (1, 2, 3, 4)])
    vid = torch.cat([proj_rows[i] for i in (5, 6, 7)])
    fam.images["image"] = {
        "views": [0, 1, 2, 3, 4], "base_view": 0, "tile_views": [1, 2, 3, 4], "image_size_wh": [100, 100],
        "best_resolution_wh": [112, 112], "grid_cols_rows": [2, 2], "rows": int(img.shape[0]),
        "embeddings": fam.npy("image.image.embeddings.npy", img),
        "how": "unires: base view dropped; each tile projector output [16,C] viewed 4x4, 2x2 avg pool -> 2x2, "
               "flattened row-major; tiles concatenated row-major"}
    fam.images["video"] = {
        "views": [5, 6, 7], "rows": int(vid.shape[0]), "embeddings": fam.npy("image.video.embeddings.npy", vid),
        "how": "get_2dPool per frame (4x4 -> 2x2 average, stride mm_spatial_pool_stride), frames concatenated"}

    dec = ref.Decoder(W, "qwen2", 64, 4, 2, 2, 320, 1e-6, 1000000000.0, prefix="model.", lm_head="lm_head.weight")
    for case, rows in (("image", img), ("video", vid)):
        ids = text_ids(gen, 9) + [-200] + text_ids(gen, 8)
        embeds, splice = splice_sentinel(dec, ids, [(case, rows)])
        fam.prompt(dec, case, ids, embeds, splice)

    fam.manifest.update({
        "model_dir": rel(mdir),
        "layout": "LongVA (llava_qwen): 2 shards + model.safetensors.index.json",
        "stored_dtype": "bfloat16",
        "vision": dict(kind="clip", tensor_prefix=vp, feature_layer_index=1, dims_from="config.mm_vision_tower_config",
                       **vc),
        "projector": {"kind": "mlp2x_gelu", "linear_1": "model.mm_projector.0", "linear_2": "model.mm_projector.2"},
        "pooling": {"stride": 2, "mode": "average", "grid": grid, "pooled_grid": grid // 2},
        "text": dict(kind="qwen2", tensor_prefix="model.", lm_head="lm_head.weight", qkv_bias=True, **tc),
        "image_grid_pinpoints": pinpoints,
        "image_placeholder": "-200 sentinel in input_ids (one per image, one per whole video); no BOS",
    })
    fam.finish(t0)


# ----------------------------------------------------------------------------------------------- minicpm-v-2

def minicpm():
    t0 = time.time()
    fam = Family("minicpm-v-2", ["tiny-minicpm-v-2"])
    seed(1003)
    gen = torch.Generator().manual_seed(2003)
    vc = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 4,
          "image_size": 56, "patch_size": 14, "hidden_act": "gelu", "layer_norm_eps": 1e-6}
    vc_run = dict(vc, stored_blocks=vc["num_hidden_layers"] - 1)
    tc = {"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_key_value_heads": 4,
          "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 320,
          "max_position_embeddings": 512}
    mu = {"scale_emb": 12, "scale_depth": 1.4, "dim_model_base": 32}
    query_num = 16
    e = tc["hidden_size"]
    heads = e // 128
    b = Builder()
    build_llama(b, "llm.model.", "llm.lm_head.weight", tc, emb_std=0.1)
    b.normal("resampler.query", (query_num, e), 0.5)
    b.t["resampler.pos_embed"] = ref.sincos_2d(e, (4, 4))
    b.normal("resampler.proj", (e, e), 1.0 / math.sqrt(e))
    b.normal("resampler.kv_proj.weight", (e, vc["hidden_size"]), 1.0 / math.sqrt(vc["hidden_size"]))
    b.normal("resampler.attn.in_proj_weight", (3 * e, e), 1.0 / math.sqrt(e))
    b.normal("resampler.attn.in_proj_bias", (3 * e,), 0.1)
    b.lin("resampler.attn.out_proj", e, e)
    b.norm("resampler.ln_q", e)
    b.norm("resampler.ln_kv", e)
    b.norm("resampler.ln_post", e)
    d, pt = vc["hidden_size"], vc["patch_size"]
    b.normal("vpm.patch_embed.proj.weight", (d, 3, pt, pt), 1.0 / math.sqrt(3 * pt * pt))
    b.normal("vpm.patch_embed.proj.bias", (d,), 0.1)
    b.normal("vpm.pos_embed", (1, (vc["image_size"] // pt) ** 2, d), 0.5)
    for i in range(vc_run["stored_blocks"]):
        bp = f"vpm.blocks.{i}."
        b.norm(bp + "norm1", d)
        b.lin(bp + "attn.qkv", 3 * d, d)
        b.lin(bp + "attn.proj", d, d)
        b.norm(bp + "norm2", d)
        b.lin(bp + "mlp.fc1", vc["intermediate_size"], d)
        b.lin(bp + "mlp.fc2", d, vc["intermediate_size"])
    b.norm("vpm.norm", d)
    stored = b.stored(torch.bfloat16)
    mdir = fam.model_dirs[0]
    write_sharded(mdir, stored, 2, ST_META)
    fam.check_reread(mdir, stored)
    config = dict(
        architectures=["MiniCPMV"], model_type="minicpmv", hidden_act="silu", bos_token_id=1, eos_token_id=2,
        pad_token_id=0, tie_word_embeddings=False, torch_dtype="bfloat16", rope_scaling=None, use_cache=True,
        **tc, **mu,
        query_num=query_num, max_slice_nums=9, scale_resolution=56, patch_size=14, slice_mode=True,
        drop_vision_last_layer=True, vision_encoder="vit_so400m_patch14_siglip_384.webli",
        vision_config=dict(vc, model_type="timm_vit", _comment=(
            "tiny-model only: the real config names a timm model in vision_encoder (so400m: hidden 1152, depth "
            "27, 16 heads, MLP 4304, image 384 -> 27x27 pos_embed, patch 14, exact GELU, eps 1e-6). "
            "num_hidden_layers is the timm depth BEFORE drop_vision_last_layer: stored blocks = depth - 1")),
    )
    write_json(os.path.join(mdir, "config.json"), config)
    write_json(os.path.join(mdir, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2})

    W = as_f32(stored)
    sizes_wh = [(56, 56), (70, 42), (42, 70)]
    rows = {}
    for i, (w, h) in enumerate(sizes_wh):
        pixels = torch.rand(3, h, w, generator=gen) * 2 - 1
        out = ref.timm_vit(W, "vpm.", vc_run, pixels)
        res = ref.minicpm_resampler(W, out["features"], out["grid"], heads)
        files = {"pixels": fam.npy(f"vision.{i}.pixels.npy", pixels),
                 "pos_embed": fam.npy(f"vision.{i}.pos_embed.npy", out["pos_embed"]),
                 "embeddings": fam.npy(f"vision.{i}.embeddings.npy", out["embeddings"]),
                 "layers": [fam.npy(f"vision.{i}.layer{L}.npy", x) for L, x in enumerate(out["layers"])],
                 "features": fam.npy(f"vision.{i}.features.npy", out["features"]),
                 "resampler_pos_key": fam.npy(f"vision.{i}.resampler_pos_key.npy", res["pos_key"]),
                 "projector": fam.npy(f"projector.{i}.npy", res["output"])}
        rows[i] = res["output"]
        fam.views.append({"index": i, "size_wh": [w, h], "grid_hw": list(out["grid"]),
                          "pos_embed_interpolated": out["grid"] != (4, 4), "files": files})
        fam.images[str(i)] = {"views": [i], "rows": query_num,
                              "embeddings": fam.npy(f"image.{i}.embeddings.npy", res["output"]),
                              "how": "resampler output (not scaled by scale_emb)"}

    dec = ref.Decoder(W, "minicpm", e, 4, 4, 2, 320, 1e-5, 10000.0, prefix="llm.model.",
                      lm_head="llm.lm_head.weight", **mu)
    IM, IM_END, SL, SL_END, UNK, NL = 101, 102, 111, 112, 0, 13
    special = (0, 1, 2, IM, IM_END, SL, SL_END)
    ids = [1] + text_ids(gen, 3, avoid=special)
    blocks = []

    def placeholder(case):
        ids.append(IM)
        blocks.append((len(ids), case, rows[int(case)]))
        ids.extend([UNK] * query_num)
        ids.append(IM_END)

    placeholder("0")
    ids.append(SL)
    placeholder("1")
    placeholder("2")
    ids.append(SL_END)
    ids.append(NL)
    ids.extend(text_ids(gen, 6, avoid=special) + text_ids(gen, 2, avoid=special))
    embeds, splice = splice_overwrite(dec, ids, blocks)
    fam.prompt(dec, "0", ids, embeds, splice, extra={
        "image_bound": [[s, s + query_num] for s, _, _ in blocks],
        "note": "text rows = embed_tokens[id] * scale_emb; rows inside each image bound are overwritten with the "
                "resampler output (unscaled); generated tokens are embedded x scale_emb"})

    fam.manifest.update({
        "model_dir": rel(mdir),
        "layout": "openbmb/MiniCPM-V-2 (vpm.*, resampler.*, llm.*), 2 shards + index",
        "stored_dtype": "bfloat16",
        "vision": dict(kind="timm_siglip", tensor_prefix="vpm.", dims_from="config.vision_config",
                       stored_blocks=vc_run["stored_blocks"], pos_embed_grid=[4, 4], **vc),
        "resampler": {"embed_dim": e, "heads": heads, "heads_rule": "embed_dim // 128", "query_num": query_num,
                      "query_grid": [4, 4], "ln_eps": 1e-6, "kv_proj_bias": False, "proj": "x @ proj (no transpose)",
                      "key_pos": "2-D sin-cos of the view's (h, w) patch grid, first half = column, "
                                 "second half = row (vision.{i}.resampler_pos_key.npy)"},
        "text": dict(kind="minicpm", tensor_prefix="llm.model.", lm_head="llm.lm_head.weight", **tc, **mu,
                     residual_scale=mu["scale_depth"] / math.sqrt(tc["num_hidden_layers"]),
                     logit_divisor=tc["hidden_size"] / mu["dim_model_base"]),
        "special_ids": {"unk": 0, "bos": 1, "eos": 2, "image": IM, "image_end": IM_END, "slice": SL,
                        "slice_end": SL_END},
    })
    fam.finish(t0)


# ----------------------------------------------------------------------------------------------- auroracap

def tome_r(image_size, patch, ratio, layers):
    return int(image_size * image_size / patch ** 2 * (1 - ratio) / layers)


def auroracap():
    t0 = time.time()
    fam = Family("auroracap", ["tiny-auroracap"])
    seed(1004)
    gen = torch.Generator().manual_seed(2004)
    vc = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 4,
          "image_size": 84, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    tc = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4,
          "num_hidden_layers": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 320,
          "max_position_embeddings": 512}
    mdir = fam.model_dirs[0]
    b = Builder()
    build_llama(b, "model.", "lm_head.weight", tc)
    llm = b.stored(torch.bfloat16)
    bv = Builder()
    build_clip(bv, "vision_model.", vc)
    vis = bv.stored(torch.bfloat16)
    bp = Builder()
    bp.lin("model.0", tc["hidden_size"], vc["hidden_size"])
    bp.lin("model.2", tc["hidden_size"], tc["hidden_size"])
    prj = bp.stored(torch.float32)
    write_sharded(mdir, llm, 2, ST_META)
    write_sharded(os.path.join(mdir, "visual_encoder"), vis, 2, ST_META)
    write_safetensors(os.path.join(mdir, "projector", "model.safetensors"), prj, ST_META)
    fam.check_reread(mdir, llm)
    fam.check_reread(os.path.join(mdir, "visual_encoder"), vis)
    fam.check_reread(os.path.join(mdir, "projector"), prj)
    write_json(os.path.join(mdir, "config.json"), dict(
        architectures=["LlamaForCausalLM"], model_type="llama", hidden_act="silu", bos_token_id=1, eos_token_id=2,
        pad_token_id=0, tie_word_embeddings=False, torch_dtype="bfloat16", rope_scaling=None, **tc))
    write_json(os.path.join(mdir, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0})
    write_json(os.path.join(mdir, "visual_encoder", "config.json"),
               dict(clip_config(vc), architectures=["PikaVidEncoder"], torch_dtype="bfloat16"))
    write_json(os.path.join(mdir, "visual_encoder", "preprocessor_config.json"), {
        "crop_size": {"height": 84, "width": 84}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN,
        "image_processor_type": "CLIPImageProcessor", "image_std": CLIP_STD, "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 84}})
    write_json(os.path.join(mdir, "projector", "config.json"), {
        "architectures": ["ProjectorModel"], "model_type": "projector", "visual_hidden_size": vc["hidden_size"],
        "llm_hidden_size": tc["hidden_size"], "depth": 2, "hidden_act": "gelu", "bias": True,
        "torch_dtype": "float32"})

    Wv, Wp, Wl = as_f32(vis), as_f32(prj), as_f32(llm)
    ratios = [1.0, 0.5, 0.2, 0.0]
    rs = {str(r): tome_r(vc["image_size"], vc["patch_size"], r, vc["num_hidden_layers"]) for r in ratios}
    results = {}
    tome_diag = {}
    roles = ["image", "video frame 0", "video frame 1"]
    for i, role in enumerate(roles):
        pixels = clip_pixels(gen, 84, 84)
        files = {"pixels": fam.npy(f"vision.{i}.pixels.npy", pixels)}
        for ratio in ratios:
            rk = str(ratio)
            out = ref.clip_vision(Wv, "vision_model.", vc, pixels, tome_r=rs[rk])
            if ratio == 1.0:
                files["embeddings"] = fam.npy(f"vision.{i}.embeddings.npy", out["embeddings"])
                files["pre_layrnorm"] = fam.npy(f"vision.{i}.pre_layrnorm.npy", out["pre_layrnorm"])
            fr = {"r": rs[rk],
                  "layers": [fam.npy(f"vision.{i}.layer{L}.r{rk}.npy", x) for L, x in enumerate(out["layers"])],
                  "sizes": [fam.npy(f"vision.{i}.layer{L}.sizes.r{rk}.npy", s) for L, s in enumerate(out["sizes"])],
                  "tokens_after_layer": [int(x.shape[0]) for x in out["layers"]]}
            feats = out["layers"][-2][1:]
            proj = ref.mlp2x_gelu(Wp, "model.0", "model.2", feats)
            fr["features"] = fam.npy(f"vision.{i}.features.r{rk}.npy", feats)
            fr["projector"] = fam.npy(f"projector.{i}.r{rk}.npy", proj)
            fr["tome"] = out["tome"]
            for info in out["tome"]:
                for key in ("boundary_gap", "argmax_gap"):
                    if info.get(key) is not None:
                        assert info[key] > 1e-4, (i, rk, info)
            files["r" + rk] = fr
            results[(i, rk)] = proj
        fam.views.append({"index": i, "role": role, "size_hw": [84, 84], "files": files})

    img = results[(0, "0.5")]
    vid = torch.cat([results[(1, "0.2")], results[(2, "0.2")]])
    fam.images["image"] = {"views": [0], "token_kept_ratio": 0.5, "r": rs["0.5"], "rows": int(img.shape[0]),
                           "embeddings": fam.npy("image.image.embeddings.npy", img),
                           "how": "projector.0.r0.5 as is (ToMe output order)"}
    fam.images["frame0"] = {"views": [1], "token_kept_ratio": 0.2, "r": rs["0.2"],
                            "rows": int(results[(1, "0.2")].shape[0]),
                            "embeddings": fam.npy("image.frame0.embeddings.npy", results[(1, "0.2")])}
    fam.images["frame1"] = {"views": [2], "token_kept_ratio": 0.2, "r": rs["0.2"],
                            "rows": int(results[(2, "0.2")].shape[0]),
                            "embeddings": fam.npy("image.frame1.embeddings.npy", results[(2, "0.2")])}
    fam.images["video"] = {"views": [1, 2], "token_kept_ratio": 0.2, "r": rs["0.2"], "rows": int(vid.shape[0]),
                           "embeddings": fam.npy("image.video.embeddings.npy", vid),
                           "how": "frames are separate <image> placeholders: frame0 at the first -200, frame1 at "
                                  "the second (this file is their concatenation for convenience)"}

    dec = ref.Decoder(Wl, "llama", 64, 4, 4, 2, 320, 1e-5, 10000.0, prefix="model.", lm_head="lm_head.weight")
    ids = [1] + text_ids(gen, 3) + [-200] + text_ids(gen, 7)
    embeds, splice = splice_sentinel(dec, ids, [("image", img)])
    fam.prompt(dec, "image", ids, embeds, splice, extra={"token_kept_ratio": 0.5})
    space = 259  # tiny stand-in for the " " chunk between frame placeholders
    ids = [1] + text_ids(gen, 3) + [-200, space, -200] + text_ids(gen, 7)
    embeds, splice = splice_sentinel(dec, ids, [("frame0", results[(1, "0.2")]), ("frame1", results[(2, "0.2")])])
    fam.prompt(dec, "video", ids, embeds, splice, extra={"token_kept_ratio": 0.2})

    fam.manifest.update({
        "model_dir": rel(mdir),
        "layout": "xtuner: root Llama (2 shards) + visual_encoder/ (CLIP, 2 shards) + projector/ (model.0, model.2)",
        "stored_dtype": {"root": "bfloat16", "visual_encoder": "bfloat16", "projector": "float32"},
        "vision": dict(kind="clip+tome", tensor_prefix="vision_model.", folder="visual_encoder",
                       feature_layer_index=vc["num_hidden_layers"] - 2, **vc),
        "tome": {"ratios": ratios, "r": rs,
                 "r_formula": "int(image_size*image_size/patch_size**2*(1-ratio)/num_hidden_layers) in double",
                 "per_layer_cap": "r_eff = min(r, (tokens-1)//2)",
                 "sort": "stable descending sort of node_max (ties do not occur in these goldens: every "
                         "src/unm boundary gap and argmax gap is > 1e-4, see views[*].files.r*.tome)",
                 "proportional_attention": "none (AuroraCap adds log(size) along the query axis = no effect)"},
        "projector": {"kind": "mlp2x_gelu (xtuner ProjectorModel)", "linear_1": "model.0", "linear_2": "model.2",
                      "folder": "projector"},
        "text": dict(kind="llama", tensor_prefix="model.", lm_head="lm_head.weight", **tc),
        "image_placeholder": "-200 sentinel, one per image / video frame; frames separated by a ' ' token (259 here)",
        "bos_token_id": 1,
    })
    fam.finish(t0)


# ----------------------------------------------------------------------------------------------- aria

def aria():
    t0 = time.time()
    fam = Family("aria", ["tiny-aria"])
    seed(1005)
    gen = torch.Generator().manual_seed(2005)
    vc = {"hidden_size": 32, "intermediate_size": 64, "attention_heads": 4, "num_hidden_layers": 3,
          "image_size": 56, "patch_size": 14}
    vc_run = dict(vc, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    tc = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4,
          "num_hidden_layers": 2, "rope_theta": 5000000.0, "vocab_size": 320, "max_position_embeddings": 512,
          "moe_num_experts": 4, "moe_topk": 2, "moe_intermediate_size": 32, "moe_num_shared_experts": 2}
    p2q = {"16": 8, "4": 4}
    d = vc["hidden_size"]
    e_txt = tc["hidden_size"]
    b = Builder()
    vp = "vision_tower.vision_model."
    pt = vc["patch_size"]
    b.normal(vp + "embeddings.patch_embedding.weight", (d, 3, pt, pt), 1.0 / math.sqrt(3 * pt * pt))
    b.normal(vp + "embeddings.patch_embedding.bias", (d,), 0.1)
    b.normal(vp + "embeddings.position_embedding.weight", ((vc["image_size"] // pt) ** 2, d), 0.5)
    for i in range(vc["num_hidden_layers"]):
        lp = f"{vp}encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            b.lin(lp + "self_attn." + proj, d, d)
        b.norm(lp + "layer_norm1", d)
        b.lin(lp + "mlp.fc1", vc["intermediate_size"], d)
        b.lin(lp + "mlp.fc2", d, vc["intermediate_size"])
        b.norm(lp + "layer_norm2", d)
    pp = "multi_modal_projector."
    b.normal(pp + "query", (max(p2q.values()), d), 1.0)
    b.normal(pp + "cross_attn.q_proj.weight", (d, d), 1.0 / math.sqrt(d))
    b.normal(pp + "cross_attn.k_proj.weight", (d, d), 1.0 / math.sqrt(d))
    b.normal(pp + "cross_attn.v_proj.weight", (d, d), 1.0 / math.sqrt(d))
    b.normal(pp + "cross_attn.multihead_attn.in_proj_weight", (3 * d, d), 1.0 / math.sqrt(d))
    b.normal(pp + "cross_attn.multihead_attn.in_proj_bias", (3 * d,), 0.1)
    b.lin(pp + "cross_attn.multihead_attn.out_proj", d, d)
    b.lin(pp + "cross_attn.linear", d, d)
    b.norm(pp + "cross_attn.layer_norm", d)
    b.norm(pp + "cross_attn.ln_kv", d)
    b.norm(pp + "ln_ffn", d)
    b.normal(pp + "ffn.linear_in.weight", (e_txt, d), 1.0 / math.sqrt(d))
    b.normal(pp + "ffn.linear_out.weight", (e_txt, e_txt), 1.0 / math.sqrt(e_txt))
    build_llama(b, "language_model.model.", "language_model.lm_head.weight", tc, moe=tc)
    stored = b.stored(torch.bfloat16)
    mdir = fam.model_dirs[0]
    write_sharded(mdir, stored, 3, ST_META)
    fam.check_reread(mdir, stored)
    config = {
        "architectures": ["AriaForConditionalGeneration"],
        "model_type": "aria",
        "image_token_index": 9,
        "ignore_index": -100,
        "pad_token_id": 2,
        "projector_patch_to_query_dict": p2q,
        "vision_feature_layer": -1,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "vision_config": dict(vc, model_type="aria_vision_model", architectures=["AriaVisionModel"],
                              torch_dtype="bfloat16"),
        "text_config": dict(tc, model_type="aria_moe_lm", architectures=["AriaForCausalLM"], bos_token_id=1,
                            eos_token_id=2, tie_word_embeddings=False, hidden_act="silu"),
    }
    write_json(os.path.join(mdir, "config.json"), config)
    write_json(os.path.join(mdir, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2})

    W = as_f32(stored)
    # (input size M, valid width, valid height): 56 = the "980" analog (16 patches -> 8 queries), 28 = "490" (4 -> 4)
    views = [(56, 56, 56), (56, 42, 30), (28, 28, 28), (28, 28, 10)]
    rows = {}
    for i, (m, vw, vh) in enumerate(views):
        pixels = torch.rand(3, m, m, generator=gen) * 2 - 1
        pixel_mask = torch.zeros(m, m, dtype=torch.bool)
        pixel_mask[:vh, :vw] = True
        pixels[:, ~pixel_mask] = -1.0  # black padding after (x - 0.5) / 0.5
        out = ref.idefics_vision(W, vp, vc_run, pixels, pixel_mask)
        pr = ref.aria_projector(W, out["features"], out["patch_mask"], p2q, vc["attention_heads"])
        files = {"pixels": fam.npy(f"vision.{i}.pixels.npy", pixels),
                 "pixel_mask": fam.npy(f"vision.{i}.pixel_mask.npy", pixel_mask),
                 "patch_mask": fam.npy(f"vision.{i}.patch_mask.npy", out["patch_mask"]),
                 "position_ids": fam.npy(f"vision.{i}.position_ids.npy", out["position_ids"]),
                 "embeddings": fam.npy(f"vision.{i}.embeddings.npy", out["embeddings"]),
                 "layers": [fam.npy(f"vision.{i}.layer{L}.npy", x) for L, x in enumerate(out["layers"])],
                 "features": fam.npy(f"vision.{i}.features.npy", out["features"]),
                 "cross_attn": fam.npy(f"projector.{i}.cross_attn.npy", pr["cross_attn"]),
                 "projector": fam.npy(f"projector.{i}.npy", pr["output"])}
        rows[i] = pr["output"]
        fam.views.append({"index": i, "size_hw": [m, m], "valid_wh": [vw, vh],
                          "patches": int(out["patch_mask"].numel()), "queries": int(pr["output"].shape[0]),
                          "position_ids": out["position_ids"].tolist(), "files": files})
    img0 = torch.cat([rows[0], rows[1]])
    img1 = torch.cat([rows[2], rows[3]])
    fam.images["0"] = {"views": [0, 1], "rows": int(img0.shape[0]),
                       "embeddings": fam.npy("image.0.embeddings.npy", img0),
                       "how": "crops concatenated in crop order (8 queries each)"}
    fam.images["1"] = {"views": [2, 3], "rows": int(img1.shape[0]),
                       "embeddings": fam.npy("image.1.embeddings.npy", img1),
                       "how": "crops concatenated in crop order (4 queries each)"}

    # position-id lookup for the real 70x70 table: row n-1 = bucket of each fractional coordinate for n valid patches
    table = torch.full((70, 70), -1, dtype=torch.int64)
    boundaries = torch.arange(1 / 70, 1.0, 1 / 70)
    for n in range(1, 71):
        f = torch.arange(0, 1 - 1e-6, 1 / torch.tensor(n))
        table[n - 1, :len(f)] = torch.bucketize(f, boundaries, right=True)
    fam.npy("navit.buckets.p70.npy", table)

    dec = ref.Decoder(W, "aria", e_txt, 4, 4, 2, 320, 1e-6, 5000000.0, prefix="language_model.model.",
                      lm_head="language_model.lm_head.weight", moe_topk=2, moe_inter=32)
    IMG, FIM_PRE, FIM_SUF = 9, 5, 6
    special = (0, 1, 2, IMG, FIM_PRE, FIM_SUF)
    ids = text_ids(gen, 4, avoid=special) + [FIM_PRE]
    blocks = [(len(ids), "0", img0)]
    ids += [IMG] * img0.shape[0] + [FIM_SUF] + text_ids(gen, 3, avoid=special) + [FIM_PRE]
    blocks.append((len(ids), "1", img1))
    ids += [IMG] * img1.shape[0] + [FIM_SUF] + text_ids(gen, 6, avoid=special)
    embeds, splice = splice_overwrite(dec, ids, blocks)
    fam.prompt(dec, "0", ids, embeds, splice,
               extra={"note": "rows at input_ids == image_token_index (9) are replaced, in order, by the image rows"})

    fam.manifest.update({
        "model_dir": rel(mdir),
        "layout": "rhymes-ai/Aria original naming, 3 shards + index",
        "stored_dtype": "bfloat16",
        "vision": dict(kind="idefics_siglip", tensor_prefix=vp, num_patches_per_side=vc["image_size"] // pt,
                       config_defaults_used={"layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"},
                       **vc),
        "projector": {"kind": "aria", "tensor_prefix": pp, "patch_to_query": p2q, "heads": vc["attention_heads"],
                      "ln_eps": 1e-5, "ffn_act": "gelu_new (tanh)", "residual": False,
                      "key_mask": "invalid patches blocked as keys (True = blocked) in nn.MultiheadAttention"},
        "text": dict(kind="aria_moe", tensor_prefix="language_model.model.", lm_head="language_model.lm_head.weight",
                     rms_norm_eps=1e-6, **tc),
        "special_ids": {"image": IMG, "fim_prefix": FIM_PRE, "fim_suffix": FIM_SUF},
        "navit_buckets": {"file": "navit.buckets.p70.npy", "meaning": (
            "row n-1: bucketize(arange(0, 1-1e-6, 1/tensor(n)) [float32], arange(1/70, 1, 1/70), right=True) for "
            "n valid patches along an axis, -1 padded; n=35 (490 mode) gives exactly 2*j, n=70 gives j")},
    })
    fam.finish(t0)


# ----------------------------------------------------------------------------------------------- llava-mpt

def llava_mpt():
    t0 = time.time()
    fam = Family("llava-mpt", ["tiny-llava-mpt", "tiny-clip-vit-224"])
    seed(1006)
    gen = torch.Generator().manual_seed(2006)
    vc = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3,
          "image_size": 56, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    mc = {"d_model": 96, "n_heads": 6, "n_layers": 2, "expansion_ratio": 4, "max_seq_len": 256, "vocab_size": 320}
    d = mc["d_model"]
    ffn = d * mc["expansion_ratio"]
    bv = Builder()
    build_clip(bv, "vision_model.", vc)
    clip = bv.stored(torch.float32)
    b = Builder()
    b.normal("transformer.wte.weight", (mc["vocab_size"], d), 0.3)
    for i in range(mc["n_layers"]):
        lp = f"transformer.blocks.{i}."
        b.norm(lp + "norm_1", d, bias=False)
        b.lin(lp + "attn.Wqkv", 3 * d, d, bias=False)
        b.lin(lp + "attn.out_proj", d, d, bias=False)
        b.norm(lp + "norm_2", d, bias=False)
        b.lin(lp + "ffn.up_proj", ffn, d, bias=False)
        b.lin(lp + "ffn.down_proj", d, ffn, bias=False)
    b.norm("transformer.norm_f", d, bias=False)
    b.lin("transformer.mm_projector", d, vc["hidden_size"])
    stored = b.stored(torch.float32)
    mdir, cdir = fam.model_dirs
    write_safetensors(os.path.join(mdir, "model.safetensors"), stored, ST_META)
    write_safetensors(os.path.join(cdir, "model.safetensors"), clip, ST_META)
    fam.check_reread(mdir, stored)
    fam.check_reread(cdir, clip)
    IM_START, IM_END = 301, 302
    write_json(os.path.join(mdir, "config.json"), dict(
        architectures=["LlavaMPTForCausalLM"], model_type="llava_mpt", **mc, no_bias=True, learned_pos_emb=True,
        norm_type="low_precision_layernorm", layer_norm_epsilon=1e-5, emb_pdrop=0, resid_pdrop=0,
        attn_config={"alibi": True, "alibi_bias_max": 8, "attn_impl": "torch", "attn_pdrop": 0, "attn_type":
                     "multihead_attention", "attn_uses_sequence_id": False, "clip_qkv": None, "prefix_lm": False,
                     "qk_ln": False, "softmax_scale": None},
        init_device="cpu", logit_scale=None, torch_dtype="float32", use_cache=True,
        mm_vision_tower="../tiny-clip-vit-224", mm_hidden_size=vc["hidden_size"], mm_use_im_start_end=True,
        mm_vision_select_layer=-2, tune_mm_mlp_adapter=False, freeze_mm_mlp_adapter=False))
    write_json(os.path.join(cdir, "config.json"), {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": vc["hidden_size"],
        "torch_dtype": "float32",
        "_comment": "tiny stand-in for openai/clip-vit-large-patch14 (224): only the vision tower is stored",
        "vision_config": clip_config(vc),
        "text_config": {"model_type": "clip_text_model", "hidden_size": 32, "intermediate_size": 64,
                        "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 320,
                        "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}})
    write_json(os.path.join(cdir, "preprocessor_config.json"), {
        "crop_size": {"height": 56, "width": 56}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN,
        "image_processor_type": "CLIPImageProcessor", "image_std": CLIP_STD, "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 56}})

    Wc, W = as_f32(clip), as_f32(stored)
    pixels = clip_pixels(gen, 56, 56)
    out = ref.clip_vision(Wc, "vision_model.", vc, pixels)
    files, feats = save_clip_view(fam, 0, pixels, out, -2)
    proj = ref.linear(feats, W, "transformer.mm_projector")
    files["projector"] = fam.npy("projector.0.npy", proj)
    fam.views.append({"index": 0, "size_hw": [56, 56], "files": files})
    fam.images["0"] = {"views": [0], "rows": int(proj.shape[0]),
                       "embeddings": fam.npy("image.0.embeddings.npy", proj), "how": "linear projector output"}

    dec = ref.Decoder(W, "mpt", d, mc["n_heads"], mc["n_heads"], mc["n_layers"], mc["vocab_size"], 1e-5,
                      alibi_bias_max=8)
    special = (IM_START, IM_END)
    ids = text_ids(gen, 6, avoid=special) + [IM_START, -200, IM_END] + text_ids(gen, 8, avoid=special)
    embeds, splice = splice_sentinel(dec, ids, [("0", proj)])
    fam.prompt(dec, "0", ids, embeds, splice)

    fam.manifest.update({
        "model_dir": rel(mdir),
        "vision_model_dir": rel(cdir),
        "layout": "original LLaVA MPT (transformer.*, transformer.mm_projector), single model.safetensors; CLIP in "
                  "a separate folder named by mm_vision_tower (relative to the model folder)",
        "stored_dtype": "float32",
        "vision": dict(kind="clip", tensor_prefix="vision_model.", feature_layer_index=1,
                       dims_from="tiny-clip-vit-224/config.json vision_config", **vc),
        "projector": {"kind": "linear", "name": "transformer.mm_projector"},
        "text": dict(kind="mpt", alibi_slopes=ref.alibi_slopes(mc["n_heads"]).tolist(), ln_eps=1e-5,
                     lm_head="tied to transformer.wte.weight", **mc),
        "special_ids": {"im_start": IM_START, "im_end": IM_END},
        "image_placeholder": "<im_start> -200 <im_end>; no BOS",
    })
    fam.finish(t0)


FAMILIES = {"llava-1.5": llava15, "longva": longva, "minicpm-v-2": minicpm, "auroracap": auroracap,
            "aria": aria, "llava-mpt": llava_mpt}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", action="append", choices=list(FAMILIES), help="only this family (repeatable)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    for name in args.family or list(FAMILIES):
        FAMILIES[name]()
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
