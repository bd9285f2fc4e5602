// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>
/// The weight matrix of a linear layer, <c>[Rows = out_features, Columns = in_features]</c> as PyTorch's
/// <c>nn.Linear.weight</c>, in one of the <see cref="WeightFormat"/>s. Float weights may point straight into a
/// memory-mapped checkpoint; quantized weights own their packed data.
/// </summary>
/// <remarks>
/// <para>Quantization conventions (all rounding is round-half-to-even, as <c>torch.round</c> / <c>numpy.round</c>
/// used by NNCF):</para>
/// <list type="bullet">
/// <item><see cref="WeightFormat.Int8"/>: one scale per output row, <c>scale = max|w| / 127</c>, levels
/// <c>[-127, 127]</c> (narrow symmetric range, so <c>w ≈ q · scale</c> with no clipping bias).</item>
/// <item><see cref="WeightFormat.Int4Symmetric"/>: NNCF <c>INT4_SYM</c> "signed scale": per group,
/// <c>scale = (|min| ≥ max ? |min| : −max) / 8</c>, levels <c>[-8, 7]</c>. The element of largest magnitude maps
/// exactly onto level −8 (the scale is negative when that element is positive), so all 16 levels are used.
/// Stored as the unsigned nibble <c>q + 8</c>.</item>
/// <item><see cref="WeightFormat.Int4Asymmetric"/>: NNCF <c>INT4_ASYM</c>: per group,
/// <c>scale = (max − min) / 15</c>, <c>zero = clamp(−round(min / scale), 0, 15)</c>,
/// <c>q = clamp(round(w / scale) + zero, 0, 15)</c>, <c>w ≈ (q − zero) · scale</c>.</item>
/// </list>
/// <para>A scale that would be smaller than float32 machine epsilon (an all-zero row or group) is replaced by
/// epsilon, as NNCF does, so dequantization stays finite.</para>
/// <para>Int4 packing: each row holds <c>Columns / 2</c> bytes in blocks of 16 bytes per 32 columns; byte
/// <c>j</c> of a block holds column <c>j</c> of the block in its low nibble and column <c>j + 16</c> in its high
/// nibble. Scales (and zero points) are stored row-major, <c>[Rows, Columns / GroupSize]</c>.</para>
/// </remarks>
internal sealed class LinearWeight
{
    /// <summary>float32 machine epsilon (<c>numpy.finfo(float32).eps</c>), the smallest scale NNCF keeps.</summary>
    private const float MachineEpsilon = 1.1920929E-07f;

    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly float[]? _single;
    private readonly float[]? _scales;
    private readonly byte[]? _zeros;

    private LinearWeight(int rows, int columns, WeightFormat format, int groupSize, ReadOnlyMemory<byte> bytes, float[]? single, float[]? scales, byte[]? zeros)
    {
        Rows = rows;
        Columns = columns;
        Format = format;
        GroupSize = groupSize;
        _bytes = bytes;
        _single = single;
        _scales = scales;
        _zeros = zeros;
    }

    /// <summary>Gets the number of output features.</summary>
    public int Rows { get; }

    /// <summary>Gets the number of input features.</summary>
    public int Columns { get; }

    /// <summary>Gets the storage format.</summary>
    public WeightFormat Format { get; }

    /// <summary>Gets the group size of int4 formats (input channels per scale), 0 otherwise.</summary>
    public int GroupSize { get; }

    /// <summary>Gets the bytes the weights occupy (data, scales and zero points), which decode reads once per token.</summary>
    public long ByteSize => ((long)Rows * RowBytes) + ((long)(_scales?.Length ?? 0) * sizeof(float)) + (_zeros?.Length ?? 0);

    /// <summary>Gets the number of scale groups per row (1 for int8, <c>Columns / GroupSize</c> for int4, 0 for floats).</summary>
    internal int GroupsPerRow => Format switch
    {
        WeightFormat.Int8 => 1,
        WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric => Columns / GroupSize,
        _ => 0,
    };

    /// <summary>Gets a reference to the first byte of the raw element data (float32/float16/bfloat16 values, int8 values
    /// or packed int4 nibbles, row-major, <see cref="RowBytes"/> per row). The data may exceed 2 GB in total, so index with
    /// native-sized offsets.</summary>
    internal ref byte DataReference => ref _single is not null
        ? ref Unsafe.As<float, byte>(ref MemoryMarshal.GetArrayDataReference(_single))
        : ref MemoryMarshal.GetReference(_bytes.Span);

    /// <summary>Gets the scales, <c>[Rows, GroupsPerRow]</c>, empty for float formats.</summary>
    internal ReadOnlySpan<float> Scales => _scales;

    /// <summary>Gets the zero points of <see cref="WeightFormat.Int4Asymmetric"/>, <c>[Rows, GroupsPerRow]</c>, empty otherwise.</summary>
    internal ReadOnlySpan<byte> ZeroPoints => _zeros;

    /// <summary>Gets the bytes per row of <see cref="DataReference"/>.</summary>
    internal int RowBytes => Format switch
    {
        WeightFormat.Float32 => Columns * 4,
        WeightFormat.Float16 or WeightFormat.BFloat16 => Columns * 2,
        WeightFormat.Int8 => Columns,
        _ => Columns / 2,
    };

    /// <summary>Wraps float data (F32, F16 or BF16 bytes as stored in a checkpoint) without copying.</summary>
    /// <param name="data">The row-major little-endian element bytes; need not be aligned.</param>
    /// <param name="dtype">The element type: <see cref="TensorDType.F32"/>, <see cref="TensorDType.F16"/> or <see cref="TensorDType.BF16"/>.</param>
    /// <param name="rows">The number of output features.</param>
    /// <param name="columns">The number of input features.</param>
    /// <returns>The weight, referencing <paramref name="data"/>.</returns>
    /// <exception cref="NotSupportedException">The element type is not a supported float type.</exception>
    /// <exception cref="ArgumentException">The data length does not match the shape.</exception>
    public static LinearWeight FromBytes(ReadOnlyMemory<byte> data, TensorDType dtype, int rows, int columns)
    {
        ValidateShape(rows, columns);
        var (format, size) = dtype switch
        {
            TensorDType.F32 => (WeightFormat.Float32, 4),
            TensorDType.F16 => (WeightFormat.Float16, 2),
            TensorDType.BF16 => (WeightFormat.BFloat16, 2),
            _ => throw new NotSupportedException($"Linear weights of type {dtype} are not supported; expected F32, F16 or BF16."),
        };
        if (data.Length != (long)rows * columns * size)
        {
            throw new ArgumentException($"Weight data has {data.Length} bytes; a [{rows}, {columns}] {dtype} matrix needs {(long)rows * columns * size}.", nameof(data));
        }

        return new LinearWeight(rows, columns, format, 0, data, null, null, null);
    }

    /// <summary>Wraps a float32 array.</summary>
    /// <param name="data">The row-major values, <c>rows × columns</c>; referenced, not copied.</param>
    /// <param name="rows">The number of output features.</param>
    /// <param name="columns">The number of input features.</param>
    /// <returns>The weight.</returns>
    public static LinearWeight FromSingle(float[] data, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(data);
        ValidateShape(rows, columns);
        if (data.Length != (long)rows * columns)
        {
            throw new ArgumentException($"Weight data has {data.Length} values; a [{rows}, {columns}] matrix needs {(long)rows * columns}.", nameof(data));
        }

        return new LinearWeight(rows, columns, WeightFormat.Float32, 0, default, data, null, null);
    }

    /// <summary>Quantizes float weights (any float format) to int8 per output channel or int4 per group.</summary>
    /// <param name="source">The float weights (float32, float16 or bfloat16).</param>
    /// <param name="format">The target format; a float format converts (float32) or returns the source unchanged.</param>
    /// <param name="groupSize">The int4 group size along the input channels: 32, 64 or 128 (0 picks 128 when it
    /// divides <see cref="Columns"/>, else 64, else 32). Ignored for int8.</param>
    /// <returns>The quantized weight (owning its data).</returns>
    /// <exception cref="ArgumentException">The group size is not 32, 64 or 128, or does not divide the columns.</exception>
    public static LinearWeight Quantize(LinearWeight source, WeightFormat format, int groupSize = 0)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Format is WeightFormat.Int8 or WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric)
        {
            throw new ArgumentException($"The source weights are already quantized ({source.Format}); quantize from float weights.", nameof(source));
        }

        int rows = source.Rows, columns = source.Columns;
        switch (format)
        {
            case WeightFormat.Float32:
                return source.Format == WeightFormat.Float32 ? source : FromSingle(source.ToSingle(), rows, columns);
            case WeightFormat.Float16:
            case WeightFormat.BFloat16:
                if (source.Format == format)
                {
                    return source;
                }

                return ConvertHalf(source, format);
            case WeightFormat.Int8:
                return QuantizeInt8(source);
            case WeightFormat.Int4Symmetric:
            case WeightFormat.Int4Asymmetric:
                if (groupSize == 0)
                {
                    groupSize = columns % 128 == 0 ? 128 : columns % 64 == 0 ? 64 : 32;
                }

                if (groupSize is not (32 or 64 or 128))
                {
                    throw new ArgumentException($"Int4 group size must be 32, 64 or 128 input channels; got {groupSize}.", nameof(groupSize));
                }

                if (columns % groupSize != 0)
                {
                    throw new ArgumentException($"Int4 group size {groupSize} does not divide the {columns} input channels of the [{rows}, {columns}] weight; choose a group size that divides it.", nameof(groupSize));
                }

                return QuantizeInt4(source, format, groupSize);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown weight format.");
        }
    }

    /// <summary>Returns the weights as float32 <c>[Rows, Columns]</c> (dequantized), for tests and error reports.</summary>
    /// <returns>A new array.</returns>
    public float[] ToSingle()
    {
        var result = new float[(long)Rows * Columns];
        for (var r = 0; r < Rows; r++)
        {
            DecodeRow(r, 0, Columns, result.AsSpan().Slice(r * Columns, Columns));
        }

        return result;
    }

    /// <summary>Decodes (converts or dequantizes) <paramref name="count"/> values of one row starting at column
    /// <paramref name="start"/> into float32. For int4, <paramref name="start"/> and <paramref name="count"/> must be multiples of 32.</summary>
    /// <param name="row">The row.</param>
    /// <param name="start">The first column.</param>
    /// <param name="count">The number of columns.</param>
    /// <param name="destination">Receives <paramref name="count"/> values.</param>
    internal void DecodeRow(int row, int start, int count, Span<float> destination)
    {
        var data = RowData(row);
        destination = destination[..count];
        switch (Format)
        {
            case WeightFormat.Float32:
                MemoryMarshal.Cast<byte, float>(data.Slice(start * 4, count * 4)).CopyTo(destination);
                break;
            case WeightFormat.Float16:
                HalfConvert.HalfToSingle(data.Slice(start * 2, count * 2), destination);
                break;
            case WeightFormat.BFloat16:
                HalfConvert.BFloat16ToSingle(data.Slice(start * 2, count * 2), destination);
                break;
            case WeightFormat.Int8:
                DecodeInt8(_scales![row], data.Slice(start, count), destination);
                break;
            default:
                DecodeInt4(row, start, count, data, destination);
                break;
        }
    }

    /// <summary>Gets the raw bytes of one row.</summary>
    /// <param name="row">The row.</param>
    /// <returns><see cref="RowBytes"/> bytes.</returns>
    internal ReadOnlySpan<byte> RowData(int row) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref DataReference, (nint)row * RowBytes), RowBytes);

    private static unsafe void DecodeInt8(float scale, ReadOnlySpan<byte> source, Span<float> destination)
    {
        var i = 0;
        fixed (byte* q = source)
        fixed (float* d = destination)
        {
            if (Avx2.IsSupported)
            {
                var s = Vector256.Create(scale);
                for (; i <= source.Length - 8; i += 8)
                {
                    Avx.Store(d + i, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32((sbyte*)q + i)) * s);
                }
            }

            for (; i < source.Length; i++)
            {
                d[i] = (sbyte)q[i] * scale;
            }
        }
    }

    private unsafe void DecodeInt4(int row, int start, int count, ReadOnlySpan<byte> rowData, Span<float> destination)
    {
        var groups = GroupsPerRow;
        var scales = _scales.AsSpan(row * groups, groups);
        var zeros = _zeros is null ? default : _zeros.AsSpan(row * groups, groups);
        var symmetric = Format == WeightFormat.Int4Symmetric;
        fixed (byte* q = rowData)
        fixed (float* d = destination)
        {
            for (var block = 0; block < count; block += 32)
            {
                var column = start + block;
                var g = column / GroupSize;
                var scale = scales[g];
                var zero = symmetric ? 8 : zeros[g];
                var bytes = q + (column / 2);
                if (Avx2.IsSupported)
                {
                    var z = Vector256.Create(zero);
                    var s = Vector256.Create(scale);
                    var mask = Vector256.Create(15);
                    var l0 = Avx2.ConvertToVector256Int32(bytes);
                    var l1 = Avx2.ConvertToVector256Int32(bytes + 8);
                    Avx.Store(d + block, Avx.ConvertToVector256Single((l0 & mask) - z) * s);
                    Avx.Store(d + block + 8, Avx.ConvertToVector256Single((l1 & mask) - z) * s);
                    Avx.Store(d + block + 16, Avx.ConvertToVector256Single((l0 >>> 4) - z) * s);
                    Avx.Store(d + block + 24, Avx.ConvertToVector256Single((l1 >>> 4) - z) * s);
                    continue;
                }

                for (var j = 0; j < 16; j++)
                {
                    d[block + j] = ((bytes[j] & 15) - zero) * scale;
                    d[block + j + 16] = ((bytes[j] >> 4) - zero) * scale;
                }
            }
        }
    }

    private static void ValidateShape(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
    }

    private static LinearWeight ConvertHalf(LinearWeight source, WeightFormat format)
    {
        var values = source.ToSingle();
        var bytes = new byte[values.LongLength * 2];
        var halves = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
        for (var i = 0; i < values.Length; i++)
        {
            halves[i] = format == WeightFormat.Float16
                ? BitConverter.HalfToUInt16Bits((Half)values[i])
                : HalfConvert.SingleToBFloat16(values[i]);
        }

        return new LinearWeight(source.Rows, source.Columns, format, 0, bytes, null, null, null);
    }

    private static LinearWeight QuantizeInt8(LinearWeight source)
    {
        int rows = source.Rows, columns = source.Columns;
        var data = new byte[(long)rows * columns];
        var scales = new float[rows];
        var row = new float[columns];
        for (var r = 0; r < rows; r++)
        {
            source.DecodeRow(r, 0, columns, row);
            var max = 0f;
            foreach (var v in row)
            {
                max = MathF.Max(max, MathF.Abs(v));
            }

            var scale = ClampScale(max / 127f);
            scales[r] = scale;
            var q = MemoryMarshal.Cast<byte, sbyte>(data.AsSpan(r * columns, columns));
            for (var i = 0; i < columns; i++)
            {
                q[i] = (sbyte)Math.Clamp(MathF.Round(row[i] / scale, MidpointRounding.ToEven), -127f, 127f);
            }
        }

        return new LinearWeight(rows, columns, WeightFormat.Int8, 0, data, null, scales, null);
    }

    private static LinearWeight QuantizeInt4(LinearWeight source, WeightFormat format, int groupSize)
    {
        int rows = source.Rows, columns = source.Columns;
        var groups = columns / groupSize;
        var symmetric = format == WeightFormat.Int4Symmetric;
        var data = new byte[(long)rows * columns / 2];
        var scales = new float[rows * groups];
        var zeros = symmetric ? null : new byte[rows * groups];
        var row = new float[columns];
        var levels = new byte[columns];
        for (var r = 0; r < rows; r++)
        {
            source.DecodeRow(r, 0, columns, row);
            for (var g = 0; g < groups; g++)
            {
                var values = row.AsSpan(g * groupSize, groupSize);
                var min = float.PositiveInfinity;
                var max = float.NegativeInfinity;
                foreach (var v in values)
                {
                    min = MathF.Min(min, v);
                    max = MathF.Max(max, v);
                }

                float scale;
                int zero;
                if (symmetric)
                {
                    // NNCF calculate_signed_scale: the largest-magnitude element lands on level -8.
                    scale = ClampScale((MathF.Abs(min) >= max ? MathF.Abs(min) : -max) / 8f);
                    zero = 8;
                }
                else
                {
                    scale = ClampScale((max - min) / 15f);
                    zero = (int)Math.Clamp(-MathF.Round(min / scale, MidpointRounding.ToEven), 0f, 15f);
                    zeros![(r * groups) + g] = (byte)zero;
                }

                scales[(r * groups) + g] = scale;
                var (low, high) = symmetric ? (-8f, 7f) : (0f, 15f);
                var offset = symmetric ? 8 : 0;
                var zeroShift = symmetric ? 0 : zero;
                for (var i = 0; i < groupSize; i++)
                {
                    var q = (int)Math.Clamp(MathF.Round(values[i] / scale, MidpointRounding.ToEven) + zeroShift, low, high);
                    levels[(g * groupSize) + i] = (byte)(q + offset);
                }
            }

            var packed = data.AsSpan(r * (columns / 2), columns / 2);
            for (var block = 0; block < columns; block += 32)
            {
                for (var j = 0; j < 16; j++)
                {
                    packed[(block / 2) + j] = (byte)(levels[block + j] | (levels[block + j + 16] << 4));
                }
            }
        }

        return new LinearWeight(rows, columns, format, groupSize, data, null, scales, zeros);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ClampScale(float scale) => MathF.Abs(scale) < MachineEpsilon ? MachineEpsilon : scale;
}
