#!/usr/bin/env python3
"""Writes the family PIXEL-pipeline goldens: tests/data/images/pixels/manifest.json and one <case>.npz per case.

Each family's pipeline is written below with PIL + NumPy exactly as the reference code runs it (same operations,
same order, same PIL calls); the geometry helpers are imported from family_geometry.py (the literal ports already
proven against the C# geometry), and every PIL operation is done here on real pixels:

  * HF transformers CLIPImageProcessor (slow path): convert_rgb, resize (shortest edge, PIL BICUBIC on uint8),
    center_crop (numpy slicing, zero pad when smaller), rescale (float64 * 1/255 -> float32), normalize (float32).
  * haotian-liu/LLaVA llava/mm_utils.py process_images: expand2square(mean colour) then CLIP-336 ("pad");
    LLaVA-Lightning-MPT preview: no image_aspect_ratio -> CLIP-224 directly.
  * EvolvingLMMs-Lab/LongVA longva/longva/mm_utils.py process_anyres_image: resize_and_pad_image (PIL default
    filter, black canvas), divide_to_patches, base = image.resize((336, 336)) first, each view through CLIP-336;
    video frames: CLIP-336 per frame.
  * rese1f/aurora inference.py: CLIPImageProcessor(size=378, crop_size=378).
  * openbmb/MiniCPM-V-2 modeling_minicpmv.py slice_image (seed 004): source resized BICUBIC, refine image
    resized BICUBIC and cropped row-major; transform = ToTensor (float32 / 255) + Normalize(0.5, 0.5).
  * rhymes-ai/Aria aria/model/vision_processor.py: _split_image (resize of the ORIGINAL image with PIL's default
    filter, M x M crops, global first), keep_ratio_resize_and_pixel_mask (convert RGB, BICUBIC, ImageOps.expand
    right/bottom with 0), ToTensor + Normalize(0.5, 0.5).

Source images are generated, not stored: make_source() uses only integer arithmetic (gradients, a checkerboard
and a 32-bit hash for a noise box) so the C# test regenerates them bit for bit; the manifest records each
source's SHA-256 so a drift in the generator fails loudly. Content is mostly smooth on purpose: the .npz
archives (np.savez_compressed: zip-deflated .npy float32 members) then stay small even for 980 x 980 views.

Run: /usr/bin/python3 eng/images/family_pixels.py
Goldens are never regenerated to make a test pass.
"""
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import family_geometry as fg  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "images", "pixels")

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
HALF = [0.5, 0.5, 0.5]


# ------------------------------------------------------------------------------------------------
# Deterministic sources (mirrored in C#: tests/Multimodal.Core.Tests/Preprocessing/Processors/PixelGoldens.cs)
# ------------------------------------------------------------------------------------------------

def hash32(x, y, seed):
    """lowbias32 of a mix of (x, y, seed), all uint32 with wrap-around."""
    h = (x.astype(np.uint32) * np.uint32(0x9E3779B1)) ^ (y.astype(np.uint32) * np.uint32(0x85EBCA77)) \
        ^ np.uint32((seed * 0xC2B2AE3D) & 0xFFFFFFFF)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return h


def make_source(w, h, channels, seed):
    """HxWxC uint8: R = x gradient, G = y gradient, B = checkerboard, a hashed-noise box in the middle
    (x in [3w/8, 5w/8), y in [3h/8, 5h/8)); alpha = diagonal ramp; grey = (R + G + B) // 3."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.int64)
    r = (xs * 255) // max(w - 1, 1)
    g = (ys * 255) // max(h - 1, 1)
    cx, cy = max(1, w // 7), max(1, h // 5)
    b = 40 + 170 * (((xs // cx) + (ys // cy)) & 1)
    noise = hash32(xs, ys, seed).astype(np.int64)
    box = (xs >= (3 * w) // 8) & (xs < (5 * w) // 8) & (ys >= (3 * h) // 8) & (ys < (5 * h) // 8)
    r = np.where(box, noise & 255, r)
    g = np.where(box, (noise >> 8) & 255, g)
    b = np.where(box, (noise >> 16) & 255, b)
    if channels == 1:
        return ((r + g + b) // 3).astype(np.uint8)[:, :, None]
    planes = [r, g, b]
    if channels == 4:
        planes.append(255 - ((xs + ys) * 255) // max(w + h - 2, 1))
    return np.stack(planes, axis=-1).astype(np.uint8)


def to_pil(arr):
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    return Image.fromarray(arr[:, :, 0] if mode == "L" else arr, mode)


SOURCES = {
    # name: (width, height, channels, seed)
    "px1": (1, 1, 3, 1),
    "tall": (5, 300, 3, 2),
    "wide": (300, 5, 3, 3),
    "odd": (97, 89, 3, 4),
    "odd_rgba": (97, 89, 4, 5),
    "odd_gray": (97, 89, 1, 6),
    "mid": (700, 500, 3, 7),
    "big": (1344, 896, 3, 8),
}


# ------------------------------------------------------------------------------------------------
# HF transformers: CLIPImageProcessor.preprocess (PIL backend)
# ------------------------------------------------------------------------------------------------

def hf_center_crop(arr, crop_h, crop_w):
    """image_transforms.center_crop on an HWC array (ChannelDimension.LAST)."""
    orig_height, orig_width = arr.shape[:2]
    top = (orig_height - crop_h) // 2
    bottom = top + crop_h
    left = (orig_width - crop_w) // 2
    right = left + crop_w
    if top >= 0 and bottom <= orig_height and left >= 0 and right <= orig_width:
        return arr[top:bottom, left:right, :]
    new_height = max(crop_h, orig_height)
    new_width = max(crop_w, orig_width)
    new_image = np.zeros((new_height, new_width, arr.shape[2]), dtype=arr.dtype)
    top_pad = int(np.ceil((new_height - orig_height) / 2))
    bottom_pad = top_pad + orig_height
    left_pad = int(np.ceil((new_width - orig_width) / 2))
    right_pad = left_pad + orig_width
    new_image[top_pad:bottom_pad, left_pad:right_pad, :] = arr
    top += top_pad
    bottom += top_pad
    left += left_pad
    right += left_pad
    return new_image[max(0, top):min(new_height, bottom), max(0, left):min(new_width, right), :]


def hf_rescale_normalize(arr, mean, std):
    x = (arr.astype(np.float64) * 0.00392156862745098).astype(np.float32)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def clip_preprocess(img, shortest_edge, crop_size, mean=CLIP_MEAN, std=CLIP_STD):
    img = img.convert("RGB")                                           # do_convert_rgb
    arr = np.array(img)
    new_h, new_w = fg.get_resize_output_image_size(arr.shape[:2], shortest_edge, default_to_square=False)
    arr = np.array(Image.fromarray(arr).resize((new_w, new_h), resample=Image.BICUBIC, reducing_gap=None))
    arr = hf_center_crop(arr, crop_size, crop_size)
    return hf_rescale_normalize(arr, mean, std)


# ------------------------------------------------------------------------------------------------
# torchvision ToTensor + Normalize(0.5, 0.5)
# ------------------------------------------------------------------------------------------------

def tv_transform(img, mean=HALF, std=HALF):
    arr = np.array(img.convert("RGB")) if img.mode != "RGB" else np.array(img)
    x = arr.astype(np.float32) / np.float32(255)                       # ToTensor: img.float().div(255)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)   # Normalize: sub_(mean).div_(std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Families. Each returns (views, grid_rows, grid_cols); a view is dict(kind, row, col, tensor[, mask], tokens).
# ------------------------------------------------------------------------------------------------

def expand2square(pil_img, background_color):
    width, height = pil_img.size
    if width == height:
        return pil_img
    elif width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    else:
        result = Image.new(pil_img.mode, (height, height), background_color)
        result.paste(pil_img, ((height - width) // 2, 0))
        return result


def view(kind, row, col, tensor, tokens, mask=None):
    return {"kind": kind, "row": row, "col": col, "tensor": tensor, "tokens": tokens, "mask": mask}


def llava15(img, options):
    img = img.convert("RGB")                                           # run_llava.py: Image.open(...).convert("RGB")
    img = expand2square(img, tuple(int(x * 255) for x in CLIP_MEAN))
    return [view("global", 0, 0, clip_preprocess(img, 336, 336), 576)], 0, 0


def llava_mpt(img, options):
    img = img.convert("RGB")
    return [view("global", 0, 0, clip_preprocess(img, 224, 224), 256)], 0, 0


def auroracap(img, options):
    return [view("global", 0, 0, clip_preprocess(img, 378, 378), 729)], 0, 0


def clip_small_edge(img, options):
    """A CLIP configuration whose crop exceeds the resized image (shortest_edge 100 < crop 120): exercises
    center_crop's zero padding, which the five families never reach."""
    return [view("global", 0, 0, clip_preprocess(img, 100, 120), (120 // 14) ** 2)], 0, 0


def longva_frame(img, options):
    return [view("global", 0, 0, clip_preprocess(img, 336, 336), 144)], 0, 0


def resize_and_pad_image(image, target_resolution):
    (new_width, new_height), (paste_x, paste_y) = fg.resize_and_pad_image(image.size, target_resolution)
    resized_image = image.resize((new_width, new_height))
    new_image = Image.new("RGB", target_resolution, (0, 0, 0))
    new_image.paste(resized_image, (paste_x, paste_y))
    return new_image


def longva(img, options):
    image = img.convert("RGB")                                         # README: Image.open(...).convert("RGB")
    best_resolution = fg.select_best_resolution(image.size, fg.LONGVA_PINPOINTS)
    image_padded = resize_and_pad_image(image, best_resolution)
    patches = [image_padded.crop(box) for box in fg.divide_to_patches(image_padded.size, 336)]
    image_original_resize = image.resize((336, 336))
    cols, rows = fg.get_anyres_image_grid_shape(image.size, fg.LONGVA_PINPOINTS, 336)
    views = [view("global", 0, 0, clip_preprocess(image_original_resize, 336, 336), 0)]
    for i, patch in enumerate(patches):
        views.append(view("tile", i // cols, i % cols, clip_preprocess(patch, 336, 336), 144))
    return views, rows, cols


def minicpmv(img, options):
    image = img.convert("RGB")                                         # chat.py: Image.open(...).convert("RGB")
    max_slice_nums = options.get("max_slice_nums", 9)
    never_split = options.get("never_split", False)
    source_size, patch_boxes, best_grid, refine_size = fg.slice_image(image.size, max_slice_nums, 448, 14, never_split)
    # modeling_minicpmv.slice_image: image.resize(best_size, BICUBIC) / image.copy().resize(best_resize, BICUBIC)
    source_image = image.resize(source_size, Image.Resampling.BICUBIC)
    views = [view("global", 0, 0, tv_transform(source_image), 64)]
    if patch_boxes:
        refine_image = image.resize(refine_size, Image.Resampling.BICUBIC)
        for i in range(len(patch_boxes)):
            for j in range(len(patch_boxes[0])):
                views.append(view("tile", i, j, tv_transform(refine_image.crop(patch_boxes[i][j])), 64))
        return views, best_grid[1], best_grid[0]
    return views, 0, 0


def keep_ratio_resize_and_pixel_mask(img, max_size, min_size=336, padding_value=0):
    img = img.convert("RGB")
    scale = max_size / max(img.size)
    w, h = img.size
    if w >= h:
        new_size = (max_size, max(int(h * scale), min_size))
    else:
        new_size = (max(int(w * scale), min_size), max_size)
    img_resized = img.resize(new_size, resample=Image.Resampling.BICUBIC)
    padding_right, padding_bottom = max_size - new_size[0], max_size - new_size[1]
    img_padded = ImageOps.expand(img_resized, (0, 0, padding_right, padding_bottom), fill=padding_value)
    pixel_mask = np.zeros((max_size, max_size), dtype=bool)
    pixel_mask[: new_size[1], : new_size[0]] = True
    return img_padded, pixel_mask


def aria_split_image(image, split_image, split_ratio, patch_size):
    if split_image:
        ratio_width, ratio_height = fg._select_best_resolution(image.width, image.height, split_ratio, patch_size)
        resize_width = patch_size * ratio_width
        resize_height = patch_size * ratio_height
        blocks = ratio_width * ratio_height
        resized_img = image.resize((resize_width, resize_height))
        processed_images = []
        for i in range(blocks):
            box = (
                (i % (resize_width // patch_size)) * patch_size,
                (i // (resize_width // patch_size)) * patch_size,
                ((i % (resize_width // patch_size)) + 1) * patch_size,
                ((i // (resize_width // patch_size)) + 1) * patch_size,
            )
            processed_images.append(resized_img.crop(box))
        assert len(processed_images) == blocks
        if len(processed_images) != 1:
            processed_images.insert(0, image)
        return processed_images, (ratio_width, ratio_height)
    return [image], None


def aria(img, options):
    max_size = options.get("max_image_size", 980)
    split = options.get("split_image", False)
    crops, ratio = aria_split_image(img, split, fg.ARIA_SPLIT_RATIO, max_size)
    tokens = fg.aria_num_image_tokens(max_size)
    views = []
    for i, crop in enumerate(crops):
        padded, mask = keep_ratio_resize_and_pixel_mask(crop, max_size, 336)
        if ratio is None or i == 0:
            kind, row, col = "global", 0, 0
        else:
            kind, row, col = "tile", (i - 1) // ratio[0], (i - 1) % ratio[0]
        views.append(view(kind, row, col, tv_transform(padded), tokens, mask))
    return views, (ratio[1] if ratio else 0), (ratio[0] if ratio else 0)


FAMILIES = {
    "llava15": llava15,
    "llava_mpt": llava_mpt,
    "auroracap": auroracap,
    "longva": longva,
    "longva_frame": longva_frame,
    "minicpmv2": minicpmv,
    "aria": aria,
    "clip_s100_c120": clip_small_edge,
}

# (family, source, options): every family on odd and degenerate sizes; 1344x896 where tiling needs it.
CASES = [
    ("llava15", "px1", {}), ("llava15", "tall", {}), ("llava15", "wide", {}), ("llava15", "odd", {}),
    ("llava15", "odd_rgba", {}), ("llava15", "mid", {}),
    ("llava_mpt", "px1", {}), ("llava_mpt", "tall", {}), ("llava_mpt", "wide", {}), ("llava_mpt", "odd_gray", {}),
    ("llava_mpt", "mid", {}),
    ("auroracap", "px1", {}), ("auroracap", "tall", {}), ("auroracap", "wide", {}), ("auroracap", "odd", {}),
    ("auroracap", "mid", {}),
    ("longva", "px1", {}), ("longva", "tall", {}), ("longva", "wide", {}), ("longva", "odd", {}),
    ("longva", "mid", {}), ("longva", "big", {}),
    ("longva_frame", "odd", {}), ("longva_frame", "mid", {}), ("longva_frame", "wide", {}),
    ("minicpmv2", "px1", {}), ("minicpmv2", "tall", {}), ("minicpmv2", "wide", {}), ("minicpmv2", "odd", {}),
    ("minicpmv2", "odd_gray", {}), ("minicpmv2", "mid", {}), ("minicpmv2", "big", {}),
    ("minicpmv2", "big", {"max_slice_nums": 4}), ("minicpmv2", "mid", {"never_split": True}),
    ("aria", "odd", {}), ("aria", "tall", {}), ("aria", "wide", {"max_image_size": 490}),
    ("aria", "px1", {"max_image_size": 490}), ("aria", "big", {"max_image_size": 490}),
    ("aria", "px1", {"split_image": True}), ("aria", "mid", {"split_image": True, "max_image_size": 490}),
    ("aria", "odd_rgba", {"split_image": True, "max_image_size": 490}),
    ("clip_s100_c120", "odd", {}), ("clip_s100_c120", "wide", {}), ("clip_s100_c120", "tall", {}),
]


def case_name(family, source, options):
    parts = [family, source] + [f"{k}={str(v).lower()}" for k, v in sorted(options.items())]
    return "-".join(parts).replace("_", "").replace("=", "")


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".npz") or old == "manifest.json":
            os.remove(os.path.join(OUT, old))
    sources = {}
    for name, (w, h, c, seed) in SOURCES.items():
        arr = make_source(w, h, c, seed)
        sources[name] = arr
    manifest = {
        "sources": {name: {"w": w, "h": h, "channels": c, "seed": seed,
                           "sha256": hashlib.sha256(sources[name].tobytes()).hexdigest()}
                    for name, (w, h, c, seed) in SOURCES.items()},
        "cases": [],
    }
    for family, source, options in CASES:
        views, grid_rows, grid_cols = FAMILIES[family](to_pil(sources[source]), options)
        name = case_name(family, source, options)
        arrays = {}
        for i, v in enumerate(views):
            arrays[f"view{i}"] = v["tensor"]
            if v["mask"] is not None:
                arrays[f"mask{i}"] = v["mask"]
        np.savez_compressed(os.path.join(OUT, name + ".npz"), **arrays)
        manifest["cases"].append({
            "name": name, "family": family, "source": source, "options": options,
            "grid": [grid_rows, grid_cols],
            "views": [{"kind": v["kind"], "row": v["row"], "col": v["col"],
                       "w": int(v["tensor"].shape[2]), "h": int(v["tensor"].shape[1]), "tokens": v["tokens"]}
                      for v in views],
        })
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    views = sum(len(c["views"]) for c in manifest["cases"])
    print(f"wrote {len(manifest['cases'])} cases, {views} views, {total / 1e6:.2f} MB to tests/data/images/pixels")


if __name__ == "__main__":
    main()
