"""A Python port of each family's reference prompt code: conversation rendering, image placeholders and
tokenization. Used to build training sequences for the tiny demo models and to write the prompt goldens the C#
templates are tested against (tests/data/prompts/).

Sources (see ../shared/FAMILIES.md): LLaVA llava/conversation.py (conv_llava_v1, conv_mpt) and
llava/mm_utils.py tokenizer_image_token; LongVA longva/conversation.py (conv_qwen, "qwen_1_5"); AuroraCap
inference.py process_text + xtuner's vicuna template; MiniCPM-V 2 modeling_minicpmv.py chat() and
get_slice_image_placeholder; Aria's chat template + processing_aria.py placeholder expansion; seed 000's
"Page i: " PDF recipe.

A message is {"role": "system"|"user"|"assistant", "content": [part, ...]} with parts
{"type": "text", "text": str} or {"type": "image", "tokens": [per-view counts], "grid": [rows, cols],
"kind": "image"|"video"|"page", "page": n}. `tok` is an object with encode1(text, special) (the reference
tokenizer through eng/train/tokenizer_build.TokServer) and the family's special ids.

Every family returns (text, ids, spans): the prompt exactly as the reference writes it, the ids with every
visual position holding the placeholder id, and [(offset, count)] per visual run.
"""

SENTINEL = -200  # LLaVA IMAGE_TOKEN_INDEX

LLAVA_V1_SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
                   "The assistant gives helpful, detailed, and polite answers to the human's questions.")
MPT_SYSTEM = ("<|im_start|>system\nA conversation between a user and an LLM-based AI assistant. "
              "The assistant gives helpful and honest answers.")
QWEN_SYSTEM = "<|im_start|>system\nYou are a helpful assistant."


def _text(msg, image_text):
    out = ""
    for p in msg["content"]:
        out += p["text"] if p["type"] == "text" else image_text(p)
    return out


def _images(messages):
    return [p for m in messages for p in m["content"] if p["type"] == "image"]


def _split_system(messages, default):
    if messages and messages[0]["role"] == "system":
        return _text(messages[0], lambda p: ""), messages[1:]
    return default, messages


def tokenizer_image_token(prompt, tok, bos_id):
    """llava/mm_utils.py tokenizer_image_token: each chunk tokenized with special tokens, one BOS kept."""
    chunks = [tok.encode1(c, special=True) for c in prompt.split("<image>")]
    ids, offset = [], 0
    if chunks and chunks[0] and bos_id is not None and chunks[0][0] == bos_id:
        offset = 1
        ids.append(chunks[0][0])
    for i, c in enumerate(chunks):
        if i:
            ids.append(SENTINEL)
        ids.extend(c[offset:])
    return ids


def expand_sentinels(ids, images, placeholder):
    """Replaces the i-th sentinel by the i-th visual input's token run; returns (ids, spans)."""
    out, spans, k = [], [], 0
    for t in ids:
        if t == SENTINEL:
            n = sum(images[k]["used_tokens"]) if "used_tokens" in images[k] else sum(images[k]["tokens"])
            spans.append((len(out), n))
            out.extend([placeholder] * n)
            k += 1
        else:
            out.append(t)
    assert k == len(images), f"{k} <image> markers for {len(images)} visual inputs"
    return out, spans


# ----------------------------------------------------------------------------------------------- LLaVA-1.5 (llava_v1)

def llava_v1(messages, tok, add_generation_prompt=True):
    system, msgs = _split_system(messages, LLAVA_V1_SYSTEM)
    seps = [" ", "</s>"]
    ret = system + seps[0]
    i = 0
    for m in msgs:
        role = "USER" if m["role"] == "user" else "ASSISTANT"
        ret += role + ": " + _text(m, lambda p: "<image>\n") + seps[i % 2]
        i += 1
    if add_generation_prompt:
        ret += "ASSISTANT:"
    ids = tokenizer_image_token(ret, tok, tok.bos_id)
    ids, spans = expand_sentinels(ids, _images(msgs), SENTINEL)
    return ret, ids, spans


# ----------------------------------------------------------------------------------------------- LLaVA-MPT (mpt)

def llava_mpt(messages, tok, add_generation_prompt=True, im_start_end=True):
    system, msgs = _split_system(messages, None)
    system = MPT_SYSTEM if system is None else "<|im_start|>system\n" + system
    sep = "<|im_end|>"
    marker = "<im_start><image><im_end>\n" if im_start_end else "<image>\n"
    ret = system + sep
    for m in msgs:
        role = "<|im_start|>user\n" if m["role"] == "user" else "<|im_start|>assistant\n"
        ret += role + _text(m, lambda p: marker) + sep
    if add_generation_prompt:
        ret += "<|im_start|>assistant\n"
    ids = tokenizer_image_token(ret, tok, None)
    ids, spans = expand_sentinels(ids, _images(msgs), SENTINEL)
    return ret, ids, spans


# ----------------------------------------------------------------------------------------------- LongVA (qwen_1_5)

def longva(messages, tok, add_generation_prompt=True):
    system, msgs = _split_system(messages, None)
    system = QWEN_SYSTEM if system is None else "<|im_start|>system\n" + system
    sep = "<|im_end|>"
    ret = system + sep + "\n"
    for m in msgs:
        role = "<|im_start|>user" if m["role"] == "user" else "<|im_start|>assistant"
        ret += role + "\n" + _text(m, lambda p: "<image>\n") + sep + "\n"
    if add_generation_prompt:
        ret += "<|im_start|>assistant\n"
    ids = tokenizer_image_token(ret, tok, None)
    images = _images(msgs)
    for im in images:
        if im["kind"] == "image" and im["grid"][0] > 0:
            im["used_tokens"] = im["tokens"][1:]  # UniRes drops the base view
    ids, spans = expand_sentinels(ids, images, SENTINEL)
    return ret, ids, spans


# ----------------------------------------------------------------------------------------------- AuroraCap (vicuna INSTRUCTION)

def auroracap(messages, tok, add_generation_prompt=True):
    """`USER: {input} ASSISTANT:` per turn, no system prompt; an image is `<image>\\n`, a video F `<image>` joined by
    spaces then `\\n`. Later turns start with xtuner's SEP `\\n`; an answer is followed by EOS (an id, not text).
    Chunk 0 is tokenized with BOS, later chunks without special tokens (process_text)."""
    _, msgs = _split_system(messages, None)
    pieces = []  # text pieces, with None marking an EOS id
    turn = 0
    for m in msgs:
        if m["role"] == "user":
            def image_text(p):
                return " ".join(["<image>"] * len(p["tokens"])) + "\n" if p["kind"] == "video" else "<image>\n"
            pieces.append(("\n" if turn else "") + "USER: " + _text(m, image_text) + " ASSISTANT:")
            turn += 1
        else:
            pieces.append(" " + _text(m, lambda p: ""))
            pieces.append(None)
    if not add_generation_prompt and pieces and pieces[-1] is not None and msgs[-1]["role"] == "user":
        pass
    text = "".join("</s>" if p is None else p for p in pieces)
    # process_text: split on <image>; chunk 0 with special tokens, later chunks without; EOS ids kept as ids.
    ids = []
    first = True
    for p in pieces:
        if p is None:
            ids.append(tok.eos_id)
            continue
        chunks = p.split("<image>")
        for i, c in enumerate(chunks):
            if i:
                ids.append(SENTINEL)
            if c or first:
                ids.extend(tok.encode1(c, special=first))
            first = False
    images = []
    for im in _images(msgs):
        if im["kind"] == "video":
            images.extend({"tokens": [t]} for t in im["tokens"])
        else:
            images.append(im)
    ids, spans = expand_sentinels(ids, images, SENTINEL)
    return text, ids, spans


# ----------------------------------------------------------------------------------------------- MiniCPM-V 2

def minicpm_placeholder(p, query_num=None):
    one = lambda n: "<image>" + "<unk>" * n + "</image>"  # noqa: E731
    tokens = p["tokens"]
    out = one(tokens[0])
    rows, cols = p["grid"]
    if rows:
        lines = []
        for r in range(rows):
            lines.append("".join(one(tokens[1 + r * cols + c]) for c in range(cols)))
        out += "<slice>" + "\n".join(lines) + "</slice>"
    return out


def minicpmv(messages, tok, add_generation_prompt=True):
    _, msgs = _split_system(messages, None)
    ret = ""
    for m in msgs:
        ret += "<用户>" if m["role"] == "user" else "<AI>"
        parts = m["content"]
        text = ""
        for i, p in enumerate(parts):
            if p["type"] == "text":
                text += p["text"]
            else:
                text += minicpm_placeholder(p) + "\n"
        ret += text
    if add_generation_prompt:
        ret += "<AI>"
    ids = tok.encode1(ret, special=True)
    spans, i = [], 0
    while i < len(ids):
        if ids[i] == tok.image_id:
            j = i + 1
            while ids[j] != tok.image_end_id:
                j += 1
            spans.append((i + 1, j - i - 1))
            i = j
        i += 1
    return ret, ids, spans


# ----------------------------------------------------------------------------------------------- Aria

def aria(messages, tok, add_generation_prompt=True):
    ret = ""
    for m in messages:
        ret += "<|im_start|>" + m["role"] + "\n"
        for p in m["content"]:
            if p["type"] == "text":
                ret += p["text"]
            else:
                ret += "<fim_prefix>" + "<|img|>" * sum(p["tokens"]) + "<fim_suffix>"
        ret += "<|im_end|>\n"
    if add_generation_prompt:
        ret += "<|im_start|>assistant\n"
    ids = tok.encode1(ret, special=True)
    spans, i = [], 0
    while i < len(ids):
        if ids[i] == tok.img_id:
            j = i
            while j < len(ids) and ids[j] == tok.img_id:
                j += 1
            spans.append((i, j - i))
            i = j
        else:
            i += 1
    return ret, ids, spans


def aria_pdf_content(pages, question):
    """Seed 000: for each page "Page i: " + image + "\\n", then the question."""
    content = []
    for i, page in enumerate(pages):
        content += [{"type": "text", "text": f"Page {i + 1}: "}, page, {"type": "text", "text": "\n"}]
    content.append({"type": "text", "text": question})
    return content


FAMILIES = {"llava": llava_v1, "llava-mpt": llava_mpt, "longva": longva, "auroracap": auroracap,
            "minicpmv": minicpmv, "aria": aria}
