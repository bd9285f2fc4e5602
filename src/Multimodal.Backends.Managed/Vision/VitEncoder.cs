// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>The MLP activation of a vision transformer.</summary>
internal enum VitActivation
{
    /// <summary>x·σ(1.702x) (OpenAI CLIP).</summary>
    QuickGelu,

    /// <summary>Exact (erf) GELU (timm SigLIP in MiniCPM-V).</summary>
    Gelu,

    /// <summary>tanh-approximated GELU (SigLIP in Aria / Idefics).</summary>
    GeluTanh,
}

/// <summary>One pre-LN encoder layer: x + attn(LN1(x)), then x + fc2(act(fc1(LN2(x)))).</summary>
internal sealed class VitLayer
{
    public required NormLayer Norm1 { get; init; }

    public required NormLayer Norm2 { get; init; }

    public required LinearLayer Query { get; init; }

    public required LinearLayer Key { get; init; }

    public required LinearLayer Value { get; init; }

    public required LinearLayer Output { get; init; }

    public required LinearLayer Fc1 { get; init; }

    public required LinearLayer Fc2 { get; init; }

    /// <summary>Loads layers in Hugging Face's CLIP / SigLIP naming: <c>{prefix}N.{layer_norm1, layer_norm2,
    /// self_attn.{q,k,v,out}_proj, mlp.fc1, mlp.fc2}</c>, all with biases.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="config">The tower's dimensions.</param>
    /// <param name="prefix">The prefix before the layer index, for example <c>vision_model.encoder.layers.</c>.</param>
    /// <param name="count">How many layers to load.</param>
    /// <returns>The layers.</returns>
    public static VitLayer[] LoadHuggingFace(WeightLoader loader, VisionConfig config, string prefix, int count)
    {
        var c = config.HiddenSize;
        var layers = new VitLayer[count];
        for (var i = 0; i < count; i++)
        {
            var p = $"{prefix}{i}.";
            layers[i] = new VitLayer
            {
                Norm1 = loader.LayerNorm(p + "layer_norm1", c, config.LayerNormEpsilon),
                Norm2 = loader.LayerNorm(p + "layer_norm2", c, config.LayerNormEpsilon),
                Query = loader.Linear(p + "self_attn.q_proj.weight", p + "self_attn.q_proj.bias", c, c),
                Key = loader.Linear(p + "self_attn.k_proj.weight", p + "self_attn.k_proj.bias", c, c),
                Value = loader.Linear(p + "self_attn.v_proj.weight", p + "self_attn.v_proj.bias", c, c),
                Output = loader.Linear(p + "self_attn.out_proj.weight", p + "self_attn.out_proj.bias", c, c),
                Fc1 = loader.Linear(p + "mlp.fc1.weight", p + "mlp.fc1.bias", config.IntermediateSize, c),
                Fc2 = loader.Linear(p + "mlp.fc2.weight", p + "mlp.fc2.bias", c, config.IntermediateSize),
            };
        }

        return layers;
    }
}

/// <summary>
/// A stack of pre-LN transformer encoder layers with bidirectional multi-head attention (CLIP, SigLIP), with an
/// optional key mask (Aria's padded patches) and an optional token merger run between attention and MLP in every
/// layer (AuroraCap's ToMe).
/// </summary>
internal sealed class VitEncoder
{
    private readonly ComputeContext _context;

    public VitEncoder(VitLayer[] layers, int hidden, int heads, VitActivation activation, ComputeContext context)
    {
        if (heads <= 0 || hidden % heads != 0)
        {
            throw new ModelLoadException($"The vision tower's {heads} heads do not divide its hidden size {hidden}.");
        }

        Layers = layers;
        Hidden = hidden;
        Heads = heads;
        Activation = activation;
        _context = context;
    }

    public VitLayer[] Layers { get; }

    public int Hidden { get; }

    public int Heads { get; }

    public VitActivation Activation { get; }

    /// <summary>Runs the first <paramref name="layerCount"/> layers over <c>[tokens, hidden]</c> rows.</summary>
    /// <param name="hidden">The input rows; the result may be a different (smaller) array when tokens merge.</param>
    /// <param name="layerCount">How many layers to run.</param>
    /// <param name="keyValid">Per token, whether it may be attended to (or <see langword="null"/>).</param>
    /// <param name="merger">A merger planned on the layer's averaged keys after attention (or <see langword="null"/>).</param>
    /// <param name="protectedPrefix">Leading tokens the merger must keep (the CLS token).</param>
    /// <param name="observer">Receives (layer, rows, sizes) after each layer.</param>
    /// <returns>The output rows and the final per-token sizes (all 1 without merging).</returns>
    public (float[] Hidden, float[] Sizes) Forward(float[] hidden, int layerCount, bool[]? keyValid, ITokenMerger? merger, int protectedPrefix, Action<int, float[], float[]>? observer)
    {
        var c = Hidden;
        var tokens = hidden.Length / c;
        var sizes = new float[tokens];
        Array.Fill(sizes, 1f);
        for (var l = 0; l < layerCount; l++)
        {
            var layer = Layers[l];
            var normed = new float[tokens * c];
            layer.Norm1.Forward(hidden, normed);
            var q = layer.Query.Forward(normed, tokens, _context);
            var k = layer.Key.Forward(normed, tokens, _context);
            var v = layer.Value.Forward(normed, tokens, _context);
            var attention = new float[tokens * c];
            var d = c / Heads;
            AttentionMath.Bidirectional(q, k, v, attention, tokens, tokens, Heads, d, 1f / MathF.Sqrt(d), keyValid, _context);
            var projected = layer.Output.Forward(attention, tokens, _context);
            TensorPrimitives.Add(hidden, projected, hidden);

            if (merger is not null)
            {
                (hidden, sizes, keyValid) = Merge(merger, hidden, k, sizes, keyValid, tokens, d, protectedPrefix, l);
                tokens = hidden.Length / c;
                normed = new float[tokens * c];
            }

            layer.Norm2.Forward(hidden, normed);
            var inner = layer.Fc1.Forward(normed, tokens, _context);
            Activate(inner);
            var mlp = layer.Fc2.Forward(inner, tokens, _context);
            TensorPrimitives.Add(hidden, mlp, hidden);
            observer?.Invoke(l, hidden, sizes);
        }

        return (hidden, sizes);
    }

    private (float[] Hidden, float[] Sizes, bool[]? KeyValid) Merge(ITokenMerger merger, float[] hidden, float[] keys, float[] sizes, bool[]? keyValid, int tokens, int d, int protectedPrefix, int layer)
    {
        // ToMe's metric: the keys averaged over heads, [tokens, headDim].
        var metric = new DenseTensor<float>(tokens, d);
        var m = metric.Span;
        var inverse = 1f / Heads;
        for (var t = 0; t < tokens; t++)
        {
            var row = m.Slice(t * d, d);
            for (var head = 0; head < Heads; head++)
            {
                TensorPrimitives.Add(row, keys.AsSpan((t * Hidden) + (head * d), d), row);
            }

            TensorPrimitives.Multiply(row, inverse, row);
        }

        var plan = merger.Plan(new TokenMergeRequest(tokens) { Metric = metric, Sizes = sizes, ProtectedPrefix = protectedPrefix, LayerIndex = layer });
        if (plan.OutputCount == tokens)
        {
            return (hidden, sizes, keyValid);
        }

        if (keyValid is not null)
        {
            throw new NotSupportedException("Token merging together with a key mask is not supported.");
        }

        var merged = plan.Apply(new DenseTensor<float>(hidden, tokens, Hidden), sizes);
        // A plan that does not track sizes (pooling) restarts them at 1.
        var newSizes = plan.OutputSizes?.ToArray() ?? Enumerable.Repeat(1f, plan.OutputCount).ToArray();
        return (merged.Span.ToArray(), newSizes, null);
    }

    private void Activate(Span<float> values)
    {
        switch (Activation)
        {
            case VitActivation.QuickGelu:
                VectorMath.QuickGelu(values);
                break;
            case VitActivation.Gelu:
                VectorMath.Gelu(values);
                break;
            default:
                VectorMath.GeluTanh(values);
                break;
        }
    }
}
