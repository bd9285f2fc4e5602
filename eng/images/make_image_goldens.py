#!/usr/bin/env python3
"""Writes the image-decoder test files and their Pillow goldens, for tests/Multimodal.Media.Images.Tests.

Run: /usr/bin/python3 eng/images/make_image_goldens.py
Needs: python3-pil (Pillow 9.4.0, built against libjpeg-turbo 2.1.5, libwebp 1.2.4, libtiff 4.5, zlib 1.2.13)
and python3-numpy, both Debian bookworm packages; libturbojpeg0 (called through
ctypes to write a YCCK JPEG, which Pillow cannot) and libjpeg-turbo-progs (jpegtran, for restart markers and
arithmetic coding): apt-get install python3-pil python3-numpy libturbojpeg0 libjpeg-turbo-progs.

Writes to tests/data/images/decoding/ (a folder of its own: tests/data/images/ also holds other suites' data):
  <name>.<ext>          small test images: gradients, noise and text-like sharp edges, odd sizes (1x1, 1x97, 97x1,
                        33x17), saved by Pillow where Pillow can write the variant, and by the small hand-written
                        encoders below where it cannot (16-bit RGB PNG, interlaced PNG, 2/4-bit grey, RLE BMP,
                        bit-field BMP, GIF frames smaller than the canvas, big-endian TIFF, ...).
  perf_1920x1080.jpg    a photo-like full-HD JPEG for the decode-speed test (checked by hash only).
  <name>.rgb.gz         for lossy formats (JPEG, lossy WebP) only: Pillow's convert("RGB") pixels, gzip'd raw
                        bytes, so that the tests can report the largest per-channel difference.
  goldens.json          one entry per image: Pillow's mode and size, and the SHA-256 of the raw bytes of
                        Image.open(f).convert("RGB"), .convert("RGBA") and .convert("L"), a few sample pixels,
                        and the same for ImageOps.exif_transpose(Image.open(f)).convert("RGB").

Everything is deterministic (fixed seeds, fixed encoder settings), so re-running the script reproduces the same
files with the same library versions. Goldens are never edited by hand and never regenerated to make a test pass.
"""
import ctypes
import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import warnings
import zlib

import numpy as np
from PIL import Image, ImageOps, TiffImagePlugin, features

OUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "images", "decoding"))


# ----------------------------------------------------------------------------------------------------------------
# Synthetic content


def pattern(w, h, seed):
    """RGB uint8 array: smooth gradients, seeded noise and a few sharp 'text-like' bars."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = x * 255 // max(w - 1, 1)
    g = y * 255 // max(h - 1, 1)
    b = ((x * 7 + y * 3) * 5) % 256
    img = np.stack([r, g, b], -1).astype(np.int32)
    for _ in range(max(1, (w * h) // 300)):
        x0, y0 = rng.randint(0, w), rng.randint(0, h)
        ww, hh = rng.randint(1, max(2, w // 3)), rng.randint(1, 3)
        img[y0:y0 + hh, x0:x0 + ww] = rng.choice([0, 255])
    img = img + rng.randint(-24, 25, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def gray(w, h, seed):
    p = pattern(w, h, seed).astype(np.int32)
    return ((p[..., 0] * 3 + p[..., 1] * 5 + p[..., 2] * 2) // 10).astype(np.uint8)


def alpha(w, h, seed):
    rng = np.random.RandomState(seed + 1000)
    y, x = np.mgrid[0:h, 0:w]
    a = (x + y) * 255 // max(w + h - 2, 1)
    a = a.astype(np.int32)
    a[rng.rand(h, w) < 0.15] = 0
    a[rng.rand(h, w) < 0.15] = 255
    return a.astype(np.uint8)


def photo_like(w, h, seed):
    """A larger, smoother image (for the 1920x1080 speed test): gradients, soft blobs, text-like bars, mild noise."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(x / 97.0) * np.cos(y / 131.0)
    g = 255 * x / w
    b = 255 * y / h
    img = np.stack([r, g, b], -1)
    for _ in range(60):
        cx, cy, rad = rng.randint(0, w), rng.randint(0, h), rng.randint(20, 160)
        col = rng.randint(0, 256, size=3)
        mask = ((x - cx) ** 2 + (y - cy) ** 2) < rad * rad
        img[mask] = img[mask] * 0.4 + col * 0.6
    for _ in range(400):
        x0, y0 = rng.randint(0, w - 200), rng.randint(0, h - 12)
        img[y0:y0 + rng.randint(2, 9), x0:x0 + rng.randint(4, 200)] = rng.choice([0, 255])
    img = img + rng.normal(0, 3, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------------
# Minimal encoders for variants Pillow 9.4 cannot write


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_filter_rows(raw_rows, bpp):
    """Filters each row with filter type (row index % 5), so every PNG filter is exercised."""
    out = bytearray()
    prev = bytearray(len(raw_rows[0])) if raw_rows else bytearray()
    for i, row in enumerate(raw_rows):
        ft = i % 5
        row = bytearray(row)
        f = bytearray(len(row))
        for j in range(len(row)):
            a = row[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            if ft == 0:
                pred = 0
            elif ft == 1:
                pred = a
            elif ft == 2:
                pred = b
            elif ft == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            f[j] = (row[j] - pred) & 0xFF
        out.append(ft)
        out += f
        prev = row
    return bytes(out)


def pack_row(samples, depth):
    """Packs one row of integer samples at the given bit depth (big-endian, MSB first)."""
    if depth == 8:
        return bytes(int(s) for s in samples)
    if depth == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    out = bytearray()
    acc, n = 0, 0
    for s in samples:
        acc = (acc << depth) | int(s)
        n += depth
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, arr, color_type, depth, palette=None, trns=None, interlace=False, exif=None):
    """arr: (h, w, channels) integer samples. Writes a PNG with every filter type and optional Adam7."""
    h, w, ch = arr.shape
    bits_pp = ch * depth
    bpp = max(1, bits_pp // 8)
    data = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            rows = [pack_row(sub[r].reshape(-1), depth) for r in range(sub.shape[0])]
            data += png_filter_rows(rows, bpp)
    else:
        rows = [pack_row(arr[r].reshape(-1), depth) for r in range(h)]
        data += png_filter_rows(rows, bpp)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(palette))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    if exif is not None:
        out += png_chunk(b"eXIf", exif)
    comp = zlib.compress(bytes(data), 9)
    # Split the stream over several IDAT chunks, as real encoders do.
    for i in range(0, len(comp), 97):
        out += png_chunk(b"IDAT", comp[i:i + 97])
    out += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def bmp_file(header, palette, pixels):
    off = 14 + len(header) + len(palette)
    return b"BM" + struct.pack("<IHHI", off + len(pixels), 0, 0, off) + header + palette + pixels


def bmp_info_header(w, h, bits, compression, size_image=0, colors=0, masks=None, header_size=40):
    hdr = struct.pack("<IiiHHIIiiII", header_size, w, h, 1, bits, compression, size_image, 2835, 2835, colors, 0)
    if header_size >= 108:
        r, g, b, a = masks
        hdr += struct.pack("<IIII", r, g, b, a) + b"BGRs" + b"\0" * 36 + b"\0" * 12
        if header_size == 124:
            hdr += struct.pack("<IIII", 4, 0, 0, 0)
    return hdr


def bmp_rows(arr_rows, stride):
    return b"".join(bytes(r) + b"\0" * (stride - len(r)) for r in arr_rows)


def rle8_encode(rows):
    out = bytearray()
    for row in rows:
        i = 0
        while i < len(row):
            run = 1
            while i + run < len(row) and run < 255 and row[i + run] == row[i]:
                run += 1
            if run >= 3 or len(row) - i < 3:
                out += bytes([run, row[i]])
                i += run
            else:
                # absolute mode for up to 8 pixels
                n = min(8, len(row) - i)
                out += bytes([0, n]) + bytes(row[i:i + n])
                if n % 2:
                    out.append(0)
                i += n
        out += b"\x00\x00"
    out += b"\x00\x01"
    return bytes(out)


def rle4_encode(rows):
    out = bytearray()
    for row in rows:
        i = 0
        while i < len(row):
            # encoded runs of two alternating nibbles
            run = 2 if i + 1 < len(row) else 1
            a = row[i]
            b = row[i + 1] if i + 1 < len(row) else 0
            while i + run < len(row) and run < 255 and row[i + run] == (a if run % 2 == 0 else b):
                run += 1
            if run >= 4 or len(row) - i < 4:
                out += bytes([run, (a << 4) | b])
                i += run
            else:
                n = 4
                out += bytes([0, n, (row[i] << 4) | row[i + 1], (row[i + 2] << 4) | row[i + 3]])
                i += n
        out += b"\x00\x00"
    out += b"\x00\x01"
    return bytes(out)


def gif_lzw(indices, min_code_size):
    """A real GIF LZW encoder (variable code width, table reset at 4096)."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out, acc, nbits = bytearray(), 0, 0

    def emit(code, width):
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    table = {(i,): i for i in range(clear)}
    nxt, width = end + 1, min_code_size + 1
    emit(clear, width)
    cur = ()
    for px in indices:
        cand = cur + (int(px),)
        if cand in table:
            cur = cand
            continue
        emit(table[cur], width)
        if nxt < 4096:
            table[cand] = nxt
            nxt += 1
            if nxt > (1 << width) and width < 12:
                width += 1
        else:
            emit(clear, width)
            table = {(i,): i for i in range(clear)}
            nxt, width = end + 1, min_code_size + 1
        cur = (int(px),)
    if cur:
        emit(table[cur], width)
    emit(end, width)
    if nbits:
        out.append(acc & 0xFF)
    blocks = bytearray()
    for i in range(0, len(out), 255):
        chunk = out[i:i + 255]
        blocks += bytes([len(chunk)]) + chunk
    return bytes(blocks) + b"\x00"


def gif_interlace_rows(h):
    return list(range(0, h, 8)) + list(range(4, h, 8)) + list(range(2, h, 4)) + list(range(1, h, 2))


def write_gif(path, screen, global_palette, frames, background=0):
    """frames: list of dicts with x, y, idx (h, w) array, local_palette, transparency, interlace."""
    w, h = screen
    out = bytearray(b"GIF89a")
    flags = 0
    if global_palette is not None:
        n = len(global_palette) // 3
        bits = max(1, (n - 1).bit_length())
        flags = 0x80 | ((bits - 1) << 4) | (bits - 1)
    out += struct.pack("<HHBBB", w, h, flags, background, 0)
    if global_palette is not None:
        out += bytes(global_palette)
    for fr in frames:
        if fr.get("transparency") is not None or len(frames) > 1:
            t = fr.get("transparency")
            out += b"\x21\xF9\x04" + bytes([(1 if t is not None else 0) | (fr.get("disposal", 0) << 2)])
            out += struct.pack("<H", 10) + bytes([t or 0]) + b"\x00"
        idx = fr["idx"]
        fh, fw = idx.shape
        lflags = 0
        lp = fr.get("local_palette")
        if lp is not None:
            n = len(lp) // 3
            bits = max(1, (n - 1).bit_length())
            lflags = 0x80 | (bits - 1)
        if fr.get("interlace"):
            lflags |= 0x40
            rows = gif_interlace_rows(fh)
            idx = idx[rows]
        out += b"\x2C" + struct.pack("<HHHHB", fr["x"], fr["y"], fw, fh, lflags)
        if lp is not None:
            out += bytes(lp)
        mcs = max(2, fr.get("bits", 8))
        out += bytes([mcs]) + gif_lzw(idx.reshape(-1), mcs)
    out += b"\x3B"
    with open(path, "wb") as f:
        f.write(out)


def write_tiff_mm_rgb(path, arr):
    """Big-endian ('MM') uncompressed RGB TIFF, two rows per strip."""
    h, w, _ = arr.shape
    rows_per_strip = 2
    strips = [arr[i:i + rows_per_strip].tobytes() for i in range(0, h, rows_per_strip)]
    n_entries = 10
    ifd_off = 8
    ifd_size = 2 + n_entries * 12 + 4
    bps_off = ifd_off + ifd_size
    offs_off = bps_off + 6
    counts_off = offs_off + 4 * len(strips)
    data_off = counts_off + 4 * len(strips)
    offsets, pos = [], data_off
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    out = bytearray(b"MM\x00\x2a" + struct.pack(">I", ifd_off))
    out += struct.pack(">H", n_entries)

    def entry(tag, typ, count, value):
        return struct.pack(">HHI", tag, typ, count) + value

    out += entry(256, 3, 1, struct.pack(">HH", w, 0))
    out += entry(257, 3, 1, struct.pack(">HH", h, 0))
    out += entry(258, 3, 3, struct.pack(">I", bps_off))
    out += entry(259, 3, 1, struct.pack(">HH", 1, 0))
    out += entry(262, 3, 1, struct.pack(">HH", 2, 0))
    out += entry(273, 4, len(strips), struct.pack(">I", offs_off))
    out += entry(277, 3, 1, struct.pack(">HH", 3, 0))
    out += entry(278, 3, 1, struct.pack(">HH", rows_per_strip, 0))
    out += entry(279, 4, len(strips), struct.pack(">I", counts_off))
    out += entry(284, 3, 1, struct.pack(">HH", 1, 0))
    out += struct.pack(">I", 0)
    out += struct.pack(">HHH", 8, 8, 8)
    out += b"".join(struct.pack(">I", o) for o in offsets)
    out += b"".join(struct.pack(">I", len(s)) for s in strips)
    out += b"".join(strips)
    with open(path, "wb") as f:
        f.write(out)


def write_ycck_jpeg(path, cmyk, quality=90):
    """TurboJPEG compresses packed CMYK (TJPF_CMYK) to a YCCK JPEG (Adobe transform 2); Pillow cannot write one."""
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitCompress.restype = ctypes.c_void_p
    tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    tj.tjFree.argtypes = [ctypes.c_void_p]
    tj.tjDestroy.argtypes = [ctypes.c_void_p]
    h, w, _ = cmyk.shape
    handle = tj.tjInitCompress()
    buf, size = ctypes.c_void_p(), ctypes.c_ulong(0)
    # TJPF_CMYK = 11, TJSAMP_420 = 2, flags = TJFLAG_ACCURATEDCT (4096)
    rc = tj.tjCompress2(handle, cmyk.tobytes(), w, 0, h, 11, ctypes.byref(buf), ctypes.byref(size), 2, quality, 4096)
    if rc != 0:
        raise RuntimeError("tjCompress2 failed")
    data = ctypes.string_at(buf, size.value)
    tj.tjFree(buf)
    tj.tjDestroy(handle)
    with open(path, "wb") as f:
        f.write(data)


def jpegtran(src, dst, *args):
    with open(dst, "wb") as f:
        f.write(subprocess.run(["jpegtran", "-copy", "all", *args, src], check=True, capture_output=True).stdout)


def exif_with_orientation(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


# ----------------------------------------------------------------------------------------------------------------
# Test images


def build():
    made = []  # (file name, lossy)

    def path(name):
        return os.path.join(OUT, name)

    def pil(name, im, fmt, lossy=False, **kw):
        im.save(path(name), fmt, **kw)
        made.append((name, lossy))

    def manual(name, lossy=False):
        made.append((name, lossy))
        return path(name)

    rgb = lambda w, h, s: Image.fromarray(pattern(w, h, s), "RGB")
    rgba = lambda w, h, s: Image.fromarray(np.dstack([pattern(w, h, s), alpha(w, h, s)]), "RGBA")
    lum = lambda w, h, s: Image.fromarray(gray(w, h, s), "L")

    # JPEG (libjpeg-turbo through Pillow): baseline 4:2:0 / 4:2:2 / 4:4:4, progressive, grayscale, CMYK, odd sizes.
    pil("jpeg_420.jpg", rgb(97, 61, 1), "JPEG", True, quality=85, subsampling=2)
    pil("jpeg_422.jpg", rgb(33, 17, 2), "JPEG", True, quality=90, subsampling=1)
    pil("jpeg_444.jpg", rgb(64, 48, 3), "JPEG", True, quality=92, subsampling=0)
    pil("jpeg_progressive.jpg", rgb(80, 53, 4), "JPEG", True, quality=80, progressive=True)
    pil("jpeg_progressive_444.jpg", rgb(41, 29, 5), "JPEG", True, quality=95, progressive=True, subsampling=0)
    pil("jpeg_gray.jpg", lum(45, 31, 6), "JPEG", True, quality=85)
    pil("jpeg_gray_progressive.jpg", lum(50, 20, 7), "JPEG", True, quality=85, progressive=True)
    pil("jpeg_cmyk.jpg", rgb(40, 30, 8).convert("CMYK"), "JPEG", True, quality=90)
    cmyk = np.dstack([pattern(23, 19, 9), gray(23, 19, 10)])  # a real K channel, not just rgb2cmyk's zero
    pil("jpeg_cmyk_k.jpg", Image.fromarray(cmyk, "CMYK"), "JPEG", True, quality=90)
    pil("jpeg_1x1.jpg", rgb(1, 1, 11), "JPEG", True, quality=90)
    pil("jpeg_1x97.jpg", rgb(1, 97, 12), "JPEG", True, quality=90)
    pil("jpeg_97x1.jpg", rgb(97, 1, 13), "JPEG", True, quality=90)
    pil("jpeg_33x17_q50.jpg", rgb(33, 17, 14), "JPEG", True, quality=50)
    pil("jpeg_exif_orientation6.jpg", rgb(40, 24, 15), "JPEG", True, quality=90, exif=exif_with_orientation(6))
    write_ycck_jpeg(manual("jpeg_ycck.jpg", True), np.dstack([pattern(37, 21, 16), gray(37, 21, 17)]))
    jpegtran(path("jpeg_420.jpg"), manual("jpeg_restart.jpg", True), "-restart", "2")
    jpegtran(path("jpeg_progressive.jpg"), manual("jpeg_arithmetic.jpg", True), "-arithmetic")
    # libjpeg warns about junk before a marker; Pillow ignores libjpeg warnings and decodes the image.
    with open(path("jpeg_444.jpg"), "rb") as f:
        j = f.read()
    with open(manual("jpeg_extraneous_bytes.jpg", True), "wb") as f:
        f.write(j[:-2] + b"\x00\x11\x22" + j[-2:])

    # PNG written by Pillow.
    pil("png_rgb.png", rgb(33, 17, 20), "PNG")
    pil("png_rgba.png", rgba(33, 17, 21), "PNG")
    pil("png_l.png", lum(33, 17, 22), "PNG")
    pil("png_la.png", Image.fromarray(np.dstack([gray(31, 13, 23), alpha(31, 13, 23)]), "LA"), "PNG")
    pbase = rgb(37, 23, 24).quantize(200, dither=Image.Dither.NONE)
    pil("png_p.png", pbase, "PNG")
    trns = bytes((i * 37) % 256 for i in range(150))
    pil("png_p_trns.png", pbase, "PNG", transparency=trns)
    pil("png_p_trns_single.png", pbase, "PNG", transparency=5)
    pil("png_p4.png", rgb(29, 11, 25).quantize(16, dither=Image.Dither.NONE), "PNG")
    pil("png_p2.png", rgb(29, 11, 26).quantize(4, dither=Image.Dither.NONE), "PNG")
    pil("png_p1.png", rgb(29, 11, 27).quantize(2, dither=Image.Dither.NONE), "PNG")
    pil("png_1bit.png", lum(35, 9, 28).convert("1"), "PNG")
    g16 = (gray(33, 17, 29).astype(np.uint16) * 257 // 3)
    g16[0, :8] = [0, 1, 200, 255, 256, 257, 1000, 65535]
    pil("png_gray16.png", Image.fromarray(g16, "I;16"), "PNG")
    pil("png_1x1.png", rgb(1, 1, 30), "PNG")
    pil("png_97x1.png", rgba(97, 1, 31), "PNG")
    for o in range(1, 9):
        pil(f"png_orientation{o}.png", rgb(7, 5, 40 + o), "PNG", exif=exif_with_orientation(o))

    # PNG variants Pillow cannot write: every filter, Adam7, 16-bit colour, 2/4-bit grey, tRNS for grey and RGB.
    write_png(manual("png_rgb16.png"), (pattern(21, 13, 50).astype(np.uint32) * 257 - np.random.RandomState(1).randint(0, 200, (13, 21, 3))).clip(0, 65535), 2, 16)
    rgba16 = np.dstack([pattern(19, 11, 51), alpha(19, 11, 51)]).astype(np.uint32) * 257
    write_png(manual("png_rgba16.png"), rgba16, 6, 16)
    la16 = np.dstack([gray(17, 9, 52), alpha(17, 9, 52)]).astype(np.uint32) * 257 + 3
    write_png(manual("png_la16.png"), la16.clip(0, 65535), 4, 16)
    write_png(manual("png_gray2.png"), (gray(23, 7, 53) // 64)[..., None], 0, 2)
    write_png(manual("png_gray4.png"), (gray(23, 7, 54) // 16)[..., None], 0, 4)
    write_png(manual("png_gray2_trns.png"), (gray(23, 7, 55) // 64)[..., None], 0, 2, trns=struct.pack(">H", 1))
    gt = gray(25, 9, 56)
    write_png(manual("png_gray_trns.png"), gt[..., None], 0, 8, trns=struct.pack(">H", int(gt[3, 3])))
    rt = pattern(25, 9, 57)
    rt[2:5, 2:9] = (10, 200, 30)
    write_png(manual("png_rgb_trns.png"), rt, 2, 8, trns=struct.pack(">HHH", 10, 200, 30))
    g16t = (gray(15, 9, 58).astype(np.uint32) * 300).clip(0, 65535)
    g16t[1, 1:6] = [232, 1000, 488, 65535, 255]
    write_png(manual("png_gray16_trns.png"), g16t[..., None], 0, 16, trns=struct.pack(">H", 1000))
    write_png(manual("png_interlaced_rgb.png"), pattern(33, 17, 59), 2, 8, interlace=True)
    write_png(manual("png_interlaced_rgba16.png"), rgba16, 6, 16, interlace=True)
    write_png(manual("png_interlaced_gray1.png"), (gray(19, 21, 60) > 128).astype(np.uint8)[..., None], 0, 1, interlace=True)
    pal = bytes(np.random.RandomState(61).randint(0, 256, 16 * 3).astype(np.uint8))
    write_png(manual("png_interlaced_p4.png"), (gray(13, 10, 61) // 16)[..., None], 3, 4, palette=pal, trns=bytes([0, 128, 255, 7]), interlace=True)
    write_png(manual("png_interlaced_1x97.png"), pattern(1, 97, 62), 2, 8, interlace=True)
    write_png(manual("png_interlaced_97x1.png"), pattern(97, 1, 63), 2, 8, interlace=True)
    write_png(manual("png_interlaced_3x2.png"), pattern(3, 2, 64), 2, 8, interlace=True)
    # A palette shorter than the indices used: Pillow maps missing entries to its grey ramp.
    write_png(manual("png_p_short_palette.png"), (gray(16, 8, 65) // 12)[..., None], 3, 8, palette=bytes(range(24)))

    # WebP (libwebp 1.2.4 through Pillow).
    pil("webp_lossy.webp", rgb(64, 48, 70), "WEBP", True, quality=80, method=4)
    pil("webp_lossy_alpha.webp", rgba(33, 17, 71), "WEBP", True, quality=75, method=4)
    pil("webp_lossless.webp", rgb(33, 17, 72), "WEBP", lossless=True)
    pil("webp_lossless_alpha.webp", rgba(31, 19, 73), "WEBP", lossless=True)
    pil("webp_1x1.webp", rgb(1, 1, 74), "WEBP", lossless=True)
    pil("webp_exif_orientation8.webp", rgb(21, 9, 75), "WEBP", lossless=True, exif=exif_with_orientation(8))

    # BMP written by Pillow: 24-bit, 32-bit (Pillow writes RGBA as BI_RGB, so it reads back as RGB), palettes.
    pil("bmp_24.bmp", rgb(33, 17, 80), "BMP")
    pil("bmp_32.bmp", rgba(31, 13, 81), "BMP")
    pil("bmp_8_palette.bmp", rgb(37, 23, 82).quantize(200, dither=Image.Dither.NONE), "BMP")
    pil("bmp_8_gray.bmp", lum(29, 11, 83), "BMP")
    pil("bmp_1.bmp", lum(35, 9, 84).convert("1"), "BMP")
    pil("bmp_1x97.bmp", rgb(1, 97, 85), "BMP")

    # BMP variants Pillow cannot write.
    w, h = 23, 9
    p = pattern(w, h, 86)
    bgr = p[..., ::-1]
    top_down = bmp_rows([bgr[y].tobytes() for y in range(h)], (w * 3 + 3) & ~3)
    with open(manual("bmp_24_topdown.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, -h, 24, 0), b"", top_down))
    v565 = ((p[..., 0].astype(np.uint32) >> 3) << 11) | ((p[..., 1].astype(np.uint32) >> 2) << 5) | (p[..., 2] >> 3)
    rows565 = [v565[y].astype("<u2").tobytes() for y in range(h - 1, -1, -1)]
    with open(manual("bmp_16_565.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 16, 3), struct.pack("<III", 0xF800, 0x7E0, 0x1F), bmp_rows(rows565, (w * 2 + 3) & ~3)))
    v555 = ((p[..., 0].astype(np.uint32) >> 3) << 10) | ((p[..., 1].astype(np.uint32) >> 3) << 5) | (p[..., 2] >> 3)
    rows555 = [v555[y].astype("<u2").tobytes() for y in range(h - 1, -1, -1)]
    with open(manual("bmp_16_555.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 16, 0), b"", bmp_rows(rows555, (w * 2 + 3) & ~3)))
    a = alpha(w, h, 87)
    bgra = np.dstack([bgr, a])
    rows32 = [bgra[y].tobytes() for y in range(h - 1, -1, -1)]
    with open(manual("bmp_32_v5_alpha.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 32, 3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000), header_size=124), b"", b"".join(rows32)))
    idx4 = gray(w, h, 88) // 16
    pal4 = bytes(np.random.RandomState(88).randint(0, 256, 16 * 4).astype(np.uint8))
    rows4 = [pack_row(idx4[y], 4) for y in range(h - 1, -1, -1)]
    with open(manual("bmp_4.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 4, 0, colors=16), pal4, bmp_rows(rows4, ((w * 4 + 31) >> 3) & ~3)))
    idx8 = (gray(w, h, 89) // 40).astype(np.uint8)
    idx8[:, 5:12] = 3
    pal8 = bytes(np.random.RandomState(89).randint(0, 256, 8 * 4).astype(np.uint8))
    with open(manual("bmp_rle8.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 8, 1, colors=8), pal8, rle8_encode([list(idx8[y]) for y in range(h - 1, -1, -1)])))
    idx4b = (gray(w, h, 90) // 32).astype(np.uint8)
    idx4b[:, 3:14] = 5
    with open(manual("bmp_rle4.bmp"), "wb") as f:
        f.write(bmp_file(bmp_info_header(w, h, 4, 2, colors=8), pal8, rle4_encode([list(idx4b[y]) for y in range(h - 1, -1, -1)])))

    # GIF written by Pillow (first frame is what the decoder returns).
    pil("gif_p.gif", rgb(37, 23, 100).quantize(200, dither=Image.Dither.NONE), "GIF")
    pil("gif_p_interlaced.gif", rgb(40, 33, 101).quantize(64, dither=Image.Dither.NONE), "GIF", interlace=True)
    pil("gif_p_transparent.gif", rgb(33, 17, 102).quantize(100, dither=Image.Dither.NONE), "GIF", transparency=7)
    pil("gif_gray.gif", lum(33, 17, 103), "GIF")
    f1 = rgb(30, 20, 104).quantize(50, dither=Image.Dither.NONE)
    f2 = rgb(30, 20, 105).quantize(50, dither=Image.Dither.NONE)
    f1.save(path("gif_animated.gif"), "GIF", save_all=True, append_images=[f2], duration=100, loop=0)
    made.append(("gif_animated.gif", False))
    # Hand-written GIFs: a first frame smaller than the canvas, with and without transparency; a local palette.
    gp = bytes(np.random.RandomState(106).randint(0, 256, 32 * 3).astype(np.uint8))
    write_gif(manual("gif_offset_frame.gif"), (31, 19), gp, [{"x": 5, "y": 3, "idx": (gray(17, 9, 106) // 8).astype(np.uint8), "bits": 5}])
    write_gif(manual("gif_offset_transparent.gif"), (31, 19), gp, [{"x": 7, "y": 2, "idx": (gray(13, 11, 107) // 8).astype(np.uint8), "bits": 5, "transparency": 3}])
    lp = bytes(np.random.RandomState(108).randint(0, 256, 16 * 3).astype(np.uint8))
    write_gif(manual("gif_local_palette_interlaced.gif"), (19, 21), gp, [{"x": 0, "y": 0, "idx": (gray(19, 21, 108) // 16).astype(np.uint8), "bits": 4, "local_palette": lp, "interlace": True}])
    # A grey-ramp palette (entry i is (i, i, i)) makes Pillow open the GIF as mode "L" instead of "P".
    ramp = bytes(v for i in range(256) for v in (i, i, i))
    write_gif(manual("gif_identity_palette_l.gif"), (23, 11), ramp, [{"x": 0, "y": 0, "idx": gray(23, 11, 109), "bits": 8}])
    write_gif(manual("gif_identity_palette_l_transparent.gif"), (23, 11), ramp, [{"x": 2, "y": 1, "idx": gray(19, 9, 109), "bits": 8, "transparency": int(gray(19, 9, 109)[4, 4])}])
    write_gif(manual("gif_1x1.gif"), (1, 1), gp[:12], [{"x": 0, "y": 0, "idx": np.array([[2]], np.uint8), "bits": 2}])

    # TIFF written by Pillow (libtiff 4.5 for the compressed ones). A small strip size forces several strips.
    TiffImagePlugin.STRIP_SIZE = 512
    pil("tiff_rgb_raw.tif", rgb(33, 17, 110), "TIFF")
    pil("tiff_rgb_lzw.tif", rgb(33, 17, 111), "TIFF", compression="tiff_lzw")
    pil("tiff_rgb_lzw_predictor.tif", rgb(33, 17, 112), "TIFF", compression="tiff_lzw", tiffinfo={317: 2})
    pil("tiff_rgb_packbits.tif", rgb(33, 17, 113), "TIFF", compression="packbits")
    pil("tiff_rgb_deflate.tif", rgb(33, 17, 114), "TIFF", compression="tiff_adobe_deflate")
    pil("tiff_rgb_deflate_predictor.tif", rgb(33, 17, 115), "TIFF", compression="tiff_adobe_deflate", tiffinfo={317: 2})
    pil("tiff_rgba_lzw.tif", rgba(31, 13, 116), "TIFF", compression="tiff_lzw")
    pil("tiff_l_packbits.tif", lum(33, 17, 117), "TIFF", compression="packbits")
    pil("tiff_1bit.tif", lum(35, 9, 118).convert("1"), "TIFF")
    pil("tiff_p_lzw.tif", rgb(37, 23, 119).quantize(200, dither=Image.Dither.NONE), "TIFF", compression="tiff_lzw")
    pil("tiff_i16.tif", Image.fromarray(g16, "I;16"), "TIFF")
    pil("tiff_cmyk.tif", Image.fromarray(np.dstack([pattern(19, 11, 120), gray(19, 11, 121)]), "CMYK"), "TIFF")
    pil("tiff_la.tif", Image.fromarray(np.dstack([gray(19, 11, 122), alpha(19, 11, 122)]), "LA"), "TIFF", compression="tiff_adobe_deflate")
    pil("tiff_orientation6.tif", rgb(13, 7, 123), "TIFF", tiffinfo={274: 6})
    TiffImagePlugin.STRIP_SIZE = 65536
    write_tiff_mm_rgb(manual("tiff_rgb_bigendian.tif"), pattern(21, 9, 124))

    return made


# ----------------------------------------------------------------------------------------------------------------
# Goldens


def sha(im):
    return hashlib.sha256(im.tobytes()).hexdigest()


def golden(name, lossy):
    with Image.open(os.path.join(OUT, name)) as im:
        im.load()
        mode, (w, h) = im.mode, im.size
        rgb = im.convert("RGB")
        rgba = im.convert("RGBA")
        l = im.convert("L")
        t = ImageOps.exif_transpose(im).convert("RGB")
    samples = []
    for (x, y) in sorted({(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, h // 2), (w // 3, (2 * h) // 3)}):
        samples.append([x, y] + list(rgba.getpixel((x, y))))
    entry = {
        "file": name,
        "mode": mode,
        "width": w,
        "height": h,
        "lossy": lossy,
        "rgb_sha256": sha(rgb),
        "rgba_sha256": sha(rgba),
        "l_sha256": sha(l),
        "samples_rgba": samples,
        "transposed": {"width": t.size[0], "height": t.size[1], "rgb_sha256": sha(t)},
    }
    if lossy:
        raw = name + ".rgb.gz"
        with open(os.path.join(OUT, raw), "wb") as f:
            # mtime=0 and no file name keep the gzip bytes deterministic.
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
                gz.write(rgb.tobytes())
        entry["rgb_raw"] = raw
    return entry


def main():
    # Pillow warns when a palette image with per-entry tRNS alphas is converted to RGB; that is what we want.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    os.makedirs(OUT, exist_ok=True)
    # Start from an empty folder so that renamed cases leave nothing stale behind. Only this script writes here.
    for f in os.listdir(OUT):
        full = os.path.join(OUT, f)
        if os.path.isfile(full):
            os.remove(full)
    made = build()

    # The speed-test JPEG: a 1920x1080 photo-like image, checked by hash only.
    big = Image.fromarray(photo_like(1920, 1080, 200), "RGB")
    big.save(os.path.join(OUT, "perf_1920x1080.jpg"), "JPEG", quality=85)
    made.append(("perf_1920x1080.jpg", True))

    entries = []
    for name, lossy in made:
        e = golden(name, lossy and not name.startswith("perf_"))
        entries.append(e)
    doc = {
        "generator": "eng/images/make_image_goldens.py",
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "libwebp": features.version("webp"),
        "libtiff": features.version("libtiff"),
        "zlib": features.version("zlib"),
        "images": entries,
    }
    with open(os.path.join(OUT, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(entries)} images to {OUT} ({total / 1024:.0f} KiB in all)")


if __name__ == "__main__":
    main()
