// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Multimodal.Interop;
using Xunit.Abstractions;
using static Multimodal.Backends.OnnxRuntimeGenAI.Native.GenAiTestEnvironment;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Every GenAI handle the binding creates is released: live counts per handle type (<see cref="GenAiHandleCounts"/>)
/// before and after, a model kept alive by its generators and parameters, and no growth over 1,000 cycles of model,
/// parameters, generator, tensors, named tensors, <c>SetInputs</c> and <c>AppendTokens</c>.</summary>
/// <remarks>The collection runs alone, so nothing else creates handles while a test counts. GenAI has no process-wide handles of ours.</remarks>
[Collection(GenAiCollection.Name)]
public sealed class GenAiHandleCountTests
{
    private const int Cycles = 1000;
    private const int WarmUpCycles = 20;

    // Calibration (2-core box, after the warm-up; about 22 s): 1,000 cycles grow the resident set by 14–16 MiB, most of
    // it in the first 250 (11.6 MiB, 9.3 MiB of it outside the GC heap), and it levels off (2,000 cycles: 14.1 MiB).
    // 50 models kept open add 41 MiB (about 0.8 MiB each), so leaking the model of every cycle would add about 800 MiB;
    // 200 prefilled generators kept open add 5 MiB. Smaller leaks (a tensor, a map) show in the counts, not here.
    private const long AllowedGrowthBytes = 28L << 20;

    private readonly ITestOutputHelper _output;

    public GenAiHandleCountTests(ITestOutputHelper output)
    {
        _output = output;
        EnsureConfigured();
    }

    [Fact]
    public void OneThousandCycles_ModelParamsGeneratorTensorsRun_LeaveEveryCountAtItsBaseline_AndTheProcessBounded()
    {
        // Arrange
        var scenario = Goldens.Scenarios["one_image"];
        for (var i = 0; i < WarmUpCycles; i++)
        {
            Cycle(scenario, i, baseline: null);
        }

        var baseline = GenAiHandleSnapshot.Settled();
        var before = ResidentBytes();
        var clock = Stopwatch.StartNew();

        // Act
        for (var i = 0; i < Cycles; i++)
        {
            Cycle(scenario, i, baseline);
        }

        // Assert: disposal alone brings every count back, before any collection, and the collector finds nothing left.
        baseline.AssertSameAs($"after {Cycles} cycles, before collecting");
        var after = ResidentBytes();
        baseline.AssertSameAs($"after {Cycles} cycles and a full collection");
        var growth = after - before;
        _output.WriteLine($"{Cycles} cycles in {clock.Elapsed.TotalSeconds:F1} s: resident set {Mib(before)} -> {Mib(after)} ({Mib(growth)})");
        Assert.True(growth < AllowedGrowthBytes, $"{Cycles} cycles grew the resident set by {Mib(growth)} (allowed {Mib(AllowedGrowthBytes)}).");
    }

    [Fact]
    public void DisposingTheModelFirst_GenerationGoesOn_AndTheNativeModelGoesWithItsLastChild()
    {
        // Arrange
        var baseline = GenAiHandleSnapshot.Settled();
        var scenario = Goldens.Scenarios["one_image"];
        var turn = scenario.Turns[0];
        var model = OpenModel();
        var parameters = new GenAiGeneratorParams(model);
        parameters.SetSearchOption("do_sample", false);
        var generator = new GenAiGenerator(model, parameters);

        // Act: the parent goes first.
        model.Dispose();

        // Assert: the wrapper refuses new children, but the native model lives on under its parameters and generator.
        Assert.Throws<ObjectDisposedException>(() => new GenAiGeneratorParams(model));
        Assert.Throws<ObjectDisposedException>(() => new GenAiGenerator(model, parameters));
        Assert.Equal(baseline.Of<SafeGenAiModelHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiModelHandle>());
        Prefill(generator, turn.InputIds, scenario.Images);
        for (var step = 0; step < turn.Tokens.Length; step++)
        {
            AssertLogits(turn.Logits[step], Logits(generator), $"step {step} after the model was disposed");
            generator.AppendTokens([turn.Tokens[step]]);
        }

        // The parameters go next: the generator still holds the model.
        parameters.Dispose();
        Assert.Equal(baseline.Of<SafeGenAiModelHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiModelHandle>());
        Assert.Equal(baseline.Of<SafeGenAiGeneratorParamsHandle>(), GenAiHandleCounts.Live<SafeGenAiGeneratorParamsHandle>());

        // The native model is released exactly when its last child, the first generator, is.
        generator.Dispose();
        Assert.Equal(baseline.Of<SafeGenAiModelHandle>(), GenAiHandleCounts.Live<SafeGenAiModelHandle>());
        baseline.AssertSameAs("after disposing everything");
    }

    [Fact]
    public void DisposingATensorFirst_TheNamedTensorsStillFeedTheGenerator()
    {
        // Arrange: GenAI keeps its own references to tensors placed in a map, so ours may go first.
        var baseline = GenAiHandleSnapshot.Settled();
        var scenario = Goldens.Scenarios["one_image"];
        var turn = scenario.Turns[0];
        using var model = OpenModel();
        using var generator = CreateGenerator(model);
        var rows = scenario.Images[0];
        float[] pixels = [.. rows.SelectMany(row => row)];
        var inputIds = GenAiTensor.Create<int>(turn.InputIds, [1, turn.InputIds.Length]);
        var pixelValues = GenAiTensor.Create<float>(pixels, [rows.Length, rows[0].Length]);
        var numImageTokens = GenAiTensor.Create<long>([rows.Length], [1]);
        var inputs = new GenAiNamedTensors();
        inputs.Set("input_ids", inputIds);
        inputs.Set("pixel_values", pixelValues);
        inputs.Set("num_image_tokens", numImageTokens);

        // Act
        inputIds.Dispose();
        pixelValues.Dispose();
        numImageTokens.Dispose();
        Assert.Equal(baseline.Of<SafeGenAiTensorHandle>(), GenAiHandleCounts.Live<SafeGenAiTensorHandle>());
        generator.SetInputs(inputs);
        inputs.Dispose();

        // Assert
        AssertLogits(turn.Logits[0], Logits(generator), "prompt from tensors disposed before SetInputs");
        Assert.Equal(baseline.Of<SafeGenAiNamedTensorsHandle>(), GenAiHandleCounts.Live<SafeGenAiNamedTensorsHandle>());
    }

    [Fact]
    public void AHandleNeverDisposed_IsReleasedByItsFinalizer_AfterItsChildren()
    {
        // Arrange
        var baseline = GenAiHandleSnapshot.Settled();

        // Act: a model, its parameters and a generator, and a tensor, dropped without Dispose.
        DropWithoutDisposing();
        Assert.Equal(baseline.Of<SafeGenAiModelHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiModelHandle>());
        Assert.Equal(baseline.Of<SafeGenAiGeneratorHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiGeneratorHandle>());

        // Assert: the finalizers destroy children first (their references hold the model's handle open), then the model.
        baseline.AssertSameAs("after the finalizers ran", GenAiHandleSnapshot.Settled());
    }

    [Fact]
    public void ALibraryWithoutThe015Marker_IsRejected_WithANativeLibraryExceptionSayingWhy()
    {
        // Arrange: ONNX Runtime itself stands in for a GenAI older than 0.15 (it lacks OgaSetTelemetryEnabled); the
        // export list is emptied so that the version check, not a missing export, is what refuses it.
        var ort = Path.Combine(NativeDirectory, "libonnxruntime.so.1");
        var options = new OnnxRuntimeGenAILibraryOptions { GenAIPath = ort };
        var spec = GenAiLibrary.Spec with { RequiredExports = [] };

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, options).GetHandle());

        // Assert
        Assert.Equal("onnxruntime-genai", ex.LibraryName);
        Assert.Equal(ort, ex.PathsTried[0]);
        Assert.Contains(
            $"was found at '{ort}' but cannot be used: it is older than ONNX Runtime GenAI 0.15 (it lacks OgaSetTelemetryEnabled, which 0.15.0 added",
            ex.Message,
            StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeGenAILibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
        Assert.False(options.IsFrozen);
    }

    private static void Cycle(GenAiScenario scenario, int i, GenAiHandleSnapshot? baseline)
    {
        var turn = scenario.Turns[0];
        using var model = OpenModel();
        using var parameters = new GenAiGeneratorParams(model);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new GenAiGenerator(model, parameters);
        var rows = scenario.Images[0];
        float[] pixels = [.. rows.SelectMany(row => row)];
        using (var inputIds = GenAiTensor.Create<int>(turn.InputIds, [1, turn.InputIds.Length]))
        using (var pixelValues = GenAiTensor.Create<float>(pixels, [rows.Length, rows[0].Length]))
        using (var numImageTokens = GenAiTensor.Create<long>([rows.Length], [1]))
        using (var inputs = new GenAiNamedTensors())
        {
            inputs.Set("input_ids", inputIds);
            inputs.Set("pixel_values", pixelValues);
            inputs.Set("num_image_tokens", numImageTokens);
            if (baseline is not null)
            {
                // While the cycle's objects are open they are counted: the counters see them, so a baseline match means released.
                Assert.Equal(baseline.Of<SafeGenAiModelHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiModelHandle>());
                Assert.Equal(baseline.Of<SafeGenAiGeneratorParamsHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiGeneratorParamsHandle>());
                Assert.Equal(baseline.Of<SafeGenAiGeneratorHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiGeneratorHandle>());
                Assert.Equal(baseline.Of<SafeGenAiTensorHandle>() + 3, GenAiHandleCounts.Live<SafeGenAiTensorHandle>());
                Assert.Equal(baseline.Of<SafeGenAiNamedTensorsHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiNamedTensorsHandle>());
            }

            generator.SetInputs(inputs);
        }

        // A few tokens, one at a time, then the logits (a tensor GenAI returns, adopted and destroyed).
        for (var step = 0; step < 3; step++)
        {
            generator.AppendTokens([turn.Tokens[step]]);
        }

        var logits = new float[Goldens.VocabSize];
        Assert.Equal(Goldens.VocabSize, generator.CopyLogits(logits));
        Assert.True(generator.TokenCount == turn.InputIds.Length + 3, $"cycle {i}: {generator.TokenCount} tokens");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropWithoutDisposing()
    {
        // Dropped on purpose: only the finalizers can release them, in whatever order they run.
        var model = OpenModel();
        var parameters = new GenAiGeneratorParams(model);
        _ = new GenAiGenerator(model, parameters);
        _ = GenAiTensor.Create<float>([1f, 2f], [2]);
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");
}
