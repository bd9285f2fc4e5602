// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Multimodal.Imaging;

namespace Multimodal.Imaging;

/// <summary>Resize is bit-identical to Pillow 9.4 for every filter, mode (L, RGB, RGBA) and size in the goldens (eng/images/make_resize_goldens.py).</summary>
public class ResizeParityTests
{
    internal static string Root => Multimodal.Testing.RepositoryPaths.Root;

    private static string Folder => Path.Combine(Root, "tests", "data", "images", "resize");

    public static TheoryData<string> Filters => new() { "nearest", "box", "bilinear", "hamming", "bicubic", "lanczos" };

    [Theory]
    [MemberData(nameof(Filters))]
    public void EveryGoldenCase_IsBitIdenticalToPillow(string filter)
    {
        var sources = new Dictionary<string, byte[]>();
        var shapes = new Dictionary<string, int[]>();
        var cases = File.ReadLines(Path.Combine(Folder, "goldens.jsonl")).Select(l => JsonSerializer.Deserialize<Golden>(l)!).Where(g => g.Filter == filter).ToList();
        Assert.True(cases.Count > 150, $"only {cases.Count} cases for {filter}");
        var failures = new List<string>();
        foreach (var g in cases)
        {
            if (!sources.ContainsKey(g.Source))
            {
                using var f = File.OpenRead(Path.Combine(Folder, g.Source + ".npy"));
                var (_, shape, data) = NpyFormat.Read(f);
                sources[g.Source] = data;
                shapes[g.Source] = shape;
            }

            var image = Source(sources[g.Source], shapes[g.Source], g.Mode);
            var resized = g.Box is { } b
                ? ImageOperations.Resize(image, g.Width, g.Height, Parse(filter), ((float)b[0], (float)b[1], (float)b[2], (float)b[3]))
                : ImageOperations.Resize(image, g.Width, g.Height, Parse(filter));
            var hash = Convert.ToHexStringLower(SHA256.HashData(resized.Pixels.Span));
            if (hash != g.Sha256)
            {
                failures.Add($"{g.Source} {g.Mode} {image.Width}x{image.Height} -> {g.Width}x{g.Height} box {(g.Box is null ? "-" : string.Join(",", g.Box))}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} {filter} cases differ from Pillow:\n" + string.Join("\n", failures.Take(20)));
    }

    internal static ImageFrame Source(byte[] rgba, int[] shape, string mode)
    {
        int h = shape[0], w = shape[1];
        var channels = mode switch { "RGBA" => 4, "RGB" => 3, _ => 1 };
        var pixels = new byte[w * h * channels];
        for (var i = 0; i < w * h; i++)
        {
            for (var c = 0; c < channels; c++)
            {
                pixels[(i * channels) + c] = rgba[(i * 4) + c];
            }
        }

        return new ImageFrame(w, h, mode switch { "RGBA" => ImagePixelFormat.Rgba32, "RGB" => ImagePixelFormat.Rgb24, _ => ImagePixelFormat.Gray8 }, pixels);
    }

    internal static ResampleFilter Parse(string name) => Enum.Parse<ResampleFilter>(name, ignoreCase: true);

    internal sealed record Golden(
        [property: JsonPropertyName("source")] string Source,
        [property: JsonPropertyName("mode")] string Mode,
        [property: JsonPropertyName("filter")] string Filter,
        [property: JsonPropertyName("width")] int Width,
        [property: JsonPropertyName("height")] int Height,
        [property: JsonPropertyName("box")] double[]? Box,
        [property: JsonPropertyName("sha256")] string Sha256);
}
