// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Multimodal.Media.Video;

namespace Multimodal.Benchmarks;

/// <summary>
/// Sampling 32 and 256 uniformly spaced frames (np.linspace) as RGB24 from the acceptance video — 10 minutes of
/// 1280×720 30 fps H.264 (testsrc2, libx264 veryfast, GOP 250, B-frames), ~200 MB, made by
/// <c>eng/media/make_video_fixtures.py --bench</c> into artifacts/media/ — against PyAV 10 in the same run: whole-file
/// decode keeping the selected frames as AuroraCap's reference code does (the baseline), the same with frame threads
/// on every core, and PyAV seek-then-decode. A Python process
/// keeps PyAV loaded and times only the sampling (eng/media/video_bench_server.py). Each operation takes seconds, so
/// run it with <c>--monitoring</c> (a few single-invocation iterations).
/// </summary>
[BenchmarkCategory("Video")]
public class VideoBenchmarks
{
    private PeerProcess? _python;
    private string _path = string.Empty;
    private int _frameCount;

    [Params(32, 256)]
    public int Frames { get; set; } = 32;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(PeerProcess.RepositoryRoot, "artifacts", "media", "test10min.mp4");
        if (!File.Exists(_path))
        {
            throw new InvalidOperationException($"{_path} is missing: run /usr/bin/python3 eng/media/make_video_fixtures.py --bench (about 2.5 minutes).");
        }

        using (var video = VideoFile.Open(_path))
        {
            _frameCount = video.Info.FrameCount;
        }

        _python = new PeerProcess("/usr/bin/python3", Path.Combine(PeerProcess.RepositoryRoot, "eng", "media", "video_bench_server.py"));
    }

    [GlobalCleanup]
    public void Cleanup() => _python?.Dispose();

    [Benchmark(Baseline = true, Description = "PyAV 10 whole-file decode, keep selected (AuroraCap's read_video_pyav)")]
    public string PyAvDecode() => _python!.Ask($"decode {_path} {Frames}");

    [Benchmark(Description = "PyAV 10 whole-file decode, thread_type AUTO")]
    public string PyAvDecodeThreaded() => _python!.Ask($"decode_auto {_path} {Frames}");

    [Benchmark(Description = "PyAV 10 seek + decode forward")]
    public string PyAvSeek() => _python!.Ask($"seek {_path} {Frames}");

    [Benchmark(Description = "VideoFile (open + scan + seek/decode)")]
    public Task<long> Ours() => SampleAsync(1);

    [Benchmark(Description = "VideoFile, 2 decoders")]
    public Task<long> OursParallel2() => SampleAsync(2);

    private async Task<long> SampleAsync(int parallelism)
    {
        // A fresh VideoFile per call, so the packet scan is part of the time.
        using var video = VideoFile.Open(_path);
        var indices = FrameSampling.Uniform(Frames).SelectFrames(_frameCount, video.Info.FramesPerSecond);
        long sum = 0;
        await foreach (var frame in video.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = parallelism }).ConfigureAwait(false))
        {
            sum += frame.Image.Pixels.Span[^1];
        }

        return sum;
    }
}
