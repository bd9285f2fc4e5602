#!/usr/bin/env python3
"""Writes tests/data/tokenizers/corpus.jsonl: >= 2,000 lines built to break tokenizers.

Each line of the output is one JSON string (so a line may itself contain newlines, carriage returns
and tabs). The file is deterministic: hand-written lines first, then seeded combinations.
Run: /usr/bin/python3 eng/tokenizers/make_corpus.py
"""
import json
import os
import random
import unicodedata

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "tokenizers", "corpus.jsonl")

HAND = [
    "", " ", "  ", "\t", "\n", "\r\n", " \n ", "a", "A", "Hello world", " Hello world", "Hello world ",
    "  leading and trailing  ", "Hello, world! How are you?", "I'm fine, you're great, it's done, we've won, I'll go, he'd say.",
    "DON'T SHOUT, I'M HERE", "It’s a curly apostrophe", "\"quoted\" and 'single' and `back`",
    "The quick brown fox jumps over the lazy dog.", "tabs\tin\tthe\tmiddle", "many     spaces      here",
    "line one\nline two\n\nline four", "windows\r\nnewlines\r\n", "trailing newline\n", "\n\n\nleading newlines",
    "mixed \t \n \r\n whitespace \u00a0 nbsp \u2003 em-space \u3000 ideographic",
    # Numbers
    "0", "123", "1234567890", "3.14159", "-42", "1,000,000", "1e-10", "0x1F", "2024-11-22", "12:30:45", "$99.99", "€1.234,56",
    "٣٤٥ Arabic-Indic digits", "१२३ Devanagari digits", "①②③ circled", "Ⅻ roman", "½ ¾ fractions", "x² + y³ = z⁴",
    # CJK
    "日本語のテキストです。", "中文测试：你好，世界！", "한국어 텍스트입니다.", "漢字かなカナ混じり文", "「括弧」『二重』【隅付き】",
    "東京都渋谷区1-2-3", "全角ＡＢＣ１２３", "半角ｶﾀｶﾅ", "中文 English 混合 text 123",
    # Arabic, Hebrew, Hindi, Thai, others
    "مرحبا بالعالم", "العربية: كيف حالك؟", "שלום עולם", "नमस्ते दुनिया", "हिन्दी में लिखा गया वाक्य।",
    "สวัสดีครับ ภาษาไทยไม่มีช่องว่าง", "Привет, мир!", "Ελληνικά γράμματα", "Tiếng Việt có dấu", "Ẓ̌ đặc biệt",
    "ગુજરાતી", "தமிழ்", "ქართული", "Հայերեն", "አማርኛ", "ᐃᓄᒃᑎᑐᑦ",
    # Emoji
    "😀", "😀😃😄", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇺🇸", "❤️", "🫠 melting", "emoji 😀 in text 🎉!",
    "👋🏻👋🏼👋🏽👋🏾👋🏿", "🧑🏿‍🚀", "#️⃣ keycap", "©️ ®️ ™️",
    # Combining marks and normalization pairs
    "e\u0301 vs \u00e9", "A\u030a vs \u00c5", "n\u0303 vs \u00f1", "\u1e9b\u0323", "Zalgo: Z\u0335\u0341a\u0336\u0358l\u0337g\u0338o\u0334",
    "\uFB01 ligature fi", "\u2126 ohm vs \u03a9 omega", "\u212b angstrom", "\u00bd \u2153", "ﬀ ﬂ ﬃ",
    "Å", "Å", "가", "가", "ｱ", "ア",
    # Code and URLs
    "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; i++) { sum += a[i]; }", "if (a != b && c >= d) return;",
    "console.log(`template ${value}`);", "SELECT * FROM users WHERE id = 42;", "<div class=\"x\">Hi</div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "https://example.com/path?query=1&x=y#frag",
    "http://user:pass@host.example.org:8080/a/b.html", "mailto:someone@example.com", "C:\\Windows\\System32\\drivers",
    "/usr/local/bin/python3 --version", "snake_case_identifier camelCaseIdentifier PascalCase SCREAMING_CASE",
    "a+b-c*d/e=f", "!!!???...", "---===***", "......", "^_^ :-) ¯\\_(ツ)_/¯", "@mention #hashtag $cashtag",
    # Special tokens typed inside text
    "<|im_start|>user\nWhat is in the image?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>", "text<|endoftext|>text", "<image>", "Describe <image> please", "<image><image>",
    "</s>", "<s>", "<s>Hello</s>", "Hello</s>world", "<unk>", "<pad>", "< s >", "<|im_end|", "|im_end|>",
    "<fim_prefix><|img|><fim_suffix>", "<用户>你好<AI>", "<slice></slice>",
    # Replacement characters (what invalid surrogates become after replacement)
    "\ufffd", "bad \ufffd\ufffd bytes", "\ufffdstart", "end\ufffd",
    # Long words
    "a" * 200, "ab" * 150, "Supercalifragilisticexpialidocious" * 4, "x" * 1000,
    "pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaftskapitän",
    "ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ", "日" * 300, "😀" * 60, " " * 100, "\n" * 50, "1" * 100,
    # Astral letters and digits
    "𝐀𝐁𝐂 math bold", "𝟎𝟏𝟐 math digits", "𠀀𠀁 CJK extension B", "𓀀 hieroglyph", "🄰🄱 squared",
    # Misc punctuation and symbols
    "“smart quotes” ‘single’ «guillemets» „German“", "— em dash – en dash ‐ hyphen", "… ellipsis", "• bullet · middot",
    "§ ¶ † ‡ ※", "→ ← ↑ ↓ ⇒ ∀ ∃ ∈ ∑ √ ∞", "₿ ¥ £ ₹ ₩", "°C °F ‰", "\u200b zero width space", "\u200d zwj alone", "\ufeff bom",
    "\u0000 nul", "\u0007 bell \u001b[0m escape", "\u00ad soft hyphen", "\u2028 line separator \u2029 paragraph",
]

POOLS = {
    "en": ["the", "a", "model", "image", "describe", "video", "frame", "page", "PDF", "token", "vision", "language", "Hello", "world",
           "isn't", "can't", "it's", "we'll", "they've", "I'd", "GPU", "CPU", "LLaVA", "MiniCPM-V", "Aria", "LongVA", "AuroraCap"],
    "cjk": ["日本", "語", "中文", "测试", "한국어", "漢字", "テキスト", "東京", "你好", "世界", "画像", "動画", "ページ"],
    "rtl": ["مرحبا", "العالم", "שלום", "עולם", "كتاب"],
    "ind": ["नमस्ते", "दुनिया", "हिन्दी", "สวัสดี", "ภาษาไทย", "தமிழ்"],
    "emoji": ["😀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "❤️", "🎉", "🔥", "✓", "★"],
    "num": ["0", "7", "42", "123", "2024", "3.14", "1,000", "99%", "-5", "1e9", "٣", "१"],
    "punct": [".", ",", "!", "?", ";", ":", "...", "—", "(", ")", "[", "]", "{", "}", "\"", "'", "`", "/", "\\", "|", "#", "@", "&", "*"],
    "ws": [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0", "\u3000"],
    "special": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<image>", "</s>", "<s>", "<unk>", "<|img|>"],
    "code": ["def", "return", "x = 1", "f(x)", "a[i]", "==", "!=", "->", "=>", "::", "//", "/*", "*/", "0x", "__init__", "self."],
    "combining": ["e\u0301", "a\u0308", "o\u0302", "u\u0300", "\u0301", "\u0308\u0308"],
    "url": ["https://", "www.", ".com", "/path", "?q=", "&id=", "#top"],
}


def combos(n, seed):
    rnd = random.Random(seed)
    keys = sorted(POOLS)
    out = []
    while len(out) < n:
        k = rnd.randint(1, 12)
        parts = []
        for _ in range(k):
            pool = POOLS[rnd.choice(keys)]
            parts.append(rnd.choice(pool))
            if rnd.random() < 0.6:
                parts.append(rnd.choice([" ", " ", " ", "", "\n", "  "]))
        line = "".join(parts)
        if rnd.random() < 0.1:
            line = unicodedata.normalize(rnd.choice(["NFC", "NFD", "NFKC", "NFKD"]), line)
        if rnd.random() < 0.05:
            line = line.upper()
        out.append(line)
    return out


def main():
    lines = list(HAND)
    # Every hand line again with a leading space, trailing space, and in NFD, to test boundaries and normalization.
    lines += [" " + s for s in HAND[:120]]
    lines += [s + " " for s in HAND[120:200]]
    lines += [unicodedata.normalize("NFD", s) for s in HAND if unicodedata.normalize("NFD", s) != s]
    lines += combos(2600 - len(lines), seed=20261122)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for s in lines:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
