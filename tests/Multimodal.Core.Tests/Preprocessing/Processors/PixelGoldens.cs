// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Multimodal.Preprocessing;

/// <summary>
/// Loads tests/data/images/pixels (written by eng/images/family_pixels.py): the manifest of cases and each case's .npz of
/// per-view float32 tensors (and Aria's boolean masks), and regenerates the source images bit for bit.
/// </summary>
internal static class PixelGoldens
{
    /// <summary>Gets the golden folder.</summary>
    public static string Folder { get; } = Path.Combine(GeometryGoldens.RepositoryRoot, "tests", "data", "images", "pixels");

    private static readonly Lazy<JsonDocument> Manifest = new(() =>
    {
        var path = Path.Combine(Folder, "manifest.json");
        Assert.True(File.Exists(path), $"Golden manifest '{path}' is missing; run /usr/bin/python3 eng/images/family_pixels.py.");
        return JsonDocument.Parse(File.ReadAllText(path));
    });

    /// <summary>Gets the names of all cases, for <c>MemberData</c>.</summary>
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Manifest.Value.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    /// <summary>Gets every case of the manifest.</summary>
    public static IEnumerable<JsonElement> Cases() => Manifest.Value.RootElement.GetProperty("cases").EnumerateArray();

    /// <summary>Gets one case by name.</summary>
    public static JsonElement Case(string name) =>
        Cases().Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>Regenerates a named source image and checks it against the SHA-256 the script recorded.</summary>
    public static ImageFrame Source(string name)
    {
        var spec = Manifest.Value.RootElement.GetProperty("sources").GetProperty(name);
        var image = MakeSource(spec.GetProperty("w").GetInt32(), spec.GetProperty("h").GetInt32(), spec.GetProperty("channels").GetInt32(), spec.GetProperty("seed").GetUInt32());
        var sha = Convert.ToHexStringLower(SHA256.HashData(image.Pixels.Span));
        Assert.True(sha == spec.GetProperty("sha256").GetString(), $"Source '{name}' differs from family_pixels.py's make_source (sha256 {sha}).");
        return image;
    }

    /// <summary>Reads the arrays of a case's .npz: name (<c>view0</c>, <c>mask0</c>, …) → (dtype, shape, bytes).</summary>
    public static Dictionary<string, (string DType, int[] Shape, byte[] Data)> ReadArchive(string caseName)
    {
        var path = Path.Combine(Folder, caseName + ".npz");
        Assert.True(File.Exists(path), $"Golden '{path}' is missing; run /usr/bin/python3 eng/images/family_pixels.py.");
        var arrays = new Dictionary<string, (string, int[], byte[])>(StringComparer.Ordinal);
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            arrays[Path.GetFileNameWithoutExtension(entry.Name)] = NpyFormat.Read(stream);
        }

        return arrays;
    }

    /// <summary>Converts the manifest's options object to CLR values (JSON numbers → int, booleans → bool).</summary>
    public static Dictionary<string, object?> Options(JsonElement options)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in options.EnumerateObject())
        {
            result[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.Number => p.Value.GetInt32(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidOperationException($"Unexpected option {p.Name}: {p.Value}"),
            };
        }

        return result;
    }

    /// <summary>
    /// Mirrors family_pixels.py's <c>make_source</c>: R = x gradient, G = y gradient, B = checkerboard, a hashed-noise box
    /// in the middle; alpha is a diagonal ramp; grey is (R + G + B) / 3.
    /// </summary>
    public static ImageFrame MakeSource(int w, int h, int channels, uint seed)
    {
        var pixels = new byte[w * h * channels];
        var cx = Math.Max(1, w / 7);
        var cy = Math.Max(1, h / 5);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                long r = x * 255L / Math.Max(w - 1, 1);
                long g = y * 255L / Math.Max(h - 1, 1);
                long b = 40 + (170 * (((x / cx) + (y / cy)) & 1));
                if (x >= 3 * w / 8 && x < 5 * w / 8 && y >= 3 * h / 8 && y < 5 * h / 8)
                {
                    long noise = Hash32((uint)x, (uint)y, seed);
                    r = noise & 255;
                    g = (noise >> 8) & 255;
                    b = (noise >> 16) & 255;
                }

                var o = ((y * w) + x) * channels;
                if (channels == 1)
                {
                    pixels[o] = (byte)((r + g + b) / 3);
                    continue;
                }

                pixels[o] = (byte)r;
                pixels[o + 1] = (byte)g;
                pixels[o + 2] = (byte)b;
                if (channels == 4)
                {
                    pixels[o + 3] = (byte)(255 - ((x + y) * 255L / Math.Max(w + h - 2, 1)));
                }
            }
        }

        var format = channels switch
        {
            1 => ImagePixelFormat.Gray8,
            3 => ImagePixelFormat.Rgb24,
            4 => ImagePixelFormat.Rgba32,
            _ => throw new ArgumentOutOfRangeException(nameof(channels)),
        };
        return new ImageFrame(w, h, format, pixels);
    }

    /// <summary>lowbias32 of a mix of (x, y, seed), as family_pixels.py's <c>hash32</c> (uint32 wrap-around).</summary>
    private static uint Hash32(uint x, uint y, uint seed)
    {
        unchecked
        {
            var h = (x * 0x9E3779B1u) ^ (y * 0x85EBCA77u) ^ (seed * 0xC2B2AE3Du);
            h ^= h >> 16;
            h *= 0x7FEB352Du;
            h ^= h >> 15;
            h *= 0x846CA68Bu;
            h ^= h >> 16;
            return h;
        }
    }
}
