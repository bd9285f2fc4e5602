// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtIoBindingTests
{
    private const string Past = "past_key_values.0.key";
    private const string Present = "present.0.key";

    public OrtIoBindingTests() => EnsureConfigured();

    [Fact]
    public void KvModel_FourSteps_PresentFedBackAsPast_WithoutCopying_MatchesNumpy()
    {
        // Arrange: outputs are bound to the CPU once; every step's present becomes the next step's past as the same value.
        var steps = Expected.GetProperty("kv").GetProperty("steps").EnumerateArray().ToArray();
        using var session = OrtSession.Create(Model("kv.onnx"));
        using var binding = new OrtIoBinding(session);
        binding.BindOutputToCpu("logits");
        binding.BindOutputToCpu(Present);
        var past = OrtValue.CreateTensor<float>([1, 1, 0, 4]);
        try
        {
            for (var s = 0; s < steps.Length; s++)
            {
                var step = steps[s];
                var pastPointer = past.DataPointer;
                using var x = OrtValue.CreateTensor<float>(Floats(step.GetProperty("x")), Shape(step.GetProperty("x")));
                binding.BindInput("x", x);
                binding.BindInput(Past, past);

                // Act
                binding.Run();
                var outputs = binding.GetOutputValues();

                // Assert
                Assert.Equal(["logits", Present], binding.OutputNames);
                Assert.Equal(2, outputs.Length);
                using var logits = outputs[0];
                var present = outputs[1];
                Assert.Equal(Shape(step.GetProperty("present")), present.Shape);
                AssertClose(Floats(step.GetProperty("logits")), logits.GetReadOnlySpan<float>(), 1e-5f, $"logits of step {s}");
                AssertClose(Floats(step.GetProperty("present")), present.GetReadOnlySpan<float>(), 1e-5f, $"present of step {s}");

                // The run read the past in place: it was neither moved nor copied, and this step got a new present buffer.
                Assert.Equal(pastPointer, past.DataPointer);
                Assert.NotEqual(past.DataPointer, present.DataPointer);

                // GetOutputValues shares the output buffers instead of copying them.
                var again = binding.GetOutputValues();
                Assert.Equal(present.DataPointer, again[1].DataPointer);
                Assert.Equal(logits.DataPointer, again[0].DataPointer);
                foreach (var value in again)
                {
                    value.Dispose();
                }

                past.Dispose();
                past = present;
            }
        }
        finally
        {
            past.Dispose();
        }
    }

    [Fact]
    public void KvModel_PastOverPinnedManagedMemory_StaysValidAfterTheCallerDisposesIt()
    {
        // Arrange: the cache after step 0, given as managed memory.
        var steps = Expected.GetProperty("kv").GetProperty("steps").EnumerateArray().ToArray();
        using var session = OrtSession.Create(Model("kv.onnx"));
        using var binding = new OrtIoBinding(session);
        using var x = OrtValue.CreateTensor<float>(Floats(steps[1].GetProperty("x")), Shape(steps[1].GetProperty("x")));
        var past = OrtValue.CreateTensor<float>(Floats(steps[0].GetProperty("present")), Shape(steps[0].GetProperty("present")));
        binding.BindInput("x", x);
        binding.BindInput(Past, past);
        binding.BindOutputToCpu("logits");

        // Act: the binding still references the value (and its pin), so disposing our wrapper must not free it.
        past.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        binding.Run();
        var outputs = binding.GetOutputValues();

        // Assert
        using var logits = Assert.Single(outputs);
        AssertClose(Floats(steps[1].GetProperty("logits")), logits.GetReadOnlySpan<float>(), 1e-5f, "logits");
        Assert.False(past.Handle.IsClosed); // released by the binding, below
        binding.ClearBoundInputs();
        Assert.True(past.Handle.IsClosed);
    }

    [Fact]
    public void BindOutput_WritesIntoAPreallocatedValue()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var binding = new OrtIoBinding(session);
        var result = new float[3];
        using var x = OrtValue.CreateTensor<float>(new float[] { 1, 2, 3 }, [1, 3]);
        using var y = OrtValue.CreateTensor<float>(result, [1, 3]);
        binding.BindInput("X", x);
        binding.BindOutput("Y", y);

        binding.Run();
        Assert.Equal([2f, 4f, 6f], result);

        x.GetSpan<float>()[0] = 10;
        binding.Run();
        Assert.Equal([20f, 4f, 6f], result);

        var outputs = binding.GetOutputValues();
        using var bound = Assert.Single(outputs);
        Assert.Equal(y.DataPointer, bound.DataPointer);
    }

    [Fact]
    public void Clear_UnbindsInputsAndOutputs()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var binding = new OrtIoBinding(session);
        using var x = OrtValue.CreateTensor<float>(new float[] { 1, 2, 3 }, [1, 3]);
        binding.BindInput("X", x);
        binding.BindOutputToCpu("Y");
        binding.Run();

        binding.ClearBoundOutputs();
        Assert.Empty(binding.OutputNames);
        Assert.Empty(binding.GetOutputValues());

        binding.ClearBoundInputs();
        binding.BindOutputToCpu("Y");
        var ex = Assert.Throws<OnnxRuntimeException>(() => binding.Run());
        Assert.StartsWith($"ONNX Runtime could not run '{Model("add.onnx")}' with an I/O binding: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownNames_AreReported_AndDisposeReleasesTheSessionLast()
    {
        var session = OrtSession.Create(Model("add.onnx"));
        var binding = new OrtIoBinding(session);
        using var x = OrtValue.CreateTensor<float>(new float[] { 1, 2, 3 }, [1, 3]);
        binding.BindInput("X", x);
        binding.BindOutputToCpu("Y");

        var bind = Assert.Throws<OnnxRuntimeException>(() => binding.BindInput("nope", x));
        Assert.StartsWith("ONNX Runtime could not bind input 'nope' of ", bind.Message, StringComparison.Ordinal);
        binding.Run();
        var outputs = binding.GetOutputValues();
        using (var y = Assert.Single(outputs))
        {
            Assert.Equal([2f, 4f, 6f], y.GetReadOnlySpan<float>().ToArray());
        }

        // Disposing the session first leaves it open until the binding lets go.
        session.Dispose();
        Assert.False(session.Handle.IsClosed);
        binding.Dispose();
        Assert.True(session.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => binding.Run());
        Assert.Throws<ObjectDisposedException>(() => binding.BindOutputToCpu("Y"));
        using var other = OrtSession.Create(Model("add.onnx"));
        using var otherBinding = new OrtIoBinding(other);
        Assert.Throws<ArgumentException>("name", () => otherBinding.BindInput("", x));
    }
}
