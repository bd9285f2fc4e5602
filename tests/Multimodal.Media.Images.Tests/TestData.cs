// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Multimodal.Media.Images;

/// <summary>The committed test images and their Pillow goldens (tests/data/images/decoding, written by eng/images/make_image_goldens.py).</summary>
internal static class TestData
{
    /// <summary>Gets the repository root (the folder with Multimodal.Core.sln).</summary>
    public static string RepositoryRoot => Multimodal.Testing.RepositoryPaths.Root;

    /// <summary>Gets the folder of test images.</summary>
    public static string Folder => Path.Combine(RepositoryRoot, "tests", "data", "images", "decoding");

    /// <summary>Gets the goldens, one per image.</summary>
    public static IReadOnlyList<Golden> Goldens { get; } = LoadGoldens();

    /// <summary>Gets the golden of one file.</summary>
    public static Golden Get(string file) => Goldens.Single(g => g.File == file);

    /// <summary>Reads a test image.</summary>
    public static byte[] Read(string file) => File.ReadAllBytes(Path.Combine(Folder, file));

    /// <summary>Reads the gzip'd raw RGB golden of a lossy image.</summary>
    public static byte[] ReadRaw(string file)
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(Folder, file)), CompressionMode.Decompress);
        using var copy = new MemoryStream();
        gz.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Hashes pixel bytes the way the goldens do.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Gets a frame's pixels as one tightly packed array.</summary>
    public static byte[] Packed(ImageFrame frame)
    {
        var rowBytes = frame.Width * frame.BytesPerPixel;
        var packed = new byte[rowBytes * frame.Height];
        for (var y = 0; y < frame.Height; y++)
        {
            frame.GetRow(y).CopyTo(packed.AsSpan(y * rowBytes));
        }

        return packed;
    }

    /// <summary>Theory data: every golden's file name, optionally filtered.</summary>
    public static TheoryData<string> Files(Func<Golden, bool> filter)
    {
        var data = new TheoryData<string>();
        foreach (var g in Goldens.Where(filter))
        {
            data.Add(g.File);
        }

        return data;
    }

    private static IReadOnlyList<Golden> LoadGoldens()
    {
        using var stream = File.OpenRead(Path.Combine(Folder, "goldens.json"));
        return JsonSerializer.Deserialize<GoldenDocument>(stream)!.Images;
    }

    private sealed record GoldenDocument([property: JsonPropertyName("images")] IReadOnlyList<Golden> Images);
}

/// <summary>Pillow's reading of one test image.</summary>
internal sealed record Golden(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("lossy")] bool Lossy,
    [property: JsonPropertyName("rgb_sha256")] string RgbSha256,
    [property: JsonPropertyName("rgba_sha256")] string RgbaSha256,
    [property: JsonPropertyName("l_sha256")] string LSha256,
    [property: JsonPropertyName("samples_rgba")] IReadOnlyList<int[]> SamplesRgba,
    [property: JsonPropertyName("transposed")] TransposedGolden Transposed,
    [property: JsonPropertyName("rgb_raw")] string? RgbRaw)
{
    public override string ToString() => File;
}

/// <summary>Pillow's <c>ImageOps.exif_transpose(im).convert("RGB")</c>.</summary>
internal sealed record TransposedGolden(
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("rgb_sha256")] string RgbSha256);
