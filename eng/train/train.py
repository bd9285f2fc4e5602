"""Trains the bundled tiny demo models (issue 6) and writes them in their family's real Hugging Face layout.

    /usr/bin/python3 eng/train/train.py --family llava [--steps 4000] [--fresh]

Per family: synthetic scenes (eng/train/scenes.py) -> the family's own preprocessing (the Python ports in
eng/images/family_pixels.py) -> its tokenizer type (eng/train/tokenizer_build.py) -> conversations rendered and
tokenized by the port of its reference prompt code (eng/train/prompts.py) -> its architecture at tiny width
(eng/train/modules.py) trained with AdamW on the answers (plus a dense auxiliary loss on the vision tower's
patch tokens: which shape and colour is centred in each patch). Checkpoints go to artifacts/train/<family>/ every
250 steps and a re-run resumes from the last one (--fresh starts over). Resuming with a larger --steps continues on
the cosine schedule of the new length, so the rate jumps back up to where that schedule is at the resumed step.

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

import families as F_  # noqa: E402
import family_pixels as fp  # noqa: E402
import modules as M  # noqa: E402
import prompts as P  # noqa: E402
import scenes as S  # noqa: E402
import tokenizer_build as TB  # noqa: E402
from common import read_safetensors, write_json, write_safetensors  # noqa: E402

ARTIFACTS = os.path.join(ROOT, "artifacts", "train")
EVAL = os.path.join(ROOT, "tests", "data", "eval")
SCENE_SIZE = 112
COLOURS = list(S.COLOURS)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ----------------------------------------------------------------------------------------------- data

def make_scenes(seed, count, size=SCENE_SIZE, every_colour=False):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        image, shapes = S.scene(rng, size)
        out.append((image, shapes, S.questions(rng, shapes, size, every_colour)))
    return out


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
        self.image_id = self.added.get("<image>")
        self.image_end_id = self.added.get("</image>")
        self.img_id = self.added.get("<|img|>")
        self.size = self.server.size

    def encode1(self, text, special=False):
        key = (text, special)
        if key not in self.cache:
            self.cache[key] = self.server.encode1(text, special)
        return self.cache[key]

    def decode(self, ids, skip=True):
        return self.server.decode(ids, skip)


# ----------------------------------------------------------------------------------------------- family: LLaVA-1.5

class Llava(F_.ClipViews):
    """llava-hf LlavaForConditionalGeneration at tiny width: CLIP (3 layers, features of layer -2, no CLS) ->
    mlp2x_gelu -> Llama; SentencePiece tokenizer with BOS; llava_v1 conversations; stored float16."""

    name = "llava"
    folder = "llava-tiny"
    dtype = torch.float16
    scene = SCENE_SIZE
    tower_kind = "clip"

    def tower(self, net):
        return net.vision_tower.vision_model
    vision = F_.CLIP_TINY
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

    def image_part(self):
        return {"type": "image", "tokens": [(SCENE_SIZE // 14) ** 2], "grid": [0, 0], "kind": "image"}

    def save(self, out, tok, state):
        write_safetensors(os.path.join(out, "model.safetensors"), state, {"format": "pt"})
        self.write_config(out, tok)

    def reference(self, W, tok):
        import reference as ref
        vc, tc = self.vision, self.text

        def encode(pixels, extra=None):
            out = ref.clip_vision(W, "vision_tower.vision_model.", vc, torch.from_numpy(pixels))
            feats = out["layers"][vc["num_hidden_layers"] - 2][1:]
            return ref.mlp2x_gelu(W, "multi_modal_projector.linear_1", "multi_modal_projector.linear_2", feats)

        dec = ref.Decoder(W, "llama", tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"],
                          tc["num_hidden_layers"], tok.size, tc["rms_norm_eps"], tc["rope_theta"],
                          prefix="language_model.model.", lm_head="language_model.lm_head.weight")
        return encode, dec

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
        return {k: v for k, v in self.state_dict().items() if not k.startswith(F_.TRAINING_ONLY)}

    def encode(self, pixels):
        feats = self.vision_tower.vision_model(pixels, self.vc["num_hidden_layers"] - 1)[:, 1:]
        return feats, self.multi_modal_projector(feats)

    def forward(self, ids, key_mask, pixels, extra=None):
        feats, visual = self.encode(pixels)
        lm = self.language_model
        x = lm.model.embed_tokens(ids.clamp(min=0))
        x = M.splice(x, ids, P.SENTINEL, visual.reshape(-1, visual.shape[-1]))
        return lm.lm_head(lm.model(x, key_mask)), self.aux(feats)


class LlavaMpt(F_.LlavaMptFamily):
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


class LongVa(F_.LongVaFamily):
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


class AuroraCap(F_.AuroraCapFamily):
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


class MiniCpmV(F_.MiniCpmVFamily):
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


class Aria(F_.AriaFamily):
    """Aria at tiny width (SentencePiece without BOS, ChatML-like roles, <fim_prefix><|img|><fim_suffix>)."""

    name = "aria"
    folder = "aria-tiny"
    vocab = 560
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




# ----------------------------------------------------------------------------------------------- samples

def user(parts):
    return {"role": "user", "content": parts}


def stop_id(fam, tok):
    """The id that ends an answer: </s> for the Llama-tokenizer families, <|im_end|> for the ChatML ones."""
    return tok.added["<|im_end|>"] if fam.name in ("llava-mpt", "longva", "aria") else tok.eos_id


def conversation(fam, tok, qa, rng, part, max_turns=3, first=None):
    """A multi-turn conversation about one visual input (1-3 of its questions, random order): (ids, targets).
    `first(question)` builds the first user message's content when it is not [part, question] (Aria's PDF pages)."""
    order = list(range(len(qa)))
    rng.shuffle(order)
    turns = order[:int(rng.integers(1, min(max_turns, len(qa)) + 1))]
    messages, targets = [], {}
    stop = stop_id(fam, tok)
    for n, t in enumerate(turns):
        q, a = qa[t]
        if n == 0 and first is not None:
            content = first(q)
        else:
            content = ([dict(part)] if n == 0 else []) + [{"type": "text", "text": q}]
        messages.append(user(content))
        _, prefix, _ = fam.render(messages, tok, True)
        messages.append({"role": "assistant", "content": [{"type": "text", "text": a}]})
        _, full, _ = fam.render(messages, tok, False)
        assert full[:len(prefix)] == prefix, "prompt tokenization is not prefix-stable"
        answer = full[len(prefix):]
        end = answer.index(stop) + 1 if stop in answer else len(answer)
        for i, token in enumerate(answer[:end]):
            targets[len(prefix) - 1 + i] = token
        if stop not in answer:  # MiniCPM-V: the reply ends with EOS, which the history text does not show
            targets[len(prefix) - 1 + end] = stop
    ids = full
    tgt = np.full(len(ids), -100, dtype=np.int64)
    for i, token in targets.items():
        if i + 1 < len(ids):
            assert ids[i + 1] == token or token == stop
        if i < len(ids):
            tgt[i] = token
    return np.array(ids, dtype=np.int64), tgt


class Store:
    """Views (float16 pixels) and their dense labels, appended as samples are built."""

    def __init__(self):
        self.views, self.labels = [], []

    def add(self, views):
        idx = []
        for pixels, lab in views:
            self.views.append(torch.from_numpy(pixels).half())
            self.labels.append(None if lab is None else torch.from_numpy(lab))
            idx.append(len(self.views) - 1)
        return idx


def make_pdfs(seed, count, size, pages):
    """Documents of `pages` scenes; the questions ask what is on each page (answer: that page's description)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        doc = [S.scene(rng, size) for _ in range(pages)]
        qa = [(f"What is on page {k + 1}?", S.describe(shapes, size)) for k, (_, shapes) in enumerate(doc)]
        out.append((doc, qa))
    return out


def pdf_content(fam, n_pages):
    parts = [fam.page_part(k + 1) for k in range(n_pages)]
    return lambda q: P.aria_pdf_content([dict(p) for p in parts], q)


def build_training(fam, tok, train, videos, rng, pdfs=(), max_turns=3):
    store, samples = Store(), []
    for image, shapes, qa in train:
        views = fam.views_for_image(image, shapes)
        ratio = float(rng.choice(fam.ratios)) if hasattr(fam, "ratios") else None
        part = fam.image_part(ratio) if ratio is not None else fam.image_part()
        ids, tgt = conversation(fam, tok, qa, rng, part, max_turns)
        samples.append({"ids": ids, "tgt": tgt, "views": store.add(views), "ratio": ratio})
    for frames, shape, direction in videos:
        views = fam.views_for_video(frames, shape)
        ratio = float(rng.choice(fam.ratios)) if hasattr(fam, "ratios") else None
        part = fam.video_part(ratio, len(frames)) if ratio is not None else fam.video_part(len(frames))
        ids, tgt = conversation(fam, tok, S.video_questions(shape, direction), rng, part, max_turns=2)
        samples.append({"ids": ids, "tgt": tgt, "views": store.add(views), "ratio": ratio})
    for doc, qa in pdfs:
        views = [v for image, shapes in doc for v in fam.views_for_page(image, shapes)]
        ids, tgt = conversation(fam, tok, qa, rng, None, max_turns=2, first=pdf_content(fam, len(doc)))
        samples.append({"ids": ids, "tgt": tgt, "views": store.add(views), "ratio": None, "pdf": True})
    return store, samples


def held_items(fam, tok, held, held_videos, held_pdfs=()):
    """Single-turn held-out prompts: each with its views, prompt ids and the answer ids up to the stop token."""
    items = []
    stop = stop_id(fam, tok)
    ratio = getattr(fam, "eval_ratio", None)

    def add(kind, k, part, views, q, a, content=None):
        msgs = [user(content if content is not None else [dict(part), {"type": "text", "text": q}])]
        text, ids, spans = fam.render(msgs, tok, True)
        _, full, _ = fam.render(msgs + [{"role": "assistant", "content": [{"type": "text", "text": a}]}], tok, False)
        answer = full[len(ids):]
        answer = answer[:answer.index(stop) + 1] if stop in answer else answer + [stop]
        items.append({"kind": kind, "index": k, "question": q, "answer": a, "prompt": text, "ids": ids,
                      "spans": spans, "answer_ids": answer, "views": views})

    for k, (image, shapes, qa) in enumerate(held):
        views = [v for v, _ in fam.views_for_image(image, shapes)]
        part = fam.image_part(ratio) if ratio is not None else fam.image_part()
        for q, a in qa:
            add("scene", k, part, views, q, a)
    for k, (frames, shape, direction) in enumerate(held_videos):
        views = [v for v, _ in fam.views_for_video(frames, shape)]
        part = fam.video_part(ratio, len(frames)) if ratio is not None else fam.video_part(len(frames))
        for q, a in S.video_questions(shape, direction):
            add("video", k, part, views, q, a)
    for k, (doc, qa) in enumerate(held_pdfs):
        views = [v for image, shapes in doc for v, _ in fam.views_for_page(image, shapes)]
        for q, a in qa:
            add("pdf", k, None, views, q, a, content=pdf_content(fam, len(doc))(q))
    return items


def colour_samples(fam, tok, train, samples):
    """Single-turn "What colour is the <kind>?" conversations about the training scenes of two or more shapes, each
    reusing its scene's views (samples[k] belongs to train[k])."""
    out = []
    rng = np.random.default_rng(99)
    for k, (_, shapes, qa) in enumerate(train):
        if len(shapes) < 2:
            continue
        smp = samples[k]
        part = fam.image_part(smp["ratio"]) if smp["ratio"] is not None else fam.image_part()
        for q, a in qa:
            if q.startswith("What colour is the ") and q != "What colour is the shape?":
                ids, tgt = conversation(fam, tok, [(q, a)], rng, part, 1)
                out.append({"ids": ids, "tgt": tgt, "views": smp["views"], "ratio": smp["ratio"]})
    return out


def where_samples(fam, tok, train, samples):
    """Single-turn "Where is the <kind>?" / "At the <position>." conversations (the position words of the
    descriptions) about every shape whose kind is unique in its training scene, each reusing its scene's views
    (samples[k] belongs to train[k]). Training only: the held-out set never asks it."""
    out = []
    rng = np.random.default_rng(98)
    for k, (_, shapes, _) in enumerate(train):
        smp = samples[k]
        part = fam.image_part(smp["ratio"]) if smp["ratio"] is not None else fam.image_part()
        for shape in shapes:
            if sum(o["kind"] == shape["kind"] for o in shapes) == 1:
                qa = (f"Where is the {shape['kind']}?", f"At the {S._position(shape, fam.scene)}.")
                ids, tgt = conversation(fam, tok, [qa], rng, part, 1)
                out.append({"ids": ids, "tgt": tgt, "views": smp["views"], "ratio": smp["ratio"]})
    return out


def batch_tensors(items):
    n = max(len(i["ids"]) for i in items)
    ids = torch.full((len(items), n), -1, dtype=torch.int64)  # -1 pads: never a placeholder id
    tgt = torch.full((len(items), n), -100, dtype=torch.int64)
    mask = torch.zeros(len(items), n, dtype=torch.bool)
    for b, it in enumerate(items):
        ids[b, :len(it["ids"])] = torch.from_numpy(np.asarray(it["ids"]))
        tgt[b, :len(it["tgt"])] = torch.from_numpy(np.asarray(it["tgt"]))
        mask[b, :len(it["ids"])] = True
    return ids, tgt, mask


def extra_for(fam, ratio):
    return {"tome_r": fam.r_for(ratio)} if ratio is not None else None


# ----------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--train-scenes", type=int, default=12000)
    ap.add_argument("--train-videos", type=int, default=4000)
    ap.add_argument("--eval-scenes", type=int, default=150)
    ap.add_argument("--eval-videos", type=int, default=60)
    ap.add_argument("--train-pdfs", type=int, default=3000)
    ap.add_argument("--eval-pdfs", type=int, default=30)
    ap.add_argument("--pdf-batch", type=int, default=8, help="documents per PDF batch (Aria)")
    ap.add_argument("--pdf-share", type=float, default=0.4, help="the share of steps that are PDF batches (Aria)")
    ap.add_argument("--pdf-from", type=int, default=0,
                    help="Aria: the step at which PDF batches begin; scenes only before it (with PDF batches from the "
                         "start the tiny Aria learnt to count but never to read shapes: docs/families.md)")
    ap.add_argument("--projector-aux", action="store_true",
                    help="Aria: each projector query also predicts what is centred in its own region of the patch grid "
                         "(an auxiliary loss against the attention collapsing to a uniform average)")
    ap.add_argument("--position-aux", type=float, default=0.0,
                    help="AuroraCap, MiniCPM-V, Aria and LLaVA-MPT: weight of an auxiliary loss in which each token "
                         "the tower hands on (after ToMe for AuroraCap) predicts its own place on the patch grid "
                         "through a linear map, so that the features carry the position that merging (AuroraCap) or "
                         "a query projector (MiniCPM-V, Aria) takes from the token order, or that MPT's ALiBi gives "
                         "only as distances (docs/families.md)")
    ap.add_argument("--cell-aux", type=float, default=0.0,
                    help="AuroraCap, MiniCPM-V and Aria: weight of an auxiliary loss in which each token the tower hands "
                         "on (after ToMe for AuroraCap) predicts which of the 3 x 3 scene cells that a description's "
                         "position words name holds the shape covering it, or none: the cell itself, a threshold on "
                         "the shape's centre, rather than the coordinate --position-aux gives (docs/families.md)")
    ap.add_argument("--joint-aux", type=float, default=0.0,
                    help="weight of the joint objective (Aria, MiniCPM-V): each projector output predicts the scene "
                         "cell, kind and colour of what its query attends to, as one class (families.add_joint_objective)")
    ap.add_argument("--attend-region", type=float, default=0.0,
                    help="Aria: weight of a loss that makes projector query i attend to block i of the patch grid "
                         "(families.query_regions), so that a view's visual tokens come in reading order")
    ap.add_argument("--experiment", default="",
                    help="train in artifacts/train/<family>-<name> (the tokenizer copied from the family's own run) and "
                         "report the teacher-forced accuracy instead of exporting to models/")
    ap.add_argument("--from-bundled", action="store_true",
                    help="start from the bundled model in models/<family>-tiny (weights and tokenizer) with a new "
                         "optimizer and learning-rate schedule, instead of the pretrained tower; with --data-round, "
                         "to go on training a finished model on scenes it has not seen")
    ap.add_argument("--stage", default="",
                    help="a further training stage of the bundled model (with --from-bundled): its checkpoints go to "
                         "artifacts/train/<family>-<stage>, apart from the first stage's, and it exports to models/")
    ap.add_argument("--data-round", type=int, default=0,
                    help="which set of training data: round N draws its scenes, videos, PDFs and conversations from "
                         "seeds 1,000 x N above round 0's (the held-out seeds are never used)")
    ap.add_argument("--every-colour", action="store_true",
                    help="training scenes ask the colour of every shape whose kind is unique in the scene (not one "
                         "drawn at random), so each step sees more of the question that finds a named shape")
    ap.add_argument("--max-turns", type=int, default=3, help="the most questions in one training conversation")
    ap.add_argument("--grow-layers", type=int, default=0,
                    help="with --from-bundled: insert this many decoder layers after the first, initialised to pass "
                         "their input through unchanged (zero output projections), so training starts from the bundled "
                         "model's answers with more depth to learn with")
    ap.add_argument("--grow-queries", type=int, default=0,
                    help="Aria, with --from-bundled: the projector's queries per view grow to this multiple of the "
                         "bundled count, each stored query repeated in place (the copies a little apart), so each "
                         "visual token can carry fewer shapes; training starts near the bundled model's answers")
    ap.add_argument("--colour-phase", type=int, default=0,
                    help="the first N steps train only on single-turn 'What colour is the <shape>?' questions about "
                         "scenes of two or more shapes (finding a shape by its kind; the tiny LLaVA answers those at "
                         "chance level otherwise, docs/families.md)")
    ap.add_argument("--where-phase", type=int, default=0,
                    help="after the colour phase, N steps of single-turn 'Where is the <shape>?' questions answered "
                         "with a description's position words ('At the top left.'): placing a shape the model has "
                         "found by its kind, the part of a full description the tiny models get wrong")
    ap.add_argument("--ratios", default="",
                    help="AuroraCap: the token_kept_ratio values each training conversation draws from, comma-"
                         "separated, repeats weighting a value (default the family's 0.2,0.5,0.8); e.g. 0.2,0.2,0.5,0.8 "
                         "for a stage that works mostly at the captioning default the held-out set is evaluated at")
    ap.add_argument("--train-frames", default="",
                    help="the frame counts of the training videos, comma-separated and used in turn (default the "
                         "family's own count, which the held-out videos always have); e.g. 4,6,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tower-lr-scale", type=float, default=0.3)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--tokenizer-only", action="store_true", help="build the tokenizer, copy it to models/ and stop")
    ap.add_argument("--export-only", action="store_true", help="export and evaluate the last checkpoint")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    fam = FAMILIES[args.family]()
    if args.ratios:
        if not hasattr(fam, "ratios"):
            raise SystemExit(f"--ratios is for a family with token merging (AuroraCap), not {fam.name}")
        fam.ratios = [float(r) for r in args.ratios.split(",")]
    if args.train_frames and not hasattr(fam, "frames"):
        raise SystemExit(f"--train-frames is for a video family (LongVA, AuroraCap), not {fam.name}")
    work = os.path.join(ARTIFACTS, fam.name + (f"-{args.stage}" if args.stage else "") +
                        (f"-{args.experiment}" if args.experiment else ""))
    if args.fresh and os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work, exist_ok=True)
    out = os.path.join(ROOT, "models", fam.folder)
    os.makedirs(out, exist_ok=True)
    has_video = hasattr(fam, "frames")  # the video families (LongVA, AuroraCap) set their frame count

    log("scenes")
    shift = 1000 * args.data_round
    train = make_scenes(6100 + shift, args.train_scenes, fam.scene, args.every_colour)
    held = make_scenes(6200, args.eval_scenes, fam.scene)
    vrng = np.random.default_rng(6300 + shift)
    counts = [int(n) for n in args.train_frames.split(",")] if args.train_frames else [getattr(fam, "frames", 8)]
    videos = [S.video(vrng, fam.scene, counts[k % len(counts)]) for k in range(args.train_videos)] if has_video else []
    hrng = np.random.default_rng(6400)
    held_videos = [S.video(hrng, fam.scene, fam.frames) for _ in range(args.eval_videos)] if has_video else []

    has_pdf = hasattr(fam, "page_part")
    pdfs = make_pdfs(6500 + shift, args.train_pdfs, fam.scene, fam.pages) if has_pdf else []
    held_pdfs = make_pdfs(6600, args.eval_pdfs, fam.scene, fam.pages) if has_pdf else []

    tok_dir = os.path.join(work, "tokenizer")
    if args.from_bundled and not os.path.exists(os.path.join(tok_dir, "tokenizer.json")):
        # The bundled model's own tokenizer: its embedding rows belong to these ids.
        os.makedirs(tok_dir, exist_ok=True)
        for f in os.listdir(out):
            if f.startswith("tokenizer") or f in ("special_tokens_map.json", "vocab.json", "merges.txt"):
                shutil.copy(os.path.join(out, f), os.path.join(tok_dir, f))
    own = os.path.join(ARTIFACTS, fam.name, "tokenizer")
    if args.experiment and os.path.exists(os.path.join(own, "tokenizer.json")) and not os.path.exists(tok_dir):
        shutil.copytree(own, tok_dir)
    if not os.path.exists(os.path.join(tok_dir, "tokenizer.json")):
        log("tokenizer")
        # The corpus scenes keep the shape size the tokenizers were first built with (radius size // 9), so that
        # the committed tokenizers do not depend on later changes to the training scenes.
        divisor, S.RADIUS_DIVISOR = S.RADIUS_DIVISOR, 9
        corpus_scenes = make_scenes(6100, 4000, fam.scene)
        S.RADIUS_DIVISOR = divisor
        fam.build_tokenizer(tok_dir, tokenizer_corpus(fam, corpus_scenes))
    if args.tokenizer_only:
        for f in os.listdir(tok_dir):
            shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
        log(f"tokenizer copied to {out}")
        return
    tok = Tok(tok_dir)
    fam.img_id = tok.img_id

    torch.manual_seed(11)
    if args.from_bundled and hasattr(fam, "text"):
        # A bundled model may be deeper than the family's first stage (an earlier --grow-layers stage).
        with open(os.path.join(out, "config.json")) as fh:
            stored = json.load(fh)
        depth = (stored.get("text_config") or {}).get("num_hidden_layers", stored.get("num_hidden_layers"))
        if depth:
            fam.text = dict(fam.text, num_hidden_layers=depth)
        if hasattr(fam, "stored_queries"):  # and may have more queries (an earlier --grow-queries stage)
            fam.stored_queries(stored)
    grown_queries = 0
    if args.grow_queries:
        if not args.from_bundled or not hasattr(fam, "stored_queries"):
            raise SystemExit("--grow-queries is for Aria, with --from-bundled")
        if fam.queries != args.grow_queries:  # (a finished stage's export already has them)
            if args.grow_queries < fam.queries or args.grow_queries % fam.queries:
                raise SystemExit(f"--grow-queries {args.grow_queries}: a multiple of the bundled {fam.queries} "
                                 "was expected")
            grown_queries, fam.queries = fam.queries, args.grow_queries
    if args.grow_layers:
        if not args.from_bundled or not hasattr(fam, "text"):
            raise SystemExit("--grow-layers needs --from-bundled and a family with a Llama-style decoder")
        fam.text = dict(fam.text, num_hidden_layers=fam.text["num_hidden_layers"] + args.grow_layers)
    net = fam.model(tok.size)
    if args.position_aux:
        if not hasattr(net, "position_aux"):
            raise SystemExit("--position-aux is for AuroraCap, MiniCPM-V, Aria and LLaVA-MPT")
        net.position_aux = True
    if args.cell_aux:
        if not hasattr(net, "cell_aux"):
            raise SystemExit("--cell-aux is for AuroraCap, MiniCPM-V and Aria")
        net.cell_aux = True
    if args.joint_aux:
        if not hasattr(net, "joint_aux"):
            raise SystemExit("--joint-aux is for Aria and MiniCPM-V")
        net.joint_aux = True
    if args.attend_region:
        if not hasattr(net, "attend_region"):
            raise SystemExit("--attend-region is for Aria's cross-attention projector")
        net.attend_region = True
    if args.projector_aux:
        if not hasattr(net, "aux_region"):
            raise SystemExit("--projector-aux is for Aria's cross-attention projector")
        net.aux_region = nn.Linear(fam.vision["hidden_size"], 10)
    # The (pretrained) vision tower learns at a fraction of the rate of the projector and the language model.
    tower_ids = {id(p) for p in fam.tower(net).parameters()}
    groups = [{"params": [p for p in net.parameters() if id(p) in tower_ids], "scale": args.tower_lr_scale},
              {"params": [p for p in net.parameters() if id(p) not in tower_ids and p.requires_grad], "scale": 1.0}]
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    step = 0
    ckpt = os.path.join(work, "ckpt.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        if args.from_bundled != bool(state.get("from_bundled")):
            raise SystemExit(f"{ckpt} is from a run {'without' if args.from_bundled else 'with'} --from-bundled: "
                             "use --fresh to start over, or --experiment NAME to train elsewhere")
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        log(f"resumed at step {step}")
    elif args.from_bundled:
        load_bundled(net, out, args.grow_layers, fam.grow_queries if grown_queries else None)
        log(f"weights from {out}" + (f", {args.grow_layers} decoder layers inserted after the first"
                                      if args.grow_layers else "") +
            (f", {grown_queries} projector queries grown to {fam.queries}" if grown_queries else ""))
    else:
        tower_file = os.path.join(ARTIFACTS, f"tower-{fam.tower_kind}.pt")
        if os.path.exists(tower_file):
            pre = torch.load(tower_file)
            fam.tower(net).load_state_dict(pre["tower"])
            log(f"vision tower from {os.path.basename(tower_file)} (held-out shape {pre['shape_acc']:.3f}, "
                f"colour {pre['colour_acc']:.3f}, count {pre['count_acc']:.3f})")
        else:
            log(f"no pretrained {fam.tower_kind} tower (eng/train/pretrain_tower.py --kind {fam.tower_kind}): "
                "training the tower from scratch")

    if not args.export_only and step < args.steps:
        log("preprocessing and tokenizing")
        data_name = "data" + (f"-round{args.data_round}" if args.data_round else "") + \
            ("-every-colour" if args.every_colour else "") + (f"-turns{args.max_turns}" if args.max_turns != 3 else "") + \
            (f"-ratios{args.ratios.replace(',', '_')}" if args.ratios else "")
        data_path = os.path.join(work, data_name + ".pt")
        if os.path.exists(data_path):
            data = torch.load(data_path)
        else:
            store, samples = build_training(fam, tok, train, videos, np.random.default_rng(7 + shift), pdfs,
                                            args.max_turns)
            data = {"views": torch.stack(store.views), "labels": store.labels, "samples": samples}
            torch.save(data, data_path)
        log(f"{len(data['samples'])} conversations, {data['views'].shape[0]} views, "
            f"max length {max(len(c['ids']) for c in data['samples'])}")
        if args.colour_phase:
            data["colour"] = colour_samples(fam, tok, train, data["samples"])
            log(f"{len(data['colour'])} single-turn colour questions for the first {args.colour_phase} steps")
        if args.where_phase:
            data["where"] = where_samples(fam, tok, train, data["samples"])
            log(f"{len(data['where'])} single-turn position questions for the {args.where_phase} steps after that")
        train_loop(fam, tok, net, opt, data, step, args, ckpt, held, held_videos, held_pdfs)
        # The cache (3-4 GB for a family with PDFs or videos) only lets an interrupted stage resume without
        # preprocessing again; a finished stage re-run with the same --steps goes straight to the evaluation. Kept, the
        # caches of a dozen stages filled the disk and stopped two trainings mid-way (2026-11-24).
        del data
        os.remove(data_path)
        log(f"removed the finished stage's training cache {os.path.relpath(data_path, ROOT)}")

    if args.experiment:  # a finished experiment re-run with the same --steps only evaluates
        by_kind = {}
        accuracy = teacher_forced(fam, tok, net, held, held_videos, held_pdfs, by_kind)
        log(f"experiment {args.experiment}: held-out teacher-forced accuracy {accuracy:.3f} after {args.steps} steps")
        for k, (right, total) in sorted(by_kind.items()):
            log(f"  {k}: {right}/{total}")
        return
    export(fam, tok, net, out, tok_dir, held, held_videos, held_pdfs)


def load_bundled(net, folder, grown=0, adapt=None):
    """Loads an exported model folder back into the training network: the root model.safetensors, and each
    <sub>/model.safetensors under the prefix "<sub>." (AuroraCap's language model, at the root, under "llm.").
    With `grown` > 0 the network's decoder has that many more layers, inserted after the first: the stored layers
    1, 2, ... load into layers 1 + grown, 2 + grown, ..., and the new ones keep their initialisation except for zero
    attention and MLP output projections, which makes each of them pass its input through unchanged. `adapt`, if
    given, rewrites the stored tensors to the network's sizes (Aria's families.AriaFamily.grow_queries)."""
    own = net.state_dict()
    found = {}
    for dp, _, fs in os.walk(folder):
        rel = os.path.relpath(dp, folder)
        if "model.safetensors" not in fs or rel.split(os.sep)[0] == "onnx":
            continue
        prefix = "" if rel == "." else rel.replace(os.sep, ".") + "."
        for k, v in read_safetensors(os.path.join(dp, "model.safetensors")).items():
            name = prefix + k
            if name not in own and prefix == "" and "llm." + k in own:
                name = "llm." + k
            found[name] = v
    if grown:
        decoder, model = next((n, m) for n, m in net.named_modules() if isinstance(m, M.LlamaModel))
        decoder, layers = decoder + ".layers.", model.layers
        moved = {}
        for name, v in found.items():
            if name.startswith(decoder):
                i, rest = name[len(decoder):].split(".", 1)
                name = f"{decoder}{int(i) + grown if int(i) >= 1 else int(i)}.{rest}"
            moved[name] = v
        found = moved
        if layers[0].resid != 1.0:
            # MiniCPM scales each residual branch by scale_depth / sqrt(layers): with more layers the stored layers'
            # output projections grow by the inverse ratio, so that each of them still adds what it added before.
            before = len(layers) - grown
            for name in found:
                if name.startswith(decoder) and name.endswith(("self_attn.o_proj.weight", "mlp.down_proj.weight")):
                    found[name] = found[name].float() * math.sqrt(len(layers) / before)
        for i in range(1, 1 + grown):
            # The projections that write into the residual stream: attention's, and the MLP's (a dense MLP's, or
            # Aria's MoE experts and shared experts).
            for k in ("self_attn.o_proj.weight", "mlp.down_proj.weight", "mlp.experts.fc2.weight",
                      "mlp.shared_experts.down_proj.weight"):
                if f"{decoder}{i}.{k}" in own:
                    found[f"{decoder}{i}.{k}"] = torch.zeros_like(own[f"{decoder}{i}.{k}"])
            for k in own:
                if k.startswith(f"{decoder}{i}.") and k not in found:
                    found[k] = own[k]
    if adapt:
        adapt(found)
    unknown = sorted(set(found) - set(own))
    missing = sorted(k for k in set(own) - set(found) if not k.startswith(F_.TRAINING_ONLY))
    if unknown or missing:
        raise SystemExit(f"{folder} does not match the {type(net).__name__} network: "
                         f"unknown tensors {unknown[:5]}, missing {missing[:5]}")
    net.load_state_dict({k: v.to(own[k].dtype) for k, v in found.items()}, strict=False)


def region_labels(lab, regions):
    """[n, 2, g*g] patch labels -> [n, 2, regions]: the grid cut into sqrt(regions)^2 square regions row-major, each
    labelled with what is centred in it (the largest label among its patches; 0 = nothing)."""
    n, g, r = lab.shape[0], math.isqrt(lab.shape[2]), math.isqrt(regions)
    k = g // r
    return lab.reshape(n, 2, r, k, r, k).amax(dim=(3, 5)).reshape(n, 2, r * r)


def cell_row(lab, shape, row=2):
    """A view's --cell-aux labels (the third row of families.centre_labels; row=3: the --joint-aux labels), all -1
    where the view has none."""
    if lab is not None and lab.shape[0] > row:
        return lab[row]
    g = shape[-1] // 14
    return torch.full((g * g,), -1, dtype=torch.int64)


def train_loop(fam, tok, net, opt, data, step, args, ckpt, held, held_videos, held_pdfs=()):
    def lr_at(s):
        warm = 150
        if s < warm:
            return args.lr * (s + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, args.steps - warm))))

    samples = data["samples"]
    buckets = {}
    for i, smp in enumerate(samples):
        buckets.setdefault(smp["ratio"], []).append(i)
    keys = sorted(buckets, key=lambda k: -1 if k is None else k)
    # Aria's PDF conversations (15 views, ~300-400 tokens) batch apart from its scenes (1 view, ~100 tokens), so a
    # scene batch is not padded to a PDF's length, and in smaller batches (--pdf-batch documents, 15 views each): a
    # step is a PDF batch with probability --pdf-share.
    pdfs = [i for i, smp in enumerate(samples) if smp.get("pdf")]
    if pdfs:
        taken = set(pdfs)
        buckets = {False: [i for i in range(len(samples)) if i not in taken], True: pdfs}
    gen = np.random.default_rng(1234 + step)
    t0 = time.time()
    while step < args.steps:
        net.train()
        size = args.batch
        if pdfs:
            pdf_step = bool(gen.random() < args.pdf_share) and step >= args.pdf_from
            pool, ratio = buckets[pdf_step], None
            size = args.pdf_batch if pdf_step else args.batch
        else:
            ratio = keys[int(gen.integers(len(keys)))]
            pool = buckets[ratio]
        source = samples
        colour_phase = getattr(args, "colour_phase", 0)
        phase = "colour" if step < colour_phase else \
            "where" if step < colour_phase + getattr(args, "where_phase", 0) else None
        if phase:
            source = data[phase]
            pool = [i for i, smp in enumerate(source) if smp["ratio"] == ratio] if not pdfs else range(len(source))
        idx = [pool[int(i)] for i in gen.integers(0, len(pool), size)]
        batch = [source[i] for i in idx]
        ids, tgt, mask = batch_tensors(batch)
        vidx = [v for smp in batch for v in smp["views"]]
        views = data["views"][vidx].float()
        if getattr(net, "cell_aux", False):
            net.cell_targets = torch.stack([cell_row(data["labels"][v], views.shape) for v in vidx])
        if getattr(net, "joint_aux", False):
            net.joint_targets = torch.stack([cell_row(data["labels"][v], views.shape, 3) for v in vidx])
        logits, aux = net(ids, mask, views, extra_for(fam, ratio))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        aux_loss = torch.zeros(())
        if aux is not None:
            labelled = [(j, data["labels"][v]) for j, v in enumerate(vidx) if data["labels"][v] is not None]
            if labelled:
                rows = torch.tensor([j for j, _ in labelled])
                lab = torch.stack([l for _, l in labelled])
                a = aux[rows]
                lab = lab[:, :2]
                if a.shape[1] > lab.shape[2]:
                    lab = torch.cat([lab, region_labels(lab, a.shape[1] - lab.shape[2])], dim=2)
                aux_loss = F.cross_entropy(a[..., :5].reshape(-1, 5), lab[:, 0].reshape(-1)) + \
                    F.cross_entropy(a[..., 5:].reshape(-1, 5), lab[:, 1].reshape(-1))
        pos_loss = getattr(net, "position_loss", None)
        if pos_loss is not None:  # logged within aux, which counts half below: weighted args.position_aux overall
            aux_loss = aux_loss + args.position_aux / 0.5 * pos_loss
        c_loss = getattr(net, "cell_loss", None)
        if c_loss is not None:  # the same for args.cell_aux
            aux_loss = aux_loss + args.cell_aux / 0.5 * c_loss
        j_loss = getattr(net, "joint_loss", None)
        if j_loss is not None:  # and for args.joint_aux
            aux_loss = aux_loss + args.joint_aux / 0.5 * j_loss
        r_loss = getattr(net, "region_loss", None)
        if r_loss is not None:  # and for args.attend_region
            aux_loss = aux_loss + args.attend_region / 0.5 * r_loss
        for g in opt.param_groups:
            g["lr"] = lr_at(step) * g.get("scale", 1.0)
        opt.zero_grad()
        (loss + 0.5 * aux_loss).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            log(f"step {step} loss {loss.item():.4f} aux {aux_loss.item():.4f} "
                + (f"position {pos_loss.item():.4f} " if pos_loss is not None else "")
                + (f"cell {c_loss.item():.4f} " if c_loss is not None else "")
                + (f"joint {j_loss.item():.4f} " if j_loss is not None else "")
                + (f"region {r_loss.item():.4f} " if r_loss is not None else "") + f"lr {lr_at(step):.2e} "
                f"{(time.time() - t0) / 50:.2f}s/step")
            t0 = time.time()
        if step % 250 == 0 or step == args.steps:
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                        "from_bundled": args.from_bundled}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if step % 1000 == 0 and step < args.steps:
            log(f"held-out teacher-forced accuracy {teacher_forced(fam, tok, net, held, held_videos, held_pdfs):.3f}")


def question_kind(item):
    """The held-out breakdown's key: the scene question itself, or kind + first word ("scene:What" for "What colour
    is the square?" and its like, "video:Which", "pdf:What")."""
    if item["kind"] == "scene" and not item["question"].startswith("What colour is the "):
        return item["question"]
    return item["kind"] + ":" + item["question"].split(" ")[0]


@torch.no_grad()
def teacher_forced(fam, tok, net, held, held_videos, held_pdfs=(), by_kind=None):
    """Share of held-out answers whose every token is the argmax given the previous ones (= greedy gives the answer).
    by_kind, a dict, receives [right, total] per question_kind."""
    net.eval()
    items = held_items(fam, tok, held, held_videos, held_pdfs)
    extra = extra_for(fam, getattr(fam, "eval_ratio", None))
    ok = 0
    for it in items:
        x = torch.tensor([it["ids"] + it["answer_ids"]])
        views = torch.from_numpy(np.stack(it["views"]))
        logits, _ = net(x, torch.ones_like(x, dtype=torch.bool), views, extra)
        pred = logits[0, len(it["ids"]) - 1:-1].argmax(-1).tolist()
        ok += pred == it["answer_ids"]
        if by_kind is not None:
            tally = by_kind.setdefault(question_kind(it), [0, 0])
            tally[0] += pred == it["answer_ids"]
            tally[1] += 1
    return ok / len(items)


@torch.no_grad()
def reference_greedy(fam, tok, W, items, max_new=64):
    """Greedy decoding with eng/managed/reference.py's float32 math (the math the C# engine is verified against)."""
    encode, dec = fam.reference(W, tok)
    extra = extra_for(fam, getattr(fam, "eval_ratio", None))
    stop = stop_id(fam, tok)
    cache_rows = {}
    for it in items:
        key = (it["kind"], it["index"])
        if key not in cache_rows:
            cache_rows[key] = torch.cat([encode(v, extra) for v in it["views"]])
        rows = cache_rows[key]
        ids = torch.tensor(it["ids"])
        embeds = dec.embed(ids.clamp(min=0))
        pos = torch.cat([torch.arange(o, o + n) for o, n in it["spans"]]) if it["spans"] else torch.zeros(0, dtype=torch.long)
        assert pos.numel() == rows.shape[0], (pos.numel(), rows.shape)
        embeds[pos] = rows
        cache = dec.new_cache()
        _, logits = dec.forward(embeds, 0, cache)
        last, out, p = logits[-1], [], embeds.shape[0]
        for _ in range(max_new):
            t = int(torch.argmax(last))
            out.append(t)
            if t == stop:
                break
            _, lg = dec.forward(dec.embed([t]), p, cache)
            last, p = lg[-1], p + 1
        it["greedy"] = out
        it["output"] = tok.decode([t for t in out if t != stop], skip=True).strip()
        it["correct"] = it["output"] == it["answer"]
    return sum(it["correct"] for it in items) / len(items)


def export(fam, tok, net, out, tok_dir, held, held_videos, held_pdfs=()):
    log("export")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    state = {k: v for k, v in net.state_dict().items() if not k.startswith(F_.TRAINING_ONLY)}
    stored = {k: v.detach().to(fam.dtype) for k, v in state.items()}
    fam.save(out, tok, stored)
    W = {k: v.float() for k, v in stored.items()}
    items = held_items(fam, tok, held, held_videos, held_pdfs)
    accuracy = reference_greedy(fam, tok, W, items)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    by_kind = {}
    for it in items:
        by_kind.setdefault(question_kind(it), []).append(it["correct"])
    log(f"held-out greedy accuracy {accuracy:.4f} ({len(items)} prompts), folder {size} bytes")
    for k, v in sorted(by_kind.items()):
        log(f"  {k}: {sum(v)}/{len(v)}")
    # Held-out videos are shared by the families with the same scene size and frame count (the folder holds the
    # frames themselves, so a family sampling a different count needs its own folder).
    vname = "videos-%d" % fam.scene if getattr(fam, "frames", 8) == 8 else "videos-%d-%dframes" % (fam.scene, fam.frames)
    for it in items:
        if it["kind"] == "video":
            it["video_dir"] = vname
    edir = os.path.join(EVAL, fam.name)
    os.makedirs(edir, exist_ok=True)
    write_json(os.path.join(edir, "goldens.json"), {
        "family": fam.name, "model": "models/" + fam.folder, "accuracy": accuracy, "prompts": len(items),
        "scene_seed": 6200, "video_seed": 6400, "pdf_seed": 6600, "scene_size": fam.scene,
        "eval_token_kept_ratio": getattr(fam, "eval_ratio", None),
        "items": [{k: it[k] for k in ("kind", "index", "question", "answer", "prompt", "ids", "spans", "greedy",
                                       "output", "correct", "video_dir") if k in it} for it in items]})
    sdir = os.path.join(EVAL, "scenes-%d" % fam.scene)
    os.makedirs(sdir, exist_ok=True)
    for k, (image, _, _) in enumerate(held):
        path = os.path.join(sdir, f"scene-{k:03d}.png")
        if not os.path.exists(path):
            image.save(path, optimize=True)
    for k, (doc, _) in enumerate(held_pdfs):
        pdir = os.path.join(EVAL, "pdfs-%d" % fam.scene, f"pdf-{k:03d}")
        os.makedirs(pdir, exist_ok=True)
        for j, (image, _) in enumerate(doc):
            path = os.path.join(pdir, f"page-{j + 1}.png")
            if not os.path.exists(path):
                image.save(path, optimize=True)
    for k, (frames, _, _) in enumerate(held_videos):
        vdir = os.path.join(EVAL, vname, f"video-{k:03d}")
        os.makedirs(vdir, exist_ok=True)
        for j, frame in enumerate(frames):
            path = os.path.join(vdir, f"frame-{j}.png")
            if not os.path.exists(path):
                frame.save(path, optimize=True)


if __name__ == "__main__":
    main()
