// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Multimodal.Media.Images;
using Multimodal.Preprocessing;

namespace Multimodal.Benchmarks;

/// <summary>
/// Decode a JPEG and preprocess it for each family (views resized, cropped or padded, normalised to float32), against
/// the Python reference pipeline in the same run: Pillow 9.4 decode + <c>convert("RGB")</c> + the family's algorithm in
/// PIL and NumPy (eng/images/family_pixels.py), in a Python process kept loaded (eng/images/bench_family_server.py).
/// Both sides read the same JPEG file, written by the Python side.
/// </summary>
[BenchmarkCategory("Imaging")]
public class FamilyPreprocessBenchmarks
{
    private PeerProcess? _python;
    private string _path = string.Empty;
    private byte[] _jpeg = [];
    private readonly ImageDecoder _decoder = new();

    [Params("llava", "longva", "auroracap", "minicpmv", "aria")]
    public string Family { get; set; } = "llava";

    [Params("1920x1080", "4032x3024")]
    public string Image { get; set; } = "1920x1080";

    [GlobalSetup]
    public void Setup()
    {
        _python = new PeerProcess("/usr/bin/python3", Path.Combine(PeerProcess.RepositoryRoot, "eng", "images", "bench_family_server.py"));
        var size = Image.Split('x');
        _path = Path.Combine(Path.GetTempPath(), $"mm-bench-{Image}.jpg");
        _python.Expect($"jpeg {_path} {size[0]} {size[1]}", "ok");
        _jpeg = File.ReadAllBytes(_path);

        // Same number of views on both sides, or the comparison is meaningless.
        var ours = Ours();
        var theirs = int.Parse(Reference(), System.Globalization.CultureInfo.InvariantCulture);
        if (ours != theirs)
        {
            throw new InvalidOperationException($"{Family}: {ours} views here, {theirs} in the reference.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _python?.Dispose();

    [Benchmark(Baseline = true, Description = "reference: Pillow decode + family algorithm (PIL/NumPy)")]
    public string Reference()
    {
        return _python!.Ask($"run {Family} {_path}");
    }

    [Benchmark(Description = "ImageDecoder + family preprocessor")]
    public int Ours()
    {
        var frame = _decoder.DecodeAsync(MediaSource.FromBytes(_jpeg, "image/jpeg")).AsTask().GetAwaiter().GetResult();
        PreprocessedImage result = Family switch
        {
            "llava" => LlavaImagePreprocessor.Llava15.Preprocess(frame),
            "longva" => LongVaImagePreprocessor.LongVa.Preprocess(frame),
            "auroracap" => ClipImagePreprocessor.AuroraCap.Preprocess(frame),
            "minicpmv" => MiniCpmVImagePreprocessor.MiniCpmV2.Preprocess(frame),
            _ => AriaImagePreprocessor.Aria.Preprocess(frame),
        };
        return result.PixelValues.Count;
    }
}
