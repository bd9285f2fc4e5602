"""Batched PyTorch modules for training the tiny demo models, with Hugging Face parameter names.

Each module's state_dict keys are the family checkpoint's tensor names under a prefix, so saving is a rename-free
dump. The math is the one eng/managed/reference.py writes out (and the C# engine implements): CLIP vision, Llama /
Qwen2 / MiniCPM decoders, MPT with ALiBi, LLaVA's mlp2x_gelu projector.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


ACT = {"quick_gelu": quick_gelu, "gelu": F.gelu, "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
       "silu": F.silu}


def attention(q, k, v, heads, kv_heads, scale, bias=None):
    """q [B, T, H*hd], k/v [B, S, KV*hd] -> [B, T, H*hd]; bias broadcasts to [B, H, T, S]."""
    b, t, _ = q.shape
    s = k.shape[1]
    hd = q.shape[2] // heads
    q = q.view(b, t, heads, hd).transpose(1, 2)
    k = k.view(b, s, kv_heads, hd).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    v = v.view(b, s, kv_heads, hd).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    scores = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, heads * hd)


# ----------------------------------------------------------------------------------------------- CLIP vision

class ClipLayer(nn.Module):
    def __init__(self, d, inter, heads, act, eps):
        super().__init__()
        self.heads, self.act = heads, ACT[act]
        self.self_attn = nn.Module()
        for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, p, nn.Linear(d, d))
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, inter)
        self.mlp.fc2 = nn.Linear(inter, d)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def attn_parts(self, x):
        a = self.self_attn
        hd = x.shape[-1] // self.heads
        return a.q_proj(x) * hd ** -0.5, a.k_proj(x), a.v_proj(x)

    def forward(self, x):
        q, k, v = self.attn_parts(self.layer_norm1(x))
        x = x + self.self_attn.out_proj(attention(q, k, v, self.heads, self.heads, 1.0))
        return x + self.mlp.fc2(self.act(self.mlp.fc1(self.layer_norm2(x))))


class ClipVision(nn.Module):
    """HF CLIPVisionModel's vision_model: names embeddings.*, pre_layrnorm, encoder.layers.N.*, post_layernorm."""

    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.c = c
        self.embeddings = nn.Module()
        self.embeddings.class_embedding = nn.Parameter(torch.randn(d) * 0.02)
        self.embeddings.patch_embedding = nn.Conv2d(3, d, p, p, bias=False)
        n = (c["image_size"] // p) ** 2 + 1
        self.embeddings.position_embedding = nn.Embedding(n, d)
        nn.init.normal_(self.embeddings.position_embedding.weight, std=0.02)
        self.pre_layrnorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(
            ClipLayer(d, c["intermediate_size"], c["num_attention_heads"], c["hidden_act"], c["layer_norm_eps"])
            for _ in range(c["num_hidden_layers"]))
        self.post_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])

    def forward(self, pixels, layers):
        """Runs the first `layers` encoder layers; returns [B, 1 + N, D] (the hidden state after them)."""
        x = self.embeddings.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.embeddings.class_embedding[None, None].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.embeddings.position_embedding.weight[None]
        x = self.pre_layrnorm(x)
        for layer in self.encoder.layers[:layers]:
            x = layer(x)
        return x


class Mlp2xGelu(nn.Module):
    """LLaVA's mlp2x_gelu with explicit names (linear_1/linear_2 or 0/2)."""

    def __init__(self, vin, d, names=("linear_1", "linear_2")):
        super().__init__()
        self.names = names
        self.add_module(names[0], nn.Linear(vin, d))
        self.add_module(names[1], nn.Linear(d, d))

    def forward(self, x):
        return getattr(self, self.names[1])(F.gelu(getattr(self, self.names[0])(x)))


# ----------------------------------------------------------------------------------------------- decoders

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, heads, theta):
    b, t, _ = x.shape
    hd = x.shape[-1] // heads
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = pos.float()[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x = x.view(b, t, heads, hd)
    rot = torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], dim=-1)
    return (x * cos + rot * sin).reshape(b, t, heads * hd)


class LlamaLayer(nn.Module):
    def __init__(self, c, qkv_bias):
        super().__init__()
        d, h, kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        hd = d // h
        self.h, self.kv, self.theta = h, kv, c["rope_theta"]
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(d, h * hd, bias=qkv_bias)
        self.self_attn.k_proj = nn.Linear(d, kv * hd, bias=qkv_bias)
        self.self_attn.v_proj = nn.Linear(d, kv * hd, bias=qkv_bias)
        self.self_attn.o_proj = nn.Linear(h * hd, d, bias=False)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, c["intermediate_size"], bias=False)
        self.mlp.up_proj = nn.Linear(d, c["intermediate_size"], bias=False)
        self.mlp.down_proj = nn.Linear(c["intermediate_size"], d, bias=False)
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.resid = 1.0

    def forward(self, x, pos, bias):
        a = self.self_attn
        h = self.input_layernorm(x)
        q = rope(a.q_proj(h), pos, self.h, self.theta)
        k = rope(a.k_proj(h), pos, self.kv, self.theta)
        hd = x.shape[-1] // self.h
        x = x + a.o_proj(attention(q, k, a.v_proj(h), self.h, self.kv, hd ** -0.5, bias)) * self.resid
        h = self.post_attention_layernorm(x)
        m = self.mlp
        return x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h)) * self.resid


class LlamaModel(nn.Module):
    """`model.*` of LlamaForCausalLM / Qwen2ForCausalLM / MiniCPM (embed_tokens, layers.N.*, norm)."""

    def __init__(self, c, qkv_bias=False, scale_depth=None):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList(LlamaLayer(c, qkv_bias) for _ in range(c["num_hidden_layers"]))
        if scale_depth is not None:
            for layer in self.layers:
                layer.resid = scale_depth / math.sqrt(c["num_hidden_layers"])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, key_mask):
        """x [B, T, D] input embeddings; key_mask [B, T] True for real positions (right padding)."""
        t = x.shape[1]
        pos = torch.arange(t)
        bias = torch.zeros(x.shape[0], 1, t, t)
        bias = bias.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1)[None, None], float("-inf"))
        bias = bias.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        for layer in self.layers:
            x = layer(x, pos, bias)
        return self.norm(x)


def splice(embeds, ids, placeholder, rows):
    """Writes visual rows (in order) over the placeholder positions of a batch."""
    mask = ids == placeholder
    assert int(mask.sum()) == rows.shape[0], (int(mask.sum()), rows.shape)
    out = embeds.clone()
    out[mask] = rows.to(out.dtype)
    return out
