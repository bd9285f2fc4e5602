"""Writes the prompt goldens the C# family templates are tested against: tests/data/prompts/<family>.json.

    /usr/bin/python3 eng/train/prompt_goldens.py

For every family whose tiny model exists under models/, renders a fixed set of conversations (single image,
several images, multi-turn, video, PDF pages, as the family allows) with the Python port of the reference prompt
code (eng/train/prompts.py) and tokenizes them with the model's tokenizer.json through the reference Rust library.
Each case records the messages (visual parts as their per-view token counts and grid), the prompt text, the ids
with visual positions as the placeholder id, and the visual spans [offset, count].
"""

import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import prompts as P  # noqa: E402
from train import Tok  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "prompts")


def text(t):
    return {"type": "text", "text": t}


def image(tokens, grid=(0, 0), kind="image", page=0):
    return {"type": "image", "tokens": list(tokens), "grid": list(grid), "kind": kind, "page": page}


def user(*parts):
    return {"role": "user", "content": list(parts)}


def assistant(t):
    return {"role": "assistant", "content": [text(t)]}


def system(t):
    return {"role": "system", "content": [text(t)]}


def cases(family):
    q, a = "What shape is in the image?", "A red circle."
    single = {"llava": 64, "llava-mpt": 64, "auroracap": 21, "aria": 16}
    out = {}
    if family in ("llava", "llava-mpt", "auroracap"):
        n = single[family]
        out["single"] = [user(image([n]), text(q))]
        out["multi_image"] = [user(image([n]), image([n]), text("Are these the same?"))]
        out["image_after_text"] = [user(text("Look: "), image([n]), text(q))]
        out["multi_turn"] = [user(image([n]), text(q)), assistant(a), user(text("How many shapes are there?"))]
        out["multi_turn_image_later"] = [user(text("Hello.")), assistant("Hello."), user(image([n]), text(q))]
    if family in ("llava", "llava-mpt"):
        out["system"] = [system("Answer briefly."), user(image([64]), text(q))]
    if family == "auroracap":
        out["video"] = [user(image([12, 12, 12, 12], kind="video"), text("Describe the video."))]
        out["video_multi_turn"] = [user(image([12, 12, 12], kind="video"), text("Describe the video.")),
                                   assistant("A red circle moves left."), user(text("Which way does it move?"))]
    if family == "longva":
        tiles = [16] * 5
        out["single"] = [user(image(tiles, grid=(2, 2)), text(q))]
        out["single_untiled"] = [user(image([16, 16], grid=(1, 1)), text(q))]
        out["multi_image"] = [user(image([16, 16], grid=(1, 1)), image(tiles, grid=(2, 2)), text("Compare them."))]
        out["multi_turn"] = [user(image(tiles, grid=(2, 2)), text(q)), assistant(a), user(text("And its colour?"))]
        out["video"] = [user(image([16] * 8, kind="video"), text("Which way does the red circle move?"))]
        out["system"] = [system("Be brief."), user(image([16] * 4, kind="video"), text("Describe the video."))]
    if family == "minicpmv":
        out["single"] = [user(image([16]), text(q))]
        out["sliced"] = [user(image([16] * 5, grid=(2, 2)), text(q))]
        out["sliced_wide"] = [user(image([16] * 4, grid=(1, 3)), text(q))]
        out["multi_turn"] = [user(image([16] * 5, grid=(2, 2)), text(q)), assistant(a), user(text("How many?"))]
    if family == "aria":
        out["single"] = [user(image([16]), text(q))]
        out["split"] = [user(image([16] * 5, grid=(2, 2)), text(q))]
        out["multi_image"] = [user(image([16]), image([16]), text("Are these the same?"))]
        out["multi_turn"] = [user(image([16]), text(q)), assistant(a), user(text("How many shapes are there?"))]
        pages = [image([16], kind="page", page=i + 1) for i in range(3)]
        out["pdf"] = [user(*P.aria_pdf_content(pages, "What is on page 3?"))]
        out["system"] = [system("Be brief."), user(image([16]), text(q))]
    return out


FOLDERS = {"llava": "llava-tiny", "llava-mpt": "llava-mpt-tiny", "longva": "longva-tiny",
           "auroracap": "auroracap-tiny", "minicpmv": "minicpmv-tiny", "aria": "aria-tiny"}


def family_tok(family, folder):
    tok = Tok(folder)
    tok.image_id = tok.added.get("<image>")
    tok.image_end_id = tok.added.get("</image>")
    tok.img_id = tok.added.get("<|img|>")
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    for family, name in FOLDERS.items():
        folder = os.path.join(ROOT, "models", name)
        if not os.path.exists(os.path.join(folder, "tokenizer.json")):
            print(f"{family}: no models/{name}/tokenizer.json yet, skipped")
            continue
        tok = family_tok(family, folder)
        render = P.FAMILIES[family]
        result = {"family": family, "model": f"models/{name}", "cases": {}}
        for case, messages in cases(family).items():
            prompt, ids, spans = render(copy.deepcopy(messages), tok, True)
            placeholder = P.SENTINEL if family in ("llava", "llava-mpt", "longva", "auroracap") else \
                (tok.added["<unk>"] if family == "minicpmv" else tok.img_id)
            result["cases"][case] = {"messages": messages, "text": prompt, "ids": ids,
                                     "spans": [list(s) for s in spans], "placeholder": placeholder}
        with open(os.path.join(OUT, f"{family}.json"), "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"{family}: {len(result['cases'])} cases")


if __name__ == "__main__":
    main()
