"""Float32 PyTorch reference for the blocks the managed engine implements (written from docs/FAMILIES.md semantics).

Every function takes `W`, a dict name -> float32 tensor (the stored checkpoint values converted to float32), and
works on one sequence at a time (no batch dimension): token tensors are [T, D], pixels are [3, H, W].
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

NEG = float("-inf")


# ----------------------------------------------------------------------------------------------- basic blocks

def linear(x, W, p):
    """nn.Linear layout: weight [out, in], optional bias (present iff stored)."""
    return F.linear(x, W[p + ".weight"], W.get(p + ".bias"))


def layer_norm(x, W, p, eps):
    """LayerNorm; the bias is optional (MPT stores none)."""
    return F.layer_norm(x, (x.shape[-1],), W[p + ".weight"], W.get(p + ".bias"), eps)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


ACT = {
    "quick_gelu": quick_gelu,
    "gelu": F.gelu,  # exact (erf)
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_new": gelu_tanh,
    "silu": F.silu,
}


def attention(q, k, v, n_heads, n_kv, scale, bias=None):
    """q [Tq, H*hd], k/v [Tk, KV*hd]; query head h reads kv head h // (H/KV); bias broadcasts to [H, Tq, Tk]."""
    tq, tk = q.shape[0], k.shape[0]
    hd = q.shape[1] // n_heads
    q = q.view(tq, n_heads, hd).transpose(0, 1)
    k = k.view(tk, n_kv, hd).transpose(0, 1).repeat_interleave(n_heads // n_kv, 0)
    v = v.view(tk, n_kv, hd).transpose(0, 1).repeat_interleave(n_heads // n_kv, 0)
    s = (q @ k.transpose(1, 2)) * scale
    if bias is not None:
        s = s + bias
    p = torch.softmax(s, dim=-1)
    return (p @ v).transpose(0, 1).reshape(tq, n_heads * hd)


def rope_inv_freq(head_dim, theta):
    """HF Llama/Qwen2: 1 / theta ** (arange(0, d, 2) / d), evaluated in float32."""
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))


def rope(x, positions, n_heads, theta):
    """Rotate-half RoPE on x [T, H*hd] at integer positions [T]."""
    t = x.shape[0]
    hd = x.shape[1] // n_heads
    freqs = positions.float()[:, None] * rope_inv_freq(hd, theta)[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    x = x.view(t, n_heads, hd)
    rot = torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], dim=-1)
    return (x * cos + rot * sin).reshape(t, n_heads * hd)


def alibi_slopes(n_heads, alibi_bias_max=8):
    """HF build_mpt_alibi_tensor slopes (interleaved when n_heads is not a power of two)."""
    p2 = 2 ** math.ceil(math.log2(n_heads))
    base = torch.arange(1, p2 + 1, dtype=torch.int64).float() * (alibi_bias_max / p2)
    slopes = 1.0 / torch.pow(2, base)
    if p2 != n_heads:
        slopes = torch.cat([slopes[1::2], slopes[::2]])[:n_heads]
    return slopes


# ----------------------------------------------------------------------------------------------- vision: CLIP

def clip_embeddings(W, p, pixels, patch):
    """Patch conv (no bias) + class token + learned positions -> [1 + N, D] (before pre_layrnorm)."""
    x = F.conv2d(pixels[None], W[p + "embeddings.patch_embedding.weight"], None, stride=patch)
    x = x.flatten(2).transpose(1, 2)[0]
    x = torch.cat([W[p + "embeddings.class_embedding"][None], x], dim=0)
    return x + W[p + "embeddings.position_embedding.weight"]


def clip_attention_parts(W, lp, x, n_heads):
    hd = x.shape[1] // n_heads
    q = linear(x, W, lp + "self_attn.q_proj") * hd ** -0.5
    k = linear(x, W, lp + "self_attn.k_proj")
    v = linear(x, W, lp + "self_attn.v_proj")
    return q, k, v


def clip_vision(W, p, cfg, pixels, tome_r=0):
    """HF CLIPVisionModel (p = prefix ending in 'vision_model.'), optionally with AuroraCap's ToMe (D.4).

    Returns dict: embeddings, pre_layrnorm, layers (output of each encoder layer), sizes (ToMe token sizes after
    each layer), tome (per-layer matching diagnostics)."""
    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    act = ACT[cfg["hidden_act"]]
    emb = clip_embeddings(W, p, pixels, cfg["patch_size"])
    x = layer_norm(emb, W, p + "pre_layrnorm", eps)
    out = {"embeddings": emb, "pre_layrnorm": x, "layers": [], "sizes": [], "tome": []}
    size = None
    for i in range(cfg["num_hidden_layers"]):
        lp = f"{p}encoder.layers.{i}."
        h = layer_norm(x, W, lp + "layer_norm1", eps)
        q, k, v = clip_attention_parts(W, lp, h, heads)
        a = attention(q, k, v, heads, heads, 1.0)
        x = x + linear(a, W, lp + "self_attn.out_proj")
        if tome_r > 0:
            metric = k.view(k.shape[0], heads, -1).mean(dim=1)  # keys averaged over heads
            x, size, info = tome_merge(x, metric, size, tome_r)
            out["tome"].append(info)
        h = layer_norm(x, W, lp + "layer_norm2", eps)
        x = x + linear(act(linear(h, W, lp + "mlp.fc1")), W, lp + "mlp.fc2")
        out["layers"].append(x)
        out["sizes"].append(size if size is not None else torch.ones(x.shape[0]))
    return out


# ----------------------------------------------------------------------------------------------- ToMe (AuroraCap)

def tome_merge(x, metric, size, r):
    """Bipartite soft matching with a protected class token + size-weighted average merge (ToMe merge_wavg).

    x [T, D], metric [T, d], size [T] or None. No proportional-attention effect (see FAMILIES.md D.4)."""
    t = x.shape[0]
    r = min(r, (t - 1) // 2)
    info = {"tokens_in": t, "r": max(r, 0)}
    if size is None:
        size = torch.ones(t)
    if r <= 0:
        info.update(tokens_out=t, boundary_gap=None, argmax_gap=None)
        return x, size, info
    m = metric.double()  # scores in float64, as the C# merger computes them (near-ties of flat regions)
    m = m / m.norm(dim=-1, keepdim=True)
    a, b = m[0::2], m[1::2]
    scores = a @ b.T
    scores[0, :] = NEG
    node_max, node_idx = scores.max(dim=-1)
    order = torch.sort(node_max, descending=True, stable=True).indices
    src_idx, unm_idx = order[:r], order[r:]
    unm_idx = torch.sort(unm_idx).values
    dst_idx = node_idx[src_idx]
    # diagnostics: the gap at the src/unm boundary and the best-vs-second gap of each src's argmax
    sorted_max = node_max[order]
    boundary_gap = None  # None when every non-CLS A token is merged (the next one is the CLS at -inf)
    if r < len(sorted_max) and math.isfinite(float(sorted_max[r])):
        boundary_gap = float(sorted_max[r - 1] - sorted_max[r])
    top2 = torch.topk(scores[src_idx], 2, dim=-1).values
    argmax_gap = float((top2[:, 0] - top2[:, 1]).min())

    def merge(v):
        src, dst = v[0::2], v[1::2]
        unm = src[unm_idx]
        moved = src[src_idx]
        dst = dst.index_add(0, dst_idx, moved)  # = scatter_reduce(sum, include_self=True)
        return torch.cat([unm, dst], dim=0)

    xs = merge(x * size[:, None])
    s = merge(size[:, None])
    merged = xs / s
    # cross-check with a plain loop: kept A tokens (ascending), then every B token with its sources folded in
    srcs = {int(a): int(bi) for a, bi in zip(src_idx, dst_idx)}
    rows, sizes = [], []
    for ai in range(len(a)):
        if ai not in srcs:
            rows.append(x[2 * ai]); sizes.append(size[2 * ai])
    for bi in range(len(b)):
        acc, sz = x[2 * bi + 1] * size[2 * bi + 1], size[2 * bi + 1]
        for ai, target in srcs.items():
            if target == bi:
                acc, sz = acc + x[2 * ai] * size[2 * ai], sz + size[2 * ai]
        rows.append(acc / sz); sizes.append(sz)
    assert (torch.stack(rows) - merged).abs().max() < 1e-5 and torch.equal(torch.stack(sizes), s[:, 0])
    x = merged
    info.update(tokens_out=x.shape[0], boundary_gap=boundary_gap, argmax_gap=argmax_gap,
                src=src_idx.tolist(), dst=dst_idx.tolist())
    return x, s[:, 0], info


# ----------------------------------------------------------------------------------------------- vision: timm SigLIP (MiniCPM-V 2)

def timm_resample_pos_embed(pos_embed, grid_hw):
    """timm resample_abs_pos_embed (no prefix tokens): [1, g*g, D] -> [h*w, D]."""
    n, d = pos_embed.shape[1], pos_embed.shape[2]
    h, w = grid_hw
    if n == h * w and h == w:
        return pos_embed[0]
    g = int(math.sqrt(n))
    pe = pos_embed.float().reshape(1, g, g, d).permute(0, 3, 1, 2)
    pe = F.interpolate(pe, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
    return pe.permute(0, 2, 3, 1).reshape(h * w, d)


def aa_bicubic_weights(in_size, out_size):
    """PyTorch's antialiased bicubic (align_corners=False) as a [out, in] matrix, written out (PIL-style):
    scale = in/out; support = 2*scale if scale >= 1 else 2; center = scale*(i+0.5);
    xmin = max(int(center - support + 0.5), 0); xmax = min(int(center + support + 0.5), in);
    w_j = cubic((j - center + 0.5) / max(scale, 1)) for j in [xmin, xmax), a = -0.5, normalised to sum 1."""
    def cubic(x, a=-0.5):
        x = abs(x)
        if x < 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0
    scale = in_size / out_size
    support = 2.0 * scale if scale >= 1.0 else 2.0
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    m = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        w = np.array([cubic((j - center + 0.5) * inv) for j in range(xmin, xmax)])
        m[i, xmin:xmax] = w / w.sum()
    return m


def timm_vit(W, p, cfg, pixels):
    """timm VisionTransformer.forward_features without prefix tokens: patch_embed -> +pos -> blocks -> norm."""
    patch = cfg["patch_size"]
    heads = cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    x = F.conv2d(pixels[None], W[p + "patch_embed.proj.weight"], W[p + "patch_embed.proj.bias"], stride=patch)
    gh, gw = x.shape[2], x.shape[3]
    x = x.flatten(2).transpose(1, 2)[0]
    pos = timm_resample_pos_embed(W[p + "pos_embed"], (gh, gw))
    g = int(math.sqrt(W[p + "pos_embed"].shape[1]))
    grid = W[p + "pos_embed"][0].double().view(g, g, -1)
    manual = torch.einsum("hy,xw,yxd->hwd", torch.from_numpy(aa_bicubic_weights(g, gh)),
                          torch.from_numpy(aa_bicubic_weights(g, gw)).T, grid).reshape(gh * gw, -1)
    assert (manual.float() - pos).abs().max() < 1e-5, "antialiased bicubic cross-check"
    x = x + pos
    out = {"grid": (gh, gw), "pos_embed": pos, "embeddings": x, "layers": []}
    d = x.shape[1]
    hd = d // heads
    for i in range(cfg["stored_blocks"]):
        bp = f"{p}blocks.{i}."
        h = layer_norm(x, W, bp + "norm1", eps)
        qkv = linear(h, W, bp + "attn.qkv").view(-1, 3, d)
        a = attention(qkv[:, 0], qkv[:, 1], qkv[:, 2], heads, heads, hd ** -0.5)
        x = x + linear(a, W, bp + "attn.proj")
        h = layer_norm(x, W, bp + "norm2", eps)
        x = x + linear(F.gelu(linear(h, W, bp + "mlp.fc1")), W, bp + "mlp.fc2")
        out["layers"].append(x)
    out["features"] = layer_norm(x, W, p + "norm", eps)
    return out


# ----------------------------------------------------------------------------------------------- vision: Idefics2-style SigLIP (Aria)

def patch_mask_from_pixels(pixel_mask, patch):
    """A patch is valid if any of its pixels is valid (unfold -> sum > 0)."""
    h, w = pixel_mask.shape
    m = pixel_mask.view(h // patch, patch, w // patch, patch).permute(0, 2, 1, 3)
    return m.sum(dim=(-1, -2)) > 0


def navit_position_ids(patch_mask, per_side):
    """Idefics2 VisionEmbeddings position ids (fractional coordinates bucketized onto the per_side grid).

    Reproduces the reference's tensor arithmetic: the step 1/nb is a float32 tensor (int tensor true-divided)."""
    boundaries = torch.arange(1 / per_side, 1.0, 1 / per_side)
    nb_h = patch_mask[:, 0].sum()
    nb_w = patch_mask[0].sum()
    fh = torch.arange(0, 1 - 1e-6, 1 / nb_h)
    fw = torch.arange(0, 1 - 1e-6, 1 / nb_w)
    bh = torch.bucketize(fh, boundaries, right=True)
    bw = torch.bucketize(fw, boundaries, right=True)
    pos_ids = (bh[:, None] * per_side + bw).flatten()
    position_ids = torch.zeros(patch_mask.numel(), dtype=torch.int64)
    position_ids[patch_mask.reshape(-1)] = pos_ids
    return position_ids


def idefics_vision(W, p, cfg, pixels, pixel_mask):
    patch = cfg["patch_size"]
    heads = cfg["attention_heads"]
    eps = cfg["layer_norm_eps"]
    act = ACT[cfg["hidden_act"]]
    per_side = cfg["image_size"] // patch
    x = F.conv2d(pixels[None], W[p + "embeddings.patch_embedding.weight"], W[p + "embeddings.patch_embedding.bias"],
                 stride=patch)
    x = x.flatten(2).transpose(1, 2)[0]
    pmask = patch_mask_from_pixels(pixel_mask, patch)
    pos_ids = navit_position_ids(pmask, per_side)
    x = x + W[p + "embeddings.position_embedding.weight"][pos_ids]
    out = {"patch_mask": pmask, "position_ids": pos_ids, "embeddings": x, "layers": []}
    key_bias = torch.zeros(x.shape[0])
    key_bias[~pmask.reshape(-1)] = torch.finfo(torch.float32).min
    d = x.shape[1]
    for i in range(cfg["num_hidden_layers"]):
        lp = f"{p}encoder.layers.{i}."
        h = layer_norm(x, W, lp + "layer_norm1", eps)
        q = linear(h, W, lp + "self_attn.q_proj")
        k = linear(h, W, lp + "self_attn.k_proj")
        v = linear(h, W, lp + "self_attn.v_proj")
        a = attention(q, k, v, heads, heads, (d // heads) ** -0.5, key_bias[None, None, :])
        x = x + linear(a, W, lp + "self_attn.out_proj")
        h = layer_norm(x, W, lp + "layer_norm2", eps)
        x = x + linear(act(linear(h, W, lp + "mlp.fc1")), W, lp + "mlp.fc2")
        out["layers"].append(x)
    out["features"] = x  # post_layernorm is an identity in Aria
    return out


# ----------------------------------------------------------------------------------------------- projectors

def torch_mha(W, p, embed_dim, heads, query, key, value, attn_mask=None):
    """torch nn.MultiheadAttention (packed in_proj_weight/in_proj_bias + out_proj) loaded from W[p...]."""
    mha = torch.nn.MultiheadAttention(embed_dim, heads)
    with torch.no_grad():
        mha.in_proj_weight.copy_(W[p + "in_proj_weight"])
        mha.in_proj_bias.copy_(W[p + "in_proj_bias"])
        mha.out_proj.weight.copy_(W[p + "out_proj.weight"])
        mha.out_proj.bias.copy_(W[p + "out_proj.bias"])
    mha.eval()
    with torch.no_grad():
        out, _ = mha(query[:, None, :], key[:, None, :], value[:, None, :], attn_mask=attn_mask, need_weights=False)
    return out[:, 0, :]


def manual_mha(W, p, heads, query, key, value, bias=None):
    """The same computation written out (cross-check of torch_mha)."""
    e = query.shape[1]
    wq, wk, wv = W[p + "in_proj_weight"].split(e)
    bq, bk, bv = W[p + "in_proj_bias"].split(e)
    q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
    a = attention(q, k, v, heads, heads, (e // heads) ** -0.5, bias)
    return F.linear(a, W[p + "out_proj.weight"], W[p + "out_proj.bias"])


def sincos_omega(dim):
    """The dim // 2 float32 frequencies of sincos_1d(dim, ...)."""
    omega = np.arange(dim // 2, dtype=np.float32)
    omega /= dim / 2.0
    return 1.0 / 10000 ** omega


def sincos_1d(dim, pos):
    out = np.einsum("m,d->md", pos.reshape(-1), sincos_omega(dim))
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, grid_hw):
    """MiniCPM-V resampler 2-D sin-cos table [h*w, dim]: first half encodes the column (x), second half the row."""
    h, w = grid_hw
    grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))  # w first
    grid = np.stack(grid, axis=0)  # [2, h, w]: grid[0] = column index, grid[1] = row index
    emb = np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)
    return torch.from_numpy(emb.astype(np.float32))


def minicpm_resampler(W, x, grid_hw, heads):
    p = "resampler."
    e = W[p + "query"].shape[1]
    pos_k = sincos_2d(e, grid_hw)
    kv = layer_norm(F.linear(x, W[p + "kv_proj.weight"]), W, p + "ln_kv", 1e-6)
    q = layer_norm(W[p + "query"], W, p + "ln_q", 1e-6) + W[p + "pos_embed"]
    out = torch_mha(W, p + "attn.", e, heads, q, kv + pos_k, kv)
    check = manual_mha(W, p + "attn.", heads, q, kv + pos_k, kv)
    # float32, relative to the output's scale: the two sum in different orders; the model of the 2026-11-23 stage put
    # them 3e-4 apart at most, over the earlier bound of 1e-5 of the scale
    diff, scale = float((out - check).abs().max()), max(1.0, float(out.abs().max()))
    assert diff <= 1e-4 * scale, f"torch and manual attention differ by {diff} (output scale {scale})"
    y = layer_norm(out, W, p + "ln_post", 1e-6)
    return {"pos_key": pos_k, "output": y @ W[p + "proj"]}


def aria_projector(W, x, patch_mask, patch_to_query, heads):
    p = "multi_modal_projector."
    n = x.shape[0]
    nq = patch_to_query[str(n)]
    e = W[p + "query"].shape[1]
    queries = W[p + "query"][:nq]
    qn = layer_norm(queries, W, p + "cross_attn.layer_norm", 1e-5)
    q = F.linear(qn, W[p + "cross_attn.q_proj.weight"])
    kv = layer_norm(x, W, p + "cross_attn.ln_kv", 1e-5)
    k = F.linear(kv, W[p + "cross_attn.k_proj.weight"])
    v = F.linear(kv, W[p + "cross_attn.v_proj.weight"])
    blocked = ~patch_mask.reshape(-1)
    mask = blocked[None, None, :].expand(heads, nq, n)  # per head, per query (True = blocked)
    mha = torch.nn.MultiheadAttention(e, heads)
    with torch.no_grad():
        mha.in_proj_weight.copy_(W[p + "cross_attn.multihead_attn.in_proj_weight"])
        mha.in_proj_bias.copy_(W[p + "cross_attn.multihead_attn.in_proj_bias"])
        mha.out_proj.weight.copy_(W[p + "cross_attn.multihead_attn.out_proj.weight"])
        mha.out_proj.bias.copy_(W[p + "cross_attn.multihead_attn.out_proj.bias"])
    mha.eval()
    with torch.no_grad():
        a, _ = mha(q[:, None], k[:, None], v[:, None], attn_mask=mask, need_weights=False)
    a = a[:, 0]
    bias = torch.zeros(n)
    bias[blocked] = NEG
    check = manual_mha(W, p + "cross_attn.multihead_attn.", heads, q, k, v, bias[None, None, :])
    assert (a - check).abs().max() < 1e-5
    a = linear(a, W, p + "cross_attn.linear")  # no residual
    h = layer_norm(a, W, p + "ln_ffn", 1e-5)
    h = F.linear(gelu_tanh(F.linear(h, W[p + "ffn.linear_in.weight"])), W[p + "ffn.linear_out.weight"])
    return {"cross_attn": a, "output": h}


def mlp2x_gelu(W, p0, p2, x):
    return linear(F.gelu(linear(x, W, p0)), W, p2)


def pool2x2(x, grid):
    """[g*g, C] row-major -> 2x2 average pool (stride 2) -> [(g/2)^2, C] row-major (LongVA unires / get_2dPool)."""
    c = x.shape[1]
    m = x.view(1, grid, grid, c).permute(0, 3, 1, 2)
    m = F.avg_pool2d(m, 2)
    return m.permute(0, 2, 3, 1).reshape(-1, c)


# ----------------------------------------------------------------------------------------------- decoders

class Decoder:
    """Causal decoders: arch in {llama, qwen2, minicpm, aria, mpt}. forward() runs a chunk at absolute
    positions start.., appending keys/values to `cache` (list of [k, v] per layer)."""

    def __init__(self, W, arch, hidden, heads, kv_heads, layers, vocab, eps, theta=None, prefix="model.",
                 lm_head="lm_head.weight", scale_emb=1.0, scale_depth=None, dim_model_base=None,
                 moe_topk=None, moe_inter=None, alibi_bias_max=8):
        self.W, self.arch = W, arch
        self.hidden, self.heads, self.kv, self.layers, self.vocab = hidden, heads, kv_heads, layers, vocab
        self.eps, self.theta, self.p, self.lm_head = eps, theta, prefix, lm_head
        self.scale_emb = scale_emb
        self.resid = scale_depth / math.sqrt(layers) if scale_depth is not None else 1.0
        self.logit_div = hidden / dim_model_base if dim_model_base is not None else 1.0
        self.topk, self.moe_inter = moe_topk, moe_inter
        self.hd = hidden // heads
        if arch == "mpt":
            self.slopes = alibi_slopes(heads, alibi_bias_max)
        self.router_gaps = []  # MoE: gap between the k-th and (k+1)-th router logit, per token

    def embed_table(self):
        return self.W["transformer.wte.weight"] if self.arch == "mpt" else self.W[self.p + "embed_tokens.weight"]

    def embed(self, ids):
        """Token embeddings as the model feeds them (MiniCPM: x scale_emb)."""
        return self.embed_table()[torch.as_tensor(ids, dtype=torch.int64)] * self.scale_emb

    def new_cache(self):
        return [[None, None] for _ in range(self.layers)]

    def _mlp(self, h, lp):
        W = self.W
        if self.arch == "aria":
            logits = F.linear(h, W[lp + "mlp.router.weight"])
            top_v, top_i = torch.topk(logits, self.topk + 1, dim=-1)
            self.router_gaps.extend((top_v[:, self.topk - 1] - top_v[:, self.topk]).tolist())
            top_v, top_i = top_v[:, :self.topk], top_i[:, :self.topk]
            weights = torch.softmax(top_v, dim=-1)
            fc1, fc2 = W[lp + "mlp.experts.fc1.weight"], W[lp + "mlp.experts.fc2.weight"]
            out = torch.zeros_like(h)
            for s in range(self.topk):
                u = torch.bmm(h[:, None, :], fc1[top_i[:, s]])[:, 0]  # x @ W1[e], W1 stored [E, in, 2I]
                a = F.silu(u[:, :self.moe_inter]) * u[:, self.moe_inter:]
                y = torch.bmm(a[:, None, :], fc2[top_i[:, s]])[:, 0]  # a @ W2[e], W2 stored [E, I, out]
                out = out + weights[:, s:s + 1] * y
            sp = lp + "mlp.shared_experts."
            shared = F.linear(F.silu(F.linear(h, W[sp + "gate_proj.weight"])) * F.linear(h, W[sp + "up_proj.weight"]),
                              W[sp + "down_proj.weight"])
            return out + shared
        mp = lp + "mlp."
        return F.linear(F.silu(F.linear(h, W[mp + "gate_proj.weight"])) * F.linear(h, W[mp + "up_proj.weight"]),
                        W[mp + "down_proj.weight"])

    def forward(self, x, start, cache):
        W = self.W
        t = x.shape[0]
        pos = torch.arange(start, start + t)
        total = start + t
        causal = torch.zeros(t, total)
        causal[torch.arange(total)[None, :] > pos[:, None]] = NEG
        outs = []
        for i in range(self.layers):
            if self.arch == "mpt":
                lp = f"transformer.blocks.{i}."
                h = layer_norm(x, W, lp + "norm_1", 1e-5)
                qkv = F.linear(h, W[lp + "attn.Wqkv.weight"])
                q, k, v = qkv.chunk(3, dim=-1)
            else:
                lp = f"{self.p}layers.{i}."
                h = rms_norm(x, W[lp + "input_layernorm.weight"], self.eps)
                q = linear(h, W, lp + "self_attn.q_proj")
                k = linear(h, W, lp + "self_attn.k_proj")
                v = linear(h, W, lp + "self_attn.v_proj")
                q = rope(q, pos, self.heads, self.theta)
                k = rope(k, pos, self.kv, self.theta)
            c = cache[i]
            c[0] = k if c[0] is None else torch.cat([c[0], k])
            c[1] = v if c[1] is None else torch.cat([c[1], v])
            bias = causal[None]
            if self.arch == "mpt":
                rel = torch.arange(1 - total, 1).float()  # j - (L - 1) over all keys
                bias = bias + self.slopes[:, None, None] * rel[None, None, :]
            a = attention(q, c[0], c[1], self.heads, self.kv, self.hd ** -0.5, bias)
            if self.arch == "mpt":
                x = x + F.linear(a, W[lp + "attn.out_proj.weight"])
                h = layer_norm(x, W, lp + "norm_2", 1e-5)
                x = x + F.linear(F.gelu(F.linear(h, W[lp + "ffn.up_proj.weight"])), W[lp + "ffn.down_proj.weight"])
            else:
                x = x + linear(a, W, lp + "self_attn.o_proj") * self.resid
                h = rms_norm(x, W[lp + "post_attention_layernorm.weight"], self.eps)
                x = x + self._mlp(h, lp) * self.resid
            outs.append(x)
        if self.arch == "mpt":
            h = layer_norm(x, W, "transformer.norm_f", 1e-5)
            logits = h @ W["transformer.wte.weight"].T  # tied
        else:
            h = rms_norm(x, W[self.p + "norm.weight"], self.eps)
            logits = F.linear(h / self.logit_div, W[self.lm_head])
        return outs, logits


def greedy(dec, embeds, steps, cache=None, last_logits=None):
    """Greedy continuation with a KV cache (no EOS stop), checked step by step against full recomputation.

    Returns (tokens, per-step logits, min top1-top2 margin, max |cache - full| over the step logits)."""
    if cache is None:
        cache = dec.new_cache()
        _, logits = dec.forward(embeds, 0, cache)
        last_logits = logits[-1]
    tokens, step_logits = [], []
    pos = embeds.shape[0]
    last = last_logits
    for s in range(steps):
        tok = int(torch.argmax(last))
        tokens.append(tok)
        step_logits.append(last)
        if s + 1 < steps:
            _, lg = dec.forward(dec.embed([tok]), pos, cache)
            last = lg[-1]
            pos += 1
    step_logits = torch.stack(step_logits)
    top2 = torch.topk(step_logits, 2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    # full recomputation without a cache
    max_diff = 0.0
    for s in range(steps):
        seq = torch.cat([embeds, dec.embed(tokens[:s])]) if s else embeds
        _, lg = dec.forward(seq, 0, dec.new_cache())
        assert int(torch.argmax(lg[-1])) == tokens[s], f"greedy step {s}: cache and recomputation disagree"
        max_diff = max(max_diff, float((lg[-1] - step_logits[s]).abs().max()))
    assert max_diff < 1e-4, max_diff
    return tokens, step_logits, margin, max_diff
