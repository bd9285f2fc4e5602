#!/usr/bin/python3
# Copyright (c) Multimodal contributors.
# Licensed under the MIT License.
"""Makes the video test fixtures and their goldens (tests/data/media/video) with the ffmpeg CLI, ffprobe and PyAV 10.

Run with the system Python (Debian's python3-av 10.0.0 links the same FFmpeg 5.1 libraries the package loads):

    /usr/bin/python3 eng/media/make_video_fixtures.py            # fixtures + goldens (committed, ~1-2 MB)
    /usr/bin/python3 eng/media/make_video_fixtures.py --bench    # also the 10-minute 1280x720 benchmark file (~200 MB,
                                                                  # ~2.5 min to encode) in artifacts/media/ (git-ignored)

Goldens are never regenerated to make a test pass: they are PyAV's output, the reference the tests hold us to.
"""
import gzip
import hashlib
import json
import os
import subprocess
import sys

import av
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "media", "video")
BENCH = os.path.join(ROOT, "artifacts", "media")

# The frames the golden comparison checks: np.linspace(0, n - 1, 64, dtype=int) over the B-frame/GOP-250 clip. Every
# frame of the clip has a hash of PyAV's pixels; RAW_EVERY-th of the 64 also has its pixels stored (all 64 would be
# 2.4 MB gzipped: testsrc2 at 320x240 hardly compresses), for the max |delta| <= 1 comparison.
GOLDEN_COUNT = 64
RAW_EVERY = 4
# The indices and size of the resize golden (PyAV frame.reformat(width, height, "rgb24")).
RESIZE_INDICES = [0, 1, 100, 249, 250, 333, 500, 599]
RESIZE_SIZE = (160, 96)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def ffprobe(path):
    """ffprobe's own view of the first video stream (nb_frames, duration) and of the container (duration)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=nb_frames,duration,avg_frame_rate,r_frame_rate,width,height,codec_name:format=duration",
         "-of", "json", path],
        check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    stream = data["streams"][0] if data.get("streams") else {}
    side = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream_side_data=rotation", "-of", "json", path],
        check=True, capture_output=True, text=True).stdout)
    rotation = 0
    for entry in (side.get("streams") or [{}])[0].get("side_data_list", []):
        rotation = int(entry.get("rotation", 0))
    return {
        "nb_frames": stream.get("nb_frames"),
        "stream_duration": stream.get("duration"),
        "format_duration": data.get("format", {}).get("duration"),
        "avg_frame_rate": stream.get("avg_frame_rate"),
        "r_frame_rate": stream.get("r_frame_rate"),
        "width": stream.get("width"),
        "height": stream.get("height"),
        "codec_name": stream.get("codec_name"),
        "rotation": rotation,
    }


def count_packets(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=nb_read_packets", "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout
    text = out.strip().strip(",")
    return int(text) if text.isdigit() else 0


def make_fixtures():
    os.makedirs(OUT, exist_ok=True)
    p = lambda name: os.path.join(OUT, name)

    # 320x240 testsrc2, 30 fps x 20 s = 600 frames, H.264 with B-frames and a 250-frame GOP (3 GOPs, no scene cuts).
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "20", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-g", "250", "-bf", "2", "-sc_threshold", "0", "-pix_fmt", "yuv420p", p("gop250_bframes.mp4"))
    # Three CAVLC slices per picture, B-pyramid: the slice headers the hollowing rewrites (docs/media.md) in another form.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-t", "10", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-g", "250", "-bf", "3", "-sc_threshold", "0", "-x264-params", "slices=3:cabac=0:b-pyramid=normal",
           "-pix_fmt", "yuv420p", p("slices_cavlc.mp4"))
    # The same picture in Matroska (no nb_frames: counted by a packet scan), 160x120, 4 s.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "4", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-g", "30", "-pix_fmt", "yuv420p", p("small.mkv"))
    # Rotated: a display matrix (ffprobe: rotation=90). FFmpeg 5.1 turns the 'rotate' tag into one only when remuxing.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-t", "1", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-pix_fmt", "yuv420p", p("_unrotated.mp4"))
    ffmpeg("-i", p("_unrotated.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", p("rotated90.mp4"))
    os.remove(p("_unrotated.mp4"))
    # Long and tiny: 64x48, 30 fps x 80 s = 2,400 frames, for the bounded-memory test.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-t", "80", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "36", "-g", "120", "-pix_fmt", "yuv420p", p("long_64x48.mp4"))
    # Audio only.
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-b:a", "32k", p("audio_only.mp4"))
    # A video track with no frames (MP4 and Matroska drop an empty track; AVI keeps it).
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-frames:v", "0", "-c:v", "mpeg4", p("zero_frames.avi"))
    # Truncated: moov first (+faststart) so that the header promises 60 frames the data no longer holds, and moov last
    # so that the header itself is gone.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-t", "2", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-g", "30", "-pix_fmt", "yuv420p", "-movflags", "+faststart", p("_full_faststart.mp4"))
    with open(p("_full_faststart.mp4"), "rb") as f:
        data = f.read()
    with open(p("truncated_faststart.mp4"), "wb") as f:
        f.write(data[: len(data) // 2])
    os.remove(p("_full_faststart.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-t", "2", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "32", "-pix_fmt", "yuv420p", p("_full.mp4"))
    with open(p("_full.mp4"), "rb") as f:
        data = f.read()
    with open(p("truncated_no_moov.mp4"), "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    os.remove(p("_full.mp4"))
    with open(p("not_a_video.mp4"), "w") as f:
        f.write("This is a text file with a video extension, not an MP4.\n" * 20)


def pyav_frames(path):
    """Enumerates container.decode(video=0) as AuroraCap and friends do: yields (index, frame)."""
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            yield i, frame


def frame_hash(rgb):
    """The first 16 hex digits of the SHA-256 of a frame's tightly packed RGB24 bytes."""
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:16]


def decode_all(path, wanted=(), resize=None):
    """PyAV's frames in enumeration order: pts, time, key flag and pixel hash of each; pixels of the wanted ones."""
    pts, times, keyframes, hashes, raw, resized = [], [], [], [], {}, {}
    for i, frame in pyav_frames(path):
        rgb = frame.to_ndarray(format="rgb24")
        pts.append(frame.pts)
        times.append(frame.time)
        hashes.append(frame_hash(rgb))
        if frame.key_frame:
            keyframes.append(i)
        if i in wanted:
            raw[i] = rgb
        if resize and i in resize[0]:
            resized[i] = frame.reformat(resize[1], resize[2], "rgb24").to_ndarray()
    return pts, times, keyframes, hashes, raw, resized


def make_goldens():
    clip = os.path.join(OUT, "gop250_bframes.mp4")
    with av.open(clip) as c:
        n = c.streams.video[0].frames
    wanted = sorted(set(np.linspace(0, n - 1, GOLDEN_COUNT, dtype=int).tolist()))
    raw_indices = wanted[::RAW_EVERY]
    pts, times, keyframes, hashes, raw, resized = decode_all(
        clip, set(raw_indices), (set(RESIZE_INDICES), RESIZE_SIZE[0], RESIZE_SIZE[1]))
    assert len(pts) == n, (len(pts), n)
    with gzip.open(os.path.join(OUT, "gop250_bframes.raw16.rgb24.gz"), "wb", compresslevel=9) as f:
        f.write(np.stack([raw[i] for i in raw_indices]).tobytes())
    with gzip.open(os.path.join(OUT, "gop250_bframes.resize160x96.rgb24.gz"), "wb", compresslevel=9) as f:
        f.write(np.stack([resized[i] for i in RESIZE_INDICES]).tobytes())

    small = os.path.join(OUT, "small.mkv")
    s_pts, s_times, s_keys, s_hashes, _, _ = decode_all(small)

    probes = {}
    for name in sorted(os.listdir(OUT)):
        if name.endswith((".mp4", ".mkv", ".avi")) and name not in ("not_a_video.mp4", "truncated_no_moov.mp4", "audio_only.mp4"):
            path = os.path.join(OUT, name)
            probe = ffprobe(path)
            probe["packets"] = count_packets(path)
            try:
                probe["pyav_decoded_frames"] = sum(1 for _ in pyav_frames(path))
            except (av.AVError, IndexError) as e:
                probe["pyav_error"] = repr(e)
            probes[name] = probe

    golden = {
        "generator": f"PyAV {av.__version__}, libavcodec {av.library_versions['libavcodec']}, numpy {np.__version__}",
        "clip": {
            "file": "gop250_bframes.mp4",
            "frame_count": n,
            "width": 320,
            "height": 240,
            "uniform64": wanted,
            "raw_indices": raw_indices,
            "raw_file": "gop250_bframes.raw16.rgb24.gz",
            "pts": pts,
            "times": times,
            "keyframes": keyframes,
            "hashes": hashes,
        },
        "resize": {"indices": RESIZE_INDICES, "width": RESIZE_SIZE[0], "height": RESIZE_SIZE[1],
                   "file": "gop250_bframes.resize160x96.rgb24.gz"},
        "small": {"file": "small.mkv", "frame_count": len(s_pts), "pts": s_pts, "times": s_times,
                  "keyframes": s_keys, "hashes": s_hashes},
        "ffprobe": probes,
    }
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")


def make_bench():
    os.makedirs(BENCH, exist_ok=True)
    path = os.path.join(BENCH, "test10min.mp4")
    if os.path.exists(path) and os.path.getsize(path) > 100_000_000:
        print(f"{path} exists")
        return
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "600", "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", path + ".tmp.mp4")
    os.replace(path + ".tmp.mp4", path)
    print(f"wrote {path}")


if __name__ == "__main__":
    if "--bench-only" not in sys.argv:
        make_fixtures()
        make_goldens()
    if "--bench" in sys.argv or "--bench-only" in sys.argv:
        make_bench()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")
