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
    /// <param name="layers">Every quantizable layer: a unique key and a way to read its float weights.</param>
    /// <returns>The plan.</returns>
    public static QuantizationPlan Create(WeightFormat format, int groupSize, double ratio, IReadOnlyList<(string Key, Func<LinearWeight> Read)> layers)
    {
        if (format is not (WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric) || ratio >= 1)
        {
            return new QuantizationPlan(format, groupSize, null);
        }

        var ranked = layers
            .Select(l => (l.Key, Error: RelativeError(l.Read(), format, groupSize)))
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
    public LinearLayer Load(WeightLoader loader, string weight, string? bias, int rows, int columns)
    {
        loader.Checkpoint.CheckShape(weight, rows, columns);
        var floats = LinearWeight.FromSingle(loader.Checkpoint.ReadSingle(weight), rows, columns);
        return new LinearLayer(Apply(weight, floats), bias is null ? null : loader.Tensor(bias, rows));
    }

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

        var original = weight.ToSingle();
        var restored = LinearWeight.Quantize(weight, format, groupSize).ToSingle();
        double error = 0, norm = 0;
        for (var i = 0; i < original.Length; i++)
        {
            var diff = original[i] - restored[i];
            error += diff * diff;
            norm += original[i] * original[i];
        }

        return norm == 0 ? 0 : error / norm;
    }
}
