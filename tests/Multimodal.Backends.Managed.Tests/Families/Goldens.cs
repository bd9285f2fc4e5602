// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using System.Text.Json;

namespace Multimodal.Backends.Managed.Families;

/// <summary>Reads the PyTorch goldens of one family (tests/data/managed/&lt;family&gt;, written by eng/managed/make_tiny_models.py).</summary>
internal sealed class Goldens
{
    private Goldens(string family)
    {
        Folder = Multimodal.Testing.RepositoryPaths.Combine("tests", "data", "managed", family);
        Manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "manifest.json"))).RootElement;
    }

    public string Folder { get; }

    public JsonElement Manifest { get; }

    public string ModelFolder => Multimodal.Testing.RepositoryPaths.Combine(Manifest.GetProperty("model_dir").GetString()!.Split('/'));

    public float Tolerance => Manifest.GetProperty("tolerance").GetSingle();

    public static Goldens For(string family) => new(family);

    public (int[] Shape, float[] Data) Floats(string file)
    {
        using var stream = File.OpenRead(Path.Combine(Folder, file));
        var (dtype, shape, data) = NpyFormat.Read(stream);
        Assert.Equal("<f4", dtype);
        return (shape, MemoryMarshal.Cast<byte, float>(data).ToArray());
    }

    public long[] Longs(string file)
    {
        using var stream = File.OpenRead(Path.Combine(Folder, file));
        var (dtype, _, data) = NpyFormat.Read(stream);
        Assert.Equal("<i8", dtype);
        return MemoryMarshal.Cast<byte, long>(data).ToArray();
    }

    public DenseTensor<float> Tensor(string file)
    {
        var (shape, data) = Floats(file);
        return new DenseTensor<float>(data, shape);
    }

    /// <summary>Asserts max |Δ| within the manifest's tolerance and returns it.</summary>
    public static float AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        var max = 0f;
        var at = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = MathF.Abs(expected[i] - actual[i]);
            if (!(diff <= max))
            {
                max = diff;
                at = i;
            }
        }

        Assert.True(max <= tolerance, $"{what}: max |Δ| = {max:G4} at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}), tolerance {tolerance:G4}");
        return max;
    }

    public float AssertClose(string file, ReadOnlySpan<float> actual, string? what = null) =>
        AssertClose(Floats(file).Data, actual, Tolerance, what ?? file);
}
