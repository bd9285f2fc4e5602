"""Writes the committed demo inputs in samples/ (the README's demo asks the bundled tiny models about them): three
scenes as PNGs, the same scenes as the pages of a PDF (56 x 56 points each, so that Aria's 2x recipe renders them at
the training size, 112 px), and a short H.264 video of a moving shape (lossless 4:4:4, 8 frames at 4 fps).

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


VIDEO = {"kind": "star", "colour": "red", "direction": "right", "y": 56}


def write_pdf(path, pngs):
    import fitz  # PyMuPDF (python3-fitz)
    doc = fitz.open()
    for png in pngs:
        page = doc.new_page(width=56, height=56)
        page.insert_image(page.rect, filename=png)
    doc.set_metadata({"title": "Shapes", "author": "Multimodal samples"})
    doc.save(path, garbage=4, deflate=True)


def write_video(path, frames=8, fps=4):
    import subprocess
    import tempfile
    r = R
    span = 112 - 2 * r - 4
    with tempfile.TemporaryDirectory() as tmp:
        for f in range(frames):
            x = int(r + 2 + span * f / (frames - 1))
            shape = {"kind": VIDEO["kind"], "colour": VIDEO["colour"], "x": x, "y": VIDEO["y"], "r": r}
            S.draw(112, [shape]).save(os.path.join(tmp, f"f{f:02d}.png"))
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-framerate", str(fps), "-i", os.path.join(tmp, "f%02d.png"),
                        "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", "-g", "4", "-bf", "2",
                        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", path], check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, shapes in SAMPLES.items():
        S.draw(112, shapes).save(os.path.join(OUT, name), optimize=True)
        print(name, "-", S.describe(shapes, 112))
    write_pdf(os.path.join(OUT, "shapes.pdf"), [os.path.join(OUT, n) for n in SAMPLES])
    print("shapes.pdf - pages:", ", ".join(SAMPLES))
    write_video(os.path.join(OUT, "moving-star.mp4"))
    print("moving-star.mp4 -", f"A {VIDEO['colour']} {VIDEO['kind']} moves {VIDEO['direction']}.")


if __name__ == "__main__":
    main()
