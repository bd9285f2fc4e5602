// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

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

    /// <summary>Gets or sets the gate and up projections stacked in one matrix (rows 0..I−1 gate, I..2I−1 up).</summary>
    public LinearLayer? FusedGateUp { get; set; }

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

        if (FusedGateUp is { } gu)
        {
            yield return ("gate_up", gu, l => FusedGateUp = l);
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
}
