// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>One decoder layer's weights; which members are set depends on the architecture.</summary>
internal sealed class DecoderLayerWeights
{
    public required NormLayer Norm1 { get; init; }

    public required NormLayer Norm2 { get; init; }

    public LinearLayer? Query { get; set; }

    public LinearLayer? Key { get; set; }

    public LinearLayer? Value { get; set; }

    /// <summary>Gets or sets MPT's fused <c>Wqkv</c> (q, k, v rows in that order).</summary>
    public LinearLayer? FusedQkv { get; set; }

    public required LinearLayer Output { get; set; }

    public LinearLayer? Gate { get; set; }

    public LinearLayer? Up { get; set; }

    public LinearLayer? Down { get; set; }

    public MoeWeights? Moe { get; set; }

    /// <summary>Enumerates the layer's linear layers with a setter, for quantization.</summary>
    public IEnumerable<(string Name, LinearLayer Layer, Action<LinearLayer> Replace)> Linears()
    {
        if (Query is { } q)
        {
            yield return ("q", q, l => Query = l);
        }

        if (Key is { } k)
        {
            yield return ("k", k, l => Key = l);
        }

        if (Value is { } v)
        {
            yield return ("v", v, l => Value = l);
        }

        if (FusedQkv is { } qkv)
        {
            yield return ("qkv", qkv, l => FusedQkv = l);
        }

        yield return ("o", Output, l => Output = l);
        if (Gate is { } g)
        {
            yield return ("gate", g, l => Gate = l);
        }

        if (Up is { } u)
        {
            yield return ("up", u, l => Up = l);
        }

        if (Down is { } d)
        {
            yield return ("down", d, l => Down = l);
        }

        if (Moe is { } moe)
        {
            foreach (var item in moe.Linears())
            {
                yield return item;
            }
        }
    }
}

/// <summary>Aria's mixture-of-experts MLP: router, routed experts (fused gate|up, down) and shared experts.</summary>
internal sealed class MoeWeights
{
    public required LinearLayer Router { get; init; }

    /// <summary>Gets each expert's fused first projection <c>[2·I, hidden]</c>: rows 0..I−1 the gate, I..2I−1 the up projection.</summary>
    public required LinearLayer[] ExpertIn { get; init; }

    /// <summary>Gets each expert's down projection <c>[hidden, I]</c>.</summary>
    public required LinearLayer[] ExpertOut { get; init; }

    public required int TopK { get; init; }

    public required LinearLayer SharedGate { get; set; }

    public required LinearLayer SharedUp { get; set; }

    public required LinearLayer SharedDown { get; set; }

    /// <summary>Enumerates the quantizable linear layers (not the router).</summary>
    public IEnumerable<(string Name, LinearLayer Layer, Action<LinearLayer> Replace)> Linears()
    {
        for (var e = 0; e < ExpertIn.Length; e++)
        {
            var index = e;
            yield return ($"expert{e}.in", ExpertIn[e], l => ExpertIn[index] = l);
            yield return ($"expert{e}.out", ExpertOut[e], l => ExpertOut[index] = l);
        }

        yield return ("shared.gate", SharedGate, l => SharedGate = l);
        yield return ("shared.up", SharedUp, l => SharedUp = l);
        yield return ("shared.down", SharedDown, l => SharedDown = l);
    }
}

/// <summary>All of a decoder's weights.</summary>
internal sealed class DecoderWeights
{
    public required EmbeddingTable Embeddings { get; init; }

    public required DecoderLayerWeights[] Layers { get; init; }

    public required NormLayer FinalNorm { get; init; }

    public required LinearLayer LmHead { get; set; }

    /// <summary>Gets the bytes the decoder reads per generated token (every linear layer once; for MoE only the
    /// active experts), for roofline figures.</summary>
    public long BytesPerToken(int expertsPerToken)
    {
        long total = LmHead.Weight.ByteSize;
        foreach (var layer in Layers)
        {
            foreach (var (name, linear, _) in layer.Linears())
            {
                total += name.StartsWith("expert", StringComparison.Ordinal) ? 0 : linear.Weight.ByteSize;
            }

            if (layer.Moe is { } moe)
            {
                total += moe.Router.Weight.ByteSize + (expertsPerToken * (moe.ExpertIn[0].Weight.ByteSize + moe.ExpertOut[0].Weight.ByteSize));
            }
        }

        return total;
    }

    /// <summary>Converts the linear layers (and the LM head to int8) to a quantized format.</summary>
    /// <param name="format">The target format.</param>
    /// <param name="groupSize">The int4 group size.</param>
    /// <param name="int4Ratio">For int4 formats, the fraction of layers in int4 (smallest relative error first), the rest int8.</param>
    public void Quantize(WeightFormat format, int groupSize, double int4Ratio)
    {
        var all = Layers.SelectMany(l => l.Linears()).ToList();
        if (format == WeightFormat.Int8 || format is WeightFormat.Float32 or WeightFormat.Float16 or WeightFormat.BFloat16)
        {
            foreach (var (_, layer, replace) in all)
            {
                replace(layer with { Weight = LinearWeight.Quantize(layer.Weight, format) });
            }

            LmHead = LmHead with { Weight = LinearWeight.Quantize(LmHead.Weight, format) };
            return;
        }

        var chosen = new HashSet<LinearLayer>(ReferenceEqualityComparer.Instance);
        if (int4Ratio >= 1)
        {
            chosen.UnionWith(all.Select(a => a.Layer));
        }
        else if (int4Ratio > 0)
        {
            // Data-free sensitivity: the layers whose int4 error is smallest relative to their weights go to int4.
            var ranked = all.Select(a => (a.Layer, Error: RelativeError(a.Layer.Weight, format, groupSize))).OrderBy(x => x.Error).ToList();
            var count = (int)Math.Round(int4Ratio * ranked.Count, MidpointRounding.ToEven);
            chosen.UnionWith(ranked.Take(count).Select(x => x.Layer));
        }

        foreach (var (_, layer, replace) in all)
        {
            var target = chosen.Contains(layer) && layer.Weight.Columns % groupSize == 0 ? format : WeightFormat.Int8;
            replace(layer with { Weight = LinearWeight.Quantize(layer.Weight, target, target == WeightFormat.Int8 ? 0 : groupSize) });
        }

        LmHead = LmHead with { Weight = LinearWeight.Quantize(LmHead.Weight, WeightFormat.Int8) };
    }

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
