"""The tiny demo families other than LLaVA-1.5: batched training modules with the checkpoints' real tensor names,
the data each family trains on, the files each family writes, and the reference forward used for the goldens.

Every family provides:
  views_for_image(image, shapes)  -> [(pixels [3,H,W] float32, labels or None)] in placeholder order
  image_part(n_views)             -> the prompt part (token counts per view, grid, kind) for the prompt port
  tasks(rng)                      -> extra training/evaluation items (videos, PDFs) beyond single images
  model(vocab) / save(out, tok, stored) / reference(W) (eval in eng/managed/reference.py's float32 math)
"""

import functools
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
CLIP_TINY = {"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4, "num_hidden_layers": 4,
             "image_size": 112, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}


def clip_config(c):
    return dict(c, model_type="clip_vision_model", num_channels=3, projection_dim=c["hidden_size"])


def clip_preprocessor(size):
    return {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": size},
            "resample": 3, "do_center_crop": True, "crop_size": {"height": size, "width": size}, "do_rescale": True,
            "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
            "do_convert_rgb": True}


def centre_labels(points, size, patch):
    """points: [(x, y, kind, colour[, r, cell])] in view pixels -> [4, g*g] labels: the kind and colour of the shape
    centred in each patch (0 = none); (train.py --cell-aux) 1 + the scene cell (row * 3 + column of the 3 x 3 grid a
    description's position words name) of the shape whose disc covers the patch's centre, 0 = none; and (train.py
    --joint-aux) 1 + JOINT index of that shape's cell, kind and colour together, 0 = none. The last two rows are -1
    (not labelled) when the points carry no radius and cell (video frames, slices and crops)."""
    g = size // patch
    lab = np.zeros((4, g * g), dtype=np.int64)
    if any(len(p) < 6 for p in points):
        lab[2:] = -1
    centres = (np.arange(g) + 0.5) * patch
    for x, y, kind, colour, *rest in points:
        if 0 <= x < size and 0 <= y < size:
            i = min(g - 1, int(y) // patch) * g + min(g - 1, int(x) // patch)
            lab[0, i] = 1 + S.SHAPES.index(kind)
            lab[1, i] = 1 + list(S.COLOURS).index(colour)
        if len(rest) == 2:
            r, cell = rest
            inside = ((centres[:, None] - y) ** 2 + (centres[None, :] - x) ** 2) <= (0.9 * r) ** 2
            lab[2][inside.reshape(-1)] = 1 + cell
            lab[3][inside.reshape(-1)] = 1 + (cell * len(S.SHAPES) + S.SHAPES.index(kind)) * len(S.COLOURS) + \
                list(S.COLOURS).index(colour)
    return lab


JOINT = 1 + 9 * len(S.SHAPES) * len(S.COLOURS)  # the classes of centre_labels' last row: none, or cell x kind x colour


def shape_points(shapes, scale=1.0, dx=0.0, dy=0.0, scene=None):
    """Shape centres in view pixels; with `scene` (the side of the picture the shapes were drawn on) also each
    shape's radius in view pixels and its scene cell, for the --cell-aux labels."""
    if scene is None:
        return [(s["x"] * scale - dx, s["y"] * scale - dy, s["kind"], s["colour"]) for s in shapes]
    return [(s["x"] * scale - dx, s["y"] * scale - dy, s["kind"], s["colour"], s["r"] * scale,
             3 * S._third(s["y"], scene) + S._third(s["x"], scene)) for s in shapes]


def cell_loss(head, feats, targets):
    """train.py --cell-aux: soft cross-entropy of `head(feats)` [n, t, 10] against per-token class distributions
    `targets` [n, t, 10] (one-hot per patch, or ToMe's size-weighted average of them); tokens whose target is all
    zero (views without cell labels) do not count."""
    logp = F.log_softmax(head(feats).float(), dim=-1)
    weight = targets.sum(-1)
    return -(targets * logp).sum(-1).sum() / weight.sum().clamp(min=1.0)


def cell_onehot(targets, classes=10):
    """[n, t] labels (-1 = not labelled) -> [n, t, classes] one-hot rows, all zero where not labelled."""
    return F.one_hot(targets.clamp(min=0), classes).float() * (targets >= 0)[..., None].float()


# The prefixes of the training-only heads (dense tower labels, Aria's region loss, the position objective): never
# saved, exported or expected in a bundled model.
TRAINING_ONLY = ("aux.", "aux_region.", "aux_pos.", "aux_cell.", "aux_joint.")


def grid_positions(n, g):
    """(row, column) of each of g*g patches, row-major, scaled to [-1, 1], for n views: [n, g*g, 2]."""
    cell = torch.arange(g * g)
    return (torch.stack([cell // g, cell % g], dim=-1).float() / ((g - 1) / 2) - 1)[None].expand(n, -1, -1)


def grid_position_loss(head, feats):
    """train.py --position-aux for a tower without token merging: each patch's features predict, through the linear
    `head`, the patch's own place on its (square) grid."""
    g = math.isqrt(feats.shape[1])
    return F.mse_loss(head(feats).float(), grid_positions(feats.shape[0], g))


def add_tower_objectives(net, width, cell=True):
    """Gives `net` the training-only heads of train.py --position-aux (`aux_pos`: a token's place on the grid) and,
    with `cell`, of --cell-aux (`aux_cell`: the scene cell of the shape a token covers), both off until train.py
    turns them on, and the attributes their losses are left in."""
    net.aux_pos = nn.Linear(width, 2)
    net.position_aux, net.position_loss = False, None
    if cell:
        net.aux_cell = nn.Linear(width, 10)
        net.cell_aux, net.cell_loss = False, None
        net.cell_targets = None  # [views, patches] labels, set by train.py for each training step


def add_joint_objective(net, width):
    """Gives `net` the training-only head of train.py --joint-aux (`aux_joint`), off until train.py turns it on: each
    token the projector hands the language model predicts the cell, kind and colour of what its query attends to, as
    one class (centre_labels' last row averaged with the query's attention weights). Where a query attends to several
    shapes, a code for each shape's cell, kind and colour together keeps which colour and place belong to which shape
    through the mixing, where separate codes for each (the tower's aux and aux_cell heads) do not."""
    net.aux_joint = nn.Linear(width, JOINT)
    net.joint_aux, net.joint_loss, net.joint_targets = False, None, None  # targets: [views, patches], set by train.py


def wants_joint(net):
    return getattr(net, "joint_aux", False) and net.training and net.joint_targets is not None


def joint_objective(net, visual, weights):
    """The --joint-aux loss of projector outputs `visual` [views, queries, e] whose queries attended to the patches
    with `weights` [views, queries, patches], left in net.joint_loss."""
    targets = weights.detach().float() @ cell_onehot(net.joint_targets, JOINT)
    net.joint_loss = cell_loss(net.aux_joint, visual, targets)


@functools.lru_cache(maxsize=None)
def query_regions(queries, patches):
    """The --attend-region targets: [queries, patches] weights, each query spread evenly over its own block of the
    square patch grid, the blocks in row-major order (32 queries on 8 x 8 patches: row r, columns 2c and 2c + 1 for
    query 4r + c), so that the visual tokens of a view come in reading order, as a patch-per-token projector's do.
    Cached (the loss asks for it every step): callers only read it."""
    g = math.isqrt(patches)
    per = patches // queries
    if g * g != patches or per * queries != patches or per not in (1, 2, 4):
        raise SystemExit(f"--attend-region: {queries} queries over {patches} patches: one, two or four patches a query")
    bh, bw = (2, 2) if per == 4 else (1, per)
    rows, cols = torch.arange(patches).div(g, rounding_mode="floor"), torch.arange(patches) % g
    owner = rows // bh * (g // bw) + cols // bw  # the query whose block holds each patch
    return F.one_hot(owner, queries).T.float() / per


def region_attention_loss(weights):
    """The --attend-region loss of projector attention `weights` [views, heads, queries, patches]: the cross-entropy
    of every head's weights against its query's block (query_regions), so that query i reads block i of the grid."""
    target = query_regions(weights.shape[2], weights.shape[3])
    return -(target * (weights.float() + 1e-6).log()).sum(-1).mean()


def tower_objectives(net, feats):
    """The --position-aux and --cell-aux losses of a tower without token merging (one token per patch, row-major),
    left in net.position_loss and net.cell_loss."""
    if net.position_aux:
        net.position_loss = grid_position_loss(net.aux_pos, feats)
    if getattr(net, "cell_aux", False) and net.training and net.cell_targets is not None:
        net.cell_loss = cell_loss(net.aux_cell, feats, cell_onehot(net.cell_targets))


class ClipTower(nn.Module):
    """CLIP vision tower (names under vision_model.) with an optional in-layer ToMe (AuroraCap), batched."""

    def __init__(self, c):
        super().__init__()
        self.vision_model = M.ClipVision(c)

    def forward(self, pixels, layers, tome_r=0, positions=False, carry=None):
        """With positions=True also returns where each output token lies: (row, column) on the patch grid scaled to
        [-1, 1], the class token at (0, 0), averaged by ToMe exactly as the features are (size-weighted). `carry`
        ([n, patches, c], with positions=True) is averaged along in the same way and returned after the two position
        columns (zero for the class token)."""
        vm = self.vision_model
        x = vm.embeddings.patch_embedding(pixels).flatten(2).transpose(1, 2)
        g = int(math.isqrt(x.shape[1]))
        cls = vm.embeddings.class_embedding[None, None].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + vm.embeddings.position_embedding.weight[None]
        x = vm.pre_layrnorm(x)
        pos = torch.cat([torch.zeros(1, 1, 2), grid_positions(1, g)], dim=1).expand(x.shape[0], -1, -1)
        if carry is not None:
            pos = torch.cat([pos, F.pad(carry.float(), (0, 0, 1, 0))], dim=-1)
        c = pos.shape[-1]
        size = None
        for layer in vm.encoder.layers[:layers]:
            q, k, v = layer.attn_parts(layer.layer_norm1(x))
            x = x + layer.self_attn.out_proj(M.attention(q, k, v, layer.heads, layer.heads, 1.0))
            if tome_r > 0:
                merged, size = tome_batched(torch.cat([x, pos.to(x.dtype)], dim=-1), k, size, tome_r, layer.heads)
                x, pos = merged[..., :-c], merged[..., -c:]
            x = x + layer.mlp.fc2(layer.act(layer.mlp.fc1(layer.layer_norm2(x))))
        return (x, pos) if positions else x


def tome_batched(x, k, size, r, heads):
    """ToMe bipartite soft matching with a protected class token and size-weighted merging, over a batch (the
    same r for every item, so every item keeps the same number of tokens)."""
    b, t, d = x.shape
    r = min(r, (t - 1) // 2)
    if size is None:
        size = torch.ones(b, t, 1)
    if r <= 0:
        return x, size
    # Scores in float64, as the C# BipartiteTokenMerger and the ONNX export compute them: flat regions give
    # near-parallel keys whose float32 scores differ by a few ulps, where rounding alone would pick the merges.
    metric = k.view(b, t, heads, -1).mean(2).double()
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
        # Training only (train.py --position-aux): MPT has no position embedding (ALiBi biases attention by distance
        # alone), so a patch's place has to come from its features as well as from its distance to the others.
        add_tower_objectives(self, vc["hidden_size"], cell=False)

    def encode(self, views, extra=None):
        feats = self.vision_tower(views, self.vc["num_hidden_layers"] - 1)[:, 1:]
        tower_objectives(self, feats)
        return feats, self.transformer.mm_projector(feats)

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views)
        x = self.transformer.wte(ids.clamp(min=0))
        x = splice_rows(x, ids, visual.reshape(-1, visual.shape[-1]))
        return self.transformer(x, mask), self.aux(feats)


class ClipViews:
    """CLIP preprocessing (shortest edge and centre crop at the scene size) for images and video frames, with the
    dense labels of the tower's auxiliary loss. For LongVA, anyres at a 112 square picks the 1x1 grid: the base view
    (dropped by UniRes, so not encoded) and one tile equal to the CLIP-processed image."""

    def views_for_image(self, image, shapes):
        import family_pixels as fp
        return [(fp.clip_preprocess(image, self.scene, self.scene), centre_labels(shape_points(shapes, scene=image.size[0]), 112, 14))]

    def views_for_video(self, frames, shape):
        import family_pixels as fp
        return [(fp.clip_preprocess(f, self.scene, self.scene),
                 centre_labels([(x, y, shape["kind"], shape["colour"])], 112, 14))
                for f, (x, y) in zip(frames, shape["track"])]


class LlavaMptFamily(ClipViews):
    name = "llava-mpt"
    folder = "llava-mpt-tiny"
    dtype = torch.float16
    scene = 112
    vision = CLIP_TINY
    mc = {"d_model": 128, "n_heads": 4, "n_layers": 3, "expansion_ratio": 3, "max_seq_len": 1024}
    tokens = (112 // 14) ** 2

    def render(self, messages, tok, gen):
        return P.llava_mpt(messages, tok, gen)

    def image_part(self):
        return {"type": "image", "tokens": [self.tokens], "grid": [0, 0], "kind": "image"}

    def model(self, vocab):
        return LlavaMptNet(self.vision, dict(self.mc, vocab_size=vocab))

    tower_kind = "clip"

    def tower(self, net):
        return net.vision_tower.vision_model

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
        # Training only (train.py --position-aux): each output token's features predict, through this linear map,
        # where on the grid the token lies. ToMe reorders and merges tokens, so the language model cannot tell a
        # token's place from its index in the sequence as LLaVA's can; the features have to carry it.
        # Training only (train.py --cell-aux): each output token predicts which of the 3 x 3 cells that a description
        # names holds the shape it covers (or none), ToMe-averaged like its features: the cell a description's words
        # name is a threshold on the shape's centre, which a coordinate read out of merged tokens misses near a border.
        add_tower_objectives(self, vc["hidden_size"])

    def encode(self, views, extra=None):
        r = (extra or {}).get("tome_r", 0)
        targets = self.cell_targets if self.cell_aux and self.training else None
        carry = cell_onehot(targets) if targets is not None else None
        out = self.visual_encoder(views, self.vc["num_hidden_layers"] - 1, r,
                                  positions=self.position_aux or carry is not None, carry=carry)
        if isinstance(out, tuple):
            feats, pos = out[0][:, 1:], out[1][:, 1:]
            if self.position_aux:
                self.position_loss = F.mse_loss(self.aux_pos(feats).float(), pos[..., :2].float())
            if carry is not None:
                self.cell_loss = cell_loss(self.aux_cell, feats, pos[..., 2:])
        else:
            feats = out[:, 1:]
        return feats, self.projector.model(feats)

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views, extra)
        x = self.llm.model.embed_tokens(ids.clamp(min=0))
        x = splice_rows(x, ids, visual.reshape(-1, visual.shape[-1]))
        # Dense labels only make sense before merging moves tokens around.
        return self.llm.lm_head(self.llm.model(x, mask)), (self.aux(feats) if not (extra or {}).get("tome_r") else None)


class AuroraCapFamily(ClipViews):
    name = "auroracap"
    folder = "auroracap-tiny"
    dtype = torch.bfloat16
    scene = 112
    vision = CLIP_TINY
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
            "num_hidden_layers": 3, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 2048}
    ratios = [0.2, 0.5, 0.8]
    eval_ratio = 0.2
    # The held-out videos have the reference's num_frm 8 (inference.py and the Gradio demo). The stages before
    # f8 in train_all.sh trained on 4-frame videos (--train-frames 4).
    frames = 8

    def r_for(self, ratio):
        return tome_r(self.scene, 14, ratio, self.vision["num_hidden_layers"])

    def tokens_for(self, ratio):
        return tome_tokens((self.scene // 14) ** 2, self.r_for(ratio), self.vision["num_hidden_layers"] - 1)

    def render(self, messages, tok, gen):
        return P.auroracap(messages, tok, gen)

    def image_part(self, ratio):
        return {"type": "image", "tokens": [self.tokens_for(ratio)], "grid": [0, 0], "kind": "image"}

    def video_part(self, ratio, n):
        return {"type": "image", "tokens": [self.tokens_for(ratio)] * n, "grid": [0, 0], "kind": "video"}

    def model(self, vocab):
        return AuroraCapNet(self.vision, dict(self.text, vocab_size=vocab))

    tower_kind = "clip"

    def tower(self, net):
        return net.visual_encoder.vision_model

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


class LongVaFamily(ClipViews):
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

    def image_part(self):
        return {"type": "image", "tokens": [self.pooled, self.pooled], "grid": [1, 1], "kind": "image"}

    def video_part(self, n):
        return {"type": "image", "tokens": [self.pooled] * n, "grid": [0, 0], "kind": "video"}

    def model(self, vocab):
        return LongVaNet(self.vision, dict(self.text, vocab_size=vocab))

    tower_kind = "clip"

    def tower(self, net):
        return net.model.vision_tower.vision_tower.vision_model

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


# ----------------------------------------------------------------------------------------------- MiniCPM-V 2

class TimmVit(nn.Module):
    """timm VisionTransformer without class token (names patch_embed.proj, pos_embed, blocks.N.*, norm)."""

    def __init__(self, c, stored_blocks):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.heads, self.eps = c["num_attention_heads"], c["layer_norm_eps"]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, d, p, p)
        self.pos_embed = nn.Parameter(torch.randn(1, (c["image_size"] // p) ** 2, d) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(stored_blocks):
            blk = nn.Module()
            blk.norm1 = nn.LayerNorm(d, eps=self.eps)
            blk.attn = nn.Module()
            blk.attn.qkv = nn.Linear(d, 3 * d)
            blk.attn.proj = nn.Linear(d, d)
            blk.norm2 = nn.LayerNorm(d, eps=self.eps)
            blk.mlp = nn.Module()
            blk.mlp.fc1 = nn.Linear(d, c["intermediate_size"])
            blk.mlp.fc2 = nn.Linear(c["intermediate_size"], d)
            self.blocks.append(blk)
        self.norm = nn.LayerNorm(d, eps=self.eps)

    def forward(self, pixels):
        """All views share the trained grid here (the tiny model's views are 112 x 112): no interpolation."""
        x = self.patch_embed.proj(pixels).flatten(2).transpose(1, 2)
        assert x.shape[1] == self.pos_embed.shape[1], "the tiny MiniCPM-V trains on full-grid views only"
        x = x + self.pos_embed
        d = x.shape[-1]
        for blk in self.blocks:
            q, k, v = blk.attn.qkv(blk.norm1(x)).chunk(3, dim=-1)
            x = x + blk.attn.proj(M.attention(q, k, v, self.heads, self.heads, (d // self.heads) ** -0.5))
            x = x + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(x))))
        return self.norm(x)


class Resampler(nn.Module):
    """MiniCPM-V 2's perceiver resampler (names resampler.*), batched, with the same math as reference.py."""

    def __init__(self, vd, e, queries, grid):
        super().__init__()
        self.e, self.heads = e, max(1, e // 128)
        self.query = nn.Parameter(torch.randn(queries, e) * 0.02)
        self.pos_embed = nn.Parameter(ref.sincos_2d(e, (grid, grid)), requires_grad=False)
        self.proj = nn.Parameter(torch.randn(e, e) * e ** -0.5)
        self.kv_proj = nn.Linear(vd, e, bias=False)
        self.attn = nn.MultiheadAttention(e, self.heads, batch_first=True)
        self.ln_q = nn.LayerNorm(e, eps=1e-6)
        self.ln_kv = nn.LayerNorm(e, eps=1e-6)
        self.ln_post = nn.LayerNorm(e, eps=1e-6)
        self.keep_weights = False  # train.py --joint-aux: keep the attention weights (heads averaged) in last_weights

    def forward(self, x, grid_hw):
        b = x.shape[0]
        pos_k = ref.sincos_2d(self.e, grid_hw)
        kv = self.ln_kv(self.kv_proj(x))
        q = (self.ln_q(self.query) + self.pos_embed)[None].expand(b, -1, -1)
        out, self.last_weights = self.attn(q, kv + pos_k[None], kv, need_weights=self.keep_weights)
        return self.ln_post(out) @ self.proj


class MiniCpmNet(nn.Module):
    def __init__(self, vc, tc, mu, queries, unk_id):
        super().__init__()
        self.vc, self.tc, self.mu, self.unk = vc, tc, mu, unk_id
        self.vpm = TimmVit(vc, vc["num_hidden_layers"] - 1)
        g = vc["image_size"] // vc["patch_size"]
        self.grid = g
        self.resampler = Resampler(vc["hidden_size"], tc["hidden_size"], queries, int(math.sqrt(queries)))
        self.llm = nn.Module()
        self.llm.model = M.LlamaModel(tc, scale_depth=mu["scale_depth"])
        self.llm.lm_head = nn.Linear(tc["hidden_size"], tc["vocab_size"], bias=False)
        self.aux = nn.Linear(vc["hidden_size"], 10)
        # Training only (train.py --position-aux): each patch's features predict its place on the grid through a
        # linear map. The resampler's queries attend sharply to the shapes, wherever they are, and its values carry
        # no position embedding, so what a query hands on says where it looked only if the features say so.
        # Training only (train.py --cell-aux): each patch of the source view predicts the scene cell of the shape
        # covering it (slices are not labelled: views_for_image).
        add_tower_objectives(self, vc["hidden_size"])
        # Training only (train.py --joint-aux), as Aria's. The queries attend sharply, but to the shapes wherever they
        # are: this asks each of them to hand on where what it looked at lies, with its kind and colour.
        add_joint_objective(self, tc["hidden_size"])

    def encode(self, views, extra=None):
        feats = self.vpm(views)
        tower_objectives(self, feats)
        joint = wants_joint(self)
        self.resampler.keep_weights = joint
        visual = self.resampler(feats, (self.grid, self.grid))
        if joint:
            joint_objective(self, visual, self.resampler.last_weights)
        return feats, visual

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views)
        x = self.llm.model.embed_tokens(ids.clamp(min=0)) * self.mu["scale_emb"]
        x = M.splice(x, ids, self.unk, visual.reshape(-1, visual.shape[-1]))
        h = self.llm.model(x, mask)
        return self.llm.lm_head(h / (self.tc["hidden_size"] / self.mu["dim_model_base"])), self.aux(feats)


class MiniCpmVFamily:
    name = "minicpmv"
    folder = "minicpmv-tiny"
    dtype = torch.bfloat16
    scene = 224
    slice_resolution = 112
    vision = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 4,
              "image_size": 112, "patch_size": 14, "hidden_act": "gelu", "layer_norm_eps": 1e-6}
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
            "num_hidden_layers": 3, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 2048}
    mu = {"scale_emb": 12, "scale_depth": 1.4, "dim_model_base": 32}
    queries = 16

    def render(self, messages, tok, gen):
        return P.minicpmv(messages, tok, gen)

    def layout(self, size):
        import family_geometry as fg
        return fg.slice_image(size, 9, self.slice_resolution, 14, False)

    def views_for_image(self, image, shapes):
        """slice_image at scale_resolution 112: the source view (resized BICUBIC) then the slices of the refined
        image, row-major, each through ToTensor + Normalize(0.5, 0.5). Only the source view carries scene-cell
        labels (train.py --cell-aux)."""
        import family_pixels as fp
        from PIL import Image
        source, boxes, grid, refine = self.layout(image.size)
        src = image.resize(source, Image.Resampling.BICUBIC)
        views = [(fp.tv_transform(src), centre_labels(shape_points(shapes, source[0] / image.size[0], scene=image.size[0]), 112, 14))]
        if boxes:
            ref_img = image.resize(refine, Image.Resampling.BICUBIC)
            scale = refine[0] / image.size[0]
            for row in boxes:
                for box in row:
                    crop = ref_img.crop(box)
                    # No --cell-aux labels on a slice: the same slice-local place lies in a different scene cell
                    # in each slice, and a slice alone does not say which slice it is (the source view has them).
                    views.append((fp.tv_transform(crop), centre_labels(shape_points(shapes, scale, box[0], box[1]), 112, 14)))
        return views

    def image_part(self):
        _, boxes, grid, _ = self.layout((self.scene, self.scene))
        rows, cols = (len(boxes), len(boxes[0])) if boxes else (0, 0)
        return {"type": "image", "tokens": [self.queries] * (1 + rows * cols), "grid": [rows, cols], "kind": "image"}

    tower_kind = "timm"

    def tower(self, net):
        return net.vpm

    def model(self, vocab, tok=None):
        return MiniCpmNet(self.vision, dict(self.text, vocab_size=vocab), self.mu, self.queries, 0)

    def save(self, out, tok, state):
        write_safetensors(os.path.join(out, "model.safetensors"), state, {"format": "pt"})
        tc = dict(self.text, vocab_size=tok.size)
        write_json(os.path.join(out, "config.json"), dict(
            architectures=["MiniCPMV"], model_type="minicpmv", hidden_act="silu", bos_token_id=1, eos_token_id=2,
            pad_token_id=0, tie_word_embeddings=False, torch_dtype="bfloat16", rope_scaling=None, use_cache=True,
            **tc, **self.mu, query_num=self.queries, max_slice_nums=9, scale_resolution=self.slice_resolution,
            patch_size=14, slice_mode=True, drop_vision_last_layer=True,
            vision_encoder="vit_so400m_patch14_siglip_384.webli",
            vision_config=dict(self.vision, model_type="timm_vit", _comment=(
                "tiny-model only: the real config names a timm model in vision_encoder; num_hidden_layers is the "
                "timm depth before drop_vision_last_layer (stored blocks = depth - 1)"))))
        write_json(os.path.join(out, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2,
                                                                 "max_new_tokens": 64})

    def reference(self, W, tok):
        vc_run = dict(self.vision, stored_blocks=self.vision["num_hidden_layers"] - 1)
        heads = max(1, self.text["hidden_size"] // 128)

        def encode(pixels, extra=None):
            out = ref.timm_vit(W, "vpm.", vc_run, torch.from_numpy(pixels))
            return ref.minicpm_resampler(W, out["features"], out["grid"], heads)["output"]

        t = self.text
        dec = ref.Decoder(W, "minicpm", t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"],
                          t["num_hidden_layers"], tok.size, t["rms_norm_eps"], t["rope_theta"], prefix="llm.model.",
                          lm_head="llm.lm_head.weight", **self.mu)
        return encode, dec


# ----------------------------------------------------------------------------------------------- Aria

class IdeficsVision(nn.Module):
    """Aria's SigLIP tower in Idefics2 layout (vision_model.embeddings.*, encoder.layers.N.*), batched. The tiny
    model trains on full (unpadded) square crops, where NaViT's bucketed position ids are 0..n-1."""

    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.heads, self.act = c["attention_heads"], M.ACT["gelu_pytorch_tanh"]
        self.embeddings = nn.Module()
        self.embeddings.patch_embedding = nn.Conv2d(3, d, p, p)
        self.embeddings.position_embedding = nn.Embedding((c["image_size"] // p) ** 2, d)
        nn.init.normal_(self.embeddings.position_embedding.weight, std=0.02)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            layer = nn.Module()
            layer.self_attn = nn.Module()
            for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                setattr(layer.self_attn, name, nn.Linear(d, d))
            layer.layer_norm1 = nn.LayerNorm(d, eps=1e-6)
            layer.mlp = nn.Module()
            layer.mlp.fc1 = nn.Linear(d, c["intermediate_size"])
            layer.mlp.fc2 = nn.Linear(c["intermediate_size"], d)
            layer.layer_norm2 = nn.LayerNorm(d, eps=1e-6)
            self.encoder.layers.append(layer)

    def forward(self, pixels):
        x = self.embeddings.patch_embedding(pixels).flatten(2).transpose(1, 2)
        x = x + self.embeddings.position_embedding.weight[None, :x.shape[1]]
        d = x.shape[-1]
        for layer in self.encoder.layers:
            a = layer.self_attn
            h = layer.layer_norm1(x)
            x = x + a.out_proj(M.attention(a.q_proj(h), a.k_proj(h), a.v_proj(h), self.heads, self.heads,
                                           (d // self.heads) ** -0.5))
            x = x + layer.mlp.fc2(self.act(layer.mlp.fc1(layer.layer_norm2(x))))
        return x


class AriaProjector(nn.Module):
    """multi_modal_projector.*: queries cross-attend (q/k/v projections, then torch MHA) to the patches, then FFN."""

    def __init__(self, d, e_txt, queries, heads):
        super().__init__()
        self.heads = heads
        self.keep_weights = False  # eng/train/projector_attention.py: keep the attention weights in last_weights
        self.query = nn.Parameter(torch.randn(queries, d) * 0.5)
        self.cross_attn = nn.Module()
        for name in ("q_proj", "k_proj", "v_proj"):
            setattr(self.cross_attn, name, nn.Linear(d, d, bias=False))
        self.cross_attn.multihead_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.cross_attn.linear = nn.Linear(d, d)
        self.cross_attn.layer_norm = nn.LayerNorm(d, eps=1e-5)
        self.cross_attn.ln_kv = nn.LayerNorm(d, eps=1e-5)
        self.ln_ffn = nn.LayerNorm(d, eps=1e-5)
        self.ffn = nn.Module()
        self.ffn.linear_in = nn.Linear(d, e_txt, bias=False)
        self.ffn.linear_out = nn.Linear(e_txt, e_txt, bias=False)

    def forward(self, x):
        c = self.cross_attn
        b = x.shape[0]
        q = c.q_proj(c.layer_norm(self.query))[None].expand(b, -1, -1)
        kv = c.ln_kv(x)
        a, w = c.multihead_attn(q, c.k_proj(kv), c.v_proj(kv), need_weights=self.keep_weights,
                                average_attn_weights=False)
        self.last_attention, self.last_weights = a, w  # [B, queries, d] (train.py --projector-aux), [B, heads, queries, patches]
        h = self.ln_ffn(c.linear(a))
        return self.ffn.linear_out(F.gelu(self.ffn.linear_in(h), approximate="tanh"))


class AriaMoeLayer(M.LlamaLayer):
    """A Llama layer whose MLP is Aria's: top-k routed experts (fc1 [E, in, 2I], fc2 [E, I, out]) plus shared experts."""

    def __init__(self, c):
        super().__init__(c, False)
        d, e, mi, sh = c["hidden_size"], c["moe_num_experts"], c["moe_intermediate_size"], c["moe_num_shared_experts"]
        self.topk, self.mi = c["moe_topk"], mi
        self.mlp = nn.Module()
        self.mlp.router = nn.Linear(d, e, bias=False)
        self.mlp.experts = nn.Module()
        self.mlp.experts.fc1 = nn.Module()
        self.mlp.experts.fc1.weight = nn.Parameter(torch.randn(e, d, 2 * mi) * d ** -0.5)
        self.mlp.experts.fc2 = nn.Module()
        self.mlp.experts.fc2.weight = nn.Parameter(torch.randn(e, mi, d) * mi ** -0.5)
        self.mlp.shared_experts = nn.Module()
        self.mlp.shared_experts.gate_proj = nn.Linear(d, mi * sh, bias=False)
        self.mlp.shared_experts.up_proj = nn.Linear(d, mi * sh, bias=False)
        self.mlp.shared_experts.down_proj = nn.Linear(mi * sh, d, bias=False)

    def forward(self, x, pos, bias):
        a = self.self_attn
        h = self.input_layernorm(x)
        q = M.rope(a.q_proj(h), pos, self.h, self.theta)
        k = M.rope(a.k_proj(h), pos, self.kv, self.theta)
        hd = x.shape[-1] // self.h
        x = x + a.o_proj(M.attention(q, k, a.v_proj(h), self.h, self.kv, hd ** -0.5, bias))
        h = self.post_attention_layernorm(x)
        m = self.mlp
        logits = m.router(h)
        top_v, top_i = torch.topk(logits, self.topk, dim=-1)
        weights = torch.zeros_like(logits).scatter(-1, top_i, torch.softmax(top_v, dim=-1))
        u = torch.einsum("btd,edf->btef", h, m.experts.fc1.weight)
        act = F.silu(u[..., :self.mi]) * u[..., self.mi:]
        y = torch.einsum("btei,eio->bteo", act, m.experts.fc2.weight)
        routed = (weights[..., None] * y).sum(-2)
        s = m.shared_experts
        return x + routed + s.down_proj(F.silu(s.gate_proj(h)) * s.up_proj(h))


class AriaNet(nn.Module):
    def __init__(self, vc, tc, queries, img_id):
        super().__init__()
        self.vc, self.img = vc, img_id
        self.vision_tower = nn.Module()
        self.vision_tower.vision_model = IdeficsVision(vc)
        self.multi_modal_projector = AriaProjector(vc["hidden_size"], tc["hidden_size"], queries, vc["attention_heads"])
        self.language_model = nn.Module()
        self.language_model.model = M.LlamaModel(tc)
        self.language_model.model.layers = nn.ModuleList(AriaMoeLayer(tc) for _ in range(tc["num_hidden_layers"]))
        self.language_model.lm_head = nn.Linear(tc["hidden_size"], tc["vocab_size"], bias=False)
        self.aux = nn.Linear(vc["hidden_size"], 10)
        self.aux_region = None  # train.py --projector-aux: nn.Linear(d, 10) over the projector's attention outputs
        # Training only (train.py --position-aux), as MiniCPM-V's: the projector's queries carry no position and its
        # values none either, so only features that say where they lie tell the language model where a shape is.
        # Training only (train.py --cell-aux), as MiniCPM-V's: each patch predicts the scene (or page) cell of the
        # shape covering it.
        add_tower_objectives(self, vc["hidden_size"])
        # Training only (train.py --joint-aux): the 16 (after --grow-queries, 32) queries of a view attend broadly,
        # so a token mixes several shapes.
        add_joint_objective(self, tc["hidden_size"])
        # Training only (train.py --attend-region): query i attends to block i of the patch grid (query_regions).
        self.attend_region, self.region_loss = False, None

    def encode(self, views, extra=None):
        feats = self.vision_tower.vision_model(views)
        tower_objectives(self, feats)
        projector = self.multi_modal_projector
        joint = wants_joint(self)
        region = self.attend_region and self.training
        kept, projector.keep_weights = projector.keep_weights, projector.keep_weights or joint or region
        visual = projector(feats)
        projector.keep_weights = kept
        if joint:
            joint_objective(self, visual, projector.last_weights.mean(1))  # the heads' weights averaged
        if region:
            self.region_loss = region_attention_loss(projector.last_weights)
        return feats, visual

    def forward(self, ids, mask, views, extra=None):
        feats, visual = self.encode(views)
        lm = self.language_model
        x = lm.model.embed_tokens(ids.clamp(min=0))
        x = M.splice(x, ids, self.img, visual.reshape(-1, visual.shape[-1]))
        aux = self.aux(feats)
        if self.aux_region is not None:  # query i also predicts what is centred in region i of the patch grid
            aux = torch.cat([aux, self.aux_region(self.multi_modal_projector.last_attention)], dim=1)
        return lm.lm_head(lm.model(x, mask)), aux


class AriaFamily:
    name = "aria"
    folder = "aria-tiny"
    dtype = torch.bfloat16
    scene = 112
    vision = {"hidden_size": 64, "intermediate_size": 128, "attention_heads": 4, "num_hidden_layers": 3,
              "image_size": 112, "patch_size": 14}
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
            "num_hidden_layers": 3, "rope_theta": 5000000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 2048,
            "moe_num_experts": 4, "moe_topk": 2, "moe_intermediate_size": 64, "moe_num_shared_experts": 2}
    queries = 16
    pages = 3

    def render(self, messages, tok, gen):
        return P.aria(messages, tok, gen)

    def views_for_image(self, image, shapes):
        """keep_ratio_resize_and_pixel_mask at max_image_size 112: a 112 square scene is its own crop (no padding,
        full mask); ToTensor + Normalize(0.5, 0.5)."""
        import family_pixels as fp
        padded, mask = fp.keep_ratio_resize_and_pixel_mask(image, self.scene, self.scene)
        assert mask.all()
        return [(fp.tv_transform(padded), centre_labels(shape_points(shapes, scene=image.size[0]), 112, 14))]

    def stored_queries(self, config):
        """Takes the queries per view from a stored config.json's projector_patch_to_query_dict (as save writes it),
        which train.py --grow-queries may have raised above the first stage's 16."""
        counts = list((config.get("projector_patch_to_query_dict") or {}).values())
        if counts:
            self.queries = int(counts[0])

    def grow_queries(self, stored):
        """train.py --grow-queries: repeats each stored projector query in place up to self.queries per view, the
        copies a little apart (1% of the queries' spread) so that they can learn to attend apart."""
        name = "multi_modal_projector.query"
        query = stored[name].float()
        copies = query.repeat_interleave(self.queries // query.shape[0], dim=0)
        stored[name] = copies + torch.randn(copies.shape, generator=torch.Generator().manual_seed(5)) * 0.01 * query.std()

    def image_part(self):
        return {"type": "image", "tokens": [self.queries], "grid": [0, 0], "kind": "image"}

    def views_for_page(self, image, shapes):
        """Seed 000 splits PDF pages: _split_image picks a grid from the split ratios (2 x 2 for a square page), the
        page resized to the grid is cut into max_image_size crops, and the whole page comes first."""
        import family_geometry as fg
        import family_pixels as fp
        crops, ratio = fp.aria_split_image(image, True, fg.ARIA_SPLIT_RATIO, self.scene)
        views = []
        for i, crop in enumerate(crops):
            padded, mask = fp.keep_ratio_resize_and_pixel_mask(crop, self.scene, self.scene)
            assert mask.all()
            if i == 0 or ratio is None:
                points = shape_points(shapes, self.scene / image.size[0], scene=image.size[0])
            else:
                scale = self.scene * ratio[0] / image.size[0]
                k = i - 1
                # No scene-cell labels on a crop (train.py --cell-aux, --joint-aux): a crop alone does not say
                # which part of the page it is, so the same place in it lies in a different cell in each crop.
                points = shape_points(shapes, scale, (k % ratio[0]) * self.scene, (k // ratio[0]) * self.scene)
            views.append((fp.tv_transform(padded), centre_labels(points, self.scene, 14)))
        return views

    def page_part(self, n):
        import family_geometry as fg
        import family_pixels as fp
        from PIL import Image
        crops, ratio = fp.aria_split_image(Image.new("RGB", (self.scene, self.scene)), True, fg.ARIA_SPLIT_RATIO, self.scene)
        rows, cols = (ratio[1], ratio[0]) if ratio and len(crops) > 1 else (0, 0)
        return {"type": "image", "tokens": [self.queries] * len(crops), "grid": [rows, cols], "kind": "page", "page": n}

    tower_kind = "idefics"

    def tower(self, net):
        return net.vision_tower.vision_model

    def model(self, vocab, tok=None):
        return AriaNet(self.vision, dict(self.text, vocab_size=vocab), self.queries, self.img_id)

    def save(self, out, tok, state):
        write_safetensors(os.path.join(out, "model.safetensors"), state, {"format": "pt"})
        g = self.vision["image_size"] // self.vision["patch_size"]
        write_json(os.path.join(out, "config.json"), {
            "architectures": ["AriaForConditionalGeneration"], "model_type": "aria",
            "image_token_index": tok.added["<|img|>"], "ignore_index": -100, "pad_token_id": 2,
            "projector_patch_to_query_dict": {str(g * g): self.queries}, "vision_feature_layer": -1,
            "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "vision_config": dict(self.vision, model_type="aria_vision_model", architectures=["AriaVisionModel"],
                                  torch_dtype="bfloat16"),
            "text_config": dict(self.text, vocab_size=tok.size, model_type="aria_moe_lm",
                                architectures=["AriaForCausalLM"], bos_token_id=1, eos_token_id=2,
                                tie_word_embeddings=False, hidden_act="silu")})
        write_json(os.path.join(out, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2,
                                                                 "pad_token_id": 2, "max_new_tokens": 64})
        write_json(os.path.join(out, "preprocessor_config.json"), {
            "processor_class": "AriaProcessor", "image_processor_type": "AriaVisionProcessor",
            "max_image_size": self.scene, "min_image_size": self.scene, "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5]})

    def reference(self, W, tok):
        vc = dict(self.vision, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
        g = self.vision["image_size"] // self.vision["patch_size"]
        p2q = {str(g * g): self.queries}

        def encode(pixels, extra=None):
            mask = torch.ones(pixels.shape[1], pixels.shape[2], dtype=torch.bool)
            out = ref.idefics_vision(W, "vision_tower.vision_model.", vc, torch.from_numpy(pixels), mask)
            return ref.aria_projector(W, out["features"], out["patch_mask"], p2q, self.vision["attention_heads"])["output"]

        t = self.text
        dec = ref.Decoder(W, "aria", t["hidden_size"], t["num_attention_heads"], t["num_key_value_heads"],
                          t["num_hidden_layers"], tok.size, t["rms_norm_eps"], t["rope_theta"],
                          prefix="language_model.model.", lm_head="language_model.lm_head.weight",
                          moe_topk=t["moe_topk"], moe_inter=t["moe_intermediate_size"])
        return encode, dec
