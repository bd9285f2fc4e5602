"""Builds the tiny ONNX Runtime GenAI test model in tests/data/genai/tiny-vlm/ and its numpy goldens.

The layout is the one our GenAI backend drives (docs: /work/shared/GENAI.md section 3, model.type "gemma3", the
generic multimodal pipeline):

    genai_config.json   type gemma3, non-shared KV (past_present_share_buffer false), one intra-op thread
    vision.onnx         IDENTITY: pixel_values [K, H] -> image_features [K, H] (declared rank 2). Our library computes
                        the visual rows itself and hands them to GenAI as "pixels".
    embedding.onnx      input_ids int64 [B, S] + image_features [K, H] -> inputs_embeds [B, S, H]. An id equal to
                        vocab_size (the placeholder, just past the vocabulary) takes the next feature row in order;
                        any other id gathers the embedding table. K may be 0 (GenAI embeds every generated token with
                        an empty feature tensor).
    decoder.onnx        inputs_embeds [B, S, H], attention_mask int64 [B, T], position_ids int64 [B, S],
                        past_key_values.N.key/value [B, kvH, P, hd] (N = 0, 1)
                        -> logits [B, S, V], present.N.key/value [B, kvH, T, hd]
                        A real two-layer pre-norm decoder: RMSNorm, grouped-query attention (2 query heads, 1 KV head)
                        with rotary position embeddings (so positions matter), causal + padding mask over past and new
                        keys, tanh MLP, separate (untied) LM head.
    goldens.json        numpy reference (float64, full recomputation without a KV cache) for greedy decoding:
                        per scenario the turns' input ids, the generated ids and, for every generated id, the logits
                        it was chosen from. Scenarios: text_only, one_image, two_images, two_turns (turn 2 text only),
                        image_in_turn_two (a second image in turn 2: only a re-prefill can see it), forced (our own,
                        non-greedy token choices, driven by appending them).

Sizes: vocab 64 (+ placeholder id 64), hidden 16, 2 layers, context 256. Every greedy choice in the goldens beats the
runner-up by at least MARGIN, so float32 rounding in ONNX Runtime cannot flip an argmax.

    /usr/bin/python3 eng/onnx/make_genai_test_models.py [--out tests/data/genai/tiny-vlm]

Deterministic: the same numpy seed gives byte-identical models and goldens. Needs onnx (1.12 is enough) and numpy.
"""

import argparse
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "data", "genai", "tiny-vlm")

OPSET = 17
IR_VERSION = 8

VOCAB = 64             # logits width and genai_config vocab_size
IMAGE_TOKEN = VOCAB    # placeholder id: one past the vocabulary, never generated
HIDDEN = 16
HEADS = 2
KV_HEADS = 1
HEAD_DIM = 8
LAYERS = 2
FFN = 32
CONTEXT = 256
EPS = 1e-5
ROPE_BASE = 10000.0
BOS, EOS, PAD = 1, 2, 0
MARGIN = 1e-3          # smallest allowed gap between the chosen logit and the runner-up
SEED = 10            # picked among 1..24 for varied greedy ids (several seeds reach EOS early)


# ----------------------------------------------------------------------------------------------- weights

def make_weights(rng):
    def w(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "embed": w(VOCAB, HIDDEN, scale=1.0),
        "final_norm": (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
        "lm_head": w(HIDDEN, VOCAB, scale=0.6),
    }
    for layer in range(LAYERS):
        p = f"l{layer}."
        weights[p + "norm1"] = (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        weights[p + "wq"] = w(HIDDEN, HEADS * HEAD_DIM, scale=0.5)
        weights[p + "wk"] = w(HIDDEN, KV_HEADS * HEAD_DIM, scale=0.5)
        weights[p + "wv"] = w(HIDDEN, KV_HEADS * HEAD_DIM, scale=0.5)
        weights[p + "wo"] = w(HEADS * HEAD_DIM, HIDDEN, scale=0.4)
        weights[p + "norm2"] = (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        weights[p + "w1"] = w(HIDDEN, FFN, scale=0.4)
        weights[p + "w2"] = w(FFN, HIDDEN, scale=0.3)

    half = HEAD_DIM // 2
    inv_freq = 1.0 / (ROPE_BASE ** (np.arange(half, dtype=np.float64) / half))
    angles = np.arange(CONTEXT, dtype=np.float64)[:, None] * inv_freq[None, :]
    weights["rope_cos"] = np.cos(angles).astype(np.float32)
    weights["rope_sin"] = np.sin(angles).astype(np.float32)
    return weights


# ----------------------------------------------------------------------------------------------- numpy reference

def ref_embed(weights, ids, rows):
    """ids [S] (placeholders = IMAGE_TOKEN), rows [K, H] consumed in order -> [S, H] (float64)."""
    out = np.zeros((len(ids), HIDDEN))
    slot = 0
    for i, t in enumerate(ids):
        if t == IMAGE_TOKEN:
            out[i] = rows[slot] if slot < len(rows) else 0.0
            slot += 1
        else:
            out[i] = weights["embed"][min(max(t, 0), VOCAB - 1)]
    return out


def ref_rms(x, g):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * g


def ref_rope(x, positions, weights):
    """x [heads, S, hd]; rotate-half RoPE with the committed tables."""
    cos = weights["rope_cos"].astype(np.float64)[positions][None]  # [1, S, hd/2]
    sin = weights["rope_sin"].astype(np.float64)[positions][None]
    half = HEAD_DIM // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def ref_logits(weights, embeds):
    """Full causal forward over the whole sequence (no cache): embeds [S, H] -> logits [S, V] (float64)."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    seq = embeds.shape[0]
    positions = np.arange(seq)
    x = embeds.astype(np.float64)
    causal = np.tril(np.ones((seq, seq), dtype=bool))
    for layer in range(LAYERS):
        p = f"l{layer}."
        h = ref_rms(x, w[p + "norm1"])
        q = (h @ w[p + "wq"]).reshape(seq, HEADS, HEAD_DIM).transpose(1, 0, 2)
        k = (h @ w[p + "wk"]).reshape(seq, KV_HEADS, HEAD_DIM).transpose(1, 0, 2)
        v = (h @ w[p + "wv"]).reshape(seq, KV_HEADS, HEAD_DIM).transpose(1, 0, 2)
        q = ref_rope(q, positions, weights)
        k = ref_rope(k, positions, weights)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(HEAD_DIM)  # KV heads broadcast over query heads
        scores = np.where(causal[None], scores, -1e9)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        attn = (probs @ v).transpose(1, 0, 2).reshape(seq, HEADS * HEAD_DIM)
        x = x + attn @ w[p + "wo"]
        h = ref_rms(x, w[p + "norm2"])
        x = x + np.tanh(h @ w[p + "w1"]) @ w[p + "w2"]
    return ref_rms(x, w["final_norm"]) @ w["lm_head"]


def run_scenario(weights, turns, rows, steps, forced=None):
    """Greedy (or forced) decoding over a conversation. turns: list of input-id lists; rows [K, H]: the visual rows
    of every image in placeholder order over the whole conversation; steps: ids generated per turn; forced: per turn,
    the ids to choose instead of the argmax. Returns the per-turn records."""
    history = []
    records = []
    for t, turn in enumerate(turns):
        history = history + list(turn)
        tokens, logits = [], []
        for s in range(steps[t]):
            row = ref_logits(weights, ref_embed(weights, history, rows))[-1]
            order = np.argsort(row)[::-1]
            if row[order[0]] - row[order[1]] < MARGIN:
                raise ValueError(f"near tie at turn {t} step {s}: {row[order[0]]} vs {row[order[1]]}")
            choice = int(order[0]) if forced is None else int(forced[t][s])
            if choice == EOS and forced is None:
                raise ValueError("greedy decoding reached EOS; pick other prompts or another seed")
            tokens.append(choice)
            logits.append([float(f"{v:.7g}") for v in row])
            history.append(choice)
        records.append({"input_ids": [int(i) for i in turn], "tokens": tokens, "logits": logits})
    return records


# ----------------------------------------------------------------------------------------------- ONNX graphs

class Graph:
    """A small helper that names nodes and collects initializers."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, outputs=None, n_out=1, **attrs):
        self.count += 1
        if outputs is None:
            outputs = [f"{op_type.lower()}_{self.count}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=f"{op_type}_{self.count}", **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, producer_name="make_genai_test_models.py",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model


def vision_model():
    g = Graph()
    g.op("Identity", ["pixel_values"], ["image_features"])
    return g.model(
        "vision_identity",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["num_image_tokens", HIDDEN])],
        [helper.make_tensor_value_info("image_features", TensorProto.FLOAT, ["num_image_tokens", HIDDEN])])


def embedding_model(weights):
    g = Graph()
    table = g.const("embed_tokens", weights["embed"])
    lo = g.const("id_min", np.array(0, np.int64))
    hi = g.const("id_max", np.array(VOCAB - 1, np.int64))
    placeholder = g.const("image_token_id", np.array(IMAGE_TOKEN, np.int64))
    one = g.const("one", np.array(1, np.int64))
    axis1 = g.const("axis1", np.array(1, np.int64))
    zero_row = g.const("zero_row", np.zeros((1, HIDDEN), np.float32))
    last_axis = g.const("axes_last", np.array([-1], np.int64))
    k_index = g.const("k_index", np.array(0, np.int64))

    text = g.op("Gather", [table, g.op("Clip", ["input_ids", lo, hi])], axis=0)            # [B, S, H]
    is_img = g.op("Equal", ["input_ids", placeholder])                                       # [B, S]
    slot = g.op("Sub", [g.op("CumSum", [g.op("Cast", [is_img], to=TensorProto.INT64), axis1]), one])
    k = g.op("Gather", [g.op("Shape", ["image_features"]), k_index], axis=0)                 # scalar K
    slot = g.op("Min", [slot, k])                                                            # extra placeholders -> zero row
    index = g.op("Where", [is_img, slot, k])
    rows = g.op("Concat", ["image_features", zero_row], axis=0)                               # [K + 1, H]
    feature = g.op("Gather", [rows, index], axis=0)                                          # [B, S, H]
    g.op("Where", [g.op("Unsqueeze", [is_img, last_axis]), feature, text], ["inputs_embeds"])
    return g.model(
        "embedding_splice",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
         helper.make_tensor_value_info("image_features", TensorProto.FLOAT, ["num_image_tokens", HIDDEN])],
        [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN])])


def decoder_model(weights):
    g = Graph()
    c = {k: g.const(k, v) for k, v in weights.items() if k != "embed"}
    i64 = lambda name, values: g.const(name, np.array(values, np.int64))  # noqa: E731
    eps = g.const("eps", np.array(EPS, np.float32))
    scale = g.const("attn_scale", np.array(1.0 / np.sqrt(HEAD_DIM), np.float32))
    neg = g.const("neg_inf", np.array(-1e9, np.float32))
    zero_f = g.const("zero_f", np.array(0.0, np.float32))
    idx0, idx1 = i64("idx0", 0), i64("idx1", 1)
    one = i64("one_scalar", 1)
    zero = i64("zero_scalar", 0)
    ax_last = i64("axes_last", [-1])
    ax_0 = i64("axes_0", [0])
    ax_1 = i64("axes_1", [1])
    ax_01 = i64("axes_01", [0, 1])
    ax_12 = i64("axes_12", [1, 2])
    half_split = i64("half_split", [HEAD_DIM // 2, HEAD_DIM // 2])
    q_shape = i64("q_shape", [0, 0, HEADS, HEAD_DIM])
    kv_shape = i64("kv_shape", [0, 0, KV_HEADS, HEAD_DIM])
    merge_shape = i64("merge_shape", [0, 0, HEADS * HEAD_DIM])

    def rms(x, gain):
        mean = g.op("ReduceMean", [g.op("Mul", [x, x])], axes=[-1], keepdims=1)
        return g.op("Mul", [g.op("Div", [x, g.op("Sqrt", [g.op("Add", [mean, eps])])]), gain])

    # Masks from the shapes: the S new queries sit at absolute positions [T - S, T).
    total = g.op("Gather", [g.op("Shape", ["attention_mask"]), idx1], axis=0)
    new = g.op("Gather", [g.op("Shape", ["inputs_embeds"]), idx1], axis=0)
    q_pos = g.op("Range", [g.op("Sub", [total, new]), total, one])                           # [S]
    k_pos = g.op("Range", [zero, total, one])                                                # [T]
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [k_pos, ax_0]), g.op("Unsqueeze", [q_pos, ax_1])])  # [S, T]
    keep = g.op("Unsqueeze", [g.op("Equal", ["attention_mask", one]), ax_12])                 # [B, 1, 1, T]
    allowed = g.op("And", [g.op("Unsqueeze", [causal, ax_01]), keep])                        # [B, 1, S, T]
    mask = g.op("Where", [allowed, zero_f, neg])

    # Rotary tables for the new positions: [B, 1, S, hd/2].
    cos = g.op("Unsqueeze", [g.op("Gather", [c["rope_cos"], "position_ids"], axis=0), ax_1])
    sin = g.op("Unsqueeze", [g.op("Gather", [c["rope_sin"], "position_ids"], axis=0), ax_1])

    def rope(x):
        x1, x2 = g.op("Split", [x, half_split], n_out=2, axis=-1)
        return g.op("Concat", [g.op("Sub", [g.op("Mul", [x1, cos]), g.op("Mul", [x2, sin])]),
                               g.op("Add", [g.op("Mul", [x2, cos]), g.op("Mul", [x1, sin])])], axis=-1)

    inputs = [
        helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", VOCAB])]

    x = "inputs_embeds"
    for layer in range(LAYERS):
        p = f"l{layer}."
        past_k, past_v = f"past_key_values.{layer}.key", f"past_key_values.{layer}.value"
        present_k, present_v = f"present.{layer}.key", f"present.{layer}.value"
        inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch_size", KV_HEADS, "past_sequence_length", HEAD_DIM])
                   for n in (past_k, past_v)]
        outputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch_size", KV_HEADS, "total_sequence_length", HEAD_DIM])
                    for n in (present_k, present_v)]

        h = rms(x, c[p + "norm1"])
        q = g.op("Transpose", [g.op("Reshape", [g.op("MatMul", [h, c[p + "wq"]]), q_shape])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [g.op("MatMul", [h, c[p + "wk"]]), kv_shape])], perm=[0, 2, 1, 3])
        v = g.op("Transpose", [g.op("Reshape", [g.op("MatMul", [h, c[p + "wv"]]), kv_shape])], perm=[0, 2, 1, 3])
        q, k = rope(q), rope(k)
        g.op("Concat", [past_k, k], [present_k], axis=2)
        g.op("Concat", [past_v, v], [present_v], axis=2)
        # [B, 1, T, hd] keys broadcast over the 2 query heads in MatMul (grouped-query attention).
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [present_k], perm=[0, 1, 3, 2])]), scale]), mask])
        attn = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), present_v])                 # [B, heads, S, hd]
        attn = g.op("Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]), merge_shape])
        x = g.op("Add", [x, g.op("MatMul", [attn, c[p + "wo"]])])
        h = rms(x, c[p + "norm2"])
        x = g.op("Add", [x, g.op("MatMul", [g.op("Tanh", [g.op("MatMul", [h, c[p + "w1"]])]), c[p + "w2"]])])

    g.op("MatMul", [rms(x, c["final_norm"]), c["lm_head"]], ["logits"])
    return g.model("tiny_decoder", inputs, outputs)


def genai_config():
    return {
        "model": {
            "type": "gemma3",
            "bos_token_id": BOS,
            "eos_token_id": EOS,
            "pad_token_id": PAD,
            "context_length": CONTEXT,
            "vocab_size": VOCAB,
            "image_token_id": IMAGE_TOKEN,
            "decoder": {
                "filename": "decoder.onnx",
                "session_options": {"log_id": "onnxruntime-genai", "intra_op_num_threads": 1, "provider_options": []},
                "hidden_size": HIDDEN,
                "head_size": HEAD_DIM,
                "num_attention_heads": HEADS,
                "num_key_value_heads": KV_HEADS,
                "num_hidden_layers": LAYERS,
                "inputs": {
                    "inputs_embeds": "inputs_embeds",
                    "attention_mask": "attention_mask",
                    "position_ids": "position_ids",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
            },
            "embedding": {
                "filename": "embedding.onnx",
                "inputs": {"input_ids": "input_ids", "image_features": "image_features"},
                "outputs": {"inputs_embeds": "inputs_embeds"},
            },
            "vision": {
                "filename": "vision.onnx",
                "inputs": {"pixel_values": "pixel_values"},
                "outputs": {"image_features": "image_features"},
            },
        },
        "search": {
            "do_sample": False,
            "max_length": CONTEXT,
            "min_length": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": False,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 1,
            "top_p": 1.0,
        },
    }


# ----------------------------------------------------------------------------------------------- main

def scenarios(weights, rng):
    img = IMAGE_TOKEN
    image_a = (rng.standard_normal((3, HIDDEN)) * 0.8).astype(np.float32)
    image_b = (rng.standard_normal((2, HIDDEN)) * 0.8).astype(np.float32)

    def rows(*blocks):
        return np.concatenate(blocks, axis=0) if blocks else np.zeros((0, HIDDEN), np.float32)

    def entry(images, turns, steps, forced=None):
        all_rows = rows(*images)
        return {
            "images": [[[float(v) for v in r] for r in block] for block in images],
            "turns": run_scenario(weights, turns, all_rows.astype(np.float64), steps, forced),
        }

    prompt_text = [BOS, 17, 5, 42, 23, 9, 31]
    prompt_one = [BOS, 10, img, img, img, 33, 4, 12]
    prompt_two = [BOS, 7, img, img, img, 25, img, img, 48, 3]
    turn_two = [11, 27, 6, 50]
    turn_two_image = [11, img, img, 39, 6]

    result = {
        "text_only": entry([], [prompt_text], [8]),
        "one_image": entry([image_a], [prompt_one], [8]),
        "two_images": entry([image_a, image_b], [prompt_two], [8]),
        "two_turns": entry([image_a], [prompt_one, turn_two], [6, 6]),
        "image_in_turn_two": entry([image_a, image_b], [prompt_one, turn_two_image], [6, 6]),
    }
    # Our own (non-greedy) choices after the one-image prompt, then a text turn: how an ILanguageDecoder adapter
    # drives GenAI (AppendTokens of each chosen id, never GenerateNextToken).
    forced = [[int(t) for t in rng.integers(3, VOCAB, size=6)], [int(t) for t in rng.integers(3, VOCAB, size=5)]]
    result["forced"] = entry([image_a], [prompt_one, turn_two], [6, 5], forced)
    return result


def dump_compact(value, indent=0):
    """JSON with objects and nested lists indented, and lists of numbers on one line (readable diffs, small files)."""
    pad = "  " * indent
    if isinstance(value, dict):
        items = [f'{pad}  {json.dumps(k)}: {dump_compact(v, indent + 1).lstrip()}' for k, v in value.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return pad + "[\n" + ",\n".join(dump_compact(v, indent + 1) for v in value) + "\n" + pad + "]"
    return pad + json.dumps(value, separators=(",", ":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    weights = make_weights(rng)
    os.makedirs(args.out, exist_ok=True)

    goldens = {
        "vocab_size": VOCAB,
        "hidden_size": HIDDEN,
        "image_token_id": IMAGE_TOKEN,
        "eos_token_id": EOS,
        "context_length": CONTEXT,
        "margin": MARGIN,
        "scenarios": scenarios(weights, rng),
    }

    onnx.save(vision_model(), os.path.join(args.out, "vision.onnx"))
    onnx.save(embedding_model(weights), os.path.join(args.out, "embedding.onnx"))
    onnx.save(decoder_model(weights), os.path.join(args.out, "decoder.onnx"))
    with open(os.path.join(args.out, "genai_config.json"), "w") as f:
        json.dump(genai_config(), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "goldens.json"), "w") as f:
        f.write(dump_compact(goldens))
        f.write("\n")

    for name in sorted(os.listdir(args.out)):
        print(f"{name:20s} {os.path.getsize(os.path.join(args.out, name)):8d} bytes")
    for name, s in goldens["scenarios"].items():
        print(name, [t["tokens"] for t in s["turns"]])


if __name__ == "__main__":
    main()
