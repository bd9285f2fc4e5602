// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>The one place the tests point <see cref="OnnxRuntimeLibraryOptions.Shared"/> at <c>.tools/native/linux-x64</c>, and the tiny models with their goldens.</summary>
internal static class OrtTestEnvironment
{
    private static readonly Lock s_lock = new();
    private static bool s_configured;
    private static JsonDocument? s_expected;

    /// <summary>Gets the folder with <c>libonnxruntime.so.1</c> (eng/native/fetch-onnxruntime.sh).</summary>
    public static string NativeDirectory { get; } = RepositoryPaths.Combine(".tools", "native", "linux-x64");

    /// <summary>Gets the folder with the C headers.</summary>
    public static string IncludeDirectory { get; } = RepositoryPaths.Combine(".tools", "native", "include");

    /// <summary>Gets the folder of the models built by eng/onnx/make_binding_test_models.py.</summary>
    public static string ModelDirectory { get; } = RepositoryPaths.Combine("tests", "data", "onnx", "binding");

    /// <summary>Gets the numpy goldens (expected.json).</summary>
    public static JsonElement Expected
    {
        get
        {
            lock (s_lock)
            {
                s_expected ??= JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ModelDirectory, "expected.json")));
                return s_expected.RootElement;
            }
        }
    }

    /// <summary>Returns a test model's path.</summary>
    /// <param name="name">The file name, for example <c>add.onnx</c>.</param>
    /// <returns>The full path.</returns>
    public static string Model(string name) => Path.Combine(ModelDirectory, name);

    /// <summary>Adds <see cref="NativeDirectory"/> to the shared options before anything loads; every test class calls it from its constructor.</summary>
    public static void EnsureConfigured()
    {
        lock (s_lock)
        {
            if (s_configured)
            {
                return;
            }

            if (!File.Exists(Path.Combine(NativeDirectory, "libonnxruntime.so.1")))
            {
                throw new InvalidOperationException(
                    $"libonnxruntime.so.1 is missing from {NativeDirectory}; run 'bash eng/native/fetch-onnxruntime.sh' (or eng/bootstrap.sh).");
            }

            // Another test assembly's code never shares this process, but a test here may already have loaded the library.
            if (!OnnxRuntimeLibraryOptions.Shared.IsFrozen)
            {
                OnnxRuntimeLibraryOptions.Shared.AddSearchDirectory(NativeDirectory);
            }

            s_configured = true;
        }
    }

    /// <summary>Reads a golden tensor's shape.</summary>
    /// <param name="tensor">A <c>{"shape": [...], "data": [...]}</c> element.</param>
    /// <returns>The dimensions.</returns>
    public static long[] Shape(JsonElement tensor) => [.. tensor.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64())];

    /// <summary>Reads a golden tensor's data as floats.</summary>
    /// <param name="tensor">A <c>{"shape": [...], "data": [...]}</c> element.</param>
    /// <returns>The elements.</returns>
    public static float[] Floats(JsonElement tensor) => [.. tensor.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];

    /// <summary>Reads a golden tensor's data as 64-bit integers.</summary>
    /// <param name="tensor">A <c>{"shape": [...], "data": [...]}</c> element.</param>
    /// <returns>The elements.</returns>
    public static long[] Longs(JsonElement tensor) => [.. tensor.GetProperty("data").EnumerateArray().Select(v => v.GetInt64())];

    /// <summary>Reads a golden tensor's data as booleans.</summary>
    /// <param name="tensor">A <c>{"shape": [...], "data": [...]}</c> element.</param>
    /// <returns>The elements.</returns>
    public static bool[] Bools(JsonElement tensor) => [.. tensor.GetProperty("data").EnumerateArray().Select(v => v.GetBoolean())];

    /// <summary>Asserts that two float sequences agree within an absolute tolerance, naming the worst element.</summary>
    /// <param name="expected">The numpy values.</param>
    /// <param name="actual">ONNX Runtime's values.</param>
    /// <param name="tolerance">The largest allowed absolute difference.</param>
    /// <param name="what">What is compared, for the message.</param>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        var worst = 0f;
        var at = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = MathF.Abs(expected[i] - actual[i]);
            if (difference > worst || float.IsNaN(difference))
            {
                worst = float.IsNaN(difference) ? float.PositiveInfinity : difference;
                at = i;
            }
        }

        Assert.True(worst <= tolerance, $"{what}: differs by {worst:g4} at {at} (expected {(at < 0 ? 0 : expected[at])}, got {(at < 0 ? 0 : actual[at])}); tolerance {tolerance:g4}.");
    }
}

/// <summary>Runs a test class alone, after the parallel ones: the leak test measures the whole process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OrtIsolatedCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "ONNX Runtime isolated";
}
