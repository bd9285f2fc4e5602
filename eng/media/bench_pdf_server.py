#!/usr/bin/env python3
"""Benchmark peer for PDF rendering: PyMuPDF 1.21.1 (python3-fitz) kept loaded, timing only the work.

The pipeline is the seed's: page.get_pixmap(matrix=fitz.Matrix(2, 2)) then Image.frombytes("RGB", ...), optionally
followed by Aria's preprocessing with split_image on, as Aria's PDF recipe uses it (eng/images/family_pixels.py: split,
keep-ratio resize, pad, normalise to float32).

Protocol (one line each way): "open <path>" loads the file's bytes and opens it, answering the page count;
"page <n> <aria|none>" renders page n (1-based) of the open document, answering "<width>x<height>" or the number of
Aria views; "all <aria|none>" opens the document again from the bytes and renders every page, answering the page count.
"""
import os
import sys

import fitz  # PyMuPDF
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
import family_pixels as fp  # noqa: E402

ZOOM = fitz.Matrix(2, 2)
data = b""
doc = None


def render(page, aria):
    pix = page.get_pixmap(matrix=ZOOM)
    img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    if aria:
        return str(len(fp.aria(img, {"split_image": True})[0]))
    return f"{img.width}x{img.height}"


print("ready", flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "open":
        with open(parts[1], "rb") as f:
            data = f.read()
        doc = fitz.open(stream=data, filetype="pdf")
        print(doc.page_count, flush=True)
    elif parts[0] == "page":
        print(render(doc[int(parts[1]) - 1], parts[2] == "aria"), flush=True)
    elif parts[0] == "all":
        d = fitz.open(stream=data, filetype="pdf")
        for p in d:
            render(p, parts[1] == "aria")
        print(d.page_count, flush=True)
        d.close()
