#!/usr/bin/python3
# Copyright (c) Multimodal contributors.
# Licensed under the MIT License.
"""Benchmark peer for VideoBenchmarks: PyAV 10 (Debian's python3-av, the same FFmpeg 5.1 libraries) kept loaded, timing
only the requested sampling each time BenchmarkDotNet asks.

Protocol (stdin/stdout, one line each):
  "decode <path> <k>"  AuroraCap's method: enumerate container.decode(video=0) and keep the frames at
                       np.linspace(0, n - 1, k, dtype=int) as to_ndarray(format="rgb24") (thread_type AUTO).
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


def decode(path, k):
    n, idx = wanted(path, k)
    keep = set(idx.tolist())
    frames = []
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for i, f in enumerate(c.decode(s)):
            if i in keep:
                frames.append(f.to_ndarray(format="rgb24"))
            if i >= idx[-1]:
                break
    return frames


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
    frames = (decode if parts[0] == "decode" else seek)(parts[1], int(parts[2]))
    print(len(frames), sum(int(f.reshape(-1)[::997].sum()) for f in frames), flush=True)
