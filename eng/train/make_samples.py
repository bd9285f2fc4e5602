"""Writes the committed demo images in samples/ (the README's demo asks the bundled tiny models about them).

    /usr/bin/python3 eng/train/make_samples.py

They are drawn like the training scenes (eng/train/scenes.py) but placed by hand, so they are not in the
training or held-out sets.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenes as S  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "samples")
R = 112 // S.RADIUS_DIVISOR

SAMPLES = {
    "red-circle.png": [{"kind": "circle", "colour": "red", "x": 50, "y": 58, "r": R}],
    "blue-star.png": [{"kind": "star", "colour": "blue", "x": 88, "y": 26, "r": R}],
    "three-shapes.png": [{"kind": "square", "colour": "green", "x": 24, "y": 22, "r": R},
                         {"kind": "triangle", "colour": "yellow", "x": 86, "y": 30, "r": R},
                         {"kind": "circle", "colour": "blue", "x": 56, "y": 88, "r": R}],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, shapes in SAMPLES.items():
        S.draw(112, shapes).save(os.path.join(OUT, name), optimize=True)
        print(name, "-", S.describe(shapes, 112))


if __name__ == "__main__":
    main()
