// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>
/// Decides, per language-model linear layer, the format it is quantized to at load (the seeds' NNCF settings:
/// <c>INT8</c>, <c>INT4_SYM</c> group 64, <c>INT4_ASYM</c> group 128, with <c>ratio</c>), and converts it.
/// </summary>
/// <remarks>
/// <para>Int8 quantizes every layer. An int4 format puts the fraction <see cref="ManagedModelOptions.Int4Ratio"/> of
/// the layers in int4 and the rest in int8; without calibration data, the layers chosen for int4 are those whose int4
/// round trip loses the least (relative squared error), which needs one extra pass over the weights. A layer whose
/// input width the group size does not divide stays int8. The LM head is int8 whenever an int4 format is asked for
/// (NNCF keeps the last layer in 8 bits by default).</para>
/// <para>Weights are read through the file, not the memory mapping, so the float originals do not stay resident.</para>
/// </remarks>
internal sealed class QuantizationPlan
{
    private readonly WeightFormat _format;
    private readonly int _groupSize;
    private readonly HashSet<string>? _int4;

    private QuantizationPlan(WeightFormat format, int groupSize, HashSet<string>? int4)
    {
        _format = format;
        _groupSize = groupSize;
        _int4 = int4;
    }

    /// <summary>Makes a plan for the named layers.</summary>
    /// <param name="format">The requested format.</param>
    /// <param name="groupSize">The int4 group size.</param>
    /// <param name="ratio">The int4 fraction.</param>
    /// <param name="layers">Every quantizable layer: a unique key and a way to compute its int4 error from its float weights.</param>
    /// <returns>The plan.</returns>
    public static QuantizationPlan Create(WeightFormat format, int groupSize, double ratio, IReadOnlyList<(string Key, Func<Func<LinearWeight, double>, double> Measure)> layers)
    {
        if (format is not (WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric) || ratio >= 1)
        {
            return new QuantizationPlan(format, groupSize, null);
        }

        var ranked = layers
            .Select(l => (l.Key, Error: l.Measure(w => RelativeError(w, format, groupSize))))
            .OrderBy(x => x.Error)
            .ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToList();
        var count = (int)Math.Round(ratio * ranked.Count, MidpointRounding.ToEven);
        return new QuantizationPlan(format, groupSize, [.. ranked.Take(count).Select(x => x.Key)]);
    }

    /// <summary>Converts one layer's float weights to its planned format.</summary>
    public LinearWeight Apply(string key, LinearWeight weights)
    {
        var target = TargetFor(key, weights.Columns);
        return LinearWeight.Quantize(weights, target, IsInt4(target) ? _groupSize : 0);
    }

    /// <summary>Converts the LM head: int8 when an int4 format was asked for, else the requested format.</summary>
    public LinearWeight ApplyToHead(LinearWeight weights) =>
        LinearWeight.Quantize(weights, IsInt4(_format) ? WeightFormat.Int8 : _format);

    /// <summary>Loads a linear layer from the file and converts it.</summary>
    /// <remarks>The stored bytes go through a native buffer (read from the file, not the mapping) and are
    /// quantized row by row from there, so loading leaves no float copy or resident original behind: peak memory
    /// stays close to the quantized model.</remarks>
    public LinearLayer Load(WeightLoader loader, string weight, string? bias, int rows, int columns)
    {
        var info = loader.Checkpoint.CheckShape(weight, rows, columns);
        var b = bias is null ? null : loader.Tensor(bias, rows);
        return new LinearLayer(WithStoredBytes(loader, info, rows, columns, w => Apply(weight, w)), b);
    }

    /// <summary>Gets whether the plan ranks layers one by one (an int4 ratio below 1).</summary>
    public bool RanksLayers => _int4 is not null;

    /// <summary>Reads several float layers of one dtype and width through the file into one native buffer, rows
    /// stacked in order, and hands them to <paramref name="use"/> as one matrix.</summary>
    public static T WithStoredBytes<T>(WeightLoader loader, SafeTensors.SafeTensorInfo[] infos, int rows, int columns, Func<LinearWeight, T> use)
    {
        var dtype = infos[0].DType;
        if (infos.Any(i => i.DType != dtype) || dtype is not (SafeTensors.TensorDType.F32 or SafeTensors.TensorDType.F16 or SafeTensors.TensorDType.BF16))
        {
            var floats = infos.SelectMany(i => loader.Checkpoint.ReadSingle(i.Name)).ToArray();
            return use(LinearWeight.FromSingle(floats, rows, columns));
        }

        using var buffer = new NativeBuffer(checked((int)infos.Sum(i => i.ByteLength)));
        var offset = 0;
        foreach (var info in infos)
        {
            offset += loader.Checkpoint.ReadBytes(info.Name, buffer.Memory.Span[offset..]);
        }

        return use(LinearWeight.FromBytes(buffer.Memory[..offset], dtype, rows, columns));
    }

    /// <summary>Reads a float layer through the file into a native buffer and hands it to <paramref name="use"/>, which must not keep it.</summary>
    public static T WithStoredBytes<T>(WeightLoader loader, SafeTensors.SafeTensorInfo info, int rows, int columns, Func<LinearWeight, T> use) =>
        WithStoredBytes(loader, [info], rows, columns, use);

    private WeightFormat TargetFor(string key, int columns)
    {
        if (!IsInt4(_format))
        {
            return _format;
        }

        var chosen = _int4 is null || _int4.Contains(key);
        return chosen && columns % _groupSize == 0 ? _format : WeightFormat.Int8;
    }

    private static bool IsInt4(WeightFormat format) => format is WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric;

    private static double RelativeError(LinearWeight weight, WeightFormat format, int groupSize)
    {
        if (weight.Columns % groupSize != 0)
        {
            return double.PositiveInfinity;
        }

        // Row by row: no float copy of the whole matrix.
        var restored = LinearWeight.Quantize(weight, format, groupSize);
        var a = new float[weight.Columns];
        var b = new float[weight.Columns];
        double error = 0, norm = 0;
        for (var r = 0; r < weight.Rows; r++)
        {
            weight.DecodeRow(r, 0, weight.Columns, a);
            restored.DecodeRow(r, 0, weight.Columns, b);
            for (var i = 0; i < a.Length; i++)
            {
                var diff = a[i] - b[i];
                error += diff * diff;
                norm += a[i] * a[i];
            }
        }

        return norm == 0 ? 0 : error / norm;
    }

    /// <summary>An unmanaged byte buffer exposed as <see cref="Memory{T}"/>, freed on dispose.</summary>
    private sealed unsafe class NativeBuffer : System.Buffers.MemoryManager<byte>
    {
        private readonly int _length;
        private byte* _pointer;

        public NativeBuffer(int length)
        {
            _length = length;
            _pointer = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(length, 1));
        }

        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new Span<byte>(_pointer, _length);
        }

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new System.Buffers.MemoryHandle(_pointer + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (_pointer != null)
            {
                System.Runtime.InteropServices.NativeMemory.Free(_pointer);
                _pointer = null;
            }
        }
    }
}
