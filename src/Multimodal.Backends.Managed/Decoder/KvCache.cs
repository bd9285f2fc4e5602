// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>The managed decoder's KV cache: per layer, keys and values <c>[positions, kvHeads × headDim]</c> in float32.</summary>
/// <remarks>Buffers grow geometrically up to the context length and are kept when the state is truncated, so a state
/// reused across conversation turns does not reallocate.</remarks>
internal sealed class KvCache : IDecoderState
{
    private readonly int _width;
    private readonly int _maxLength;
    private float[][] _keys;
    private float[][] _values;
    private bool _disposed;

    /// <summary>Initializes an empty cache.</summary>
    public KvCache(TransformerDecoder owner, int layers, int width, int maxLength)
    {
        Owner = owner;
        _width = width;
        _maxLength = maxLength;
        _keys = new float[layers][];
        _values = new float[layers][];
        for (var i = 0; i < layers; i++)
        {
            _keys[i] = [];
            _values[i] = [];
        }
    }

    /// <summary>Gets the decoder that created the cache.</summary>
    public TransformerDecoder Owner { get; }

    /// <inheritdoc />
    public int Length { get; private set; }

    /// <summary>Gets or sets the decoder's working buffers for this state, reused between calls.</summary>
    public object? Scratch { get; set; }

    /// <summary>Gets the most positions the cache may hold.</summary>
    public int MaxLength => _maxLength;

    /// <summary>Gets a layer's key buffer (at least <see cref="Length"/> rows).</summary>
    public float[] Keys(int layer) => _keys[layer];

    /// <summary>Gets a layer's value buffer.</summary>
    public float[] Values(int layer) => _values[layer];

    /// <summary>Makes room for <paramref name="count"/> more positions.</summary>
    public void Reserve(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = Length + count;
        if (needed > _maxLength)
        {
            throw new ContextLengthExceededException(needed, _maxLength);
        }

        var capacity = _keys.Length == 0 ? 0 : _keys[0].Length / _width;
        if (needed <= capacity)
        {
            return;
        }

        var grown = Math.Min(_maxLength, Math.Max(needed, Math.Max(64, capacity * 2)));
        for (var i = 0; i < _keys.Length; i++)
        {
            Array.Resize(ref _keys[i], grown * _width);
            Array.Resize(ref _values[i], grown * _width);
        }
    }

    /// <summary>Records that <paramref name="count"/> positions were written.</summary>
    public void Advance(int count) => Length += count;

    /// <inheritdoc />
    public void Truncate(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    /// <inheritdoc />
    public IDecoderState Fork()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var copy = new KvCache(Owner, _keys.Length, _width, _maxLength);
        for (var i = 0; i < _keys.Length; i++)
        {
            copy._keys[i] = _keys[i].AsSpan(0, Length * _width).ToArray();
            copy._values[i] = _values[i].AsSpan(0, Length * _width).ToArray();
        }

        copy.Length = Length;
        return copy;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _keys = [];
        _values = [];
        Scratch = null;
    }
}
