#!/usr/bin/env python3
"""Writes the PDF test fixtures and PyMuPDF goldens for Multimodal.Media.Pdf into tests/data/media/pdf/.

Run with Debian's interpreter (python3-fitz = PyMuPDF 1.21.1, python3-pil, python3-numpy):

    /usr/bin/python3 eng/media/make_pdf_fixtures.py

Everything is deterministic (fixed dates and ids), so re-running reproduces the same files apart from the random
AES salt of the encrypted document. Content uses only Helvetica at 11 pt or more, lines at least 1 pt wide and plain
fills, so that different rasterisers (MuPDF, poppler-cairo) draw nearly the same pixels.

The Helvetica glyphs are embedded (MuPDF's built-in base-14 Helvetica, i.e. URW Nimbus Sans, 33 KB): a non-embedded
base-14 font is drawn by MuPDF from its built-in copy but by poppler from whatever fontconfig substitutes (DejaVu Sans
on a machine without fonts-urw-base35), which alone costs about 3 dB of PSNR on text-heavy pages.

Files:
  text-shapes.pdf       3 pages: A4, A4, US Letter landscape; text, rectangles, circles, lines, fills, a grid.
  text-shapes.p{1,2,3}.png  PyMuPDF page.get_pixmap(matrix=fitz.Matrix(2, 2), alpha=False), saved as PNG.
  text-shapes.json      page sizes (points), pixmap sizes at zoom 2, page texts (page.get_text()), metadata.
  multipage10.pdf       10 A4 pages numbered "Page N of 10" (parallel-order tests and the benchmark).
  encrypted.pdf         1 page, AES-256, user password "secret", owner password "owner-secret".
  truncated.pdf         the first 60 % of text-shapes.pdf.
  corrupt.pdf           a %PDF header and %%EOF trailer around garbage.
  not-a-pdf.pdf         a UTF-8 text file with a .pdf name.
  metadata.pdf          1 page with title, author, subject, keywords, creator and producer set.
"""
import io
import json
import os
import sys

import fitz  # PyMuPDF
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "media", "pdf")
ZOOM = 2
FIXED_DATE = "D:20240102030405+00'00'"

A4 = fitz.paper_rect("a4")            # 595 x 842
LETTER_LANDSCAPE = fitz.Rect(0, 0, 792, 612)
FONT = "HelvEmbedded"
FONT_BUFFER = fitz.Font("helv").buffer


def new_page(doc, width, height):
    page = doc.new_page(width=width, height=height)
    page.insert_font(fontname=FONT, fontbuffer=FONT_BUFFER)
    return page


def text_lines(page, x, y, lines, size=14, color=(0, 0, 0)):
    for i, line in enumerate(lines):
        page.insert_text((x, y + i * size * 1.5), line, fontname=FONT, fontsize=size, color=color)


def page_one(doc):
    page = new_page(doc, A4.width, A4.height)
    text_lines(page, 56, 80, ["Multimodal quarterly report"], size=24)
    text_lines(page, 56, 120, [
        "Revenue grew in every region this quarter.",
        "Shipments of the vision model doubled.",
        "The table below lists the four regions.",
    ])
    page.draw_rect(fitz.Rect(56, 200, 300, 320), color=(0, 0, 0), width=2)
    page.draw_rect(fitz.Rect(320, 200, 540, 320), color=(0.1, 0.3, 0.8), fill=(0.1, 0.3, 0.8), width=1)
    page.draw_circle((150, 420), 60, color=(0.8, 0.1, 0.1), width=3)
    page.draw_circle((420, 420), 50, color=(0, 0.5, 0), fill=(0.2, 0.7, 0.2), width=1)
    for i in range(6):  # a 5 x 4 table grid
        page.draw_line((56, 520 + i * 30), (540, 520 + i * 30), color=(0, 0, 0), width=1)
    for j in range(5):
        page.draw_line((56 + j * 121, 520), (56 + j * 121, 670), color=(0, 0, 0), width=1)
    for j, region in enumerate(["North", "South", "East", "West"]):
        page.insert_text((64 + j * 121, 541), region, fontname=FONT, fontsize=14)
    page.draw_line((56, 720), (540, 780), color=(0.5, 0, 0.5), width=4)
    text_lines(page, 56, 810, ["Page one ends here."], size=12)


def page_two(doc):
    page = new_page(doc, A4.width, A4.height)
    text_lines(page, 56, 80, ["Second page: shapes and colours"], size=20)
    colors = [(0.9, 0.2, 0.2), (0.2, 0.6, 0.9), (0.95, 0.75, 0.1), (0.4, 0.2, 0.6)]
    for i, c in enumerate(colors):
        page.draw_rect(fitz.Rect(56 + i * 125, 120, 156 + i * 125, 260), color=(0, 0, 0), fill=c, width=1.5)
    shape = page.new_shape()  # a filled triangle
    shape.draw_polyline([(100, 520), (300, 300), (500, 520), (100, 520)])
    shape.finish(color=(0, 0, 0), fill=(1, 0.5, 0), width=2, closePath=True)
    shape.commit()
    text_lines(page, 56, 580, [
        "Orange triangle above, four coloured boxes at the top.",
        "Invoices are due within thirty days.",
        "Contact the finance team for questions.",
    ])
    for i in range(8):
        page.draw_circle((80 + i * 62, 720), 24, color=(0, 0, 0), width=1.5)


def page_three(doc):
    page = new_page(doc, LETTER_LANDSCAPE.width, LETTER_LANDSCAPE.height)
    text_lines(page, 56, 72, ["Landscape letter page"], size=22)
    text_lines(page, 56, 110, ["Timeline of the project milestones:"], size=14)
    page.draw_line((56, 300), (736, 300), color=(0, 0, 0), width=3)
    for i, label in enumerate(["Design", "Build", "Test", "Launch", "Review"]):
        x = 96 + i * 150
        page.draw_circle((x, 300), 14, color=(0, 0, 0), fill=(0.2, 0.4, 0.8), width=1)
        page.insert_text((x - 20, 345), label, fontname=FONT, fontsize=14)
    page.draw_rect(fitz.Rect(56, 420, 736, 560), color=(0.3, 0.3, 0.3), fill=(0.92, 0.92, 0.85), width=2)
    text_lines(page, 76, 460, ["Launch is planned for the spring.", "Budget approved by the board."])


def save(doc, name, **kwargs):
    path = os.path.join(OUT, name)
    doc.save(path, garbage=4, deflate=True, **kwargs)
    return path


def fixed_metadata(doc, **extra):
    meta = {"creationDate": FIXED_DATE, "modDate": FIXED_DATE, "producer": "make_pdf_fixtures.py", "creator": "PyMuPDF"}
    meta.update(extra)
    doc.set_metadata(meta)


def main():
    os.makedirs(OUT, exist_ok=True)

    # The three-page text-and-shapes document and its goldens.
    doc = fitz.open()
    page_one(doc)
    page_two(doc)
    page_three(doc)
    fixed_metadata(doc, title="Text and shapes", author="Multimodal tests")
    main_path = save(doc, "text-shapes.pdf")
    doc.close()

    doc = fitz.open(main_path)
    golden = {"file": "text-shapes.pdf", "zoom": ZOOM, "pageCount": doc.page_count, "pages": [],
              "metadata": {k: doc.metadata.get(k) for k in ("format", "title", "author", "subject", "creator", "producer")}}
    for i, page in enumerate(doc):
        pix = page.get_pixmap(matrix=fitz.Matrix(ZOOM, ZOOM), alpha=False)
        png = f"text-shapes.p{i + 1}.png"
        Image.frombytes("RGB", (pix.width, pix.height), pix.samples).save(os.path.join(OUT, png), optimize=True)
        golden["pages"].append({
            "number": i + 1,
            "widthPoints": page.rect.width,
            "heightPoints": page.rect.height,
            "pixmapWidth": pix.width,
            "pixmapHeight": pix.height,
            "png": png,
            "text": page.get_text(),
        })
    # Pixmap sizes at other zooms, to pin down PyMuPDF's rounding rule (bbox = round_rect(page.rect * matrix)).
    golden["pixmapSizes"] = []
    for zoom in (0.5, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 150 / 72.0):
        for i, page in enumerate(doc):
            r = page.rect * fitz.Matrix(zoom, zoom)
            irect = r.irect
            golden["pixmapSizes"].append({"page": i + 1, "zoom": zoom, "width": irect.width, "height": irect.height})
    doc.close()
    with open(os.path.join(OUT, "text-shapes.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=2, ensure_ascii=False)
        f.write("\n")

    # Ten numbered pages.
    doc = fitz.open()
    for n in range(1, 11):
        page = new_page(doc, A4.width, A4.height)
        text_lines(page, 56, 80, [f"Page {n} of 10"], size=28)
        text_lines(page, 56, 130, [f"This is page number {n}.", "Rendered in parallel, yielded in order."])
        page.draw_rect(fitz.Rect(56, 200 + 20 * n, 56 + 40 * n, 260 + 20 * n), color=(0, 0, 0), fill=(n / 10, 0.3, 1 - n / 10), width=1)
        for k in range(n):
            page.draw_circle((80 + 45 * k, 600), 18, color=(0, 0, 0), width=2)
    fixed_metadata(doc, title="Ten pages")
    save(doc, "multipage10.pdf")
    doc.close()

    # Encrypted (AES-256, user password "secret").
    doc = fitz.open()
    page = new_page(doc, A4.width, A4.height)
    text_lines(page, 56, 80, ["Confidential: encrypted page"], size=20)
    page.draw_rect(fitz.Rect(56, 120, 300, 220), color=(0, 0, 0), fill=(0.8, 0.2, 0.2), width=1)
    fixed_metadata(doc, title="Encrypted")
    save(doc, "encrypted.pdf", encryption=fitz.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner-secret",
         permissions=fitz.PDF_PERM_PRINT | fitz.PDF_PERM_COPY | fitz.PDF_PERM_ACCESSIBILITY)
    doc.close()

    # Metadata.
    doc = fitz.open()
    page = new_page(doc, A4.width, A4.height)
    text_lines(page, 56, 80, ["A document with metadata"], size=20)
    doc.set_metadata({"title": "Annual Report 2023", "author": "Ada Lovelace", "subject": "Finance",
                      "keywords": "report, finance", "creator": "Multimodal fixture writer", "producer": "PyMuPDF 1.21.1",
                      "creationDate": FIXED_DATE, "modDate": FIXED_DATE})
    save(doc, "metadata.pdf")
    doc.close()

    # Broken inputs.
    with open(main_path, "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "truncated.pdf"), "wb") as f:
        f.write(data[: len(data) * 6 // 10])
    with open(os.path.join(OUT, "corrupt.pdf"), "wb") as f:
        junk = bytes((i * 131 + 7) % 251 for i in range(4000))
        f.write(b"%PDF-1.7\n" + junk + b"\nstartxref\n123456\n%%EOF\n")
    with open(os.path.join(OUT, "not-a-pdf.pdf"), "w", encoding="utf-8") as f:
        f.write("This is a plain text file that merely has a .pdf name.\nIt has no PDF header.\n")

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1024:.0f} KiB, into {OUT}")
    if total > 1024 * 1024:
        print("warning: the fixtures exceed 1 MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
