#!/usr/bin/env python3
"""Writes small synthetic tokenizer.json files that exercise components the real files do not use.

- wordlevel.json: WordLevel model; NFKD + Lowercase + Strip + regex Replace; Whitespace + Digits + Punctuation;
  Bert-style template (single and pair); WordPiece decoder; added tokens with single_word/lstrip/rstrip/normalized.
- bpe-affixes.json: BPE with continuing_subword_prefix "##" and end_of_word_suffix "</w>" (trained here by a tiny
  deterministic trainer), fuse_unk; NFKC + Prepend; Split behaviours (Removed, MergedWithPrevious, Contiguous,
  MergedWithNext, invert); Replace + BPEDecoder; Roberta post-processing.
- unigram-metaspace.json: Unigram model converted from tests/data/tokenizers/sentencepiece/unigram.model; Metaspace
  pre-tokenizer and decoder (prepend_scheme "first"); byte_fallback off.
Goldens come from the reference: node eng/tokenizers/goldens.mjs.
Run: /usr/bin/python3 eng/tokenizers/synthetic.py
"""
import collections
import json
import os
import re
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data", "tokenizers")
OUT = os.path.join(DATA, "synthetic")


def corpus():
    with open(os.path.join(DATA, "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def added(id_, content, special, single_word=False, lstrip=False, rstrip=False, normalized=None):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def wordlevel(lines):
    words = collections.Counter()
    for l in lines:
        t = unicodedata.normalize("NFKD", l).lower()
        words.update(re.findall(r"\w+|[^\w\s]+", t))
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}
    for w, _ in words.most_common(3000):
        if w not in vocab:
            vocab[w] = len(vocab)
    n = len(vocab)
    return {
        "version": "1.0",
        "added_tokens": [added(0, "[UNK]", True), added(1, "[CLS]", True), added(2, "[SEP]", True), added(3, "[PAD]", True),
                         added(n, "<image>", True), added(n + 1, "hello", False, single_word=True),
                         added(n + 2, "world", False, lstrip=True, normalized=True), added(n + 3, "!!", False, rstrip=True, normalized=False)],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Lowercase"},
                       {"type": "Strip", "strip_left": True, "strip_right": True},
                       {"type": "Replace", "pattern": {"Regex": "[0-9]{4,}"}, "content": "<num>"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Digits", "individual_digits": True},
                          {"type": "Punctuation", "behavior": "Isolated"}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }


def bpe_affixes(lines, merges_wanted=600):
    words = collections.Counter()
    for l in lines:
        for w in re.findall(r"[A-Za-z]+", unicodedata.normalize("NFKC", l)):
            words[w] += 1
    # Symbols: first char plain, later chars prefixed "##", the last also suffixed "</w>".
    def split(w):
        s = [c if i == 0 else "##" + c for i, c in enumerate(w)]
        s[-1] += "</w>"
        return s
    seqs = {w: split(w) for w in words}
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for s in seqs.values():
        for sym in s:
            vocab.setdefault(sym, len(vocab))
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        new = a + b[2:]
        merges.append(f"{a} {b}")
        vocab.setdefault(new, len(vocab))
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return {
        "version": "1.0",
        "added_tokens": [added(0, "<unk>", True), added(1, "<s>", True), added(2, "</s>", True)],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Prepend", "prepend": " "}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[.,!?]"}, "behavior": "Contiguous", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\d"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[A-Za-z]+"}, "behavior": "Isolated", "invert": True}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1], "trim_offsets": True, "add_prefix_space": True},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "##"}, "content": ""}, {"type": "BPEDecoder", "suffix": "</w>"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
                  "fuse_unk": True, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }


def unigram_metaspace():
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "sentencepiece", "unigram.model"))
    vocab = [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(sp.get_piece_size())]
    return {
        "version": "1.0",
        "added_tokens": [added(sp.unk_id(), sp.id_to_piece(sp.unk_id()), True)] + ([added(sp.bos_id(), sp.id_to_piece(sp.bos_id()), True)] if sp.bos_id() >= 0 else []),
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
        "model": {"type": "Unigram", "unk_id": sp.unk_id(), "vocab": vocab, "byte_fallback": False},
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = corpus()
    files = {"wordlevel.json": wordlevel(lines), "bpe-affixes.json": bpe_affixes(lines)}
    if os.path.exists(os.path.join(DATA, "sentencepiece", "unigram.model")):
        files["unigram-metaspace.json"] = unigram_metaspace()
    for name, content in files.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False)
        print("wrote", os.path.join("tests/data/tokenizers/synthetic", name))


if __name__ == "__main__":
    main()
