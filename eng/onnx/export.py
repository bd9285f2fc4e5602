"""Exports a bundled tiny family model to ONNX, from the PyTorch modules it was trained with (eng/train/).

Two layouts land in models/<family>-tiny/onnx/:

  ONNX Runtime (the optimum / transformers.js image-text-to-text layout)
    vision_encoder.onnx        pixel_values [N, 3, H, W] -> image_features [N, tokens, hidden]  (tower + projector,
                               exactly what the managed engine's vision encoder returns per view; Aria's also takes
                               pixel_mask [N, H, W] bool and dynamic H, W: eng/onnx/aria_vision.py; AuroraCap's
                               also takes tome_r [num_hidden_layers] int64, ToMe's r per tower layer, so one graph
                               serves every token_kept_ratio: eng/onnx/auroracap_vision.py; MiniCPM-V's takes any H, W,
                               its position table resampled inside the graph: eng/onnx/minicpmv_vision.py)
    embed_tokens.onnx          input_ids [B, S] int64 -> inputs_embeds [B, S, hidden]  (x scale_emb for MiniCPM)
    decoder_model_merged.onnx  inputs_embeds, attention_mask [B, T] int64, position_ids [B, S] int64,
                               past_key_values.N.key/value [B, kv_heads, P, head_dim]
                               -> logits [B, S, vocab], present.N.key/value [B, kv_heads, P + S, head_dim]
                               (one graph for prefill and decode: P may be 0)

  ONNX Runtime GenAI 0.15 (model.type "gemma3", the generic multimodal pipeline; see docs/backends.md)
    genai_config.json          decoder = decoder_model_merged.onnx (shared with the layout above)
    vision.onnx                pass-through: pixel_values [K, hidden] -> image_features [K, hidden]; our own vision
                               encoder computes the visual rows and hands them to GenAI as "pixels"
    embedding.onnx             input_ids [B, S] int64 + image_features [K, hidden] -> inputs_embeds: ids equal to
                               vocab_size (a placeholder just past the vocabulary) take the next visual row in order,
                               other ids the embedding table; K may be 0 (GenAI embeds every generated token with it)

Weights that are exactly representable in float16 (all of them for float16 checkpoints) are stored as float16
initializers followed by a Cast to float32, which ONNX Runtime folds at load: the graphs compute in float32 on the
same values as the checkpoint, at the checkpoint's size.

    /usr/bin/python3 eng/onnx/export.py --family llava [--check] [--model DIR] [--out DIR]
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "eng", "train"))
sys.path.insert(0, os.path.join(ROOT, "eng", "managed"))

import aria_vision as ARV  # noqa: E402
import auroracap_vision as AV  # noqa: E402
import minicpmv_vision as MV  # noqa: E402
import families as F_  # noqa: E402
import modules as M  # noqa: E402
import train as T  # noqa: E402
from common import read_safetensors  # noqa: E402

OPSET = 17


# ----------------------------------------------------------------------------------------------- loading

def load_net(fam, folder):
    """Builds the family's training module and loads the committed checkpoint into it (every file of the folder,
    the sub-folder name giving the module prefix), in float32."""
    with open(os.path.join(folder, "tokenizer.json")) as f:
        vocab = len(json.load(f)["model"]["vocab"])
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    vocab = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size") or vocab
    layers = config.get("text_config", config).get("num_hidden_layers")  # the decoder's depth (root: Qwen2, Llama, MiniCPM)
    if layers and hasattr(fam, "text") and fam.text["num_hidden_layers"] != layers:
        fam.text = dict(fam.text, num_hidden_layers=layers)  # a model grown by train.py --grow-layers
    if hasattr(fam, "stored_queries"):
        fam.stored_queries(config)  # a model grown by train.py --grow-queries
    if not hasattr(fam, "img_id"):  # train.py sets it from the tokenizer; Aria's model needs it (image_token_index)
        fam.img_id = config.get("image_token_index")
    net = fam.model(vocab)
    load_weights(net, folder)
    for m in net.modules():
        # ONNX Runtime 1.30's extended graph optimizations crash (SIGSEGV at session creation) on a LayerNormalization
        # without its optional bias input, as MPT's bias-free norms export. A zero bias changes no value (x + 0 == x).
        if isinstance(m, nn.LayerNorm) and m.elementwise_affine and m.bias is None:
            m.bias = nn.Parameter(torch.zeros_like(m.weight))
    return net.float().eval(), config


def load_weights(net, folder):
    """Loads every safetensors file of a model folder into a training module, in float32: the root's tensors by
    their names (or under llm.), a sub-folder's under the sub-folder's name (AuroraCap's visual_encoder/, projector/)."""
    expected = net.state_dict()
    state = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if not name.endswith(".safetensors"):
                continue
            sub = os.path.relpath(dirpath, folder)
            for key, tensor in read_safetensors(os.path.join(dirpath, name)).items():
                candidates = [key, "llm." + key] if sub == "." else [sub.replace(os.sep, ".") + "." + key]
                target = next((c for c in candidates if c in expected), None)
                if target is None:
                    raise SystemExit(f"{os.path.join(sub, name)}: tensor {key} has no place in {type(net).__name__}")
                state[target] = tensor.float()
    missing = [k for k in expected if k not in state and not k.startswith(F_.TRAINING_ONLY)]
    if missing:
        raise SystemExit(f"{folder} lacks {missing[:5]} ({len(missing)} tensors)")
    net.load_state_dict(state, strict=False)


def decoder_parts(fam, net):
    """(kind, language model module, lm head (None when tied), embedding, embedding scale, logits divisor)."""
    if isinstance(getattr(net, "transformer", None), F_.MptModel):
        lm = net.transformer
        return "mpt", lm, None, lm.wte, 1.0, 1.0
    if hasattr(net, "language_model"):
        return "llama", net.language_model.model, net.language_model.lm_head, net.language_model.model.embed_tokens, 1.0, 1.0
    if hasattr(net, "llm"):
        lm = net.llm.model
        scale, div = 1.0, 1.0
        if hasattr(net, "mu"):  # MiniCPM's muP scalars
            scale = float(net.mu["scale_emb"])
            div = net.tc["hidden_size"] / net.mu["dim_model_base"]
        return "llama", lm, net.llm.lm_head, lm.embed_tokens, scale, div
    if isinstance(getattr(net, "model", None), M.LlamaModel):
        return "llama", net.model, net.lm_head, net.model.embed_tokens, 1.0, 1.0
    raise SystemExit(f"no decoder export for {type(net).__name__}")


# ----------------------------------------------------------------------------------------------- graphs

class VisionEncoder(nn.Module):
    """pixel_values [N, 3, H, W] -> image_features [N, tokens, hidden]: the module's own encode()."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, pixel_values):
        return self.net.encode(pixel_values)[1]


class EmbedTokens(nn.Module):
    def __init__(self, embedding, scale):
        super().__init__()
        self.embedding, self.scale = embedding, scale

    def forward(self, input_ids):
        x = self.embedding(input_ids)
        return x * self.scale if self.scale != 1.0 else x


class GenAiEmbedding(nn.Module):
    """input_ids + image_features -> inputs_embeds, splicing visual rows in order at ids == vocab_size."""

    def __init__(self, embedding, scale, vocab):
        super().__init__()
        self.embedding, self.scale, self.vocab = embedding, scale, vocab

    def forward(self, input_ids, image_features):
        is_visual = input_ids == self.vocab
        text = self.embedding(input_ids.clamp(0, self.vocab - 1))
        if self.scale != 1.0:
            text = text * self.scale
        rows = torch.cat([image_features, torch.zeros(1, image_features.shape[1])], dim=0)
        slot = torch.cumsum(is_visual.to(torch.int64), dim=1) - 1
        slot = torch.where(is_visual, slot, torch.full_like(slot, 0) + image_features.shape[0])
        slot = torch.minimum(slot, torch.full_like(slot, 0) + image_features.shape[0])
        return torch.where(is_visual[..., None], rows[slot], text)


def repeat_kv(x, times):
    """[B, KV, T, hd] -> [B, KV*times, T, hd], each head repeated in place (repeat_interleave on dim 1), written with
    expand + reshape because torch 1.13 exports repeat_interleave with the traced sizes baked in."""
    if times == 1:
        return x
    b, kv, t, hd = x.shape
    return x[:, :, None].expand(b, kv, times, t, hd).reshape(b, kv * times, t, hd)


def attention(q, k, v, heads, kv_heads, scale, bias=None):
    """modules.attention, the same math with an export-friendly head repeat."""
    b, t, _ = q.shape
    s = k.shape[1]
    hd = q.shape[2] // heads
    q = q.view(b, t, heads, hd).transpose(1, 2)
    k = repeat_kv(k.view(b, s, kv_heads, hd).transpose(1, 2), heads // kv_heads)
    v = repeat_kv(v.view(b, s, kv_heads, hd).transpose(1, 2), heads // kv_heads)
    scores = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, heads * hd)


M.attention = attention  # the training modules call modules.attention at run time


def rope(x, position_ids, heads, theta):
    """x [B, S, heads*hd] rotated at positions [B, S] (rotate-half, as modules.rope)."""
    b, s, _ = x.shape
    hd = x.shape[-1] // heads
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = position_ids.float()[..., None] * inv
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]
    x = x.view(b, s, heads, hd)
    rot = torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], dim=-1)
    return (x * cos + rot * sin).reshape(b, s, heads * hd)


def attend(q, k_new, v_new, past_k, past_v, heads, kv_heads, bias):
    """q [B,S,H*hd]; new k/v [B,S,KV*hd]; past [B,KV,P,hd] -> (out [B,S,H*hd], present k, present v)."""
    b, s, _ = q.shape
    hd = q.shape[-1] // heads
    k = torch.cat([past_k, k_new.view(b, s, kv_heads, hd).transpose(1, 2)], dim=2)
    v = torch.cat([past_v, v_new.view(b, s, kv_heads, hd).transpose(1, 2)], dim=2)
    qh = q.view(b, s, heads, hd).transpose(1, 2)
    kr, vr = repeat_kv(k, heads // kv_heads), repeat_kv(v, heads // kv_heads)
    scores = (qh @ kr.transpose(-1, -2)) * (hd ** -0.5) + bias
    out = (torch.softmax(scores, dim=-1) @ vr).transpose(1, 2).reshape(b, s, heads * hd)
    return out, k, v


class KvDecoder(nn.Module):
    """The family's decoder layers with a KV cache in the optimum layout."""

    def __init__(self, kind, lm, head, logit_div):
        super().__init__()
        self.kind, self.lm, self.head, self.logit_div = kind, lm, head, logit_div
        self.layers = lm.blocks if kind == "mpt" else lm.layers

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        x = inputs_embeds
        b, s = x.shape[0], x.shape[1]
        p = past[0].shape[2]
        total = p + s
        keys = torch.arange(total)
        queries = torch.arange(s) + p
        bias = torch.zeros(b, 1, s, total)
        bias = bias.masked_fill((keys[None, :] > queries[:, None])[None, None], float("-inf"))
        bias = bias.masked_fill((attention_mask == 0)[:, None, None, :], float("-inf"))
        presents = []
        if self.kind == "mpt":
            heads = self.lm.h
            slopes = self.lm.slopes.float()
            bias = bias + (slopes[:, None, None] * (keys - (total - 1)).float()[None, None, :])[None]
            for i, blk in enumerate(self.layers):
                q, k, v = blk.attn.Wqkv(blk.norm_1(x)).chunk(3, dim=-1)
                a, pk, pv = attend(q, k, v, past[2 * i], past[2 * i + 1], heads, heads, bias)
                presents += [pk, pv]
                x = x + blk.attn.out_proj(a)
                x = x + blk.ffn.down_proj(F.gelu(blk.ffn.up_proj(blk.norm_2(x))))
            return (self.lm.norm_f(x) @ self.lm.wte.weight.T, *presents)
        for i, layer in enumerate(self.layers):
            att = layer.self_attn
            h = layer.input_layernorm(x)
            q = rope(att.q_proj(h), position_ids, layer.h, layer.theta)
            k = rope(att.k_proj(h), position_ids, layer.kv, layer.theta)
            a, pk, pv = attend(q, k, att.v_proj(h), past[2 * i], past[2 * i + 1], layer.h, layer.kv, bias)
            presents += [pk, pv]
            x = x + att.o_proj(a) * layer.resid
            h = layer.post_attention_layernorm(x)
            x = x + mlp(layer, h) * layer.resid
        h = self.lm.norm(x)
        if self.logit_div != 1.0:
            h = h / self.logit_div
        return (self.head(h), *presents)


def mlp(layer, h):
    m = layer.mlp
    if isinstance(layer, F_.AriaMoeLayer):
        logits = m.router(h)
        top_v, top_i = torch.topk(logits, layer.topk, dim=-1)
        weights = torch.zeros_like(logits).scatter(-1, top_i, torch.softmax(top_v, dim=-1))
        u = torch.einsum("btd,edf->btef", h, m.experts.fc1.weight)
        act = F.silu(u[..., :layer.mi]) * u[..., layer.mi:]
        y = torch.einsum("btei,eio->bteo", act, m.experts.fc2.weight)
        s = m.shared_experts
        return (weights[..., None] * y).sum(-2) + s.down_proj(F.silu(s.gate_proj(h)) * s.up_proj(h))
    return m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))


def kv_shape(kind, lm):
    layers = lm.blocks if kind == "mpt" else lm.layers
    if kind == "mpt":
        heads = lm.h
        return len(layers), heads, heads, lm.wte.weight.shape[1] // heads
    first = layers[0]
    return len(layers), first.h, first.kv, first.self_attn.q_proj.out_features // first.h


# ----------------------------------------------------------------------------------------------- writing

def export(module, args, path, input_names, output_names, dynamic_axes):
    folder = os.path.dirname(path)
    before = set(os.listdir(folder))
    torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    compact(path, before | {os.path.basename(path)})


def compact(path, keep):
    """Stores float32 initializers that are exact in float16 as float16 + Cast (lossless; folded at load). A graph
    whose weights went to external data (over 2 GB) gets them gathered into one `<name>.data` file instead."""
    folder = os.path.dirname(path)
    model = onnx.load(path)
    scattered = set(os.listdir(folder)) - keep  # torch writes one file per tensor for graphs over 2 GB
    if scattered or sum(i.ByteSize() for i in model.graph.initializer) > 1_800_000_000:
        data = os.path.basename(path) + ".data"
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                        size_threshold=1024)
        for name in scattered - {data}:
            os.remove(os.path.join(folder, name))
        return
    graph = model.graph
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            kept.append(init)
            continue
        value = numpy_helper.to_array(init)
        half = value.astype(np.float16)
        if value.size < 64 or not np.array_equal(half.astype(np.float32), value):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(half, init.name + "_fp16"))
        casts.append(helper.make_node("Cast", [init.name + "_fp16"], [init.name], to=onnx.TensorProto.FLOAT,
                                      name="cast_" + init.name))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    model.producer_name = "multimodal eng/onnx/export.py"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def identity_vision(path, hidden):
    x = helper.make_tensor_value_info("pixel_values", onnx.TensorProto.FLOAT, ["num_image_tokens", hidden])
    y = helper.make_tensor_value_info("image_features", onnx.TensorProto.FLOAT, ["num_image_tokens", hidden])
    graph = helper.make_graph([helper.make_node("Identity", ["pixel_values"], ["image_features"])],
                              "visual_rows", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="multimodal")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def genai_config(path, config, fam, tok_ids, vocab, hidden, layers, heads, kv, hd, context, has_position_ids):
    decoder_inputs = {"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                      "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"}
    if has_position_ids:
        decoder_inputs["position_ids"] = "position_ids"
    value = {
        "model": {
            "type": "gemma3", "context_length": context, "vocab_size": vocab,
            "bos_token_id": tok_ids["bos"], "eos_token_id": tok_ids["eos"], "pad_token_id": tok_ids["pad"],
            "decoder": {"filename": "decoder_model_merged.onnx", "hidden_size": hidden, "num_attention_heads": heads,
                        "num_key_value_heads": kv, "head_size": hd, "num_hidden_layers": layers,
                        "inputs": decoder_inputs,
                        "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                                    "present_value_names": "present.%d.value"},
                        "session_options": {"log_id": "multimodal-genai", "provider_options": []}},
            "embedding": {"filename": "embedding.onnx",
                          "inputs": {"input_ids": "input_ids", "image_features": "image_features"},
                          "outputs": {"inputs_embeds": "inputs_embeds"}},
            "vision": {"filename": "vision.onnx", "inputs": {"pixel_values": "pixel_values"},
                       "outputs": {"image_features": "image_features"}},
        },
        "search": {"do_sample": False, "max_length": context, "min_length": 0, "num_beams": 1,
                   "num_return_sequences": 1, "past_present_share_buffer": False, "repetition_penalty": 1.0,
                   "temperature": 1.0, "top_k": 1, "top_p": 1.0, "early_stopping": True, "length_penalty": 1.0,
                   "no_repeat_ngram_size": 0, "diversity_penalty": 0.0},
    }
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def token_ids(config):
    text = config.get("text_config", config)
    eos = text.get("eos_token_id", config.get("eos_token_id", 2))
    return {"bos": text.get("bos_token_id", config.get("bos_token_id", 1)) or 0,
            "eos": eos if eos is not None else 2,
            "pad": text.get("pad_token_id", config.get("pad_token_id", 0)) or 0}


def context_length(config):
    text = config.get("text_config", config)
    return int(text.get("max_position_embeddings") or config.get("max_seq_len") or 2048)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", required=True, choices=sorted(T.FAMILIES))
    parser.add_argument("--check", action="store_true", help="compare the graphs' torch modules with the reference math")
    parser.add_argument("--model", help="the checkpoint folder (default models/<family>-tiny)")
    parser.add_argument("--out", help="where the graphs go (default <model>/onnx)")
    args = parser.parse_args()
    torch.manual_seed(0)
    fam = T.FAMILIES[args.family]()
    folder = args.model or os.path.join(ROOT, "models", fam.folder)
    out = args.out or os.path.join(folder, "onnx")
    os.makedirs(out, exist_ok=True)
    net, config = load_net(fam, folder)
    kind, lm, head, embedding, scale, div = decoder_parts(fam, net)
    layers, heads, kv, hd = kv_shape(kind, lm)
    vocab, hidden = embedding.weight.shape
    size = fam.vision["image_size"]

    with torch.no_grad():
        if isinstance(net, F_.AuroraCapNet):
            # One graph for every token_kept_ratio: ToMe's r per tower layer is an input (eng/onnx/auroracap_vision.py).
            vision = AV.AuroraCapVisionEncoder(net)
            export(vision, AV.example_inputs(net), os.path.join(out, "vision_encoder.onnx"), AV.INPUT_NAMES,
                   AV.OUTPUT_NAMES, AV.DYNAMIC_AXES)
        elif isinstance(net, F_.AriaNet):
            # pixel_values + pixel_mask [N, H, W]: NaViT positions, padding masked (eng/onnx/aria_vision.py).
            vision = ARV.from_net(net, config)
            export(vision, ARV.example_inputs(vision), os.path.join(out, "vision_encoder.onnx"), ARV.INPUTS,
                   ARV.OUTPUTS, ARV.DYNAMIC_AXES)
        elif isinstance(net, F_.MiniCpmNet):
            # Any view size: the tower's positions resampled and the resampler's keys made in the graph
            # (eng/onnx/minicpmv_vision.py).
            vision = MV.from_net(net)
            path = os.path.join(out, "vision_encoder.onnx")
            export(vision, MV.example_inputs(vision), path, MV.INPUTS, MV.OUTPUTS, MV.DYNAMIC_AXES)
            MV.pin_query_count(path, vision)
        else:
            vision = VisionEncoder(net)
            pixels = torch.randn(2, 3, size, size)
            export(vision, (pixels,), os.path.join(out, "vision_encoder.onnx"), ["pixel_values"], ["image_features"],
                   {"pixel_values": {0: "num_views"}, "image_features": {0: "num_views"}})

        embed = EmbedTokens(embedding, scale)
        export(embed, (torch.tensor([[1, 2, 3]]),), os.path.join(out, "embed_tokens.onnx"), ["input_ids"],
               ["inputs_embeds"], {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}})

        decoder = KvDecoder(kind, lm, head, div)
        names = [f"past_key_values.{i}.{kv_name}" for i in range(layers) for kv_name in ("key", "value")]
        present = [n.replace("past_key_values", "present") for n in names]
        s, p = 3, 2
        example = (torch.randn(1, s, hidden), torch.ones(1, p + s, dtype=torch.int64),
                   torch.arange(p, p + s)[None], *[torch.randn(1, kv, p, hd) for _ in names])
        axes = {"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total_sequence"},
                "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
        axes.update({n: {0: "batch", 2: "past_sequence"} for n in names})
        axes.update({n: {0: "batch", 2: "total_sequence"} for n in present})
        decoder_path = os.path.join(out, "decoder_model_merged.onnx")
        export(decoder, example, decoder_path, ["inputs_embeds", "attention_mask", "position_ids", *names],
               ["logits", *present], axes)
        declared = {i.name for i in onnx.load(decoder_path).graph.input}

        genai_embed = GenAiEmbedding(embedding, scale, vocab)
        export(genai_embed, (torch.tensor([[1, vocab, vocab, 4]]), torch.randn(2, hidden)),
               os.path.join(out, "embedding.onnx"), ["input_ids", "image_features"], ["inputs_embeds"],
               {"input_ids": {0: "batch", 1: "sequence"}, "image_features": {0: "num_image_tokens"},
                "inputs_embeds": {0: "batch", 1: "sequence"}})
        identity_vision(os.path.join(out, "vision.onnx"), hidden)
        genai_config(os.path.join(out, "genai_config.json"), config, fam, token_ids(config), vocab, hidden, layers,
                     heads, kv, hd, context_length(config), "position_ids" in declared)

        if args.check:
            check(decoder, embed, genai_embed, layers, kv, hd, hidden, vocab)
            if isinstance(vision, AV.AuroraCapVisionEncoder):
                print(f"check: ToMe graph module vs training encode at every r, max |diff| {AV.check(net, vision):.2e}")
            if isinstance(vision, ARV.AriaVisionEncoder):
                ARV.check_net(vision, net, folder)
            if isinstance(vision, MV.MiniCpmVVisionEncoder):
                MV.check_net(vision, net, folder)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{fam.folder}/onnx: {sorted(os.listdir(out))}, {total} bytes; decoder inputs {sorted(declared)}")


def check(decoder, embed, genai_embed, layers, kv, hd, hidden, vocab):
    """Prefill + 3 decode steps through the KV graph module equal one full forward (torch, float32)."""
    ids = torch.tensor([[1, 5, 9, 3, 7, 2, 6]])
    x = embed(ids)
    empty = [torch.zeros(1, kv, 0, hd) for _ in range(2 * layers)]
    full = decoder(x, torch.ones(1, 7, dtype=torch.int64), torch.arange(7)[None], *empty)[0]
    out = decoder(x[:, :4], torch.ones(1, 4, dtype=torch.int64), torch.arange(4)[None], *empty)
    logits, past = [out[0]], list(out[1:])
    for t in range(4, 7):
        out = decoder(x[:, t:t + 1], torch.ones(1, t + 1, dtype=torch.int64), torch.tensor([[t]]), *past)
        logits.append(out[0])
        past = list(out[1:])
    diff = float((torch.cat(logits, dim=1) - full).abs().max())
    rows = torch.randn(2, hidden)
    spliced = genai_embed(torch.tensor([[1, vocab, vocab, 4]]), rows)
    assert torch.equal(spliced[0, 1:3], rows) and torch.equal(spliced[0, 3], embed(torch.tensor([[4]]))[0, 0])
    assert torch.equal(genai_embed(torch.tensor([[3]]), torch.zeros(0, hidden)), embed(torch.tensor([[3]])))
    print(f"check: cached vs full logits max |diff| {diff:.2e}; GenAI splice exact")
    assert diff < 1e-4, diff


if __name__ == "__main__":
    main()
