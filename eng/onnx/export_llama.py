"""Exports a Hugging Face Llama checkpoint folder (LlamaForCausalLM: config.json + model.safetensors) to the two ONNX
layouts of eng/onnx/export.py, into <folder>/onnx/: embed_tokens.onnx + decoder_model_merged.onnx (ONNX Runtime), and
genai_config.json + embedding.onnx + vision.onnx sharing that decoder (ONNX Runtime GenAI). Graphs over 2 GB keep
their weights in external data files next to them.

Used by the backend benchmarks for the synthetic TinyLlama-1.1B-shaped model the managed benchmarks generate
(benchmarks/: SyntheticModels.Llama1B), so that every backend runs the same weights.

    /usr/bin/python3 eng/onnx/export_llama.py /tmp/mm-bench-models/llama-1.1b-f32
"""

import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export as X  # noqa: E402
import modules as M  # noqa: E402
from common import read_safetensors  # noqa: E402


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = M.LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    folder = sys.argv[1]
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    c = dict(config)
    c.setdefault("num_key_value_heads", c["num_attention_heads"])
    c.setdefault("rope_theta", 10000.0)
    c.setdefault("rms_norm_eps", 1e-6)
    net = LlamaForCausalLM(c)
    state = {k: v.float() for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"checkpoint mismatch: missing {missing[:4]}, unexpected {unexpected[:4]}")
    del state
    net.eval()
    out = os.path.join(folder, "onnx")
    os.makedirs(out, exist_ok=True)
    layers, heads, kv, hd = X.kv_shape("llama", net.model)
    vocab, hidden = net.model.embed_tokens.weight.shape
    with torch.no_grad():
        X.export(X.EmbedTokens(net.model.embed_tokens, 1.0), (torch.tensor([[1, 2, 3]]),),
                 os.path.join(out, "embed_tokens.onnx"), ["input_ids"], ["inputs_embeds"],
                 {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}})
        decoder = X.KvDecoder("llama", net.model, net.lm_head, 1.0)
        names = [f"past_key_values.{i}.{n}" for i in range(layers) for n in ("key", "value")]
        present = [n.replace("past_key_values", "present") for n in names]
        example = (torch.randn(1, 3, hidden), torch.ones(1, 5, dtype=torch.int64), torch.arange(2, 5)[None],
                   *[torch.randn(1, kv, 2, hd) for _ in names])
        axes = {"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total_sequence"},
                "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
        axes.update({n: {0: "batch", 2: "past_sequence"} for n in names})
        axes.update({n: {0: "batch", 2: "total_sequence"} for n in present})
        X.export(decoder, example, os.path.join(out, "decoder_model_merged.onnx"),
                 ["inputs_embeds", "attention_mask", "position_ids", *names], ["logits", *present], axes)
        X.export(X.GenAiEmbedding(net.model.embed_tokens, 1.0, vocab), (torch.tensor([[1, vocab, 4]]), torch.randn(1, hidden)),
                 os.path.join(out, "embedding.onnx"), ["input_ids", "image_features"], ["inputs_embeds"],
                 {"input_ids": {0: "batch", 1: "sequence"}, "image_features": {0: "num_image_tokens"},
                  "inputs_embeds": {0: "batch", 1: "sequence"}})
    X.identity_vision(os.path.join(out, "vision.onnx"), hidden)
    X.genai_config(os.path.join(out, "genai_config.json"), config, None,
                   {"bos": config.get("bos_token_id", 1), "eos": config.get("eos_token_id", 2), "pad": 0},
                   vocab, hidden, layers, heads, kv, hd, int(config.get("max_position_embeddings", 2048)), True)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{out}: {sorted(os.listdir(out))}, {total / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
