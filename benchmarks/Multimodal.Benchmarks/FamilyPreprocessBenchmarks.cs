// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
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
    private Process? _python;
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
        var root = TokenizerBenchmarks.CorpusPath[..TokenizerBenchmarks.CorpusPath.IndexOf("tests", StringComparison.Ordinal)];
        _python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Path.Combine(root, "eng", "images", "bench_family_server.py")])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("Cannot start python3.");
        Expect("ready");
        var size = Image.Split('x');
        _path = Path.Combine(Path.GetTempPath(), $"mm-bench-{Image}.jpg");
        Send($"jpeg {_path} {size[0]} {size[1]}");
        Expect("ok");
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
    public void Cleanup()
    {
        _python?.StandardInput.Close();
        _python?.WaitForExit(5000);
        _python?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "reference: Pillow decode + family algorithm (PIL/NumPy)")]
    public string Reference()
    {
        Send($"run {Family} {_path}");
        return _python!.StandardOutput.ReadLine()!;
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

    private void Send(string line)
    {
        _python!.StandardInput.WriteLine(line);
        _python.StandardInput.Flush();
    }

    private void Expect(string line)
    {
        var got = _python!.StandardOutput.ReadLine();
        if (got != line)
        {
            throw new InvalidOperationException($"Python peer said '{got}', expected '{line}'. Are python3-pil and python3-numpy installed?");
        }
    }
}
