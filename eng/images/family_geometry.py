#!/usr/bin/env python3
"""Writes the preprocessing/splitting GEOMETRY goldens: tests/data/images/geometry/<family>.jsonl.

This script is the reference port. Every function below named after a reference function is copied from
that function with the pixel work removed (image.resize/crop/paste become size and box arithmetic) and
nothing else changed: same operand order, same int()/round()/ceil()/`//`, same comparisons.

Sources (see /work/shared/FAMILIES.md for the snapshot commits):
  * HF transformers  image_transforms.py  get_resize_output_image_size, center_crop      (CLIP, section 0.2)
  * haotian-liu/LLaVA llava/mm_utils.py    expand2square, process_images                  (LLaVA-1.5, B.1)
  * EvolvingLMMs-Lab/LongVA longva/longva/mm_utils.py select_best_resolution, resize_and_pad_image,
    divide_to_patches, get_anyres_image_grid_shape, process_anyres_image; llava_arch.py unires     (C.1, C.2)
  * openbmb/MiniCPM-V-2 modeling_minicpmv.py slice_image, ensure_divide, find_best_resize,
    get_refine_size, split_to_patches, get_grid_placeholder, get_slice_image_placeholder   (E.2, E.5; seed 004)
  * rhymes-ai/Aria aria/model/vision_processor.py _select_best_resolution, _split_image,
    keep_ratio_resize_and_pixel_mask; processing_aria.py num_image_tokens                  (A.1, A.2)
  * rese1f/aurora src/xtuner/xtuner/model/aurora.py (r), model/tome.py (r clamp)           (D.1, D.4)

Each output file starts with one {"header": ...} line (constants the C# side must agree with), then one
line per (width, height) pair. Sizes are seeded and include extremes (1x1, 1x4000, 4000x3, primes, exact
multiples of 14/336/378/448/490/980, int32-overflowing areas for Aria).

Run: /usr/bin/python3 eng/images/family_geometry.py     (needs numpy for the int32 emulation)
Goldens are never regenerated to make a test pass.
"""
import json
import math
import os
import random
import warnings

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "images", "geometry")
PAIRS_PER_FAMILY = 6000


# ------------------------------------------------------------------------------------------------
# HF transformers image_transforms.py (CLIPImageProcessor.resize with size={"shortest_edge": S},
# crop via CLIPImageProcessor.center_crop -> image_transforms.center_crop).
# ------------------------------------------------------------------------------------------------

def get_resize_output_image_size(input_size_hw, size, default_to_square=True, max_size=None):
    """Returns (height, width) like HF. input_size_hw = (height, width) of the image."""
    if isinstance(size, (tuple, list)):
        if len(size) == 2:
            return tuple(size)
        elif len(size) == 1:
            size = size[0]
        else:
            raise ValueError("size must have 1 or 2 elements if it is a list or tuple")

    if default_to_square:
        return (size, size)

    height, width = input_size_hw
    short, long = (width, height) if width <= height else (height, width)
    requested_new_short = size

    new_short, new_long = requested_new_short, int(requested_new_short * long / short)

    if max_size is not None:
        if max_size <= requested_new_short:
            raise ValueError("max_size must be strictly greater than the requested size")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size

    return (new_long, new_short) if width <= height else (new_short, new_long)


def center_crop(orig_hw, size_hw):
    """image_transforms.center_crop geometry. Returns the HF intermediates and, by emulating the numpy
    slicing on index arrays, which source rows/columns land where in the crop."""
    orig_height, orig_width = orig_hw
    crop_height, crop_width = size_hw
    crop_height, crop_width = int(crop_height), int(crop_width)

    top = (orig_height - crop_height) // 2
    bottom = top + crop_height
    left = (orig_width - crop_width) // 2
    right = left + crop_width

    if top >= 0 and bottom <= orig_height and left >= 0 and right <= orig_width:
        return {
            "t": top, "l": left, "pt": 0, "pl": 0, "pad": [orig_width, orig_height],
            "box": [left, top, right, bottom],
            "src": [left, top, right, bottom], "dst": [0, 0], "out": [crop_width, crop_height],
        }

    new_height = max(crop_height, orig_height)
    new_width = max(crop_width, orig_width)

    top_pad = math.ceil((new_height - orig_height) / 2)
    bottom_pad = top_pad + orig_height
    left_pad = math.ceil((new_width - orig_width) / 2)
    right_pad = left_pad + orig_width

    hf_top, hf_left = top, left
    top += top_pad
    bottom += top_pad
    left += left_pad
    right += left_pad

    y0, y1 = max(0, top), min(new_height, bottom)
    x0, x1 = max(0, left), min(new_width, right)

    # Emulate new_image[..., top_pad:bottom_pad, left_pad:right_pad] = image; new_image[..., y0:y1, x0:x1]
    # one axis at a time (the operation is separable): -1 marks zero padding, k marks source index k.
    def axis(new_len, pad0, pad1, orig_len, s0, s1):
        canvas = np.full(new_len, -1, dtype=np.int64)
        canvas[pad0:pad1] = np.arange(orig_len)
        kept = canvas[s0:s1]
        idx = np.nonzero(kept >= 0)[0]
        if len(idx) == 0:
            return 0, 0, 0, len(kept)
        return int(kept[idx[0]]), int(kept[idx[-1]]) + 1, int(idx[0]), len(kept)

    sy0, sy1, dy, out_h = axis(new_height, top_pad, bottom_pad, orig_height, y0, y1)
    sx0, sx1, dx, out_w = axis(new_width, left_pad, right_pad, orig_width, x0, x1)
    return {
        "t": hf_top, "l": hf_left, "pt": top_pad, "pl": left_pad, "pad": [new_width, new_height],
        "box": [x0, y0, x1, y1],
        "src": [sx0, sy0, sx1, sy1], "dst": [dx, dy], "out": [out_w, out_h],
    }


def clip_processor(size_wh, shortest_edge, crop_size):
    """CLIPImageProcessor: resize (shortest edge, default_to_square=False) then center crop."""
    w, h = size_wh
    new_h, new_w = get_resize_output_image_size((h, w), shortest_edge, default_to_square=False)
    crop = center_crop((new_h, new_w), (crop_size, crop_size))
    return {"rs": [new_w, new_h], "crop": crop["box"], "out": crop["out"]}


CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]


# ------------------------------------------------------------------------------------------------
# haotian-liu/LLaVA llava/mm_utils.py
# ------------------------------------------------------------------------------------------------

def expand2square(size_wh, background_color):
    """Returns (result size, paste offset) of expand2square."""
    width, height = size_wh
    if width == height:
        return (width, height), (0, 0)
    elif width > height:
        return (width, width), (0, (width - height) // 2)
    else:
        return (height, height), ((height - width) // 2, 0)


def llava_fill_color(image_mean):
    # process_images: expand2square(image, tuple(int(x*255) for x in image_processor.image_mean))
    return tuple(int(x * 255) for x in image_mean)


# ------------------------------------------------------------------------------------------------
# EvolvingLMMs-Lab/LongVA longva/longva/mm_utils.py (identical logic to LLaVA / LLaVA-NeXT)
# ------------------------------------------------------------------------------------------------

def select_best_resolution(original_size, possible_resolutions):
    original_width, original_height = original_size
    best_fit = None
    max_effective_resolution = 0
    min_wasted_resolution = float("inf")

    for width, height in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width, downscaled_height = int(original_width * scale), int(original_height * scale)

        effective_resolution = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted_resolution = (width * height) - effective_resolution

        if effective_resolution > max_effective_resolution or (effective_resolution == max_effective_resolution and wasted_resolution < min_wasted_resolution):
            max_effective_resolution = effective_resolution
            min_wasted_resolution = wasted_resolution
            best_fit = (width, height)

    return best_fit


def resize_and_pad_image(image_size, target_resolution):
    """Returns (new size, paste offset)."""
    original_width, original_height = image_size
    target_width, target_height = target_resolution

    scale_w = target_width / original_width
    scale_h = target_height / original_height

    if scale_w < scale_h:
        new_width = target_width
        new_height = min(math.ceil(original_height * scale_w), target_height)
    else:
        new_height = target_height
        new_width = min(math.ceil(original_width * scale_h), target_width)

    paste_x = (target_width - new_width) // 2
    paste_y = (target_height - new_height) // 2
    return (new_width, new_height), (paste_x, paste_y)


def divide_to_patches(image_size, patch_size):
    patches = []
    width, height = image_size
    for i in range(0, height, patch_size):
        for j in range(0, width, patch_size):
            box = (j, i, j + patch_size, i + patch_size)
            patches.append(box)
    return patches


def get_anyres_image_grid_shape(image_size, grid_pinpoints, patch_size):
    possible_resolutions = grid_pinpoints
    width, height = select_best_resolution(image_size, possible_resolutions)
    return width // patch_size, height // patch_size


# longva/scripts/finetune.sh --image_grid_pinpoints, verbatim.
LONGVA_PINPOINTS = [(336, 672), (336, 1008), (336, 1344), (336, 1680), (336, 2016), (336, 2352), (336, 2688), (336, 3024), (336, 3360), (336, 3696), (336, 4032), (336, 4368), (336, 4704), (336, 5040), (336, 5376), (336, 5712), (336, 6048), (336, 6384), (336, 6720), (336, 7056), (336, 7392), (336, 7728), (336, 8064), (336, 8400), (336, 8736), (336, 9072), (336, 9408), (336, 9744), (336, 10080), (336, 10416), (336, 10752), (336, 11088), (336, 11424), (336, 11760), (336, 12096), (336, 12432), (336, 12768), (336, 13104), (336, 13440), (336, 13776), (336, 14112), (336, 14448), (336, 14784), (336, 15120), (336, 15456), (336, 15792), (336, 16128), (336, 16464), (672, 336), (672, 672), (672, 1008), (672, 1344), (672, 1680), (672, 2016), (672, 2352), (672, 2688), (672, 3024), (672, 3360), (672, 3696), (672, 4032), (672, 4368), (672, 4704), (672, 5040), (672, 5376), (672, 5712), (672, 6048), (672, 6384), (672, 6720), (672, 7056), (672, 7392), (672, 7728), (672, 8064), (1008, 336), (1008, 672), (1008, 1008), (1008, 1344), (1008, 1680), (1008, 2016), (1008, 2352), (1008, 2688), (1008, 3024), (1008, 3360), (1008, 3696), (1008, 4032), (1008, 4368), (1008, 4704), (1008, 5040), (1008, 5376), (1344, 336), (1344, 672), (1344, 1008), (1344, 1344), (1344, 1680), (1344, 2016), (1344, 2352), (1344, 2688), (1344, 3024), (1344, 3360), (1344, 3696), (1344, 4032), (1680, 336), (1680, 672), (1680, 1008), (1680, 1344), (1680, 1680), (1680, 2016), (1680, 2352), (1680, 2688), (1680, 3024), (2016, 336), (2016, 672), (2016, 1008), (2016, 1344), (2016, 1680), (2016, 2016), (2016, 2352), (2016, 2688), (2352, 336), (2352, 672), (2352, 1008), (2352, 1344), (2352, 1680), (2352, 2016), (2352, 2352), (2688, 336), (2688, 672), (2688, 1008), (2688, 1344), (2688, 1680), (2688, 2016), (3024, 336), (3024, 672), (3024, 1008), (3024, 1344), (3024, 1680), (3360, 336), (3360, 672), (3360, 1008), (3360, 1344), (3696, 336), (3696, 672), (3696, 1008), (3696, 1344), (4032, 336), (4032, 672), (4032, 1008), (4032, 1344), (4368, 336), (4368, 672), (4368, 1008), (4704, 336), (4704, 672), (4704, 1008), (5040, 336), (5040, 672), (5040, 1008), (5376, 336), (5376, 672), (5376, 1008), (5712, 336), (5712, 672), (6048, 336), (6048, 672), (6384, 336), (6384, 672), (6720, 336), (6720, 672), (7056, 336), (7056, 672), (7392, 336), (7392, 672), (7728, 336), (7728, 672), (8064, 336), (8064, 672), (8400, 336), (8736, 336), (9072, 336), (9408, 336), (9744, 336), (10080, 336), (10416, 336), (10752, 336), (11088, 336), (11424, 336), (11760, 336), (12096, 336), (12432, 336), (12768, 336), (13104, 336), (13440, 336), (13776, 336), (14112, 336), (14448, 336), (14784, 336), (15120, 336), (15456, 336), (15792, 336), (16128, 336), (16464, 336)]

# LLaVA-NeXT (llava-v1.6) pinpoints, used only to exercise select_best_resolution on a second list.
NEXT_PINPOINTS = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)]


def process_anyres_image_geometry(image_size, grid_pinpoints, crop_size=336, shortest_edge=336):
    """process_anyres_image without pixels: the base view (image.resize((S, S))) first, then the tiles."""
    best_resolution = select_best_resolution(image_size, grid_pinpoints)
    new_size, paste = resize_and_pad_image(image_size, best_resolution)
    patches = divide_to_patches(best_resolution, crop_size)
    # Every view then goes through the CLIP processor (336 -> identity for 336x336 views).
    base = clip_processor((shortest_edge, shortest_edge), shortest_edge, crop_size)
    tile = clip_processor((crop_size, crop_size), shortest_edge, crop_size)
    assert base == tile == {"rs": [336, 336], "crop": [0, 0, 336, 336], "out": [336, 336]}
    return best_resolution, new_size, paste, patches


def unires_token_count(num_views, grid_shape, tokens_side=24, pool=2):
    """llava_arch.py mm_patch_merge_type == "unires": base view dropped, every tile 2x2 average-pooled."""
    if num_views > 1:
        num_patch_width, num_patch_height = grid_shape
        pooled = (tokens_side // pool) * (tokens_side // pool)  # avg_pool2d(kernel 2) on 24x24 -> 12x12
        return num_patch_height * num_patch_width * pooled
    return tokens_side * tokens_side


# ------------------------------------------------------------------------------------------------
# openbmb/MiniCPM-V-2 modeling_minicpmv.py (seed 004, verbatim logic)
# ------------------------------------------------------------------------------------------------

def slice_image(image_size, max_slice_nums=9, scale_resolution=448, patch_size=14, never_split=False):
    original_size = image_size
    original_width, original_height = original_size
    log_ratio = math.log(original_width / original_height)
    ratio = original_width * original_height / (scale_resolution * scale_resolution)
    multiple = min(math.ceil(ratio), max_slice_nums)

    source_image = None
    best_grid = None
    patches = []
    refine_size = None

    if multiple <= 1 or never_split:
        best_size = find_best_resize(original_size, scale_resolution, patch_size, allow_upscale=True)
        source_image = best_size
    else:
        candidate_split_grids_nums = []
        for i in [multiple - 1, multiple, multiple + 1]:
            if i == 1 or i > max_slice_nums:
                continue
            candidate_split_grids_nums.append(i)

        best_resize = find_best_resize(original_size, scale_resolution, patch_size)
        source_image = best_resize
        candidate_grids = []

        for split_grids_nums in candidate_split_grids_nums:
            m = 1
            while m <= split_grids_nums:
                if split_grids_nums % m == 0:
                    candidate_grids.append([m, split_grids_nums // m])
                m += 1

        best_grid = [1, 1]
        min_error = float("inf")
        for grid in candidate_grids:
            error = abs(log_ratio - math.log(grid[0] / grid[1]))
            if error < min_error:
                best_grid = grid
                min_error = error

        refine_size = get_refine_size(original_size, best_grid, scale_resolution, patch_size, allow_upscale=True)
        patches = split_to_patches(refine_size, best_grid)

    return source_image, patches, best_grid, refine_size


def ensure_divide(length, patch_size):
    return max(round(length / patch_size) * patch_size, patch_size)


def find_best_resize(original_size, scale_resolution, patch_size, allow_upscale=False):
    width, height = original_size
    if (width * height > scale_resolution * scale_resolution) or allow_upscale:
        r = width / height
        height = int(scale_resolution / math.sqrt(r))
        width = int(height * r)
    best_width = ensure_divide(width, patch_size)
    best_height = ensure_divide(height, patch_size)
    return (best_width, best_height)


def get_refine_size(original_size, grid, scale_resolution, patch_size, allow_upscale=False):
    width, height = original_size
    grid_x, grid_y = grid

    refine_width = ensure_divide(width, grid_x)
    refine_height = ensure_divide(height, grid_y)

    grid_width = refine_width / grid_x
    grid_height = refine_height / grid_y

    best_grid_size = find_best_resize((grid_width, grid_height), scale_resolution, patch_size, allow_upscale=allow_upscale)
    refine_size = (best_grid_size[0] * grid_x, best_grid_size[1] * grid_y)
    return refine_size


def split_to_patches(image_size, grid):
    patches = []
    width, height = image_size
    grid_x = int(width / grid[0])
    grid_y = int(height / grid[1])

    for i in range(0, height, grid_y):
        images = []
        for j in range(0, width, grid_x):
            box = (j, i, j + grid_x, i + grid_y)
            images.append(box)
        patches.append(images)
    return patches


def get_grid_placeholder(tok, grid, query_num):
    image_placeholder = tok["im_start"] + tok["unk"] * query_num + tok["im_end"]
    cols = grid[0]
    rows = grid[1]
    slices = []
    for i in range(rows):
        lines = []
        for j in range(cols):
            lines.append(image_placeholder)
        slices.append("".join(lines))
    slice_placeholder = tok["slice_start"] + "\n".join(slices) + tok["slice_end"]
    return slice_placeholder


def get_slice_image_placeholder(tok, image_size, query_num, max_slice_nums, scale_resolution, patch_size):
    image_placeholder = tok["im_start"] + tok["unk"] * query_num + tok["im_end"]
    slice_images = []
    source_image, patches, best_grid, _ = slice_image(image_size, max_slice_nums, scale_resolution, patch_size)
    slice_images.append(source_image)
    final_placeholder = image_placeholder
    if len(patches) > 0:
        for i in range(len(patches)):
            for j in range(len(patches[0])):
                slice_images.append(patches[i][j])
        final_placeholder += get_grid_placeholder(tok, best_grid, query_num)
    return slice_images, final_placeholder


# Short stand-ins for <image>, <unk>, </image>, <slice>, </slice> keep the golden small; the C# test uses the same.
SHORT_TOKENS = {"im_start": "[", "unk": "u", "im_end": "]", "slice_start": "{", "slice_end": "}"}


# ------------------------------------------------------------------------------------------------
# rhymes-ai/Aria aria/model/vision_processor.py @ 9b25fec
# ------------------------------------------------------------------------------------------------

ARIA_SPLIT_RATIO = [[1, 2], [1, 3], [1, 4], [1, 5], [1, 6], [1, 7], [1, 8], [2, 4], [2, 3], [2, 2], [2, 1], [3, 1], [3, 2], [4, 1], [4, 2], [5, 1], [6, 1], [7, 1], [8, 1]]


def _select_best_resolution(img_width, img_height, target_ratios, patch_size):
    aspect_ratio = img_width / img_height
    best_ratio_diff = float("inf")
    best_ratio_w, best_ratio_h = 1, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # int32 overflow wraps, as in the reference
        area = np.int32(img_width) * np.int32(img_height)
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio_w, best_ratio_h = ratio[0], ratio[1]
        elif ratio_diff == best_ratio_diff and area > 0.5 * patch_size * patch_size * ratio[0] * ratio[1]:
            best_ratio_w, best_ratio_h = ratio[0], ratio[1]
    return best_ratio_w, best_ratio_h


def _split_image(image_size, split_image, split_ratio, patch_size):
    """Returns (ratio, resize size, crops); a crop is ("global", size) or ("tile", box)."""
    if split_image:
        ratio_width, ratio_height = _select_best_resolution(image_size[0], image_size[1], split_ratio, patch_size)
        resize_width = patch_size * ratio_width
        resize_height = patch_size * ratio_height
        blocks = ratio_width * ratio_height
        processed_images = []
        for i in range(blocks):
            box = (
                (i % (resize_width // patch_size)) * patch_size,
                (i // (resize_width // patch_size)) * patch_size,
                ((i % (resize_width // patch_size)) + 1) * patch_size,
                ((i // (resize_width // patch_size)) + 1) * patch_size,
            )
            processed_images.append(("tile", box))
        assert len(processed_images) == blocks
        if len(processed_images) != 1:
            processed_images.insert(0, ("global", image_size))
        return (ratio_width, ratio_height), (resize_width, resize_height), processed_images
    else:
        return None, None, [("global", image_size)]


def keep_ratio_resize_and_pixel_mask(img_size, max_size, min_size=336, padding_value=0):
    """Returns (new_size, (padding_right, padding_bottom)); the mask is true on [0,new_h) x [0,new_w)."""
    scale = max_size / max(img_size)
    w, h = img_size
    if w >= h:
        new_size = (max_size, max(int(h * scale), min_size))
    else:
        new_size = (max(int(w * scale), min_size), max_size)
    padding_right, padding_bottom = max_size - new_size[0], max_size - new_size[1]
    return new_size, (padding_right, padding_bottom)


def aria_num_image_tokens(max_image_size):
    # aria/model/processing_aria.py
    if max_image_size == 490:
        return 128
    elif max_image_size == 980:
        return 256
    raise ValueError("max_image_size must be either 490 or 980")


def aria_process(image_size, max_size, split_image, min_size=336):
    ratio, resize, crops = _split_image(image_size, split_image, ARIA_SPLIT_RATIO, max_size)
    out = []
    for kind, geom in crops:
        crop_size = geom if kind == "global" else (geom[2] - geom[0], geom[3] - geom[1])
        new_size, pad = keep_ratio_resize_and_pixel_mask(crop_size, max_size, min_size)
        out.append((kind, geom, new_size, pad))
    return ratio, resize, out


# ------------------------------------------------------------------------------------------------
# rese1f/aurora: AuroraEncoder.forward r, tome.bipartite_soft_matching clamp
# ------------------------------------------------------------------------------------------------

def aurora_r(image_w, image_h, patch_size, token_kept_ratio, num_hidden_layers):
    # pixel_values.shape[-1] * pixel_values.shape[-2] / (patch_size**2) * (1 - ratio) / num_hidden_layers
    return int(image_w * image_h / (patch_size ** 2) * (1 - token_kept_ratio) / num_hidden_layers)


def aurora_tokens_after_merging(r, tokens_with_cls, merge_steps):
    t = tokens_with_cls
    for _ in range(merge_steps):
        r_eff = min(r, (t - 1) // 2)  # protected = 1 (class token)
        if r_eff <= 0:
            continue
        t -= r_eff
    return t - 1  # CLS dropped ("patch")


# ------------------------------------------------------------------------------------------------
# Sizes
# ------------------------------------------------------------------------------------------------

PRIMES = [2, 3, 5, 7, 11, 13, 17, 97, 101, 211, 223, 331, 337, 443, 449, 487, 491, 977, 983, 997, 1009, 1999, 2003, 3001, 3989, 4001]


def base_sizes():
    s = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (1, 4000), (4000, 1), (4000, 3), (3, 4000), (4000, 4000), (1, 13), (13, 1),
         (336, 336), (224, 224), (378, 378), (448, 448), (490, 490), (980, 980), (14, 14), (28, 14), (14, 28),
         (1344, 896), (896, 1344), (1344, 1344), (2000, 1000), (1000, 2000), (1000, 750), (750, 1000), (640, 480), (480, 640),
         (1920, 1080), (1080, 1920), (3840, 2160), (1, 336), (336, 1), (335, 337), (337, 335), (447, 449), (449, 447),
         (672, 336), (336, 672), (1008, 1008), (16464, 336), (336, 16464), (20000, 20000), (7, 30000), (30000, 7)]
    for p in PRIMES:
        for q in (1, 2, 3, 7, 337, 449, 491, 983, 3989):
            s.append((p, q))
            s.append((q, p))
    for m in (14, 224, 336, 378, 448, 490, 980):
        for a in range(1, 9):
            for b in range(1, 9):
                s.append((m * a, m * b))
    return s


def random_sizes(rng, n, extra):
    out = list(base_sizes()) + list(extra)
    while len(out) < n:
        k = rng.random()
        if k < 0.35:
            w, h = rng.randint(1, 4000), rng.randint(1, 4000)
        elif k < 0.55:
            w, h = int(math.exp(rng.uniform(0, math.log(12000)))), int(math.exp(rng.uniform(0, math.log(12000))))
        elif k < 0.70:
            # aspect ratios near the families' candidate ratios
            a, b = rng.randint(1, 9), rng.randint(1, 9)
            base = rng.randint(20, 1500)
            w, h = a * base + rng.randint(-2, 2), b * base + rng.randint(-2, 2)
        elif k < 0.80:
            m = rng.choice([14, 224, 336, 378, 448, 490, 980])
            w, h = m * rng.randint(1, 12) + rng.choice([-1, 0, 0, 1]), m * rng.randint(1, 12) + rng.choice([-1, 0, 0, 1])
        elif k < 0.90:
            w, h = rng.randint(1, 600), rng.randint(1, 600)
        else:
            w, h = rng.choice(PRIMES) * rng.randint(1, 3), rng.randint(1, 5000)
        w, h = max(1, w), max(1, h)
        if rng.random() < 0.5:
            w, h = h, w
        out.append((w, h))
    return out[:max(n, len(out))]


def minicpm_extra(rng):
    # areas just around k * 448^2 (the `multiple` boundaries) and widths/heights at .5 of the grid/patch roundings
    s = []
    for k in range(1, 11):
        area = k * 448 * 448
        for _ in range(40):
            w = rng.randint(50, 4000)
            h = area // w
            for dh in (-1, 0, 1):
                if h + dh >= 1:
                    s.append((w, h + dh))
    for _ in range(200):
        s.append((rng.randint(1, 400) * 2 + 1, rng.randint(1, 400) * 7))
    return s


def aria_extra(rng):
    s = [(46341, 46341), (50000, 50000), (65535, 65535), (65536, 32768), (100000, 25000), (25000, 100000)]
    for a, b in ARIA_SPLIT_RATIO:
        for base in (1, 10, 100, 245, 490, 491, 980, 1000, 3000):
            s.append((a * base, b * base))
    return s


def anyres_extra(rng):
    s = []
    for w, h in LONGVA_PINPOINTS:
        s.append((w, h))
        s.append((w // 2, h // 2))
        s.append((w + 1, h))
    return s


def dump(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps({"header": header}, separators=(",", ":")) + "\n")
        for r in rows:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    print(f"{os.path.basename(path)}: {len(rows)} sizes, {os.path.getsize(path)} bytes")


def box_checksum(boxes):
    """Order-sensitive checksum of a box list (the C# test computes the same)."""
    return sum((i + 1) * (b[0] + 3 * b[1] + 7 * b[2] + 11 * b[3]) for i, b in enumerate(boxes))


# ------------------------------------------------------------------------------------------------
# Families
# ------------------------------------------------------------------------------------------------

def llava(sizes):
    """LLaVA-1.5 (pad + CLIP 336) and LLaVA-Lightning-MPT preview (CLIP 224, no pad)."""
    fill = llava_fill_color(CLIP_MEAN)
    rows = []
    for w, h in sizes:
        side, off = expand2square((w, h), fill)
        l15 = clip_processor(side, 336, 336)
        mpt = clip_processor((w, h), 224, 224)
        row = {"w": w, "h": h, "sq": side[0], "off": list(off),
               "l15": [l15["rs"], l15["crop"]], "mpt": [mpt["rs"], mpt["crop"]]}
        if w <= 4000 and h <= 4000:
            # Raw center crop (no resize first): exercises HF's zero-padding path for images smaller than the crop.
            c = center_crop((h, w), (336, 336))
            row["cc"] = [c["t"], c["l"], c["pt"], c["pl"], c["pad"], c["box"], c["src"], c["dst"], c["out"]]
        rows.append(row)
    header = {"family": "llava", "clip_mean": CLIP_MEAN, "fill": list(fill), "tokens": {"llava15": (336 // 14) ** 2, "mpt": (224 // 14) ** 2}}
    return header, rows


def auroracap(sizes):
    rows = []
    for w, h in sizes:
        p = clip_processor((w, h), 378, 378)
        row = {"w": w, "h": h, "rs": p["rs"], "crop": p["crop"]}
        if w <= 4000 and h <= 4000:
            c = center_crop((h, w), (378, 378))
            row["cc"] = [c["t"], c["l"], c["pt"], c["pl"], c["pad"], c["box"], c["src"], c["dst"], c["out"]]
        rows.append(row)
    ratios = [round(i * 0.01, 2) for i in range(0, 101)] + [0.8, 1 - 0.2, 0.2, 0.1, 0.3, 0.4, 0.5, 0.7, 0.9, 0.33, 0.66, 0.999, 0.001]
    tome = []
    for ratio in ratios:
        r = aurora_r(378, 378, 14, ratio, 32)
        tome.append([ratio, r, aurora_tokens_after_merging(r, 730, 31)])
    header = {"family": "auroracap", "tokens": (378 // 14) ** 2, "tome": tome}
    return header, rows


def longva(sizes):
    rows = []
    for w, h in sizes:
        best, new_size, paste, patches = process_anyres_image_geometry((w, h), LONGVA_PINPOINTS)
        grid = get_anyres_image_grid_shape((w, h), LONGVA_PINPOINTS, 336)
        views = 1 + len(patches)
        nxt = select_best_resolution((w, h), NEXT_PINPOINTS)
        nxt_rs, nxt_off = resize_and_pad_image((w, h), nxt)
        frame = clip_processor((w, h), 336, 336)
        rows.append({
            "w": w, "h": h, "best": list(best), "rs": list(new_size), "off": list(paste), "grid": list(grid),
            "n": len(patches), "b0": list(patches[0]), "bl": list(patches[-1]), "ck": box_checksum(patches),
            "tok": unires_token_count(views, grid),
            "next": [list(nxt), list(nxt_rs), list(nxt_off)],
            "frame": [frame["rs"], frame["crop"]],
        })
    header = {"family": "longva", "pinpoints": [list(p) for p in LONGVA_PINPOINTS], "next_pinpoints": [list(p) for p in NEXT_PINPOINTS],
              "base_tokens": 24 * 24, "tile_tokens": 12 * 12, "frame_tokens": 12 * 12}
    return header, rows


def minicpmv(sizes):
    rows = []
    for w, h in sizes:
        src, patches, grid, refine = slice_image((w, h), 9, 448, 14)
        flat = [list(b) for row in patches for b in row]
        images, ph = get_slice_image_placeholder(SHORT_TOKENS, (w, h), 1, 9, 448, 14)
        assert len(images) == 1 + len(flat)
        row = {"w": w, "h": h, "src": list(src), "grid": grid, "rf": list(refine) if refine else None,
               "p": flat, "ph": ph, "tok": 64 * len(images)}
        # never_split and a smaller max_slice_nums (configurable), outcome only.
        ns = slice_image((w, h), 9, 448, 14, never_split=True)
        row["ns"] = list(ns[0])
        m4 = slice_image((w, h), 4, 448, 14)
        row["m4"] = [list(m4[0]), m4[2], list(m4[3]) if m4[3] else None, sum(len(r) for r in m4[1])]
        rows.append(row)
    header = {"family": "minicpmv2", "scale_resolution": 448, "patch_size": 14, "max_slice_nums": 9, "query_num": 64, "tokens": SHORT_TOKENS}
    return header, rows


def aria(sizes):
    rows = []
    for w, h in sizes:
        row = {"w": w, "h": h}
        for m in (980, 490):
            # no split: the single crop
            _, _, single = aria_process((w, h), m, False)
            assert len(single) == 1
            ratio, resize, crops = aria_process((w, h), m, True)
            tiles = [c for c in crops if c[0] == "tile"]
            tile_sizes = {tuple(c[2]) for c in tiles}
            assert tile_sizes == {(m, m)} and {tuple(c[3]) for c in tiles} == {(0, 0)}
            g = crops[0]
            # The global crop is the original image, so its keep-ratio resize equals the single-crop one.
            assert g[0] == "global" and g[2] == single[0][2] and g[3] == single[0][3]
            row[str(m)] = {"rs": list(single[0][2]), "pad": list(single[0][3]),
                           "ratio": list(ratio), "split": list(resize), "n": len(crops),
                           "b": [list(t[1]) for t in tiles] if m == 980 else None,
                           "ck": box_checksum([t[1] for t in tiles]),
                           "tok": len(crops) * aria_num_image_tokens(m)}
        rows.append(row)
    header = {"family": "aria", "split_ratio": ARIA_SPLIT_RATIO, "min_image_size": 336,
              "tokens": {"490": aria_num_image_tokens(490), "980": aria_num_image_tokens(980)}}
    return header, rows


def main():
    os.makedirs(OUT, exist_ok=True)
    families = [
        ("llava", 1001, llava, []),
        ("auroracap", 1002, auroracap, []),
        ("longva", 1003, longva, anyres_extra),
        ("minicpmv2", 1004, minicpmv, minicpm_extra),
        ("aria", 1005, aria, aria_extra),
    ]
    for name, seed, fn, extra in families:
        rng = random.Random(seed)
        ex = extra(rng) if callable(extra) else extra
        sizes = random_sizes(rng, PAIRS_PER_FAMILY, ex)
        header, rows = fn(sizes)
        header["count"] = len(rows)
        dump(os.path.join(OUT, name + ".jsonl"), header, rows)


if __name__ == "__main__":
    main()
