"""Synthetic scenes for the bundled tiny demo models (issue 6): coloured shapes on a plain background, with
questions and templated answers, and short videos of moving shapes.

Deterministic: every function takes a numpy Generator, so a seed reproduces the data. Debian packages only
(python3-pil, python3-numpy).

    /usr/bin/python3 eng/train/scenes.py --out /tmp/scenes --count 8     # writes PNGs + questions.jsonl to look at
"""

import argparse
import json
import math
import os

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star"]
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30)}
BACKGROUND = (245, 245, 240)
NUMBERS = ["zero", "one", "two", "three", "four"]
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _polygon(kind, cx, cy, r):
    if kind == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if kind == "triangle":
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    # A five-pointed star: outer and inner radius alternate.
    points = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = r if i % 2 == 0 else r * 0.45
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return points


def draw(size, shapes):
    """Renders shapes (dicts with kind, colour, x, y, r in pixels) on the background."""
    image = Image.new("RGB", (size, size), BACKGROUND)
    pen = ImageDraw.Draw(image)
    for s in shapes:
        fill = COLOURS[s["colour"]]
        if s["kind"] == "circle":
            pen.ellipse([s["x"] - s["r"], s["y"] - s["r"], s["x"] + s["r"], s["y"] + s["r"]], fill=fill)
        else:
            pen.polygon(_polygon(s["kind"], s["x"], s["y"], s["r"]), fill=fill)
    return image


RADIUS_DIVISOR = 7  # shape radius = size // RADIUS_DIVISOR (16 px at 112: a 14-px patch tower tells shapes apart better than at 12 px)


def scene(rng, size=112, count=None):
    """A scene of 1-4 non-overlapping shapes; returns (image, shapes)."""
    count = int(rng.integers(1, 5)) if count is None else count
    shapes = []
    r = max(6, size // RADIUS_DIVISOR)
    attempts = 0
    while len(shapes) < count and attempts < 1000:
        attempts += 1
        x = int(rng.integers(r + 2, size - r - 2))
        y = int(rng.integers(r + 2, size - r - 2))
        if all((x - s["x"]) ** 2 + (y - s["y"]) ** 2 > (2.3 * r) ** 2 for s in shapes):
            shapes.append({"kind": SHAPES[int(rng.integers(len(SHAPES)))], "colour": list(COLOURS)[int(rng.integers(len(COLOURS)))], "x": x, "y": y, "r": r})
    return draw(size, shapes), shapes


def _third(v, size):
    """0, 1 or 2: which third of the side a coordinate falls in (the same rule for labels and reading order)."""
    return 0 if v < size / 3 else 2 if v > 2 * size / 3 else 1


def _position(s, size):
    horizontal = ["left", "middle", "right"][_third(s["x"], size)]
    vertical = ["top", "middle", "bottom"][_third(s["y"], size)]
    return "centre" if horizontal == vertical == "middle" else f"{vertical} {horizontal}".replace("middle ", "").replace(" middle", "")


def describe(shapes, size):
    """The templated description: shapes in reading order (top to bottom, left to right)."""
    ordered = sorted(shapes, key=lambda s: (_third(s["y"], size), s["x"]))
    parts = [f"a {s['colour']} {s['kind']} at the {_position(s, size)}" for s in ordered]
    return f"There {'is' if len(parts) == 1 else 'are'} {NUMBERS[len(parts)]} shape{'s' if len(parts) > 1 else ''}: " + ", ".join(parts) + "."


def questions(rng, shapes, size, every_colour=False):
    """Question/answer pairs about one scene (every kind the demo asks about). With every_colour, the colour of every
    shape whose kind is unique in the scene is asked, not only one drawn at random (same draws from rng either way)."""
    qa = [("How many shapes are there?", NUMBERS[len(shapes)].capitalize() + "."), ("Describe the image.", describe(shapes, size))]
    if len(shapes) == 1:
        s = shapes[0]
        qa.append(("What shape is in the image?", f"A {s['kind']}."))
        qa.append(("What colour is the shape?", s["colour"].capitalize() + "."))
    target = shapes[int(rng.integers(len(shapes)))]
    same_kind = [s for s in shapes if s["kind"] == target["kind"]]
    if len(same_kind) == 1:
        qa.append((f"What colour is the {target['kind']}?", target["colour"].capitalize() + "."))
    if every_colour and len(shapes) > 1:
        for s in shapes:
            if s is not target and sum(o["kind"] == s["kind"] for o in shapes) == 1:
                qa.append((f"What colour is the {s['kind']}?", s["colour"].capitalize() + "."))
    return qa


def video(rng, size=112, frames=8):
    """A shape moving in one direction across the frames; returns (frames, shape, direction); shape["track"] holds
    its centre in each frame."""
    _, shapes = scene(rng, size, count=1)
    s = shapes[0]
    direction = list(DIRECTIONS)[int(rng.integers(len(DIRECTIONS)))]
    dx, dy = DIRECTIONS[direction]
    r = s["r"]
    span = size - 2 * r - 4
    start = (r + 2 + (span if dx < 0 else 0) if dx else s["x"], r + 2 + (span if dy < 0 else 0) if dy else s["y"])
    images = []
    s["track"] = []  # the shape's centre in every frame
    for f in range(frames):
        t = f / max(1, frames - 1)
        moved = dict(s, x=int(start[0] + dx * span * t), y=int(start[1] + dy * span * t))
        s["track"].append((moved["x"], moved["y"]))
        images.append(draw(size, [moved]))
    return images, s, direction


def video_questions(shape, direction):
    return [
        (f"Which way does the {shape['colour']} {shape['kind']} move?", f"It moves {direction}."),
        ("Describe the video.", f"A {shape['colour']} {shape['kind']} moves {direction}."),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "questions.jsonl"), "w") as f:
        for i in range(args.count):
            image, shapes = scene(rng, args.size)
            name = f"scene-{i:03d}.png"
            image.save(os.path.join(args.out, name))
            for q, a in questions(rng, shapes, args.size):
                f.write(json.dumps({"image": name, "question": q, "answer": a}) + "\n")
        frames, shape, direction = video(rng, args.size)
        for j, frame in enumerate(frames):
            frame.save(os.path.join(args.out, f"video-frame-{j}.png"))
        for q, a in video_questions(shape, direction):
            f.write(json.dumps({"video": "video-frame-*.png", "question": q, "answer": a}) + "\n")


if __name__ == "__main__":
    main()
