// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>
/// A decoder-only transformer (Llama, Qwen2, MiniCPM, MPT, Aria's MoE) run by the managed kernels, implementing
/// <see cref="ILanguageDecoder"/> over a <see cref="KvCache"/>.
/// </summary>
internal sealed class TransformerDecoder : ILanguageDecoder
{
    private readonly DecoderWeights _weights;
    private readonly RotaryTable? _rope;
    private readonly float[]? _alibiSlopes;
    private readonly ComputeContext _context;

    /// <summary>The most positions one pass through the layers processes; longer prefills are chunked.</summary>
    internal const int PrefillChunk = 512;

    /// <summary>Initializes the decoder.</summary>
    /// <param name="config">The dimensions and settings.</param>
    /// <param name="weights">The loaded weights.</param>
    /// <param name="contextLength">The most positions a state may hold.</param>
    /// <param name="context">The threading settings.</param>
    public TransformerDecoder(DecoderConfig config, DecoderWeights weights, int contextLength, ComputeContext context)
    {
        Config = config;
        _weights = weights;
        _context = context;
        ContextLength = contextLength;
        if (config.Architecture == DecoderArchitecture.Mpt)
        {
            _alibiSlopes = AlibiSlopes(config.Heads, config.AlibiBiasMax);
        }
        else
        {
            _rope = new RotaryTable(config.HeadDim, config.RopeTheta, config.RopeLinearFactor);
        }

        Metadata = new LanguageDecoderMetadata("managed", config.VocabularySize, contextLength, config.HiddenSize);
    }

    /// <summary>Gets the configuration.</summary>
    public DecoderConfig Config { get; }

    /// <summary>Gets the most positions a state may hold.</summary>
    public int ContextLength { get; }

    /// <inheritdoc />
    public LanguageDecoderMetadata Metadata { get; }

    /// <summary>Gets the weights.</summary>
    internal DecoderWeights Weights => _weights;

    /// <summary>Gets or sets what disposing the decoder releases (the model's shared lifetime).</summary>
    internal IDisposable? Owner { get; set; }

    /// <inheritdoc />
    public IDecoderState CreateState() => new KvCache(this, Config.Layers, Config.KvHeads * Config.HeadDim, ContextLength);

    /// <inheritdoc />
    public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (logits.Length < Config.VocabularySize)
        {
            throw new ArgumentException($"The logits buffer holds {logits.Length} values; the vocabulary has {Config.VocabularySize}.", nameof(logits));
        }

        var hidden = Run(state, input, observer: null, cancellationToken);
        ComputeLogits(hidden.AsSpan((input.Length - 1) * Config.HiddenSize, Config.HiddenSize), 1, logits);
    }

    /// <summary>Runs positions and returns the logits of every one of them, <c>[positions, vocab]</c> (tests, scoring).</summary>
    /// <param name="state">The cache to extend.</param>
    /// <param name="input">The positions.</param>
    /// <param name="observer">Receives (layer, hidden rows) after every layer, and (−1, input embeddings) first.</param>
    /// <returns>The logits.</returns>
    internal float[] ForwardAll(IDecoderState state, DecoderInput input, Action<int, float[]>? observer = null)
    {
        var hidden = Run(state, input, observer, CancellationToken.None);
        var logits = new float[input.Length * Config.VocabularySize];
        ComputeLogits(hidden, input.Length, logits);
        return logits;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this
            : serviceKey is null && serviceType == typeof(LanguageDecoderMetadata) ? Metadata
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Release the shared weights once, however often Dispose is called.
        var owner = Owner;
        Owner = null;
        owner?.Dispose();
    }

    /// <summary>The ALiBi slopes of MPT (<c>build_mpt_alibi_tensor</c>): 2^(−k·max/p) for k = 1..p, p the next power
    /// of two ≥ heads, interleaved (odd then even) when p ≠ heads.</summary>
    internal static float[] AlibiSlopes(int heads, float maxBias)
    {
        var p = 1;
        while (p < heads)
        {
            p *= 2;
        }

        var slopes = new float[p];
        for (var k = 1; k <= p; k++)
        {
            // torch: base = arange(1, p+1, float32) * (max / p); slopes = 1 / pow(2, base).
            var exponent = k * (maxBias / p);
            slopes[k - 1] = 1f / MathF.Pow(2f, exponent);
        }

        if (p == heads)
        {
            return slopes;
        }

        var interleaved = new List<float>(p);
        for (var i = 1; i < p; i += 2)
        {
            interleaved.Add(slopes[i]);
        }

        for (var i = 0; i < p; i += 2)
        {
            interleaved.Add(slopes[i]);
        }

        return [.. interleaved.Take(heads)];
    }

    private float[] Run(IDecoderState state, DecoderInput input, Action<int, float[]>? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state is not KvCache cache || !ReferenceEquals(cache.Owner, this))
        {
            throw new ArgumentException("The state was not created by this decoder's CreateState.", nameof(state));
        }

        var n = input.Length;
        if (n == 0)
        {
            throw new ArgumentException("The input has no positions.", nameof(input));
        }

        var visual = input.VisualEmbeddings.Sum(v => v.Embeddings.Dimension(0));
        if (cache.Length + n > cache.MaxLength)
        {
            throw new ContextLengthExceededException(cache.Length + n, cache.MaxLength, visual);
        }

        var h = Config.HiddenSize;
        var hidden = Embed(input);
        observer?.Invoke(-1, hidden);
        cache.Reserve(n);
        var start = cache.Length;

        // Long prompts run in chunks through all layers (each chunk attends to the cache the previous ones wrote):
        // the same result, with activation memory bounded by the chunk instead of the prompt. An observer needs
        // every layer's rows at once, so it disables chunking.
        var chunk = observer is null ? Math.Min(n, PrefillChunk) : n;
        // The state keeps its buffers between calls (a state serves one caller at a time).
        if (cache.Scratch is not LayerScratch scratch || scratch.Capacity < chunk)
        {
            var first = _weights.Layers[0];
            scratch = new LayerScratch(Config, chunk, first.FusedQkv is not null, first.FusedGateUp is not null);
            cache.Scratch = scratch;
        }

        for (var offset = 0; offset < n; offset += chunk)
        {
            var m = Math.Min(chunk, n - offset);
            var rows = hidden.AsSpan(offset * h, m * h);
            for (var layer = 0; layer < Config.Layers; layer++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var weights = _weights.Layers[layer];
                weights.Norm1.Forward(rows, scratch.Normed.AsSpan(0, m * h));
                Attention(weights, cache, layer, start + offset, m, scratch);
                weights.Output.Forward(scratch.Attention, m, scratch.Projected, _context);
                AddResidual(rows, scratch.Projected.AsSpan(0, m * h));

                weights.Norm2.Forward(rows, scratch.Normed.AsSpan(0, m * h));
                Mlp(weights, m, scratch);
                AddResidual(rows, scratch.Projected.AsSpan(0, m * h));
                observer?.Invoke(layer, hidden);
            }
        }

        cache.Advance(n);
        _weights.FinalNorm.Forward(hidden, hidden);
        return hidden;
    }

    private float[] Embed(DecoderInput input)
    {
        var h = Config.HiddenSize;
        var n = input.Length;
        var hidden = new float[n * h];
        var ids = input.TokenIds.Span;
        var next = 0;
        var visual = input.VisualEmbeddings;
        for (var p = 0; p < n; p++)
        {
            if (next < visual.Count && p == visual[next].Offset)
            {
                var placed = visual[next++];
                var rows = placed.Embeddings.Dimension(0);
                if (placed.Embeddings.Rank != 2 || placed.Embeddings.Dimension(1) != h)
                {
                    throw new ArgumentException($"Visual embeddings must be [rows, {h}] for this decoder; got {placed.Embeddings}.", nameof(input));
                }

                placed.Embeddings.Span[..(rows * h)].CopyTo(hidden.AsSpan(p * h));
                p += rows - 1;
                continue;
            }

            var id = ids[p];
            if ((uint)id >= (uint)Config.VocabularySize)
            {
                throw new ArgumentException($"Token id {id} at position {p} is outside the vocabulary (0..{Config.VocabularySize - 1}) and no visual embeddings cover it.", nameof(input));
            }

            _weights.Embeddings.CopyRow(id, hidden.AsSpan(p * h, h), Config.EmbeddingScale);
        }

        return hidden;
    }

    private void Attention(DecoderLayerWeights weights, KvCache cache, int layer, int start, int n, LayerScratch scratch)
    {
        var d = Config.HeadDim;
        var qWidth = Config.Heads * d;
        var kvWidth = Config.KvHeads * d;
        var q = scratch.Query;
        var keys = cache.Keys(layer).AsSpan(start * kvWidth, n * kvWidth);
        var values = cache.Values(layer).AsSpan(start * kvWidth, n * kvWidth);
        if (weights.FusedQkv is { } qkv)
        {
            qkv.Forward(scratch.Normed, n, scratch.Fused, _context);
            for (var r = 0; r < n; r++)
            {
                var row = scratch.Fused.AsSpan(r * (qWidth + (2 * kvWidth)));
                row[..qWidth].CopyTo(q.AsSpan(r * qWidth));
                row.Slice(qWidth, kvWidth).CopyTo(keys[(r * kvWidth)..]);
                row.Slice(qWidth + kvWidth, kvWidth).CopyTo(values[(r * kvWidth)..]);
            }
        }
        else
        {
            weights.Query!.Forward(scratch.Normed, n, q, _context);
            weights.Key!.Forward(scratch.Normed, n, keys, _context);
            weights.Value!.Forward(scratch.Normed, n, values, _context);
        }

        if (_rope is not null)
        {
            _rope.Apply(q.AsSpan(0, n * qWidth), start, n, Config.Heads);
            _rope.Apply(keys, start, n, Config.KvHeads);
        }

        AttentionMath.Causal(q, cache.Keys(layer), cache.Values(layer), scratch.Attention, n, start, Config.Heads, Config.KvHeads, d, 1f / MathF.Sqrt(d), _alibiSlopes, _context);
    }

    private void Mlp(DecoderLayerWeights weights, int n, LayerScratch scratch)
    {
        switch (Config.Architecture)
        {
            case DecoderArchitecture.Mpt:
                weights.Up!.Forward(scratch.Normed, n, scratch.Gate, _context);
                VectorMath.Gelu(scratch.Gate.AsSpan(0, n * weights.Up.OutFeatures));
                weights.Down!.Forward(scratch.Gate, n, scratch.Projected, _context);
                break;
            case DecoderArchitecture.AriaMoe:
                MixtureOfExperts.Forward(weights.Moe!, scratch.Normed, n, Config.HiddenSize, scratch.Projected, _context);
                break;
            case DecoderArchitecture.Llama or DecoderArchitecture.Qwen2 or DecoderArchitecture.MiniCpm when weights.FusedGateUp is { } fused:
                fused.Forward(scratch.Normed, n, scratch.GateUp, _context);
                SwiGluFromFused(scratch.GateUp, n, fused.OutFeatures / 2, scratch.Gate);

                weights.Down!.Forward(scratch.Gate, n, scratch.Projected, _context);
                break;
            default:
                weights.Gate!.Forward(scratch.Normed, n, scratch.Gate, _context);
                weights.Up!.Forward(scratch.Normed, n, scratch.Up, _context);
                var width = n * weights.Gate.OutFeatures;
                VectorMath.SiluMultiply(scratch.Gate.AsSpan(0, width), scratch.Up.AsSpan(0, width));
                weights.Down!.Forward(scratch.Gate, n, scratch.Projected, _context);
                break;
        }
    }

    /// <summary>SwiGLU over rows of a stacked gate|up projection: destination row r = SiLU(gate_r) · up_r.</summary>
    /// <param name="fused">Rows of 2·inner values, gate first.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="inner">The width of each half.</param>
    /// <param name="destination">Receives rows × inner values.</param>
    internal static void SwiGluFromFused(ReadOnlySpan<float> fused, int rows, int inner, Span<float> destination)
    {
        for (var r = 0; r < rows; r++)
        {
            var row = fused.Slice(r * 2 * inner, 2 * inner);
            var target = destination.Slice(r * inner, inner);
            row[..inner].CopyTo(target);
            VectorMath.SiluMultiply(target, row[inner..]);
        }
    }

    private void AddResidual(Span<float> hidden, ReadOnlySpan<float> branch)
    {
        if (Config.ResidualScale == 1f)
        {
            TensorPrimitives.Add(hidden, branch, hidden);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(branch, Config.ResidualScale, hidden, hidden);
        }
    }

    private void ComputeLogits(ReadOnlySpan<float> normed, int n, Span<float> logits)
    {
        var h = Config.HiddenSize;
        if (Config.LogitDivisor == 1f)
        {
            _weights.LmHead.Forward(normed, n, logits, _context);
            return;
        }

        var scaled = new float[n * h];
        TensorPrimitives.Divide(normed[..(n * h)], Config.LogitDivisor, scaled);
        _weights.LmHead.Forward(scaled, n, logits, _context);
    }

    /// <summary>Per-call buffers sized for <c>n</c> positions.</summary>
    private sealed class LayerScratch
    {
        public LayerScratch(DecoderConfig config, int n, bool fusedQkv, bool fusedGateUp)
        {
            Capacity = n;
            var h = config.HiddenSize;
            var qWidth = config.Heads * config.HeadDim;
            var kvWidth = config.KvHeads * config.HeadDim;
            var inner = Math.Max(config.IntermediateSize, 1);
            Normed = new float[n * h];
            Query = new float[n * qWidth];
            Attention = new float[n * qWidth];
            Projected = new float[n * h];
            Fused = fusedQkv ? new float[n * (qWidth + (2 * kvWidth))] : [];
            GateUp = fusedGateUp ? new float[n * 2 * inner] : [];
            Gate = config.Architecture == DecoderArchitecture.AriaMoe ? [] : new float[n * inner];
            Up = config.Architecture is DecoderArchitecture.AriaMoe or DecoderArchitecture.Mpt ? [] : new float[n * inner];
        }

        public int Capacity { get; }

        public float[] Normed { get; }

        public float[] Query { get; }

        public float[] Attention { get; }

        public float[] Projected { get; }

        public float[] Fused { get; }

        public float[] GateUp { get; }

        public float[] Gate { get; }

        public float[] Up { get; }
    }
}
