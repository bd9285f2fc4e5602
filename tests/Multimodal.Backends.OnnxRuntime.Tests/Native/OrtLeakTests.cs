// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

[Collection(OrtIsolatedCollection.Name)]
public sealed class OrtLeakTests
{
    private const long AllowedGrowthBytes = 30L << 20;
    private const long AllowedNativeGrowthBytes = 12L << 20;

    public OrtLeakTests() => EnsureConfigured();

    [Fact]
    public void ManySessionsAndValues_CreatedRunAndDisposed_DoNotGrowTheProcess()
    {
        // Arrange: warm up so that ONNX Runtime's one-time allocations (thread pools, kernel registries) are counted out.
        var model = File.ReadAllBytes(Model("kv.onnx"));
        Cycle(model, sessions: 100, valuesPerSession: 40);
        var before = ResidentBytes();
        var beforeNative = before - GC.GetGCMemoryInfo().TotalCommittedBytes;

        // Act: 500 sessions (half from the file, half from bytes), each run twice (once through an I/O binding), and
        // 20,000 values (owned by ONNX Runtime and over pinned managed memory).
        Cycle(model, sessions: 500, valuesPerSession: 40);
        var after = ResidentBytes();
        var afterNative = after - GC.GetGCMemoryInfo().TotalCommittedBytes;

        // Assert: the whole process, and the part outside the managed heap, where a missed Release* would show. Without
        // leaks they grow by about 11 MiB and 3 MiB; leaking every session adds about 100 MiB, every value about 45 MiB.
        var growth = after - before;
        var nativeGrowth = afterNative - beforeNative;
        var report = $"The resident set grew by {growth >> 20} MiB ({before >> 20} → {after >> 20} MiB), {nativeGrowth >> 20} MiB of it outside the GC heap.";
        Assert.True(growth < AllowedGrowthBytes, report);
        Assert.True(nativeGrowth < AllowedNativeGrowthBytes, report);
    }

    private static void Cycle(byte[] model, int sessions, int valuesPerSession)
    {
        var data = new float[3 * 4];
        for (var s = 0; s < sessions; s++)
        {
            using var session = s % 2 == 0 ? OrtSession.Create(Model("kv.onnx")) : OrtSession.Create(model);
            using var x = OrtValue.CreateTensor<float>(data, [1, 3, 4]);
            using var past = OrtValue.CreateTensor<float>([1, 1, 2, 4]);
            past.GetSpan<float>().Fill(0.5f);
            var outputs = session.Run(["x", "past_key_values.0.key"], [x, past], ["logits", "present.0.key"]);
            Assert.Equal([1, 1, 5, 4], outputs[1].Shape);
            foreach (var output in outputs)
            {
                output.Dispose();
            }

            using (var binding = new OrtIoBinding(session))
            {
                binding.BindInput("x", x);
                binding.BindInput("past_key_values.0.key", past);
                binding.BindOutputToCpu("present.0.key");
                binding.Run();
                foreach (var output in binding.GetOutputValues())
                {
                    output.Dispose();
                }
            }

            for (var v = 0; v < valuesPerSession / 2; v++)
            {
                using var owned = OrtValue.CreateTensor<long>([64]);
                owned.GetSpan<long>()[0] = v;
                using var pinned = OrtValue.CreateTensor<float>(new float[64], [8, 8]);
                Assert.Equal(64, pinned.ElementCount);
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static long ResidentBytes()
    {
        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
}
