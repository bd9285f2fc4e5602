#!/usr/bin/env python3
"""Trains two small SentencePiece models and writes their goldens, for the C# SentencePiece tests.

Run: /usr/bin/python3 eng/tokenizers/sentencepiece_models.py
Needs: python3-sentencepiece (Debian package; the goldens were made with 0.1.97).

Writes to tests/data/tokenizers/sentencepiece/:
  bpe.model              model_type=bpe, ~2000 pieces, byte_fallback, user-defined <image>/<|im_start|>/<|im_end|>,
                         identity normalization, remove_extra_whitespaces=False (Llama-like: unk 0, bos 1, eos 2)
  unigram.model          model_type=unigram, ~2000 pieces, default nmt_nfkc normalization (precompiled charsmap),
                         split_digits, user-defined <image>, no byte fallback (so unknown characters give <unk>)
  <name>.goldens.jsonl   one object per line of tests/data/tokenizers/corpus.jsonl:
                         {"ids": sp.encode(text), "decoded": sp.decode(ids)}

The training text is generated deterministically (fixed seed, one trainer thread), so re-running the script
reproduces the same files with the same SentencePiece version. Goldens are never edited by hand.
"""
import json
import os
import random
import shutil
import tempfile

import sentencepiece as spm

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data", "tokenizers")
OUT = os.path.join(DATA, "sentencepiece")
SEED = 20261122

# Word banks for the generated training text. They are deliberately small and fixed: what matters is that the
# text is multilingual, repetitive enough to produce a 2,000-piece vocabulary, and identical on every run.
ENGLISH = (
    "the of and to in is that for it as with was on be by this are at from or an have not but which all were when we "
    "there can more one has their if will about would what up out so them other than then these some into two time "
    "image images video frame frames page pages document model models token tokens vision language encoder decoder "
    "attention layer layers patch patches pixel pixels resolution describe description question answer user assistant "
    "system prompt text caption chart table figure scene object objects people person camera light color colour "
    "quick brown fox jumps over lazy dog hello world morning evening tomorrow yesterday because however therefore "
    "tokenizer tokenizers sentence sentences piece pieces unigram merge merges vocabulary training inference memory "
    "compute graph tensor tensors matrix vector batch sequence length maximum minimum average number numbers value "
    "values function functions return returns string strings python script library framework runtime native managed "
    "isn't can't won't it's we'll they've I'd you're don't doesn't shouldn't"
).split()
CJK = "日本 語 中文 测试 你好 世界 画像 動画 ページ 東京 大阪 京都 漢字 ひらがな カタカナ テキスト 文書 図 表 質問 回答 模型 视频 图像 文本 处理 数据 学习".split()
KOREAN = "한국어 텍스트 이미지 동영상 질문 답변 모델 학습 데이터 문장 세계 안녕하세요".split()
CYRILLIC = "привет мир изображение видео модель текст вопрос ответ данные обучение язык страница".split()
GREEK = "γεια σου κόσμε εικόνα βίντεο μοντέλο κείμενο ερώτηση απάντηση γλώσσα".split()
ARABIC = "مرحبا بالعالم صورة فيديو نموذج نص سؤال جواب لغة بيانات كتاب".split()
HINDI = "नमस्ते दुनिया चित्र वीडियो मॉडल पाठ प्रश्न उत्तर भाषा हिन्दी".split()
OTHER = "Tiếng Việt có dấu Ελληνικά français déjà vu naïve café résumé Straße Übergröße señor año façade".split()
PUNCT = [".", ",", "!", "?", ";", ":", "(", ")", "\"", "'", "-", "—", "…", "/", "%", "$", "€", "#", "@", "&", "*", "+", "="]
NUMBERS = ["0", "1", "2", "3", "7", "10", "42", "100", "123", "2024", "3.14", "1,000", "99%", "1e-10", "0x1F"]


def generated_lines(count, seed):
    """Yields `count` pseudo-sentences mixing the word banks, reproducibly."""
    rnd = random.Random(seed)
    banks = [(ENGLISH, 10), (CJK, 2), (KOREAN, 1), (CYRILLIC, 1), (GREEK, 1), (ARABIC, 1), (HINDI, 1), (OTHER, 1)]
    weights = [w for _, w in banks]
    for _ in range(count):
        bank = rnd.choices([b for b, _ in banks], weights)[0]
        sep = "" if bank is CJK else " "
        words = [rnd.choice(bank) for _ in range(rnd.randint(3, 18))]
        if rnd.random() < 0.3:
            words.insert(rnd.randrange(len(words) + 1), rnd.choice(NUMBERS))
        line = sep.join(words)
        if bank is ENGLISH and rnd.random() < 0.5:
            line = line[0].upper() + line[1:]
        line += rnd.choice(PUNCT)
        yield line


def training_lines():
    """The corpus (split into physical lines, tabs made spaces) followed by generated text."""
    with open(os.path.join(DATA, "corpus.jsonl"), encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f if line.strip()]
    lines = []
    for text in corpus:
        for part in text.replace("\r", "\n").split("\n"):
            part = part.replace("\t", " ").replace("\0", " ")
            if part.strip():
                lines.append(part)
    lines.extend(generated_lines(30000, SEED))
    return corpus, lines


MODELS = {
    "bpe": dict(
        model_type="bpe",
        vocab_size=2000,
        byte_fallback=True,
        user_defined_symbols=["<image>", "<|im_start|>", "<|im_end|>"],
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        character_coverage=0.9995,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
    ),
    "unigram": dict(
        model_type="unigram",
        vocab_size=2000,
        split_digits=True,
        user_defined_symbols=["<image>"],
        character_coverage=0.9995,
    ),
}


def train(name, options, text_path):
    """Trains one model inside the current (temporary) folder and returns the path of its .model file."""
    spm.SentencePieceTrainer.train(
        input=text_path,
        model_prefix=name,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        minloglevel=2,
        **options,
    )
    return os.path.abspath(name + ".model")


def main():
    corpus, lines = training_lines()
    os.makedirs(OUT, exist_ok=True)
    spm.set_random_generator_seed(SEED)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # Train inside the temporary folder with relative names: the trainer stores the input and model_prefix
        # it was given in the model's TrainerSpec, and absolute temporary paths would make every run differ.
        os.chdir(tmp)
        try:
            with open("train.txt", "w", encoding="utf-8", newline="\n") as f:
                f.write("\n".join(lines) + "\n")
            for name, options in MODELS.items():
                model_path = os.path.join(OUT, name + ".model")
                shutil.copyfile(train(name, options, "train.txt"), model_path)

                sp = spm.SentencePieceProcessor(model_file=model_path)
                golden_path = os.path.join(OUT, name + ".goldens.jsonl")
                with open(golden_path, "w", encoding="utf-8", newline="\n") as f:
                    for text in corpus:
                        ids = sp.encode(text)
                        f.write(json.dumps({"ids": ids, "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
                print(f"wrote {os.path.relpath(model_path, ROOT)} ({os.path.getsize(model_path):,} bytes, "
                      f"{sp.get_piece_size()} pieces) and {os.path.relpath(golden_path, ROOT)} ({len(corpus)} lines) "
                      f"with sentencepiece {spm.__version__}")
        finally:
            os.chdir(cwd)


if __name__ == "__main__":
    main()
