// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>An ONNX Runtime value (<c>OrtValue</c>): a tensor that ONNX Runtime allocated, or a tensor over pinned managed memory, or a non-tensor output.</summary>
/// <remarks>
/// <para>
/// Spans from <see cref="GetSpan{T}"/> point into the tensor's buffer and are valid only until <see cref="Dispose"/>.
/// A tensor over managed memory keeps that memory pinned until the native value is released, which is after
/// <see cref="Dispose"/> and after every <see cref="OrtIoBinding"/> it is bound to lets go of it.
/// </para>
/// <para>
/// Reading the type and shape is thread-safe. Writing through a span while another thread runs a session over the
/// same value is a data race, as for any shared buffer.
/// </para>
/// </remarks>
internal sealed unsafe class OrtValue : IDisposable
{
    private readonly SafeOrtValueHandle _handle;
    private TensorInfo? _info;

    private OrtValue(SafeOrtValueHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Gets the kind of value (a tensor for everything this binding creates).</summary>
    public OrtValueKind Kind => Info.Kind;

    /// <summary>Gets whether the value is a tensor.</summary>
    public bool IsTensor => Info.Kind == OrtValueKind.Tensor;

    /// <summary>Gets the tensor's element type, or <see cref="OrtElementType.Undefined"/> for a value that is not a tensor.</summary>
    public OrtElementType ElementType => Info.ElementType;

    /// <summary>Gets a copy of the tensor's dimensions (empty for a scalar or a value that is not a tensor).</summary>
    public long[] Shape => (long[])Info.Shape.Clone();

    /// <summary>Gets the number of elements in the tensor (1 for a scalar, 0 when a dimension is 0 or the value is not a tensor).</summary>
    public long ElementCount => Info.ElementCount;

    /// <summary>Gets the address of the tensor's first element (may be zero for an empty tensor); for tests and diagnostics.</summary>
    /// <exception cref="InvalidOperationException">The value is not a tensor.</exception>
    /// <exception cref="ObjectDisposedException">The value is disposed.</exception>
    internal nint DataPointer => (nint)GetData();

    /// <summary>Gets the native handle.</summary>
    internal SafeOrtValueHandle Handle => _handle;

    private TensorInfo Info => _info ??= ReadInfo();

    /// <summary>Creates a tensor whose memory ONNX Runtime allocates (<c>CreateTensorAsOrtValue</c> with the default CPU allocator).</summary>
    /// <typeparam name="T">The element type: float, long, int, byte, bool, Half, double, sbyte, short, ushort, uint or ulong.</typeparam>
    /// <param name="shape">The dimensions, each zero or more (zero-sized tensors, such as an empty past KV, are allowed).</param>
    /// <returns>The tensor; its contents are unspecified until written through <see cref="GetSpan{T}"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no ONNX element type.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot allocate the tensor.</exception>
    public static OrtValue CreateTensor<T>(ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        var elementType = OrtElementTypes.Require<T>();
        CheckedElementCount(shape);
        nint raw;
        fixed (long* dims = shape)
        {
            var status = OrtApi.CreateTensorAsOrtValue(OrtMemory.DefaultAllocator, dims, (nuint)shape.Length, (int)elementType, &raw);
            if (status != 0)
            {
                OrtStatus.Throw(status, $"allocate a {elementType} tensor of shape {FormatShape(shape)}");
            }
        }

        return new OrtValue(SafeOrtValueHandle.Adopt(raw));
    }

    /// <summary>Creates a tensor over managed memory (<c>CreateTensorWithDataAsOrtValue</c> with a CPU memory info), pinning it until the value is released.</summary>
    /// <typeparam name="T">The element type: float, long, int, byte, bool, Half, double, sbyte, short, ushort, uint or ulong.</typeparam>
    /// <param name="data">The elements in row-major order; ONNX Runtime reads and writes them in place, without copying.</param>
    /// <param name="shape">The dimensions; their product must equal <paramref name="data"/>'s length.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">The shape's element count differs from <paramref name="data"/>'s length.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no ONNX element type.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the tensor.</exception>
    public static OrtValue CreateTensor<T>(Memory<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        var elementType = OrtElementTypes.Require<T>();
        var count = CheckedElementCount(shape);
        if (count != data.Length)
        {
            throw new ArgumentException($"The shape {FormatShape(shape)} has {count} elements but the data has {data.Length}.", nameof(data));
        }

        var pin = data.Pin();
        try
        {
            // An empty Memory<T> pins to null; ONNX Runtime only needs a non-null address for non-empty data.
            var pointer = pin.Pointer;
            nint raw;
            fixed (long* dims = shape)
            {
                var status = OrtApi.CreateTensorWithDataAsOrtValue(
                    OrtMemory.Cpu.DangerousGetHandle(), pointer, (nuint)data.Length * (nuint)sizeof(T), dims, (nuint)shape.Length, (int)elementType, &raw);
                if (status != 0)
                {
                    OrtStatus.Throw(status, $"create a {elementType} tensor of shape {FormatShape(shape)} over managed memory");
                }
            }

            return new OrtValue(SafeOrtValueHandle.Adopt(raw, pin));
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>Creates a tensor holding a copy of <paramref name="data"/>, in memory ONNX Runtime allocates.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="data">The elements in row-major order.</param>
    /// <param name="shape">The dimensions; their product must equal <paramref name="data"/>'s length.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    /// <exception cref="ArgumentException">The shape's element count differs from <paramref name="data"/>'s length.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no ONNX element type.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot allocate the tensor.</exception>
    public static OrtValue CreateTensorCopy<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        if (CheckedElementCount(shape) != data.Length)
        {
            throw new ArgumentException($"The shape {FormatShape(shape)} has {CheckedElementCount(shape)} elements but the data has {data.Length}.", nameof(data));
        }

        var value = CreateTensor<T>(shape);
        try
        {
            data.CopyTo(value.GetSpan<T>());
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    /// <summary>Takes ownership of a value ONNX Runtime returned (a run's output, a bound output).</summary>
    /// <param name="value">The <c>OrtValue*</c>.</param>
    /// <returns>The value.</returns>
    internal static OrtValue Adopt(nint value) => new(SafeOrtValueHandle.Adopt(value));

    /// <summary>Returns the tensor's elements as a writable span over its buffer.</summary>
    /// <typeparam name="T">The element type, which must match <see cref="ElementType"/>.</typeparam>
    /// <returns>The elements, valid until <see cref="Dispose"/>.</returns>
    /// <exception cref="InvalidOperationException">The value is not a tensor, its element type is not <typeparamref name="T"/>'s, or it has more than <see cref="int.MaxValue"/> elements.</exception>
    /// <exception cref="ObjectDisposedException">The value is disposed.</exception>
    public Span<T> GetSpan<T>()
        where T : unmanaged
    {
        var info = Info;
        var expected = OrtElementTypes.Of<T>();
        if (info.Kind != OrtValueKind.Tensor)
        {
            throw new InvalidOperationException($"The value is a {info.Kind}, not a tensor.");
        }

        if (expected == OrtElementType.Undefined || expected != info.ElementType)
        {
            throw new InvalidOperationException($"The tensor holds {info.ElementType} elements, which cannot be read as {typeof(T).Name}.");
        }

        if (info.ElementCount > int.MaxValue)
        {
            throw new InvalidOperationException($"The tensor has {info.ElementCount} elements, more than a span can address.");
        }

        return info.ElementCount == 0 ? [] : new Span<T>(GetData(), (int)info.ElementCount);
    }

    /// <summary>Returns the tensor's elements as a read-only span over its buffer.</summary>
    /// <typeparam name="T">The element type, which must match <see cref="ElementType"/>.</typeparam>
    /// <returns>The elements, valid until <see cref="Dispose"/>.</returns>
    /// <exception cref="InvalidOperationException">The value is not a tensor, its element type is not <typeparamref name="T"/>'s, or it has more than <see cref="int.MaxValue"/> elements.</exception>
    /// <exception cref="ObjectDisposedException">The value is disposed.</exception>
    public ReadOnlySpan<T> GetReadOnlySpan<T>()
        where T : unmanaged => GetSpan<T>();

    /// <summary>Releases the value (and, once nothing else references it, the pin of its managed memory).</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Formats a shape as <c>[1, 3, 4]</c> for messages.</summary>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The text.</returns>
    internal static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static long CheckedElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(shape));
            count = checked(count * dim);
        }

        return count;
    }

    private void* GetData()
    {
        using var lease = new HandleLease(_handle);
        void* data;
        OrtStatus.ThrowIfFailed(OrtApi.GetTensorMutableData(lease.Pointer, &data), "read a tensor's data pointer");
        return data;
    }

    private TensorInfo ReadInfo()
    {
        using var lease = new HandleLease(_handle);
        int kind;
        OrtStatus.ThrowIfFailed(OrtApi.GetValueType(lease.Pointer, &kind), "read a value's type");
        if ((OrtValueKind)kind != OrtValueKind.Tensor)
        {
            return new TensorInfo((OrtValueKind)kind, OrtElementType.Undefined, [], 0);
        }

        nint raw;
        OrtStatus.ThrowIfFailed(OrtApi.GetTensorTypeAndShape(lease.Pointer, &raw), "read a tensor's type and shape");
        using var info = SafeOrtTensorTypeAndShapeInfoHandle.Adopt(raw);
        int elementType;
        nuint rank;
        nuint count;
        OrtStatus.ThrowIfFailed(OrtApi.GetTensorElementType(raw, &elementType), "read a tensor's element type");
        OrtStatus.ThrowIfFailed(OrtApi.GetDimensionsCount(raw, &rank), "read a tensor's rank");
        var shape = new long[(int)rank];
        fixed (long* dims = shape)
        {
            OrtStatus.ThrowIfFailed(OrtApi.GetDimensions(raw, dims, rank), "read a tensor's dimensions");
        }

        OrtStatus.ThrowIfFailed(OrtApi.GetTensorShapeElementCount(raw, &count), "read a tensor's element count");
        return new TensorInfo(OrtValueKind.Tensor, (OrtElementType)elementType, shape, (long)count);
    }

    // A tensor's type and shape never change, so they are read once.
    private sealed record TensorInfo(OrtValueKind Kind, OrtElementType ElementType, long[] Shape, long ElementCount);
}
