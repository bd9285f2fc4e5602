// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtRunCancellationTests
{
    // slow.onnx runs Tanh(s @ s) trip_count times; at 256 x 256 each iteration is ~34 MFLOP, so a million iterations
    // would take many minutes: only the terminate flag can end the run within the test's time.
    private const int N = 256;
    private const long Forever = 1_000_000;

    public OrtRunCancellationTests() => EnsureConfigured();

    [Fact]
    public void SlowModel_WithAFewIterations_MatchesNumpy()
    {
        var golden = Expected.GetProperty("slow");
        using var session = OrtSession.Create(Model("slow.onnx"));
        using var x = OrtValue.CreateTensor<float>(Floats(golden.GetProperty("x")), Shape(golden.GetProperty("x")));
        using var trips = OrtValue.CreateTensor<long>(new[] { golden.GetProperty("trip_count").GetInt64() }, []);

        var outputs = session.Run(["x", "trip_count"], [x, trips], ["y"]);

        using var y = Assert.Single(outputs);
        AssertClose(Floats(golden.GetProperty("y")), y.GetReadOnlySpan<float>(), 1e-5f, "y");
    }

    [Fact(Timeout = 60_000)]
    public async Task CancellingALongRun_ThrowsOperationCanceled_WithinASecond()
    {
        // Arrange
        using var session = OrtSession.Create(Model("slow.onnx"), new OnnxRuntimeSessionOptions { IntraOpThreads = 1 });
        using var x = Input();
        using var trips = OrtValue.CreateTensor<long>(new[] { Forever }, []);
        using var cts = new CancellationTokenSource();
        var running = Task.Run(() => session.Run(["x", "trip_count"], [x, trips], ["y"], cancellationToken: cts.Token));
        await Task.Delay(300);
        Assert.False(running.IsCompleted);

        // Act
        var watch = Stopwatch.StartNew();
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        watch.Stop();

        // Assert
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"The run stopped {watch.Elapsed.TotalMilliseconds:F0} ms after cancellation.");
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.IsType<OnnxRuntimeException>(ex.InnerException);

        // The session is still usable.
        using var few = OrtValue.CreateTensor<long>(new long[] { 2 }, []);
        var outputs = session.Run(["x", "trip_count"], [x, few], ["y"]);
        using var y = Assert.Single(outputs);
        Assert.Equal([N, N], y.Shape);
    }

    [Fact(Timeout = 60_000)]
    public async Task CancellingABindingRun_ThrowsOperationCanceled_AndCallerRunOptionsCanRunAgain()
    {
        // Arrange
        using var session = OrtSession.Create(Model("slow.onnx"), new OnnxRuntimeSessionOptions { IntraOpThreads = 1 });
        using var binding = new OrtIoBinding(session);
        using var x = Input();
        using var trips = OrtValue.CreateTensor<long>(new[] { Forever }, []);
        using var runOptions = new OrtRunOptions();
        using var cts = new CancellationTokenSource();
        binding.BindInput("x", x);
        binding.BindInput("trip_count", trips);
        binding.BindOutputToCpu("y");
        var running = Task.Run(() => binding.Run(runOptions, cts.Token));
        await Task.Delay(300);

        // Act
        var watch = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        watch.Stop();

        // Assert: stopped quickly, and the terminate flag the token set was cleared again.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"The run stopped {watch.Elapsed.TotalMilliseconds:F0} ms after cancellation.");
        using var few = OrtValue.CreateTensor<long>(new long[] { 1 }, []);
        binding.BindInput("trip_count", few);
        binding.Run(runOptions);
        var outputs = binding.GetOutputValues();
        using var y = Assert.Single(outputs);
        Assert.Equal([N, N], y.Shape);
    }

    [Fact]
    public void AnAlreadyCancelledToken_ThrowsBeforeRunning()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>(new float[3], [1, 3]);

        Assert.Throws<OperationCanceledException>(() => session.Run(["X"], [x], ["Y"], cancellationToken: new CancellationToken(canceled: true)));
    }

    [Fact(Timeout = 60_000)]
    public async Task TerminateOnRunOptions_StopsTheRun_WithAnOnnxRuntimeException_UntilReset()
    {
        // Arrange
        using var session = OrtSession.Create(Model("slow.onnx"), new OnnxRuntimeSessionOptions { IntraOpThreads = 1 });
        using var x = Input();
        using var trips = OrtValue.CreateTensor<long>(new[] { Forever }, []);
        using var runOptions = new OrtRunOptions();
        var running = Task.Run(() => session.Run(["x", "trip_count"], [x, trips], ["y"], runOptions));
        await Task.Delay(200);

        // Act
        runOptions.Terminate();

        // Assert: no token, so this is ONNX Runtime's failure, not a cancellation; the flag then stays set until reset.
        var ex = await Assert.ThrowsAsync<OnnxRuntimeException>(() => running);
        Assert.Contains("terminate", ex.Message, StringComparison.OrdinalIgnoreCase);
        using var few = OrtValue.CreateTensor<long>(new long[] { 1 }, []);
        Assert.Throws<OnnxRuntimeException>(() => session.Run(["x", "trip_count"], [x, few], ["y"], runOptions));
        runOptions.ResetTerminate();
        var outputs = session.Run(["x", "trip_count"], [x, few], ["y"], runOptions);
        using var y = Assert.Single(outputs);
    }

    private static OrtValue Input()
    {
        var random = new Random(7);
        var data = new float[N * N];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() - 0.5) / 8);
        }

        return OrtValue.CreateTensor<float>(data, [N, N]);
    }
}
