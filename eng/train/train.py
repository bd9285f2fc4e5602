"""Trains the bundled tiny demo models (issue 6) and writes them in their family's real Hugging Face layout.

    /usr/bin/python3 eng/train/train.py --family llava [--steps 4000] [--fresh]

Per family: synthetic scenes (eng/train/scenes.py) -> the family's own preprocessing (the Python ports in
eng/images/family_pixels.py) -> its tokenizer type (eng/train/tokenizer_build.py) -> conversations rendered and
tokenized by the port of its reference prompt code (eng/train/prompts.py) -> its architecture at tiny width
(eng/train/modules.py) trained with AdamW on the answers (plus a dense auxiliary loss on the vision tower's
patch tokens: which shape and colour is centred in each patch). Checkpoints go to artifacts/train/<family>/ every
250 steps and a re-run resumes from the last one (--fresh starts over).

At the end the weights are rounded to the stored dtype and written to models/<family>-tiny/, and the held-out set
(scenes never seen in training) is evaluated with those rounded weights: greedy decoding in float32, one prompt at
a time. The held-out prompts, expected answers, greedy ids and accuracy go to tests/data/eval/<family>/ as goldens
for the C# pipeline.
"""

import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "eng", "images"))
sys.path.insert(0, os.path.join(ROOT, "eng", "managed"))

import family_pixels as fp  # noqa: E402
import modules as M  # noqa: E402
import prompts as P  # noqa: E402
import scenes as S  # noqa: E402
import tokenizer_build as TB  # noqa: E402
from common import write_json, write_safetensors  # noqa: E402

ARTIFACTS = os.path.join(ROOT, "artifacts", "train")
EVAL = os.path.join(ROOT, "tests", "data", "eval")
SCENE_SIZE = 112
COLOURS = list(S.COLOURS)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ----------------------------------------------------------------------------------------------- data

def make_scenes(seed, count, size=SCENE_SIZE):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        image, shapes = S.scene(rng, size)
        out.append((image, shapes, S.questions(rng, shapes, size)))
    return out


def centre_labels(shapes, size, patch):
    """Per patch: 1 + shape index and 1 + colour index of the shape centred in it, 0 for none."""
    g = size // patch
    kind = np.zeros(g * g, dtype=np.int64)
    colour = np.zeros(g * g, dtype=np.int64)
    for s in shapes:
        i = min(g - 1, s["y"] // patch) * g + min(g - 1, s["x"] // patch)
        kind[i] = 1 + S.SHAPES.index(s["kind"])
        colour[i] = 1 + COLOURS.index(s["colour"])
    return kind, colour


class Tok:
    """The reference tokenizer (tokenizer.json through the Rust library) plus the ids the prompt port needs."""

    def __init__(self, folder):
        self.server = TB.TokServer(os.path.join(folder, "tokenizer.json"))
        self.cache = {}
        with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
            tj = json.load(f)
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.bos_id = self.added.get("<s>")
        self.eos_id = self.added.get("</s>")
        self.size = self.server.size

    def encode1(self, text, special=False):
        key = (text, special)
        if key not in self.cache:
            self.cache[key] = self.server.encode1(text, special)
        return self.cache[key]

    def decode(self, ids, skip=True):
        return self.server.decode(ids, skip)


# ----------------------------------------------------------------------------------------------- family: LLaVA-1.5

class Llava:
    """llava-hf LlavaForConditionalGeneration at tiny width: CLIP (3 layers, features of layer -2, no CLS) ->
    mlp2x_gelu -> Llama; SentencePiece tokenizer with BOS; llava_v1 conversations; stored float16."""

    name = "llava"
    folder = "llava-tiny"
    dtype = torch.float16
    vision = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 3,
              "image_size": SCENE_SIZE, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    text = {"hidden_size": 128, "intermediate_size": 320, "num_attention_heads": 4, "num_key_value_heads": 4,
            "num_hidden_layers": 3, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 1024}
    vocab = 640

    def build_tokenizer(self, out, corpus):
        TB.build_sentencepiece(corpus, out, self.vocab, ["<image>"], ["<image>"], add_bos=True, pad_token="<unk>",
                               chat_template=None, model_max_length=self.text["max_position_embeddings"])

    def corpus_lines(self):
        return [P.LLAVA_V1_SYSTEM, "USER: ASSISTANT: </s>"]

    def render(self, messages, tok, add_generation_prompt):
        return P.llava_v1(messages, tok, add_generation_prompt)

    def pixels(self, image):
        return fp.clip_preprocess(image.convert("RGB"), SCENE_SIZE, SCENE_SIZE)

    def model(self, vocab):
        return LlavaNet(self.vision, dict(self.text, vocab_size=vocab))

    def write_config(self, out, tok):
        tc = dict(self.text, vocab_size=tok.size)
        config = {
            "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "ignore_index": -100,
            "image_token_index": tok.added["<image>"], "pad_token_id": 0, "projector_hidden_act": "gelu",
            "vision_feature_layer": -2, "vision_feature_select_strategy": "default", "tie_word_embeddings": False,
            "torch_dtype": "float16", "vocab_size": tok.size, "image_seq_length": (SCENE_SIZE // 14) ** 2,
            "vision_config": dict(self.vision, model_type="clip_vision_model", num_channels=3,
                                  projection_dim=self.vision["hidden_size"]),
            "text_config": dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_act="silu",
                                bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False, **tc),
        }
        write_json(os.path.join(out, "config.json"), config)
        write_json(os.path.join(out, "generation_config.json"),
                   {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "do_sample": False, "max_new_tokens": 64})
        write_json(os.path.join(out, "preprocessor_config.json"), {
            "image_processor_type": "CLIPImageProcessor", "processor_class": "LlavaProcessor",
            "do_resize": True, "size": {"shortest_edge": SCENE_SIZE}, "resample": 3,
            "do_center_crop": True, "crop_size": {"height": SCENE_SIZE, "width": SCENE_SIZE},
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": fp.CLIP_MEAN, "image_std": fp.CLIP_STD, "do_convert_rgb": True})


class LlavaNet(nn.Module):
    def __init__(self, vc, tc):
        super().__init__()
        self.vc, self.tc = vc, tc
        self.vision_tower = nn.Module()
        self.vision_tower.vision_model = M.ClipVision(vc)
        self.multi_modal_projector = M.Mlp2xGelu(vc["hidden_size"], tc["hidden_size"])
        self.language_model = nn.Module()
        self.language_model.model = M.LlamaModel(tc)
        self.language_model.lm_head = nn.Linear(tc["hidden_size"], tc["vocab_size"], bias=False)
        self.aux = nn.Linear(vc["hidden_size"], 10)  # training only: centred shape (5) and colour (5) per patch

    def saved_state(self):
        return {k: v for k, v in self.state_dict().items() if not k.startswith("aux.")}

    def encode(self, pixels):
        feats = self.vision_tower.vision_model(pixels, self.vc["num_hidden_layers"] - 1)[:, 1:]
        return feats, self.multi_modal_projector(feats)

    def forward(self, ids, key_mask, pixels):
        feats, visual = self.encode(pixels)
        lm = self.language_model
        x = lm.model.embed_tokens(ids.clamp(min=0))
        x = M.splice(x, ids, P.SENTINEL, visual.reshape(-1, visual.shape[-1]))
        return lm.lm_head(lm.model(x, key_mask)), self.aux(feats)


class LlavaMpt:
    """LLaVA-Lightning-MPT at tiny width (GPT-NeoX byte-level BPE, mpt conversations, <im_start>/<im_end>)."""

    name = "llava-mpt"
    folder = "llava-mpt-tiny"
    vocab = 640
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<im_patch>", "<im_start>", "<im_end>"]

    def build_tokenizer(self, out, corpus):
        TB.build_bytelevel(corpus, out, self.vocab, self.specials, "neox", bos="<|endoftext|>", eos="<|endoftext|>",
                           unk="<|endoftext|>", model_max_length=2048)

    def corpus_lines(self):
        return [P.MPT_SYSTEM, "<|im_start|>user\n", "<|im_start|>assistant\n"]

    def render(self, messages, tok, add_generation_prompt):
        return P.llava_mpt(messages, tok, add_generation_prompt)


class LongVa:
    """LongVA at tiny width (Qwen2 byte-level BPE, qwen_1_5 conversations)."""

    name = "longva"
    folder = "longva-tiny"
    vocab = 640
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    def build_tokenizer(self, out, corpus):
        TB.build_bytelevel(corpus, out, self.vocab, self.specials, "qwen2", eos="<|im_end|>", pad="<|endoftext|>",
                           model_max_length=32768)

    def corpus_lines(self):
        return [P.QWEN_SYSTEM, "<|im_start|>user\n", "<|im_start|>assistant\n"]

    def render(self, messages, tok, add_generation_prompt):
        return P.longva(messages, tok, add_generation_prompt)


class AuroraCap:
    """AuroraCap at tiny width (Vicuna SentencePiece with BOS, USER/ASSISTANT without system prompt)."""

    name = "auroracap"
    folder = "auroracap-tiny"
    vocab = 640

    def build_tokenizer(self, out, corpus):
        TB.build_sentencepiece(corpus, out, self.vocab, [], [], add_bos=True, pad_token="<unk>")

    def corpus_lines(self):
        return ["USER: ASSISTANT:"]

    def render(self, messages, tok, add_generation_prompt):
        return P.auroracap(messages, tok, add_generation_prompt)


class MiniCpmV:
    """MiniCPM-V 2 at tiny width (SentencePiece with BOS, <用户>/<AI>, <image>/<slice> markers)."""

    name = "minicpmv"
    folder = "minicpmv-tiny"
    vocab = 560
    markers = ["<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>", "<point>", "</point>",
               "<slice>", "</slice>"]

    def build_tokenizer(self, out, corpus):
        TB.build_sentencepiece(corpus, out, self.vocab, self.markers + ["<用户>", "<AI>"], self.markers, add_bos=True,
                               pad_token="<unk>")

    def corpus_lines(self):
        return ["<用户><AI>"]

    def render(self, messages, tok, add_generation_prompt):
        return P.minicpmv(messages, tok, add_generation_prompt)


class Aria:
    """Aria at tiny width (SentencePiece without BOS, ChatML-like roles, <fim_prefix><|img|><fim_suffix>)."""

    name = "aria"
    folder = "aria-tiny"
    vocab = 640
    markers = ["<|im_start|>", "<|im_end|>", "<fim_prefix>", "<|img|>", "<fim_suffix>"]

    def build_tokenizer(self, out, corpus):
        TB.build_sentencepiece(corpus, out, self.vocab, self.markers, self.markers, add_bos=False, pad_token="<unk>")

    def corpus_lines(self):
        return ["<|im_start|>user\n", "<|im_start|>assistant\n", "Page 1: ", "Page 2: ", "Page 3: ",
                "What is on page 3?"]

    def render(self, messages, tok, add_generation_prompt):
        return P.aria(messages, tok, add_generation_prompt)


FAMILIES = {"llava": Llava, "llava-mpt": LlavaMpt, "longva": LongVa, "auroracap": AuroraCap, "minicpmv": MiniCpmV,
            "aria": Aria}


def tokenizer_corpus(fam, train):
    corpus = fam.corpus_lines() * 20
    for _, _, qa in train[:4000]:
        for q, a in qa:
            corpus += [q, a, q + " " + a]
    rng = np.random.default_rng(5)
    for _ in range(400 if fam.name in ("longva", "auroracap") else 0):
        shape, direction = S.video(rng, 32, 2)[1:]
        for q, a in S.video_questions(shape, direction):
            corpus += [q, a]
    return corpus


# ----------------------------------------------------------------------------------------------- conversations

def user(parts):
    return {"role": "user", "content": parts}


def conversation(fam, tok, qa, rng, image_part):
    """A multi-turn conversation about one image (1-3 of its questions, random order): (ids, targets)."""
    order = list(range(len(qa)))
    rng.shuffle(order)
    turns = order[:int(rng.integers(1, min(3, len(qa)) + 1))]
    messages, targets = [], {}
    for n, t in enumerate(turns):
        q, a = qa[t]
        content = ([dict(image_part)] if n == 0 else []) + [{"type": "text", "text": q}]
        messages.append(user(content))
        _, prefix, _ = fam.render(messages, tok, True)
        messages.append({"role": "assistant", "content": [{"type": "text", "text": a}]})
        _, full, _ = fam.render(messages, tok, False)
        assert full[:len(prefix)] == prefix, "prompt tokenization is not prefix-stable"
        answer = full[len(prefix):]
        stop = answer.index(tok.eos_id) + 1 if tok.eos_id in answer else len(answer)
        for i, token in enumerate(answer[:stop]):
            targets[len(prefix) - 1 + i] = token
    ids = full
    tgt = np.full(len(ids), -100, dtype=np.int64)
    for i, token in targets.items():
        assert ids[i + 1] == token
        tgt[i] = token
    return np.array(ids, dtype=np.int64), tgt


def batch_tensors(items):
    n = max(len(i[0]) for i in items)
    ids = torch.zeros(len(items), n, dtype=torch.int64)
    tgt = torch.full((len(items), n), -100, dtype=torch.int64)
    mask = torch.zeros(len(items), n, dtype=torch.bool)
    for b, (i, t) in enumerate(items):
        ids[b, :len(i)] = torch.from_numpy(i)
        tgt[b, :len(t)] = torch.from_numpy(t)
        mask[b, :len(i)] = True
    return ids, tgt, mask


# ----------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--train-scenes", type=int, default=12000)
    ap.add_argument("--eval-scenes", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--tokenizer-only", action="store_true", help="build the tokenizer, copy it to models/ and stop")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    fam = FAMILIES[args.family]()
    work = os.path.join(ARTIFACTS, fam.name)
    if args.fresh and os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work, exist_ok=True)
    out = os.path.join(ROOT, "models", fam.folder)
    os.makedirs(out, exist_ok=True)

    log("scenes")
    train = make_scenes(1000 + hash(fam.name) % 1000 if False else 6100, args.train_scenes)
    held = make_scenes(6200, args.eval_scenes)

    tok_dir = os.path.join(work, "tokenizer")
    if not os.path.exists(os.path.join(tok_dir, "tokenizer.json")):
        log("tokenizer")
        fam.build_tokenizer(tok_dir, tokenizer_corpus(fam, train))
    if args.tokenizer_only:
        for f in os.listdir(tok_dir):
            shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
        log(f"tokenizer copied to {out}")
        return
    tok = Tok(tok_dir)

    patch = fam.vision["patch_size"]
    log("preprocessing and tokenizing")
    data_path = os.path.join(work, "data.pt")
    if os.path.exists(data_path):
        data = torch.load(data_path)
    else:
        rng = np.random.default_rng(7)
        tokens = (SCENE_SIZE // patch) ** 2
        part = {"type": "image", "tokens": [tokens], "grid": [0, 0], "kind": "image"}
        pixels, convs, labels = [], [], []
        for image, shapes, qa in train:
            pixels.append(torch.from_numpy(fam.pixels(image)).half())
            labels.append(np.stack(centre_labels(shapes, SCENE_SIZE, patch)))
            convs.append(conversation(fam, tok, qa, rng, part))
        data = {"pixels": torch.stack(pixels), "labels": torch.from_numpy(np.stack(labels)), "convs": convs}
        torch.save(data, data_path)
    log(f"{len(data['convs'])} conversations, max length {max(len(c[0]) for c in data['convs'])}")

    torch.manual_seed(11)
    net = fam.model(tok.size)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    step = 0
    ckpt = os.path.join(work, "ckpt.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        log(f"resumed at step {step}")

    def lr_at(s):
        warm = 150
        if s < warm:
            return args.lr * (s + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, args.steps - warm))))

    gen = torch.Generator().manual_seed(1234 + step)
    n = len(data["convs"])
    t0 = time.time()
    while step < args.steps:
        net.train()
        idx = torch.randint(0, n, (args.batch,), generator=gen)
        ids, tgt, mask = batch_tensors([data["convs"][i] for i in idx])
        pixels = data["pixels"][idx].float()
        logits, aux = net(ids, mask, pixels)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        lab = data["labels"][idx]
        aux_loss = F.cross_entropy(aux[..., :5].reshape(-1, 5), lab[:, 0].reshape(-1)) + \
            F.cross_entropy(aux[..., 5:].reshape(-1, 5), lab[:, 1].reshape(-1))
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad()
        (loss + 0.5 * aux_loss).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            log(f"step {step} loss {loss.item():.4f} aux {aux_loss.item():.4f} lr {lr_at(step):.2e} "
                f"{(time.time() - t0) / 50:.2f}s/step")
            t0 = time.time()
        if step % 250 == 0 or step == args.steps:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if step % 1000 == 0 and step < args.steps:
            log(f"held-out teacher-forced accuracy {evaluate(fam, tok, net, held, greedy=False)['accuracy']:.3f}")

    export(fam, tok, net, out, tok_dir, held)


# ----------------------------------------------------------------------------------------------- evaluation and export

def held_prompts(fam, tok, held):
    patch = fam.vision["patch_size"]
    part = {"type": "image", "tokens": [(SCENE_SIZE // patch) ** 2], "grid": [0, 0], "kind": "image"}
    items = []
    for k, (image, shapes, qa) in enumerate(held):
        for q, a in qa:
            text, ids, spans = fam.render([user([dict(part), {"type": "text", "text": q}])], tok, True)
            items.append({"scene": k, "question": q, "answer": a, "prompt": text, "ids": ids, "spans": spans})
    return items


@torch.no_grad()
def evaluate(fam, tok, net, held, greedy, max_new=64):
    net.eval()
    items = held_prompts(fam, tok, held)
    pixels = {k: torch.from_numpy(fam.pixels(image))[None] for k, (image, _, _) in enumerate(held)}
    correct = 0
    for it in items:
        ids = list(it["ids"])
        if greedy:
            out = []
            for _ in range(max_new):
                x = torch.tensor([ids + out])
                logits, _ = net(x, torch.ones_like(x, dtype=torch.bool), pixels[it["scene"]])
                nxt = int(logits[0, -1].argmax())
                out.append(nxt)
                if nxt == tok.eos_id:
                    break
            it["greedy"] = out
            text = tok.decode([t for t in out if t != tok.eos_id], skip=True).strip()
            it["output"] = text
            ok = text == it["answer"]
        else:
            want = tok.encode1(" " + it["answer"], special=False)
            x = torch.tensor([ids + want])
            logits, _ = net(x, torch.ones_like(x, dtype=torch.bool), pixels[it["scene"]])
            pred = logits[0, len(ids) - 1:-1].argmax(-1).tolist()
            ok = pred == want
        it["correct"] = bool(ok)
        correct += ok
    return {"accuracy": correct / len(items), "items": items}


def export(fam, tok, net, out, tok_dir, held):
    log("export")
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    stored = {k: v.detach().to(fam.dtype) for k, v in net.saved_state().items()}
    write_safetensors(os.path.join(out, "model.safetensors"), stored, {"format": "pt"})
    fam.write_config(out, tok)
    # Evaluate exactly what was stored: the rounded weights, in float32.
    net.load_state_dict({k: v.float() for k, v in stored.items()}, strict=False)
    result = evaluate(fam, tok, net, held, greedy=True)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    log(f"held-out greedy accuracy {result['accuracy']:.4f} ({len(result['items'])} prompts), folder {size} bytes")
    edir = os.path.join(EVAL, fam.name)
    os.makedirs(edir, exist_ok=True)
    write_json(os.path.join(edir, "goldens.json"), {
        "family": fam.name, "model": os.path.relpath(out, ROOT), "scene_seed": 6200, "scene_size": SCENE_SIZE,
        "scenes": len(held), "accuracy": result["accuracy"],
        "items": [{k: it[k] for k in ("scene", "question", "answer", "prompt", "ids", "spans", "greedy", "output",
                                       "correct")} for it in result["items"]]})
    sdir = os.path.join(EVAL, "scenes")
    os.makedirs(sdir, exist_ok=True)
    for k, (image, shapes, _) in enumerate(held):
        path = os.path.join(sdir, f"scene-{k:03d}.png")
        if not os.path.exists(path):
            image.save(path, optimize=True)


if __name__ == "__main__":
    main()
