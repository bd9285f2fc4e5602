// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Every native handle the binding creates is released: live counts per handle type (<see cref="OrtHandleCounts"/>)
/// before and after, parents kept alive by children, and no growth over 1,000 create/run/dispose cycles.</summary>
/// <remarks>
/// The collection runs alone, so nothing else creates handles while a test counts. The process-wide singletons (the
/// <c>OrtEnv</c> and the CPU memory info, <see cref="OrtHandleCounts.ProcessSingletons"/>) are created by the warm-up
/// before any baseline and are asserted separately: one each, never released.
/// </remarks>
[Collection(OrtIsolatedCollection.Name)]
public sealed class OrtHandleCountTests
{
    private const int Cycles = 1000;
    private const int WarmUpCycles = 100;
    private const string Past = "past_key_values.0.key";
    private const string Present = "present.0.key";

    // Calibration (2-core box, after the warm-up): 1,000 cycles grow the resident set by 10–18 MiB, most of it in the
    // first 500 (allocator pools and the GC heap), and it levels off: 2,000 cycles 10.6 MiB (7.1 MiB outside the GC
    // heap), 3,000 cycles 14.5 MiB. 250 sessions kept open add 34 MiB (about 135 KiB each), so leaking the session of
    // every cycle would add about 130 MiB. Smaller leaks (a value, a binding) show in the counts, not here.
    private const long AllowedGrowthBytes = 24L << 20;

    private readonly ITestOutputHelper _output;

    public OrtHandleCountTests(ITestOutputHelper output)
    {
        _output = output;
        EnsureConfigured();
    }

    [Fact]
    public void Counts_RiseWithEachHandle_AndFallOnDispose()
    {
        // Arrange
        Warm();
        var baseline = OrtHandleSnapshot.Settled();

        // Act + Assert: a session (and its node reading: type infos, allocated names, all released at once), a value, run options.
        using (var session = OrtSession.Create(Model("add.onnx")))
        {
            Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());
            Assert.Equal(baseline.Of<SafeOrtTypeInfoHandle>(), OrtHandleCounts.Live<SafeOrtTypeInfoHandle>());
            Assert.Equal(baseline.Of<SafeOrtAllocatedHandle>(), OrtHandleCounts.Live<SafeOrtAllocatedHandle>());
            using var value = OrtValue.CreateTensor<float>([2, 2]);
            using var options = new OrtRunOptions();
            Assert.Equal(baseline.Of<SafeOrtValueHandle>() + 1, OrtHandleCounts.Live<SafeOrtValueHandle>());
            Assert.Equal(baseline.Of<SafeOrtRunOptionsHandle>() + 1, OrtHandleCounts.Live<SafeOrtRunOptionsHandle>());
        }

        baseline.AssertSameAs("after disposing");
    }

    [Fact]
    public void OneThousandCycles_CreateRunDispose_LeaveEveryCountAtItsBaseline_AndTheProcessBounded()
    {
        // Arrange: the warm-up loads ONNX Runtime, creates the environment and the CPU memory info, and lets the GC heap
        // and the native allocators reach their working size.
        var model = File.ReadAllBytes(Model("kv.onnx"));
        for (var i = 0; i < WarmUpCycles; i++)
        {
            Cycle(model, i, baseline: null);
        }

        var baseline = OrtHandleSnapshot.Settled();
        var before = ResidentBytes();

        // Act: each cycle opens a session (from the file, then from bytes), runs it directly (with caller run options
        // and with a private cancellable one), through an I/O binding, with an input name it lacks, and makes values.
        for (var i = 0; i < Cycles; i++)
        {
            Cycle(model, i, baseline);
        }

        // Assert: disposal alone brings every count back, before any collection, and the collector finds nothing left.
        baseline.AssertSameAs($"after {Cycles} cycles, before collecting");
        var after = ResidentBytes();
        baseline.AssertSameAs($"after {Cycles} cycles and a full collection");
        AssertSingletons();
        var growth = after - before;
        _output.WriteLine($"{Cycles} cycles: resident set {Mib(before)} -> {Mib(after)} ({Mib(growth)}); live handles {OrtHandleCounts.Total}");
        Assert.True(growth < AllowedGrowthBytes, $"{Cycles} cycles grew the resident set by {Mib(growth)} (allowed {Mib(AllowedGrowthBytes)}).");
    }

    [Fact]
    public void DisposingTheSessionFirst_TheBindingStillRuns_AndTheNativeSessionGoesWithTheBinding()
    {
        // Arrange
        Warm();
        var baseline = OrtHandleSnapshot.Settled();
        var step = Expected.GetProperty("kv").GetProperty("steps")[0];
        var session = OrtSession.Create(Model("kv.onnx"));
        using var x = OrtValue.CreateTensor<float>(Floats(step.GetProperty("x")), Shape(step.GetProperty("x")));
        using var past = OrtValue.CreateTensor<float>([1, 1, 0, 4]);
        var binding = new OrtIoBinding(session);
        binding.BindInput("x", x);
        binding.BindInput(Past, past);
        binding.BindOutputToCpu(Present);
        var produced = session.Run(["x", Past], [x, past], [Present]);

        // Act: the parent goes first.
        session.Dispose();

        // Assert: the native session lives on under the binding, which still runs.
        Assert.False(session.Handle.IsClosed);
        Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());
        binding.Run();
        var outputs = binding.GetOutputValues();
        AssertClose(Floats(step.GetProperty("present")), outputs[0].GetReadOnlySpan<float>(), 1e-5f, "present through the binding after the session was disposed");

        // A value the session produced stays readable after the session is gone: it owns its buffer.
        AssertClose(Floats(step.GetProperty("present")), produced[0].GetReadOnlySpan<float>(), 1e-5f, "present produced before the session was disposed");
        Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());

        // The native session is released exactly when its last child, the binding, is.
        binding.Dispose();
        Assert.True(session.Handle.IsClosed);
        Assert.Equal(baseline.Of<SafeOrtSessionHandle>(), OrtHandleCounts.Live<SafeOrtSessionHandle>());
        Assert.Equal(baseline.Of<SafeOrtIoBindingHandle>(), OrtHandleCounts.Live<SafeOrtIoBindingHandle>());
        AssertClose(Floats(step.GetProperty("present")), outputs[0].GetReadOnlySpan<float>(), 1e-5f, "the binding's output after the binding was disposed");
        DisposeAll(outputs);
        DisposeAll(produced);
        x.Dispose();
        past.Dispose();
        baseline.AssertSameAs("after disposing everything");
    }

    [Fact]
    public void DisposingABoundValue_KeepsItsNativeValueUntilTheBindingLetsGo()
    {
        // Arrange
        Warm();
        var baseline = OrtHandleSnapshot.Settled();
        var step = Expected.GetProperty("kv").GetProperty("steps")[0];
        using var session = OrtSession.Create(Model("kv.onnx"));
        var binding = new OrtIoBinding(session);
        var x = OrtValue.CreateTensor<float>(Floats(step.GetProperty("x")), Shape(step.GetProperty("x")));
        var past = OrtValue.CreateTensor<float>([1, 1, 0, 4]);
        binding.BindInput("x", x);
        binding.BindInput(Past, past);
        binding.BindOutputToCpu(Present);

        // Act: the caller lets go of both inputs (one over pinned managed memory) before running.
        x.Dispose();
        past.Dispose();

        // Assert: the binding still holds both native values (and the pin), runs on them, and releases them with itself.
        Assert.Equal(baseline.Of<SafeOrtValueHandle>() + 2, OrtHandleCounts.Live<SafeOrtValueHandle>());
        binding.Run();
        var outputs = binding.GetOutputValues();
        AssertClose(Floats(step.GetProperty("present")), outputs[0].GetReadOnlySpan<float>(), 1e-5f, "present from disposed inputs");
        DisposeAll(outputs);
        Assert.Equal(baseline.Of<SafeOrtValueHandle>() + 2, OrtHandleCounts.Live<SafeOrtValueHandle>()); // the two inputs, still bound
        binding.Dispose();
        Assert.Equal(baseline.Of<SafeOrtValueHandle>(), OrtHandleCounts.Live<SafeOrtValueHandle>());
        session.Dispose();
        baseline.AssertSameAs("after disposing everything");
    }

    [Fact]
    public void AHandleNeverDisposed_IsReleasedByItsFinalizer()
    {
        // Arrange
        Warm();
        var baseline = OrtHandleSnapshot.Settled();

        // Act: a session and a pinned value dropped without Dispose.
        DropWithoutDisposing();
        Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());
        Assert.Equal(baseline.Of<SafeOrtValueHandle>() + 1, OrtHandleCounts.Live<SafeOrtValueHandle>());

        // Assert
        baseline.AssertSameAs("after the finalizers ran", OrtHandleSnapshot.Settled());
    }

    /// <summary>Makes sure ONNX Runtime, its environment and the CPU memory info exist before a baseline is taken.</summary>
    private static void Warm()
    {
        using var value = OrtValue.CreateTensor<float>(new float[1], [1]);
        _ = OrtEnvironment.Handle;
        AssertSingletons();
    }

    private static void AssertSingletons()
    {
        // Created once, never released (OrtEnvironment, OrtMemory.Cpu): the only handles allowed to outlive everything.
        Assert.Equal(1, OrtHandleCounts.Live<SafeOrtEnvHandle>());
        Assert.Equal(1, OrtHandleCounts.Live<SafeOrtMemoryInfoHandle>());
        Assert.Equal([typeof(SafeOrtEnvHandle), typeof(SafeOrtMemoryInfoHandle)], OrtHandleCounts.ProcessSingletons);
    }

    private static void Cycle(byte[] model, int i, OrtHandleSnapshot? baseline)
    {
        var data = new float[3 * 4];
        data[i % data.Length] = i;
        using var session = i % 2 == 0 ? OrtSession.Create(Model("kv.onnx")) : OrtSession.Create(model, displayName: "kv.onnx");
        using var x = OrtValue.CreateTensor<float>(data, [1, 3, 4]);
        using var past = OrtValue.CreateTensor<float>([1, 1, 2, 4]);
        past.GetSpan<float>().Fill(0.5f);
        if (baseline is not null)
        {
            // While the cycle's objects are open they are counted: the counters see them, so a baseline match means released.
            Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());
            Assert.Equal(baseline.Of<SafeOrtValueHandle>() + 2, OrtHandleCounts.Live<SafeOrtValueHandle>());
        }

        using (var runOptions = new OrtRunOptions())
        {
            DisposeAll(session.Run(["x", Past], [x, past], ["logits", Present], runOptions));
        }

        using (var cancellation = new CancellationTokenSource())
        {
            DisposeAll(session.Run(["x", Past], [x, past], [Present], cancellationToken: cancellation.Token));
        }

        Assert.Throws<OnnxRuntimeException>(() => session.Run(["x", "no_such_input"], [x, past], [Present]));
        using (var binding = new OrtIoBinding(session))
        {
            binding.BindInput("x", x);
            binding.BindInput(Past, past);
            binding.BindOutputToCpu(Present);
            binding.Run();
            DisposeAll(binding.GetOutputValues());
        }

        using var owned = OrtValue.CreateTensor<long>([16]);
        owned.GetSpan<long>()[0] = i;
        using var copied = OrtValue.CreateTensorCopy<int>([i, i + 1], [2]);
        Assert.Equal(i + 1, copied.GetReadOnlySpan<int>()[1]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropWithoutDisposing()
    {
        // Dropped on purpose: only the finalizers can release them.
        _ = OrtSession.Create(Model("add.onnx"));
        _ = OrtValue.CreateTensor<float>(new float[4], [4]);
    }

    private static void DisposeAll(IEnumerable<OrtValue> values)
    {
        foreach (var value in values)
        {
            value.Dispose();
        }
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
