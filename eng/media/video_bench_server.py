#!/usr/bin/python3
# Copyright (c) Multimodal contributors.
# Licensed under the MIT License.
"""Benchmark peer for VideoBenchmarks: PyAV 10 (Debian's python3-av, the same FFmpeg 5.1 libraries) kept loaded, timing
only the requested sampling each time BenchmarkDotNet asks.

Protocol (stdin/stdout, one line each):
  "decode <path> <k>"  AuroraCap's method as its reference code writes it (read_video_pyav in seed 002): enumerate
                       container.decode(video=0) with PyAV's default threading, keep the frames at
                       np.linspace(0, n - 1, k, dtype=int), stop after the last, convert with to_ndarray("rgb24").
  "decode_auto <path> <k>"  the same with thread_type AUTO (frame threads on every core): a stronger baseline than
                       the reference code.
  "seek <path> <k>"    seek-then-decode: for each wanted frame, container.seek(pts, stream=s, backward=True) and decode
                       forward to the frame with that pts (pts from the constant frame rate).
Both answer "<frames> <byte sum of every 997th byte>" so that no work can be skipped.
"""
import sys

import av
import numpy as np


def wanted(path, k):
    with av.open(path) as c:
        s = c.streams.video[0]
        return s.frames, np.linspace(0, s.frames - 1, k, dtype=int)


def decode(path, k, auto=False):
    n, idx = wanted(path, k)
    keep = set(idx.tolist())
    kept = []
    with av.open(path) as c:
        s = c.streams.video[0]
        if auto:
            s.thread_type = "AUTO"
        for i, f in enumerate(c.decode(video=0)):
            if i > idx[-1]:
                break
            if i in keep:
                kept.append(f)
        return [f.to_ndarray(format="rgb24") for f in kept]


def seek(path, k):
    n, idx = wanted(path, k)
    frames = []
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        rate = s.average_rate
        start = s.start_time or 0
        for i in sorted(set(idx.tolist())):
            target = start + int(round(i / rate / s.time_base))
            c.seek(target, stream=s, backward=True)
            for f in c.decode(s):
                if f.pts >= target:
                    frames.append(f.to_ndarray(format="rgb24"))
                    break
    return frames


print("ready", flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    path, k = parts[1], int(parts[2])
    frames = decode(path, k) if parts[0] == "decode" else decode(path, k, True) if parts[0] == "decode_auto" else seek(path, k)
    print(len(frames), sum(int(f.reshape(-1)[::997].sum()) for f in frames), flush=True)
