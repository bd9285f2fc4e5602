// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>
/// MiniCPM-V 2's adaptive resampler (<c>resampler.*</c>): one cross-attention from learned queries to the vision
/// features. <c>x = ln_kv(kv_proj(features))</c>; keys get a 2-D sin-cos position table of the view's patch grid
/// computed fresh; <c>q = ln_q(query) + pos_embed</c>; <c>nn.MultiheadAttention</c> (packed <c>in_proj</c>,
/// <c>embed_dim / 128</c> heads) on query <c>q</c>, key <c>x + pos</c>, value <c>x</c>; then <c>ln_post</c> and
/// <c>x @ proj</c>.
/// </summary>
internal sealed class PerceiverResampler
{
    private readonly LinearLayer _kvProjection;
    private readonly NormLayer _kvNorm;
    private readonly float[] _projectedQueries;
    private readonly LinearLayer _keyProjection;
    private readonly LinearLayer _valueProjection;
    private readonly LinearLayer _output;
    private readonly NormLayer _postNorm;
    private readonly LinearLayer _proj;
    private readonly ComputeContext _context;

    private PerceiverResampler(int queries, int embedDim, int heads, LinearLayer kvProjection, NormLayer kvNorm, float[] projectedQueries, LinearLayer keyProjection, LinearLayer valueProjection, LinearLayer output, NormLayer postNorm, LinearLayer proj, ComputeContext context)
    {
        Queries = queries;
        EmbedDim = embedDim;
        Heads = heads;
        _kvProjection = kvProjection;
        _kvNorm = kvNorm;
        _projectedQueries = projectedQueries;
        _keyProjection = keyProjection;
        _valueProjection = valueProjection;
        _output = output;
        _postNorm = postNorm;
        _proj = proj;
        _context = context;
    }

    /// <summary>Gets the number of learned queries (output rows per view).</summary>
    public int Queries { get; }

    /// <summary>Gets the embedding width (the language model's hidden size).</summary>
    public int EmbedDim { get; }

    /// <summary>Gets the attention heads.</summary>
    public int Heads { get; }

    /// <summary>Loads <c>{prefix}query</c>, <c>pos_embed</c>, <c>kv_proj</c>, <c>attn.*</c>, <c>ln_q/ln_kv/ln_post</c>
    /// and <c>proj</c>.</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="prefix">The prefix, <c>resampler.</c>.</param>
    /// <param name="queries">The number of queries (<c>query_num</c>).</param>
    /// <param name="embedDim">The embedding width.</param>
    /// <param name="kvDim">The vision feature width.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The resampler.</returns>
    public static PerceiverResampler Load(WeightLoader loader, string prefix, int queries, int embedDim, int kvDim, ComputeContext context)
    {
        const float Epsilon = 1e-6f;
        var heads = embedDim / 128;
        if (heads < 1 || embedDim % heads != 0)
        {
            throw new ModelLoadException($"The resampler's width {embedDim} does not give a whole number of 128-wide heads (embed_dim // 128).");
        }

        var e = embedDim;
        var inProj = prefix + "attn.in_proj_weight";
        var inBias = prefix + "attn.in_proj_bias";
        var queryProjection = loader.LinearSlice(inProj, inBias, 3 * e, 0, e, e);

        // The query side does not depend on the view: q = ln_q(query) + pos_embed, then the in-projection.
        var query = loader.Tensor(prefix + "query", queries, e);
        var queryPositions = loader.Tensor(prefix + "pos_embed", queries, e);
        loader.LayerNorm(prefix + "ln_q", e, Epsilon).Forward(query, query);
        TensorPrimitives.Add(query, queryPositions, query);

        return new PerceiverResampler(
            queries,
            e,
            heads,
            loader.Linear(prefix + "kv_proj.weight", null, e, kvDim),
            loader.LayerNorm(prefix + "ln_kv", e, Epsilon),
            queryProjection.Forward(query, queries, context),
            loader.LinearSlice(inProj, inBias, 3 * e, e, e, e),
            loader.LinearSlice(inProj, inBias, 3 * e, 2 * e, e, e),
            loader.Linear(prefix + "attn.out_proj.weight", prefix + "attn.out_proj.bias", e, e),
            loader.LayerNorm(prefix + "ln_post", e, Epsilon),
            loader.TransposedLinear(prefix + "proj", e, e),
            context);
    }

    /// <summary>The 2-D sin-cos table of a patch grid (MAE / MiniCPM-V <c>get_2d_sincos_pos_embed</c>): the first
    /// half of the channels encodes the column, the second half the row; each half is [sin(p·ω), cos(p·ω)] with
    /// ω_i = 1 / 10000^(i / (D/4)).</summary>
    /// <param name="dim">The width D (a multiple of 4).</param>
    /// <param name="rows">The grid height.</param>
    /// <param name="columns">The grid width.</param>
    /// <returns><c>[rows·columns, D]</c>, row-major over the grid.</returns>
    public static float[] SinCos2D(int dim, int rows, int columns)
    {
        if (dim % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "The sin-cos width must be a multiple of 4.");
        }

        var quarter = dim / 4;
        var omega = new float[quarter];
        for (var i = 0; i < quarter; i++)
        {
            // numpy float32: i / (D/4), then 1 / 10000 ** that.
            var exponent = (float)i / quarter;
            omega[i] = (float)(1.0 / Math.Pow(10000.0, exponent));
        }

        var table = new float[rows * columns * dim];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var row = table.AsSpan(((r * columns) + c) * dim, dim);
                Fill(row[..(2 * quarter)], c, omega);
                Fill(row[(2 * quarter)..], r, omega);
            }
        }

        return table;

        static void Fill(Span<float> half, int position, float[] omega)
        {
            var q = omega.Length;
            for (var i = 0; i < q; i++)
            {
                var angle = (float)position * omega[i];
                half[i] = (float)Math.Sin(angle);
                half[q + i] = (float)Math.Cos(angle);
            }
        }
    }

    /// <summary>Resamples one view's features into <see cref="Queries"/> rows.</summary>
    /// <param name="features">The tower's output, <c>[rows·columns, kvDim]</c>.</param>
    /// <param name="rows">The view's grid height in patches.</param>
    /// <param name="columns">The view's grid width in patches.</param>
    /// <returns><c>[Queries, EmbedDim]</c>.</returns>
    public float[] Forward(float[] features, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(features);
        var tokens = rows * columns;
        if (features.Length != tokens * _kvProjection.InFeatures)
        {
            throw new ArgumentException($"The resampler expected {tokens} feature rows of width {_kvProjection.InFeatures}.", nameof(features));
        }

        var e = EmbedDim;
        var x = _kvProjection.Forward(features, tokens, _context);
        _kvNorm.Forward(x, x);
        var keyInput = SinCos2D(e, rows, columns);
        TensorPrimitives.Add(keyInput, x, keyInput);
        var k = _keyProjection.Forward(keyInput, tokens, _context);
        var v = _valueProjection.Forward(x, tokens, _context);
        var attention = new float[Queries * e];
        var d = e / Heads;
        AttentionMath.Bidirectional(_projectedQueries, k, v, attention, Queries, tokens, Heads, d, 1f / MathF.Sqrt(d), keyValid: null, _context);
        var y = _output.Forward(attention, Queries, _context);
        _postNorm.Forward(y, y);
        return _proj.Forward(y, Queries, _context);
    }
}
