// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>A CPU tensor owned by GenAI (<c>OgaTensor</c>), created from a copy of managed data.</summary>
/// <remarks>
/// <para>
/// <see cref="Create{T}"/> asks GenAI to allocate the buffer (<c>OgaCreateTensorFromBuffer</c> with <c>data = NULL</c>)
/// and copies the data into it, so nothing managed is pinned and the source may change or go away at once. A tensor
/// handed to <see cref="GenAiNamedTensors.Set"/> is referenced by GenAI from then on, so it may be disposed right after.
/// </para>
/// <para>Not thread-safe: use an instance from one thread at a time. <see cref="Dispose"/> may be called more than once.</para>
/// </remarks>
internal sealed unsafe class GenAiTensor : IDisposable
{
    private readonly SafeGenAiTensorHandle _handle;
    private bool _disposed;

    private GenAiTensor(SafeGenAiTensorHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Gets the owning handle, for calls that take the tensor.</summary>
    internal SafeGenAiTensorHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle;
        }
    }

    /// <summary>Creates a tensor holding a copy of <paramref name="data"/>.</summary>
    /// <typeparam name="T"><see cref="float"/> (float32), <see cref="int"/> (int32) or <see cref="long"/> (int64).</typeparam>
    /// <param name="data">The elements in row-major order; its length must be the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The dimensions, each zero or more (a zero dimension makes an empty tensor, such as <c>[0, hidden]</c>; no dimensions make a scalar).</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is another type.</exception>
    /// <exception cref="ArgumentException">A dimension is negative, or the element count does not match the shape.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI cannot create the tensor.</exception>
    /// <exception cref="NativeLibraryException">ONNX Runtime or GenAI cannot be loaded.</exception>
    public static GenAiTensor Create<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape)
        where T : unmanaged
    {
        var elementType = ElementTypeOf<T>();
        long count = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"Tensor dimensions must be zero or more; got [{string.Join(", ", shape.ToArray())}].", nameof(shape));
            }

            count = checked(count * dimension);
        }

        if (count != data.Length)
        {
            throw new ArgumentException(
                $"The shape [{string.Join(", ", shape.ToArray())}] holds {count} elements, but {data.Length} were given.", nameof(data));
        }

        IntPtr native;
        fixed (long* dims = shape)
        {
            GenAiResult.ThrowIfFailed(
                GenAiNative.CreateTensorFromBuffer(null, dims, (nuint)shape.Length, elementType, out native),
                $"Creating a GenAI {elementType} tensor of shape [{string.Join(", ", shape.ToArray())}]");
        }

        var tensor = new GenAiTensor(SafeGenAiTensorHandle.Adopt(native));
        try
        {
            if (!data.IsEmpty)
            {
                data.CopyTo(new Span<T>(tensor.DataPointer(), data.Length));
            }

            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Wraps a tensor GenAI returned (for example the logits), taking ownership.</summary>
    /// <param name="native">The tensor; released by <see cref="Dispose"/>.</param>
    /// <returns>The wrapper.</returns>
    internal static GenAiTensor Adopt(IntPtr native) => new(SafeGenAiTensorHandle.Adopt(native));

    /// <summary>Gets the element type.</summary>
    /// <returns>The type GenAI reports.</returns>
    /// <exception cref="ObjectDisposedException">The tensor is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public GenAiElementType GetElementType()
    {
        GenAiResult.ThrowIfFailed(GenAiNative.TensorGetType(Handle, out var type), "Reading a GenAI tensor's element type");
        return type;
    }

    /// <summary>Gets the dimensions.</summary>
    /// <returns>A new array, one entry per dimension.</returns>
    /// <exception cref="ObjectDisposedException">The tensor is disposed.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public long[] GetShape()
    {
        GenAiResult.ThrowIfFailed(GenAiNative.TensorGetShapeRank(Handle, out var rank), "Reading a GenAI tensor's rank");
        var shape = new long[(int)rank];
        fixed (long* dims = shape)
        {
            GenAiResult.ThrowIfFailed(GenAiNative.TensorGetShape(Handle, dims, rank), "Reading a GenAI tensor's shape");
        }

        return shape;
    }

    /// <summary>Copies the elements out.</summary>
    /// <typeparam name="T">The managed type of the tensor's element type (see <see cref="Create{T}"/>).</typeparam>
    /// <param name="destination">Receives the elements; at least as long as the tensor.</param>
    /// <returns>The number of elements copied.</returns>
    /// <exception cref="ObjectDisposedException">The tensor is disposed.</exception>
    /// <exception cref="InvalidOperationException">The tensor's element type is not <typeparamref name="T"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="OnnxRuntimeGenAIException">GenAI reports an error.</exception>
    public int CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        var expected = ElementTypeOf<T>();
        var actual = GetElementType();
        if (actual != expected)
        {
            throw new InvalidOperationException($"The GenAI tensor holds {actual} elements, not {expected}.");
        }

        long count = 1;
        foreach (var dimension in GetShape())
        {
            count = checked(count * dimension);
        }

        if (count > destination.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} elements, but the tensor has {count}.", nameof(destination));
        }

        if (count > 0)
        {
            new ReadOnlySpan<T>(DataPointer(), (int)count).CopyTo(destination);
        }

        return (int)count;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    private static GenAiElementType ElementTypeOf<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return GenAiElementType.Float32;
        }

        if (typeof(T) == typeof(int))
        {
            return GenAiElementType.Int32;
        }

        if (typeof(T) == typeof(long))
        {
            return GenAiElementType.Int64;
        }

        throw new NotSupportedException($"GenAI tensors of {typeof(T).Name} are not supported; use float, int or long.");
    }

    private void* DataPointer()
    {
        GenAiResult.ThrowIfFailed(GenAiNative.TensorGetData(Handle, out var data), "Reading a GenAI tensor's data");
        return data;
    }
}
