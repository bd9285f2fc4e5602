// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;

namespace Multimodal;

/// <summary>
/// ToMe (token merging) bipartite soft matching with size-weighted averaging, as AuroraCap runs it inside every
/// layer of its vision tower: tokens alternate into sets A (even positions) and B (odd); each A token finds its most
/// cosine-similar B token on the metric; the <see cref="TokensPerStep"/> A tokens with the best matches are merged
/// into their partners (sum of x·size over sum of size); the output is the unmerged A tokens in their original
/// order followed by every B token.
/// </summary>
/// <remarks>
/// <para>Protected leading tokens (<see cref="TokenMergeRequest.ProtectedPrefix"/>, the CLS token) are never merged
/// and never receive a merge; at most (tokens − protected) / 2 tokens merge per step, as in ToMe. Without a metric
/// the tokens themselves are compared (our generalisation for merging any family's output after the encoder).</para>
/// <para>The cosine similarities are computed in double precision from the float metric, so that which tokens merge
/// depends on the metric, not on float32 rounding: flat image regions give near-parallel keys whose scores lie within
/// a few float32 ulps of 1. ONNX Runtime's AuroraCap export (eng/onnx/auroracap_vision.py) scores in double too, which
/// keeps its merges identical to these.</para>
/// <para>Thread-safety: immutable; plans are independent.</para>
/// </remarks>
public sealed class BipartiteTokenMerger : ITokenMerger
{
    /// <summary>Initializes a merger.</summary>
    /// <param name="tokensPerStep">How many tokens one plan merges away (ToMe's r), at least 0.</param>
    public BipartiteTokenMerger(int tokensPerStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokensPerStep);
        TokensPerStep = tokensPerStep;
    }

    /// <summary>Gets how many tokens one plan merges away (ToMe's r).</summary>
    public int TokensPerStep { get; }

    /// <summary>AuroraCap's per-layer r: <c>int(patches · (1 − token_kept_ratio) / layers)</c> in double arithmetic.</summary>
    /// <param name="patches">The number of patch tokens (without CLS), for example 729 at 378 px.</param>
    /// <param name="tokenKeptRatio">The <c>token_kept_ratio</c>, in [0, 1].</param>
    /// <param name="layers">The vision tower's <c>num_hidden_layers</c>.</param>
    /// <returns>r.</returns>
    public static int TokensPerLayer(int patches, double tokenKeptRatio, int layers)
    {
        if (tokenKeptRatio is < 0 or > 1 || double.IsNaN(tokenKeptRatio))
        {
            throw new ArgumentOutOfRangeException(nameof(tokenKeptRatio), tokenKeptRatio, "token_kept_ratio must be between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        return (int)(patches * (1 - tokenKeptRatio) / layers);
    }

    /// <summary>The request option key of AuroraCap's kept-token ratio.</summary>
    public const string TokenKeptRatioKey = "token_kept_ratio";

    /// <summary>Reads the kept-token ratio a vision request asks for (<see cref="VisionEncodeOptions.AdditionalProperties"/>[<see cref="TokenKeptRatioKey"/>]).</summary>
    /// <param name="options">The request's encode options, or <see langword="null"/>.</param>
    /// <param name="defaultRatio">The ratio when the request gives none.</param>
    /// <returns>The ratio, in [0, 1].</returns>
    /// <exception cref="ArgumentException">The value is not a number in [0, 1].</exception>
    public static double ReadTokenKeptRatio(VisionEncodeOptions? options, double defaultRatio)
    {
        if (options?.AdditionalProperties?.TryGetValue(TokenKeptRatioKey, out var value) != true || value is null)
        {
            return defaultRatio;
        }

        if (!OptionValues.TryConvertToDouble(value, out var ratio))
        {
            throw new ArgumentException($"The {TokenKeptRatioKey} option must be a number in [0, 1]; got {value}.", nameof(options));
        }

        return ratio is >= 0 and <= 1
            ? ratio
            : throw new ArgumentException($"The {TokenKeptRatioKey} option must be in [0, 1] (0.2-0.4 for captioning, at least 0.5 for questions, 0.8 or more for text in images); got {ratio}.", nameof(options));
    }

    /// <inheritdoc />
    public TokenMergePlan Plan(TokenMergeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var t = request.TokenCount;
        var prefix = Math.Min(request.ProtectedPrefix, t);
        var r = Math.Min(TokensPerStep, (t - prefix) / 2);
        var sizes = request.Sizes ?? Enumerable.Repeat(1f, t).ToArray();
        if (sizes.Length != t)
        {
            throw new ArgumentException($"{sizes.Length} sizes were given for {t} tokens.", nameof(request));
        }

        if (r <= 0)
        {
            return new MergePlan(t, [.. Enumerable.Range(0, (t + 1) / 2)], [], [], sizes);
        }

        var metric = request.Metric ?? throw new ArgumentException("Bipartite merging needs a metric (for example the attention keys, or the tokens themselves).", nameof(request));
        if (metric.Rank != 2 || metric.Dimension(0) != t)
        {
            throw new ArgumentException($"The metric must be [{t}, d]; it is {metric}.", nameof(request));
        }

        // Cosine similarities in double precision: near-parallel keys (flat image regions) give scores within a few
        // float32 ulps of each other, where float32 rounding alone would decide the ranking. In double the decisions
        // depend only on the keys, so another implementation that also scores in double (the ONNX export) agrees.
        var d = metric.Dimension(1);
        var m = metric.Span;
        var normalized = new double[t * d];
        for (var i = 0; i < t; i++)
        {
            var row = normalized.AsSpan(i * d, d);
            TensorPrimitives.ConvertChecked<float, double>(m.Slice(i * d, d), row);
            var norm = Math.Sqrt(TensorPrimitives.Dot<double>(row, row));
            TensorPrimitives.Divide(row, norm, row);
        }

        var aCount = (t + 1) / 2;
        var bCount = t / 2;
        var best = new double[aCount];
        var partner = new int[aCount];
        for (var a = 0; a < aCount; a++)
        {
            var ai = 2 * a;
            best[a] = double.NegativeInfinity;
            if (ai < prefix)
            {
                continue; // scores[..., protected, :] = -inf
            }

            var rowA = normalized.AsSpan(ai * d, d);
            for (var b = 0; b < bCount; b++)
            {
                var bi = (2 * b) + 1;
                var score = bi < prefix ? double.NegativeInfinity : TensorPrimitives.Dot<double>(rowA, normalized.AsSpan(bi * d, d));
                if (score > best[a] || partner[a] < 0)
                {
                    best[a] = score;
                    partner[a] = b;
                }
            }
        }

        // Best matches first; equal scores keep the lower index first (ToMe's sort is not stable; ties are rare).
        var order = Enumerable.Range(0, aCount).OrderByDescending(a => best[a]).ThenBy(a => a).ToArray();
        var merged = order[..r];
        var kept = order[r..];
        Array.Sort(kept);
        var destinations = merged.Select(a => partner[a]).ToArray();
        return new MergePlan(t, kept, merged, destinations, sizes);
    }

    private sealed class MergePlan : TokenMergePlan
    {
        private readonly int[] _kept;
        private readonly int[] _merged;
        private readonly int[] _destinations;
        private readonly float[] _inputSizes;
        private readonly float[] _outputSizes;

        public MergePlan(int tokens, int[] kept, int[] merged, int[] destinations, float[] sizes)
            : base(tokens, kept.Length + (tokens / 2))
        {
            _kept = kept;
            _merged = merged;
            _destinations = destinations;
            _inputSizes = sizes;
            _outputSizes = new float[OutputCount];
            for (var i = 0; i < kept.Length; i++)
            {
                _outputSizes[i] = sizes[2 * kept[i]];
            }

            var bStart = kept.Length;
            for (var b = 0; b < tokens / 2; b++)
            {
                _outputSizes[bStart + b] = sizes[(2 * b) + 1];
            }

            for (var i = 0; i < merged.Length; i++)
            {
                _outputSizes[bStart + destinations[i]] += sizes[2 * merged[i]];
            }
        }

        public override IReadOnlyList<float>? OutputSizes => _outputSizes;

        protected override void ApplyCore(ReadOnlySpan<float> source, int width, Span<float> destination, float[]? sizes)
        {
            // merge_wavg: x·size summed into the destinations, then divided by the summed sizes. Without sizes, the
            // plan's own sizes weight the average, so Apply(tokens) and Apply(tokens, sizes) agree.
            var weights = sizes ?? _inputSizes;
            for (var i = 0; i < _kept.Length; i++)
            {
                source.Slice(2 * _kept[i] * width, width).CopyTo(destination.Slice(i * width, width));
            }

            var bStart = _kept.Length;
            var b = Rows(source, destination, width, bStart);
            if (_merged.Length == 0)
            {
                return;
            }

            var sums = new float[_outputSizes.Length];
            for (var j = 0; j < b; j++)
            {
                var row = destination.Slice((bStart + j) * width, width);
                var w = weights[(2 * j) + 1];
                TensorPrimitives.Multiply(row, w, row);
                sums[bStart + j] = w;
            }

            for (var i = 0; i < _merged.Length; i++)
            {
                var w = weights[2 * _merged[i]];
                var row = destination.Slice((bStart + _destinations[i]) * width, width);
                TensorPrimitives.MultiplyAdd(source.Slice(2 * _merged[i] * width, width), w, row, row);
                sums[bStart + _destinations[i]] += w;
            }

            for (var j = 0; j < b; j++)
            {
                var row = destination.Slice((bStart + j) * width, width);
                TensorPrimitives.Divide(row, sums[bStart + j], row);
            }
        }

        private int Rows(ReadOnlySpan<float> source, Span<float> destination, int width, int bStart)
        {
            var b = InputCount / 2;
            for (var j = 0; j < b; j++)
            {
                source.Slice(((2 * j) + 1) * width, width).CopyTo(destination.Slice((bStart + j) * width, width));
            }

            return b;
        }
    }
}
