"""Builds the tiny demo models' tokenizers, each of its family's real type, from the training corpus.

* SentencePiece families (LLaVA-1.5, AuroraCap, MiniCPM-V 2, Aria): a SentencePiece BPE model with Llama's
  settings (byte fallback, identity normalisation, dummy prefix, digits split, whitespace kept), saved as
  ``tokenizer.model``, plus the ``tokenizer.json`` Hugging Face's Llama converter would write for it (BPE with
  byte fallback; merges recovered from the piece order; Prepend/Replace normaliser; legacy behaviour).
* Byte-level BPE families (LongVA: Qwen2; LLaVA-MPT: GPT-NeoX): merges learned here over a byte-level alphabet
  and saved as ``tokenizer.json`` with the family's pre-tokenizer, plus ``vocab.json``/``merges.txt`` for Qwen2.

Every tokenizer.json is then loaded by the reference Rust library (npm ``tokenizers``, through
eng/train/tok_server.mjs) and, for SentencePiece families, checked id for id against ``sentencepiece`` on the whole
corpus, so the C# tokenizer (id-identical to both references, issue 3) sees exactly the ids training used.
"""

import collections
import json
import os
import re
import subprocess
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


class TokServer:
    """A persistent node process running the reference tokenizer (see tok_server.mjs)."""

    def __init__(self, path):
        self.p = subprocess.Popen(["node", os.path.join(HERE, "tok_server.mjs")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        reply = self._ask({"load": os.path.abspath(path)})
        self.size = reply["size"]

    def _ask(self, req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        reply = json.loads(self.p.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def encode(self, texts, special=False):
        out = []
        for i in range(0, len(texts), 512):
            out.extend(self._ask({"encode": texts[i:i + 512], "special": special})["ids"])
        return out

    def encode1(self, text, special=False):
        return self.encode([text], special)[0]

    def decode(self, ids, skip=False):
        return self._ask({"decode": [list(map(int, ids))], "skip": skip})["texts"][0]

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# ----------------------------------------------------------------------------------------------- SentencePiece

def build_sentencepiece(corpus, out_dir, vocab_size, user_symbols, special_symbols, add_bos=True, chat_template=None,
                        model_max_length=2048, pad_token=None):
    """Trains tokenizer.model, writes tokenizer.json/tokenizer_config.json/special_tokens_map.json.

    user_symbols: pieces SentencePiece must keep whole (role markers, image tokens); special_symbols: the subset
    Hugging Face marks special (skipped by skip_special_tokens)."""
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "corpus.txt")
        with open(text, "w", encoding="utf-8") as f:
            for line in corpus:
                f.write(line.replace("\n", " ") + "\n")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=os.path.join(tmp, "sp"), vocab_size=vocab_size, model_type="bpe",
            byte_fallback=True, character_coverage=1.0, normalization_rule_name="identity",
            remove_extra_whitespaces=False, add_dummy_prefix=True, split_digits=True,
            allow_whitespace_only_pieces=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            user_defined_symbols=user_symbols, num_threads=1, input_sentence_size=0, shuffle_input_sentence=False,
            minloglevel=2)
        with open(os.path.join(tmp, "sp.model"), "rb") as f:
            model_bytes = f.read()
    with open(os.path.join(out_dir, "tokenizer.model"), "wb") as f:
        f.write(model_bytes)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "tokenizer.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = {p: i for i, p in enumerate(pieces)}

    # Merges as HF's SentencePieceExtractor recovers them: every split of a normal piece into two vocabulary
    # pieces, ordered by the merged piece's id (BPE pieces are numbered in merge order), then by the parts' ids.
    merges = []
    for i, piece in enumerate(pieces):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i) or sp.is_unused(i) or piece in user_symbols:
            continue
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((vocab[left], vocab[right], left, right))
        local.sort()
        merges.extend((i, a, b) for _, _, a, b in local)
    merges.sort(key=lambda m: m[0])

    added = []
    for token in ["<unk>", "<s>", "</s>"] + list(user_symbols):
        added.append({"id": vocab[token], "content": token, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": token in ("<unk>", "<s>", "</s>") or token in special_symbols})
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": ([{"SpecialToken": {"id": "<s>", "type_id": 0}}] if add_bos else [])
            + [{"Sequence": {"id": "A", "type_id": 0}}],
            "pair": ([{"SpecialToken": {"id": "<s>", "type_id": 0}}] if add_bos else [])
            + [{"Sequence": {"id": "A", "type_id": 0}}]
            + ([{"SpecialToken": {"id": "<s>", "type_id": 1}}] if add_bos else [])
            + [{"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}} if add_bos else {},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for _, a, b in merges]},
    }
    _write(os.path.join(out_dir, "tokenizer.json"), tj)
    config = {
        "tokenizer_class": "LlamaTokenizer", "legacy": True, "add_bos_token": add_bos, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": pad_token,
        "model_max_length": model_max_length, "clean_up_tokenization_spaces": False, "sp_model_kwargs": {},
        "added_tokens_decoder": {str(a["id"]): {k: a[k] for k in a if k != "id"} for a in added},
    }
    if chat_template:
        config["chat_template"] = chat_template
    _write(os.path.join(out_dir, "tokenizer_config.json"), config)
    _write(os.path.join(out_dir, "special_tokens_map.json"),
           {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", **({"pad_token": pad_token} if pad_token else {})})

    # The converted tokenizer.json must give SentencePiece's ids on every corpus line.
    server = TokServer(os.path.join(out_dir, "tokenizer.json"))
    lines = sorted(set(corpus))
    ref_ids = server.encode(lines, special=False)
    for line, ids in zip(lines, ref_ids):
        if any(s in line for s in list(user_symbols) + ["<s>", "</s>", "<unk>"]):
            continue  # SentencePiece itself does not split on added tokens; HF does. Compared piecewise below.
        expected = sp.encode(line)
        assert ids == expected, f"tokenizer.json and tokenizer.model disagree on {line!r}: {ids} vs {expected}"
    server.close()
    return vocab


# ----------------------------------------------------------------------------------------------- byte-level BPE

def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
# An ASCII approximation, used only to count pairs while learning merges (encoding is done by the reference).
_ASCII_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def build_bytelevel(corpus, out_dir, vocab_size, added_specials, style, bos=None, eos=None, pad=None, unk=None,
                    model_max_length=2048, chat_template=None, extra_config=None):
    """Learns byte-level BPE merges and writes tokenizer.json (+ vocab.json/merges.txt, tokenizer_config.json).

    style: "qwen2" (Split regex + ByteLevel without prefix space, NFC normaliser) or "neox" (ByteLevel pre-tokenizer
    with its GPT-2 regex, no prefix space). added_specials: added tokens appended after the learned vocabulary."""
    os.makedirs(out_dir, exist_ok=True)
    b2u = _bytes_to_unicode()
    words = collections.Counter()
    for line in corpus:
        for w in _ASCII_SPLIT.findall(line):
            words[tuple(b2u[b] for b in w.encode("utf-8"))] += 1
    alphabet = [b2u[b] for b in range(256)]
    vocab = {c: i for i, c in enumerate(sorted(alphabet, key=lambda c: [k for k, v in b2u.items() if v == c][0]))}
    merges = []
    target = vocab_size - len(added_specials)
    words = {w: c for w, c in words.items()}
    while len(vocab) < target:
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))  # deterministic tie-break
        if count < 2:
            break
        merges.append((a, b))
        vocab[a + b] = len(vocab)
        merged = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    added = []
    for token in added_specials:
        vocab[token] = len(vocab)
        added.append({"id": vocab[token], "content": token, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    if style == "qwen2":
        normalizer = {"type": "NFC"}
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    else:
        normalizer = None
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {k: v for k, v in vocab.items() if k not in added_specials},
                  "merges": [[a, b] for a, b in merges]},
    }
    _write(os.path.join(out_dir, "tokenizer.json"), tj)
    if style == "qwen2":
        _write(os.path.join(out_dir, "vocab.json"), {k: v for k, v in vocab.items() if k not in added_specials})
        with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for a, b in merges:
                f.write(f"{a} {b}\n")
    config = {
        "tokenizer_class": "Qwen2Tokenizer" if style == "qwen2" else "GPTNeoXTokenizer",
        "add_prefix_space": False, "bos_token": bos, "eos_token": eos, "pad_token": pad, "unk_token": unk,
        "model_max_length": model_max_length, "clean_up_tokenization_spaces": False, "errors": "replace",
        "added_tokens_decoder": {str(a["id"]): {k: a[k] for k in a if k != "id"} for a in added},
    }
    if chat_template:
        config["chat_template"] = chat_template
    config.update(extra_config or {})
    _write(os.path.join(out_dir, "tokenizer_config.json"), config)
    _write(os.path.join(out_dir, "special_tokens_map.json"),
           {k: v for k, v in {"bos_token": bos, "eos_token": eos, "pad_token": pad, "unk_token": unk}.items() if v})
    # Round trip through the reference on the corpus.
    server = TokServer(os.path.join(out_dir, "tokenizer.json"))
    lines = sorted(set(corpus))[:2000]
    for line, ids in zip(lines, server.encode(lines)):
        assert server.decode(ids) == line, f"byte-level round trip failed on {line!r}"
    server.close()
    return vocab


def _write(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")
