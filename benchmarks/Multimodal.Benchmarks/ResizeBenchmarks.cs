// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Multimodal.Imaging;

namespace Multimodal.Benchmarks;

/// <summary>
/// Resizing RGB images the way the families do (1920×1080 and 4032×3024 down to CLIP's 448×336 and to Aria's 980×735,
/// bicubic), against Pillow 9.4 itself in the same run: a Python process keeps the same image loaded and times only
/// <c>Image.resize</c> (eng/images/bench_server.py). Both sides produce bit-identical pixels (ResizeParityTests).
/// </summary>
[BenchmarkCategory("Imaging")]
public class ResizeBenchmarks
{
    private PeerProcess? _python;
    private ImageFrame _image = null!;

    [Params("1920x1080->448x336", "4032x3024->448x336", "4032x3024->980x735")]
    public string Case { get; set; } = "1920x1080->448x336";

    private (int W, int H, int OutW, int OutH) Sizes
    {
        get
        {
            var parts = Case.Split("->");
            var a = parts[0].Split('x').Select(int.Parse).ToArray();
            var b = parts[1].Split('x').Select(int.Parse).ToArray();
            return (a[0], a[1], b[0], b[1]);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (w, h, _, _) = Sizes;
        var rng = new Random(7);
        var pixels = new byte[w * h * 3];
        rng.NextBytes(pixels);
        _image = new ImageFrame(w, h, ImagePixelFormat.Rgb24, pixels);
        _python = new PeerProcess("/usr/bin/python3", Path.Combine(PeerProcess.RepositoryRoot, "eng", "images", "bench_server.py"));
        _python.Expect($"load img {w} {h}", "ok");
    }

    [GlobalCleanup]
    public void Cleanup() => _python?.Dispose();

    [Benchmark(Baseline = true, Description = "Pillow 9.4 Image.resize (bicubic)")]
    public string Pillow()
    {
        var (_, _, ow, oh) = Sizes;
        return _python!.Ask($"resize img {ow} {oh} bicubic");
    }

    [Benchmark(Description = "ImageOperations.Resize (bicubic)")]
    public int Ours()
    {
        var (_, _, ow, oh) = Sizes;
        return ImageOperations.Resize(_image, ow, oh, ResampleFilter.Bicubic).Width;
    }
}
