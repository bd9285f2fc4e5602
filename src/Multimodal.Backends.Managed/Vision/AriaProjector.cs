// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>The tensor names of Aria's projector, which differ between the original checkpoints and the
/// transformers-converted ones.</summary>
/// <param name="KvNorm">The key/value LayerNorm: <c>cross_attn.ln_kv</c> or <c>cross_attn.layer_norm_kv</c>.</param>
/// <param name="FfnNorm">The FFN's LayerNorm: <c>ln_ffn</c> or <c>layer_norm</c>.</param>
/// <param name="Ffn">The FFN: <c>ffn</c> or <c>feed_forward</c>.</param>
internal sealed record AriaProjectorNames(string KvNorm, string FfnNorm, string Ffn)
{
    /// <summary>Gets the original rhymes-ai naming.</summary>
    public static AriaProjectorNames Original { get; } = new("cross_attn.ln_kv", "ln_ffn", "ffn");

    /// <summary>Gets the transformers-converted naming.</summary>
    public static AriaProjectorNames Converted { get; } = new("cross_attn.layer_norm_kv", "layer_norm", "feed_forward");
}

/// <summary>
/// Aria's projector: the first q learned queries (q from <c>projector_patch_to_query_dict</c> by the patch count) go
/// through <c>LayerNorm → q_proj</c>, the features through <c>ln_kv → k_proj / v_proj</c> (no biases), then a torch
/// <c>nn.MultiheadAttention</c> with its own packed in-projection and a key padding mask (invalid patches blocked),
/// <c>out_proj</c>, <c>linear</c> (no residual), and the FFN <c>LayerNorm → linear_in → gelu_new → linear_out</c>.
/// </summary>
internal sealed class AriaProjector
{
    private const float Epsilon = 1e-5f;
    private readonly float[] _projectedQueries;
    private readonly NormLayer _kvNorm;
    private readonly LinearLayer _keyProjection;
    private readonly LinearLayer _valueProjection;
    private readonly LinearLayer _inKey;
    private readonly LinearLayer _inValue;
    private readonly LinearLayer _output;
    private readonly LinearLayer _linear;
    private readonly NormLayer _ffnNorm;
    private readonly LinearLayer _ffnIn;
    private readonly LinearLayer _ffnOut;
    private readonly IReadOnlyDictionary<int, int> _patchToQuery;
    private readonly ComputeContext _context;

    private AriaProjector(int width, int heads, float[] projectedQueries, NormLayer kvNorm, LinearLayer keyProjection, LinearLayer valueProjection, LinearLayer inKey, LinearLayer inValue, LinearLayer output, LinearLayer linear, NormLayer ffnNorm, LinearLayer ffnIn, LinearLayer ffnOut, IReadOnlyDictionary<int, int> patchToQuery, ComputeContext context)
    {
        Width = width;
        Heads = heads;
        _projectedQueries = projectedQueries;
        _kvNorm = kvNorm;
        _keyProjection = keyProjection;
        _valueProjection = valueProjection;
        _inKey = inKey;
        _inValue = inValue;
        _output = output;
        _linear = linear;
        _ffnNorm = ffnNorm;
        _ffnIn = ffnIn;
        _ffnOut = ffnOut;
        _patchToQuery = patchToQuery;
        _context = context;
    }

    /// <summary>Gets the vision width.</summary>
    public int Width { get; }

    /// <summary>Gets the attention heads.</summary>
    public int Heads { get; }

    /// <summary>Gets the output width (the language model's hidden size).</summary>
    public int OutFeatures => _ffnOut.OutFeatures;

    /// <summary>Gets <c>projector_patch_to_query_dict</c>: queries per patch count.</summary>
    public IReadOnlyDictionary<int, int> PatchToQuery => _patchToQuery;

    /// <summary>Loads the projector.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="prefix">The prefix, <c>multi_modal_projector.</c>.</param>
    /// <param name="names">The naming in use.</param>
    /// <param name="width">The vision width.</param>
    /// <param name="heads">The attention heads (the vision tower's).</param>
    /// <param name="outFeatures">The output width.</param>
    /// <param name="patchToQuery">Queries per patch count.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The projector.</returns>
    public static AriaProjector Load(WeightLoader loader, string prefix, AriaProjectorNames names, int width, int heads, int outFeatures, IReadOnlyDictionary<int, int> patchToQuery, ComputeContext context)
    {
        var d = width;
        if (heads < 1 || d % heads != 0)
        {
            throw new ModelLoadException($"The projector's {heads} heads do not divide its width {d}.");
        }

        var maxQueries = patchToQuery.Values.Max();
        var stored = loader.Checkpoint.GetInfo(prefix + "query").Shape;
        if (stored.Count != 2 || stored[1] != d || stored[0] < maxQueries)
        {
            throw new ModelLoadException($"'{prefix}query' is [{string.Join(", ", stored)}]; at least [{maxQueries}, {d}] was expected.");
        }

        var queryRows = (int)stored[0];
        var query = loader.Tensor(prefix + "query", queryRows, d);
        loader.LayerNorm(prefix + "cross_attn.layer_norm", d, Epsilon).Forward(query, query);
        var q = loader.Linear(prefix + "cross_attn.q_proj.weight", null, d, d).Forward(query, queryRows, context);
        var inProj = prefix + "cross_attn.multihead_attn.in_proj_weight";
        var inBias = prefix + "cross_attn.multihead_attn.in_proj_bias";
        var projected = loader.LinearSlice(inProj, inBias, 3 * d, 0, d, d).Forward(q, queryRows, context);

        var ffnIn = prefix + names.Ffn + ".linear_in.weight";
        var inner = loader.Checkpoint.GetInfo(ffnIn).Shape;
        if (inner.Count != 2 || inner[1] != d)
        {
            throw new ModelLoadException($"'{ffnIn}' is [{string.Join(", ", inner)}]; [hidden, {d}] was expected.");
        }

        var hidden = (int)inner[0];
        return new AriaProjector(
            d,
            heads,
            projected,
            loader.LayerNorm(prefix + names.KvNorm, d, Epsilon),
            loader.Linear(prefix + "cross_attn.k_proj.weight", null, d, d),
            loader.Linear(prefix + "cross_attn.v_proj.weight", null, d, d),
            loader.LinearSlice(inProj, inBias, 3 * d, d, d, d),
            loader.LinearSlice(inProj, inBias, 3 * d, 2 * d, d, d),
            loader.Linear(prefix + "cross_attn.multihead_attn.out_proj.weight", prefix + "cross_attn.multihead_attn.out_proj.bias", d, d),
            loader.Linear(prefix + "cross_attn.linear.weight", prefix + "cross_attn.linear.bias", d, d),
            loader.LayerNorm(prefix + names.FfnNorm, d, Epsilon),
            loader.Linear(ffnIn, null, hidden, d),
            loader.Linear(prefix + names.Ffn + ".linear_out.weight", null, outFeatures, hidden),
            patchToQuery,
            context);
    }

    /// <summary>Projects one view's features.</summary>
    /// <param name="features">The tower's output <c>[patches, Width]</c>.</param>
    /// <param name="patchValid">Per patch, whether it is valid (invalid patches are blocked as keys), or
    /// <see langword="null"/> for all valid.</param>
    /// <param name="crossAttention">Receives the cross-attention output after <c>linear</c>, <c>[q, Width]</c>.</param>
    /// <returns><c>[q, OutFeatures]</c>.</returns>
    public float[] Forward(float[] features, bool[]? patchValid, out float[] crossAttention)
    {
        ArgumentNullException.ThrowIfNull(features);
        var d = Width;
        var patches = features.Length / d;
        if (!_patchToQuery.TryGetValue(patches, out var queries))
        {
            throw new ArgumentException($"Aria's projector takes views of {string.Join(" or ", _patchToQuery.Keys.Order())} patches (projector_patch_to_query_dict); got {patches}.", nameof(features));
        }

        if (patchValid is not null && patchValid.Length != patches)
        {
            throw new ArgumentException($"The patch mask has {patchValid.Length} entries; the features have {patches} rows.", nameof(patchValid));
        }

        var kv = new float[features.Length];
        _kvNorm.Forward(features, kv);
        var k = _inKey.Forward(_keyProjection.Forward(kv, patches, _context), patches, _context);
        var v = _inValue.Forward(_valueProjection.Forward(kv, patches, _context), patches, _context);
        var attention = new float[queries * d];
        var headDim = d / Heads;
        var keyValid = patchValid is null || patchValid.All(x => x) ? null : patchValid;
        AttentionMath.Bidirectional(_projectedQueries.AsSpan(0, queries * d), k, v, attention, queries, patches, Heads, headDim, 1f / MathF.Sqrt(headDim), keyValid, _context);
        var mha = _output.Forward(attention, queries, _context);
        crossAttention = _linear.Forward(mha, queries, _context);
        var h = new float[crossAttention.Length];
        _ffnNorm.Forward(crossAttention, h);
        var inner = _ffnIn.Forward(h, queries, _context);
        VectorMath.GeluTanh(inner);
        return _ffnOut.Forward(inner, queries, _context);
    }
}
