// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Multimodal.Testing;

namespace Multimodal.Media.Video;

/// <summary>The committed fixtures and PyAV goldens made by eng/media/make_video_fixtures.py.</summary>
internal static class VideoFixtures
{
    private static readonly Lazy<JsonElement> s_goldens = new(() => JsonDocument.Parse(File.ReadAllText(PathOf("goldens.json"))).RootElement);

    /// <summary>Gets goldens.json.</summary>
    public static JsonElement Goldens => s_goldens.Value;

    /// <summary>Gets the B-frame, GOP-250 clip's section of the goldens.</summary>
    public static JsonElement Clip => Goldens.GetProperty("clip");

    public static string Directory => RepositoryPaths.Combine("tests", "data", "media", "video");

    public static string PathOf(string name) => Path.Combine(Directory, name);

    public static string ClipPath => PathOf("gop250_bframes.mp4");

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    public static long[] Longs(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt64())];

    public static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>Reads a gzip file of concatenated RGB24 frames.</summary>
    public static byte[][] ReadFrames(string name, int count, int width, int height)
    {
        using var gz = new GZipStream(File.OpenRead(PathOf(name)), CompressionMode.Decompress);
        var frames = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            frames[i] = new byte[width * height * 3];
            gz.ReadExactly(frames[i]);
        }

        return frames;
    }

    /// <summary>The first 16 hex digits of the SHA-256 of a frame's tightly packed RGB24 bytes (the goldens' hash).</summary>
    public static string Hash(ImageFrame frame) => Convert.ToHexStringLower(SHA256.HashData(Packed(frame)))[..16];

    public static byte[] Packed(ImageFrame frame)
    {
        var row = frame.Width * frame.BytesPerPixel;
        var packed = new byte[row * frame.Height];
        for (var y = 0; y < frame.Height; y++)
        {
            frame.GetRow(y).CopyTo(packed.AsSpan(y * row));
        }

        return packed;
    }

    /// <summary>The largest absolute difference between two equally sized RGB24 buffers.</summary>
    public static int MaxDelta(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return max;
    }

    public static async Task<List<VideoFrame>> ToListAsync(IAsyncEnumerable<VideoFrame> frames)
    {
        var list = new List<VideoFrame>();
        await foreach (var f in frames)
        {
            list.Add(f);
        }

        return list;
    }
}
