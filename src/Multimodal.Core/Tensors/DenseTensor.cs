// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>A dense, row-major tensor over managed memory: the unit of exchange between pipeline stages.</summary>
/// <typeparam name="T">The element type (for example <see cref="float"/> for pixels and embeddings).</typeparam>
/// <remarks>
/// The tensor does not copy: it wraps the memory it is given. Stages that receive a tensor must not keep
/// it beyond the call unless documented. Instances are not synchronised; share read-only.
/// </remarks>
public sealed class DenseTensor<T>
    where T : unmanaged
{
    private readonly int[] _shape;

    /// <summary>Initializes a tensor over existing memory.</summary>
    /// <param name="buffer">The elements in row-major order; its length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The dimensions, outermost first.</param>
    /// <exception cref="ArgumentException">The buffer length does not match the shape, or a dimension is negative.</exception>
    public DenseTensor(Memory<T> buffer, params ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Dimension {d} is negative; every dimension must be zero or positive.", nameof(shape));
            }

            count *= d;
        }

        if (count != buffer.Length)
        {
            throw new ArgumentException($"The buffer holds {buffer.Length} elements but the shape [{string.Join(", ", shape.ToArray())}] needs {count}.", nameof(buffer));
        }

        Buffer = buffer;
        _shape = shape.ToArray();
    }

    /// <summary>Initializes a zero-filled tensor of the given shape.</summary>
    /// <param name="shape">The dimensions, outermost first.</param>
    public DenseTensor(params ReadOnlySpan<int> shape)
        : this(new T[CountOf(shape)], shape)
    {
    }

    /// <summary>Gets the elements in row-major order.</summary>
    public Memory<T> Buffer { get; }

    /// <summary>Gets the elements as a span.</summary>
    public Span<T> Span => Buffer.Span;

    /// <summary>Gets the dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Gets the number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Gets the total number of elements.</summary>
    public int Length => Buffer.Length;

    /// <summary>Gets one dimension.</summary>
    /// <param name="axis">The axis, 0 for the outermost.</param>
    /// <returns>The size of that axis.</returns>
    public int Dimension(int axis) => _shape[axis];

    /// <summary>Gets the contiguous elements of one row of a rank-2 tensor (or one outermost slice of any rank).</summary>
    /// <param name="index">The outermost index.</param>
    /// <returns>The slice's elements.</returns>
    public Span<T> Row(int index)
    {
        var inner = _shape.Length == 0 ? 1 : Length / Math.Max(1, _shape[0]);
        return Buffer.Span.Slice(index * inner, inner);
    }

    /// <summary>Returns a tensor of a new shape over the same memory.</summary>
    /// <param name="shape">The new dimensions; their product must equal <see cref="Length"/>.</param>
    /// <returns>A tensor that shares this tensor's memory.</returns>
    public DenseTensor<T> Reshape(params ReadOnlySpan<int> shape) => new(Buffer, shape);

    /// <inheritdoc />
    public override string ToString() => $"DenseTensor<{typeof(T).Name}>[{string.Join(", ", _shape)}]";

    private static int CountOf(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count *= d;
        }

        return checked((int)count);
    }
}
