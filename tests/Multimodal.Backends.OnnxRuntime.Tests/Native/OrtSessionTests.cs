// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtSessionTests
{
    public OrtSessionTests() => EnsureConfigured();

    [Fact]
    public void AddModel_RunsAndMatchesNumpy()
    {
        // Arrange
        var golden = Expected.GetProperty("add");
        using var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>(Floats(golden.GetProperty("X")), Shape(golden.GetProperty("X")));

        // Act
        var outputs = session.Run(["X"], [x], ["Y"]);

        // Assert
        using var y = Assert.Single(outputs);
        Assert.Equal(OrtElementType.Float, y.ElementType);
        Assert.Equal(Shape(golden.GetProperty("Y")), y.Shape);
        Assert.Equal(Floats(golden.GetProperty("Y")), y.GetReadOnlySpan<float>().ToArray());
    }

    [Fact]
    public void Metadata_ListsNamesTypesAndSymbolicDimensions()
    {
        using var add = OrtSession.Create(Model("add.onnx"));
        using var kv = OrtSession.Create(Model("kv.onnx"));

        var x = Assert.Single(add.Inputs);
        Assert.Equal(OrtValueKind.Tensor, x.Kind);
        Assert.Equal(OrtElementType.Float, x.ElementType);
        Assert.Equal("X", x.Name);
        Assert.Equal([-1, 3], x.Shape);
        Assert.Equal(["batch", ""], x.SymbolicDimensions);
        Assert.Equal("Y", Assert.Single(add.Outputs).Name);

        Assert.Equal(["x", "past_key_values.0.key"], kv.Inputs.Select(i => i.Name));
        Assert.Equal(["logits", "present.0.key"], kv.Outputs.Select(o => o.Name));
        var past = kv.Inputs[1];
        Assert.Equal(OrtValueKind.Tensor, past.Kind);
        Assert.Equal(OrtElementType.Float, past.ElementType);
        Assert.Equal([1, 1, -1, 4], past.Shape);
        Assert.Equal(["", "", "past_sequence_length", ""], past.SymbolicDimensions);
        Assert.Equal([1, -1, 4], kv.Inputs[0].Shape);
        Assert.Equal("sequence_length", kv.Inputs[0].SymbolicDimensions[1]);
        Assert.Equal([1, 1, 5], kv.Outputs[0].Shape);
        Assert.Equal("total_sequence_length", kv.Outputs[1].SymbolicDimensions[2]);
    }

    [Fact]
    public void TypesModel_RoundTripsInt64BoolFloat16AndUInt8()
    {
        // Arrange
        var golden = Expected.GetProperty("types");
        using var session = OrtSession.Create(Model("types.onnx"));
        Assert.Equal(
            [OrtElementType.Int64, OrtElementType.Bool, OrtElementType.Float16, OrtElementType.UInt8],
            session.Inputs.Select(i => i.ElementType));
        Assert.Equal(
            [OrtElementType.Int64, OrtElementType.Bool, OrtElementType.Int32, OrtElementType.Float, OrtElementType.Int32],
            session.Outputs.Select(o => o.ElementType));
        var ids = Longs(golden.GetProperty("ids"));
        long[] shape = [ids.Length];
        using var idsValue = OrtValue.CreateTensor<long>(ids, shape);
        using var mask = OrtValue.CreateTensor<bool>(Bools(golden.GetProperty("mask")), shape);
        using var h = OrtValue.CreateTensor<Half>(Floats(golden.GetProperty("h")).Select(f => (Half)f).ToArray(), shape);
        using var b = OrtValue.CreateTensor<byte>(Longs(golden.GetProperty("b")).Select(v => (byte)v).ToArray(), shape);

        // Act
        var outputs = session.Run(["ids", "mask", "h", "b"], [idsValue, mask, h, b], ["selected", "not_mask", "ids32", "h_as_float", "b_as_int"]);

        // Assert
        try
        {
            Assert.Equal(Longs(golden.GetProperty("selected")), outputs[0].GetReadOnlySpan<long>().ToArray());
            Assert.Equal(Bools(golden.GetProperty("not_mask")), outputs[1].GetReadOnlySpan<bool>().ToArray());
            Assert.Equal(Longs(golden.GetProperty("ids32")).Select(v => (int)v), outputs[2].GetReadOnlySpan<int>().ToArray());
            Assert.Equal(Floats(golden.GetProperty("h_as_float")), outputs[3].GetReadOnlySpan<float>().ToArray());
            Assert.Equal(Longs(golden.GetProperty("b_as_int")).Select(v => (int)v), outputs[4].GetReadOnlySpan<int>().ToArray());
            Assert.Equal(OrtElementType.Bool, outputs[1].ElementType);
        }
        finally
        {
            DisposeAll(outputs);
        }
    }

    [Fact]
    public void SessionsFromBytesAndFromPath_Agree()
    {
        // Arrange
        var path = Model("kv.onnx");
        using var fromPath = OrtSession.Create(path);
        using var fromBytes = OrtSession.Create(File.ReadAllBytes(path), displayName: "kv.onnx");
        var step = Expected.GetProperty("kv").GetProperty("steps")[0];
        using var x = OrtValue.CreateTensor<float>(Floats(step.GetProperty("x")), Shape(step.GetProperty("x")));
        using var past = OrtValue.CreateTensor<float>([1, 1, 0, 4]);

        // Act
        var a = fromPath.Run(["x", "past_key_values.0.key"], [x, past], ["logits", "present.0.key"]);
        var b = fromBytes.Run(["x", "past_key_values.0.key"], [x, past], ["logits", "present.0.key"]);

        // Assert
        try
        {
            Assert.Equal(fromPath.Inputs.Select(i => i.Name), fromBytes.Inputs.Select(i => i.Name));
            Assert.Equal("'kv.onnx' (in memory, " + new FileInfo(path).Length + " bytes)", fromBytes.Description);
            for (var i = 0; i < 2; i++)
            {
                Assert.Equal(a[i].Shape, b[i].Shape);
                Assert.Equal(a[i].GetReadOnlySpan<float>().ToArray(), b[i].GetReadOnlySpan<float>().ToArray());
            }

            AssertClose(Floats(step.GetProperty("logits")), a[0].GetReadOnlySpan<float>(), 1e-5f, "logits");
        }
        finally
        {
            DisposeAll(a);
            DisposeAll(b);
        }
    }

    [Fact]
    public void CorruptModelBytes_ThrowOnnxRuntimeException_SayingWhatHappened()
    {
        var bytes = File.ReadAllBytes(Model("add.onnx"));
        bytes.AsSpan(0, 24).Fill(0xFF);

        var ex = Assert.Throws<OnnxRuntimeException>(() => OrtSession.Create(bytes, displayName: "broken.onnx"));

        Assert.StartsWith("ONNX Runtime could not create a session for 'broken.onnx' (in memory, ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("protobuf", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(OnnxRuntimeErrorCode.InvalidProtobuf, ex.ErrorCode);
    }

    [Fact]
    public void CorruptModelFile_ThrowOnnxRuntimeException_NamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ort-corrupt-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is not an ONNX model");
        try
        {
            var ex = Assert.Throws<OnnxRuntimeException>(() => OrtSession.Create(path));

            Assert.StartsWith($"ONNX Runtime could not create a session for '{path}': ", ex.Message, StringComparison.Ordinal);
            Assert.Equal(OnnxRuntimeErrorCode.InvalidProtobuf, ex.ErrorCode);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AMissingFile_ThrowsOnnxRuntimeException_NamingTheFile()
    {
        var path = Path.Combine(OrtTestEnvironment.ModelDirectory, "does-not-exist.onnx");

        var ex = Assert.Throws<OnnxRuntimeException>(() => OrtSession.Create(path));

        Assert.Equal($"ONNX Runtime could not create a session for '{path}': the file does not exist ({path}).", ex.Message);
        Assert.Equal(OnnxRuntimeErrorCode.NoSuchFile, ex.ErrorCode);
        Assert.IsAssignableFrom<MultimodalException>(ex);
    }

    [Fact]
    public void AWrongInputName_ThrowsOnnxRuntimeException_NotACrash()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>(new float[3], [1, 3]);

        var ex = Assert.Throws<OnnxRuntimeException>(() => session.Run(["not_X"], [x], ["Y"]));

        Assert.StartsWith($"ONNX Runtime could not run '{Model("add.onnx")}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not_X", ex.Message, StringComparison.Ordinal);
        Assert.Equal(OnnxRuntimeErrorCode.InvalidArgument, ex.ErrorCode);
    }

    [Fact]
    public void AWrongShapeOrType_ThrowsOnnxRuntimeException_AndTheSessionStillWorks()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var wrongShape = OrtValue.CreateTensor<float>(new float[4], [1, 4]);
        using var wrongRank = OrtValue.CreateTensor<float>(new float[3], [3]);
        using var wrongType = OrtValue.CreateTensor<long>(new long[3], [1, 3]);

        var shape = Assert.Throws<OnnxRuntimeException>(() => session.Run(["X"], [wrongShape], ["Y"]));
        var rank = Assert.Throws<OnnxRuntimeException>(() => session.Run(["X"], [wrongRank], ["Y"]));
        var type = Assert.Throws<OnnxRuntimeException>(() => session.Run(["X"], [wrongType], ["Y"]));
        using var good = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        var output = Assert.Throws<OnnxRuntimeException>(() => session.Run(["X"], [good], ["Z"]));

        Assert.Equal(OnnxRuntimeErrorCode.InvalidArgument, shape.ErrorCode);
        Assert.Contains("dimension", shape.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(OnnxRuntimeErrorCode.InvalidArgument, rank.ErrorCode);
        Assert.Equal(OnnxRuntimeErrorCode.InvalidArgument, type.ErrorCode);
        Assert.Contains("output name: Z", output.Message, StringComparison.Ordinal);

        using var x = OrtValue.CreateTensor<float>(new float[] { 1, 2, 3 }, [1, 3]);
        var ok = session.Run(["X"], [x], ["Y"]);
        using var y = Assert.Single(ok);
        Assert.Equal([2f, 4f, 6f], y.GetReadOnlySpan<float>().ToArray());
    }

    [Fact]
    public void Run_ChecksItsArguments()
    {
        using var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>(new float[3], [1, 3]);

        Assert.Throws<ArgumentException>("inputValues", () => session.Run(["X", "X2"], [x], ["Y"]));
        Assert.Throws<ArgumentException>("inputValues", () => session.Run(["X"], [null!], ["Y"]));
        Assert.Throws<ArgumentException>("outputNames", () => session.Run(["X"], [x], ["Y\0"]));
        Assert.Throws<ArgumentException>("model", () => OrtSession.Create(ReadOnlySpan<byte>.Empty));
        Assert.Throws<ArgumentException>("modelPath", () => OrtSession.Create(" "));
    }

    [Fact]
    public void Dispose_MakesLaterRunsThrowObjectDisposed_AndDisposedInputsAreRejected()
    {
        var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        var disposedValue = OrtValue.CreateTensor<float>(new float[3], [1, 3]);
        disposedValue.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.Run(["X"], [disposedValue], ["Y"]));
        session.Dispose();
        session.Dispose();

        Assert.True(session.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => session.Run(["X"], [x], ["Y"]));
    }

    [Fact]
    public async Task ConcurrentRunsOfOneSession_AllMatch()
    {
        using var session = OrtSession.Create(Model("add.onnx"));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                float value = (t * 1000) + i;
                using var x = OrtValue.CreateTensor<float>(new[] { value, value + 1, value + 2 }, [1, 3]);
                var outputs = session.Run(["X"], [x], ["Y"]);
                using var y = outputs[0];
                if (!y.GetReadOnlySpan<float>().SequenceEqual([2 * value, 2 * (value + 1), 2 * (value + 2)]))
                {
                    return false;
                }
            }

            return true;
        })));

        Assert.All(results, Assert.True);
    }

    [Fact]
    public void SessionOptions_AreApplied_AndABadConfigEntryIsReported()
    {
        var options = new OnnxRuntimeSessionOptions
        {
            IntraOpThreads = 1,
            InterOpThreads = 1,
            GraphOptimizationLevel = OnnxRuntimeGraphOptimizationLevel.Disabled,
            EnableMemoryPattern = false,
            EnableCpuMemoryArena = false,
        };
        options.ConfigEntries["session.intra_op.allow_spinning"] = "0";
        using (var session = OrtSession.Create(Model("add.onnx"), options))
        {
            using var x = OrtValue.CreateTensor<float>(new float[] { 1, 2, 3 }, [1, 3]);
            var outputs = session.Run(["X"], [x], ["Y"]);
            using var y = outputs[0];
            Assert.Equal([2f, 4f, 6f], y.GetReadOnlySpan<float>().ToArray());
        }

        // A value ONNX Runtime cannot parse is reported when the session is created (affinities need IntraOpThreads > 1).
        options.IntraOpThreads = 2;
        options.ConfigEntries["session.intra_op_thread_affinities"] = "banana";
        var ex = Assert.Throws<OnnxRuntimeException>(() => OrtSession.Create(Model("add.onnx"), options));
        Assert.StartsWith($"ONNX Runtime could not create a session for '{Model("add.onnx")}': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("banana", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("ConfigEntries", () => OrtSession.Create(Model("add.onnx"), new OnnxRuntimeSessionOptions { ConfigEntries = { [" "] = "1" } }));
    }

    private static void DisposeAll(IEnumerable<OrtValue> values)
    {
        foreach (var value in values)
        {
            value.Dispose();
        }
    }
}
