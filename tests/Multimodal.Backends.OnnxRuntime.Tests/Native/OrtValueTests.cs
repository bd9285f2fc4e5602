// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtValueTests
{
    public OrtValueTests() => EnsureConfigured();

    [Fact]
    public void ATensorOverManagedMemory_SharesThatMemory_BothWays()
    {
        // Arrange
        var data = new float[] { 1, 2, 3, 4, 5, 6 };

        // Act
        using var value = OrtValue.CreateTensor<float>(data, [2, 3]);

        // Assert: the tensor is the array, not a copy.
        Assert.Equal(OrtElementType.Float, value.ElementType);
        Assert.Equal([2, 3], value.Shape);
        Assert.Equal(6, value.ElementCount);
        Assert.True(value.IsTensor);
        Assert.Equal(data, value.GetReadOnlySpan<float>().ToArray());
        data[4] = 50;
        Assert.Equal(50, value.GetReadOnlySpan<float>()[4]);
        value.GetSpan<float>()[0] = -1;
        Assert.Equal(-1, data[0]);
    }

    [Fact]
    public void ATensorOverASliceOfAnArray_UsesOnlyThatSlice()
    {
        var data = new long[] { 9, 1, 2, 3, 9 };

        using var value = OrtValue.CreateTensor<long>(data.AsMemory(1, 3), [3]);
        value.GetSpan<long>()[2] = 30;

        Assert.Equal([1L, 2, 30], value.GetReadOnlySpan<long>().ToArray());
        Assert.Equal([9L, 1, 2, 30, 9], data);
    }

    [Fact]
    public void AnOrtOwnedTensor_IsWritableAndReadable_AndRunsThroughAModel()
    {
        // Arrange
        using var session = OrtSession.Create(Model("add.onnx"));
        using var x = OrtValue.CreateTensor<float>([4, 3]);
        var span = x.GetSpan<float>();
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = i * 0.5f;
        }

        // Act
        var outputs = session.Run(["X"], [x], ["Y"]);

        // Assert
        using var y = outputs[0];
        Assert.Equal([4, 3], x.Shape);
        Assert.Equal([4, 3], y.Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), y.GetReadOnlySpan<float>().ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZeroSizedTensors_Work_OwnedAndOverManagedMemory(bool managed)
    {
        // Arrange: an empty past (P = 0), as the first decoder step feeds.
        using var session = OrtSession.Create(Model("kv.onnx"));
        var step = Expected.GetProperty("kv").GetProperty("steps")[0];
        using var x = OrtValue.CreateTensor<float>(Floats(step.GetProperty("x")), Shape(step.GetProperty("x")));
        using var past = managed ? OrtValue.CreateTensor<float>(Memory<float>.Empty, [1, 1, 0, 4]) : OrtValue.CreateTensor<float>([1, 1, 0, 4]);

        // Act
        var outputs = session.Run(["x", "past_key_values.0.key"], [x, past], ["logits", "present.0.key"]);

        // Assert
        using var logits = outputs[0];
        using var present = outputs[1];
        Assert.Equal([1, 1, 0, 4], past.Shape);
        Assert.Equal(0, past.ElementCount);
        Assert.True(past.GetReadOnlySpan<float>().IsEmpty);
        Assert.Equal([1, 1, 3, 4], present.Shape);
        AssertClose(Floats(step.GetProperty("logits")), logits.GetReadOnlySpan<float>(), 1e-5f, "logits");
        AssertClose(Floats(step.GetProperty("present")), present.GetReadOnlySpan<float>(), 1e-5f, "present");
    }

    [Fact]
    public void EverySupportedElementType_MapsToItsOnnxType()
    {
        Assert.Equal(OrtElementType.Float, Create<float>());
        Assert.Equal(OrtElementType.Int64, Create<long>());
        Assert.Equal(OrtElementType.Int32, Create<int>());
        Assert.Equal(OrtElementType.UInt8, Create<byte>());
        Assert.Equal(OrtElementType.Bool, Create<bool>());
        Assert.Equal(OrtElementType.Float16, Create<Half>());
        Assert.Equal(OrtElementType.Double, Create<double>());
        Assert.Equal(OrtElementType.Int8, Create<sbyte>());
        Assert.Equal(OrtElementType.Int16, Create<short>());
        Assert.Equal(OrtElementType.UInt16, Create<ushort>());
        Assert.Equal(OrtElementType.UInt32, Create<uint>());
        Assert.Equal(OrtElementType.UInt64, Create<ulong>());

        static OrtElementType Create<T>()
            where T : unmanaged
        {
            using var owned = OrtValue.CreateTensor<T>([2]);
            using var pinned = OrtValue.CreateTensor<T>(new T[2], [2]);
            Assert.Equal(owned.ElementType, pinned.ElementType);
            Assert.Equal(2, owned.GetSpan<T>().Length);
            return owned.ElementType;
        }
    }

    [Fact]
    public void AScalar_HasAnEmptyShapeAndOneElement()
    {
        using var scalar = OrtValue.CreateTensor<long>(new long[] { 42 }, []);

        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal(42, scalar.GetReadOnlySpan<long>()[0]);
    }

    [Fact]
    public void ReadingAsTheWrongType_Throws_AndBadArgumentsAreRejected()
    {
        using var value = OrtValue.CreateTensor<long>([3]);

        var ex = Assert.Throws<InvalidOperationException>(() => value.GetSpan<float>());
        Assert.Contains("Int64", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => value.GetReadOnlySpan<int>());
        Assert.Throws<NotSupportedException>(() => OrtValue.CreateTensor<decimal>([1]));
        Assert.Throws<NotSupportedException>(() => OrtValue.CreateTensor<char>([1]));
        Assert.Throws<ArgumentOutOfRangeException>("shape", () => OrtValue.CreateTensor<float>([2, -1]));
        Assert.Throws<ArgumentException>("data", () => OrtValue.CreateTensor<float>(new float[5], [2, 3]));
    }

    [Fact]
    public void Dispose_ClosesTheHandle_AndLaterAccessThrows()
    {
        var value = OrtValue.CreateTensor<float>(new float[4], [4]);
        _ = value.Shape;

        value.Dispose();
        value.Dispose();

        Assert.True(value.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => value.GetSpan<float>());
    }

    [Fact]
    public void CreateTensorCopy_CopiesIntoOrtOwnedMemory()
    {
        var data = new[] { 1, 2, 3, 4 };

        using var value = OrtValue.CreateTensorCopy<int>(data, [2, 2]);
        data[0] = 100;

        Assert.Equal([1, 2, 3, 4], value.GetReadOnlySpan<int>().ToArray());
        Assert.Throws<ArgumentException>("data", () => OrtValue.CreateTensorCopy<int>(data, [3]));
    }
}
