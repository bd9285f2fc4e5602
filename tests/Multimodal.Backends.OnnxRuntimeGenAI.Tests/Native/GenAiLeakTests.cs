// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using static Multimodal.Backends.OnnxRuntimeGenAI.Native.GenAiTestEnvironment;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Creating and destroying many GenAI objects keeps the resident set bounded (the collection runs alone, so the process is quiet).</summary>
/// <remarks>
/// Calibration on the tiny model (2-core CI box): the same loops without disposing grow the resident set by about
/// 11–12 MiB (200 generators with a 208-token image prompt, about 60 KiB each) and 82 MiB (5,000 tensors of 16 KiB);
/// with disposing, 0.6–1.7 MiB and under 1 MiB. The bounds sit between.
/// </remarks>
[Collection(GenAiCollection.Name)]
public sealed class GenAiLeakTests
{
    private const long GeneratorGrowthLimit = 6L << 20;
    private const long TensorGrowthLimit = 16L << 20;

    public GenAiLeakTests() => EnsureConfigured();

    [Fact]
    public void CreatingAndDisposing200Generators_KeepsMemoryBounded()
    {
        // Arrange: each generator runs a long image prompt (logits, KV cache and embeddings of 208 positions) and two tokens.
        var scenario = Goldens.Scenarios["one_image"];
        int[] prompt = [.. scenario.Turns[0].InputIds, .. Enumerable.Range(0, 200).Select(i => 3 + (i * 7 % 60))];
        using var model = OpenModel();
        void Run(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var generator = CreateGenerator(model);
                Prefill(generator, prompt, scenario.Images);
                generator.GenerateNextToken();
                generator.GenerateNextToken();
            }
        }

        Run(30); // warm up allocator pools and ONNX Runtime's arenas before the baseline
        var before = ResidentBytes();

        // Act
        Run(200);
        var growth = ResidentBytes() - before;

        // Assert
        Assert.True(growth < GeneratorGrowthLimit, $"200 generators grew the resident set by {Mib(growth)} (allowed {Mib(GeneratorGrowthLimit)})");
    }

    [Fact]
    public void CreatingAndDisposing5000Tensors_KeepsMemoryBounded()
    {
        // Arrange: 16 KiB each, also placed in a named-tensor map (which takes its own reference).
        var data = new float[64 * 64];
        static void Run(float[] data, int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var tensor = GenAiTensor.Create<float>(data, [64, 64]);
                using var named = new GenAiNamedTensors();
                named.Set("x", tensor);
            }
        }

        Run(data, 500);
        var before = ResidentBytes();

        // Act
        Run(data, 5000);
        var growth = ResidentBytes() - before;

        // Assert
        Assert.True(growth < TensorGrowthLimit, $"5,000 tensors grew the resident set by {Mib(growth)} (allowed {Mib(TensorGrowthLimit)})");
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
}
