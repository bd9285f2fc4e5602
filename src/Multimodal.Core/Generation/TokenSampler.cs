// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;

namespace Multimodal.Advanced;

/// <summary>Chooses the next token from logits: greedy, or sampling with temperature, top-k, top-p and min-p.</summary>
/// <remarks>
/// The truncations follow Hugging Face's warpers in Hugging Face's order (temperature, top-k, top-p, min-p), each
/// keeping at least one token. Probabilities are computed in double precision. Not thread-safe (it owns an RNG).
/// </remarks>
public sealed class TokenSampler
{
    private readonly GenerationSettings _settings;
    private readonly SeededRandom _random;
    private int[] _order = [];
    private (float Score, int Id)[] _pairs = [];
    private double[] _probabilities = [];

    /// <summary>Initializes a sampler.</summary>
    /// <param name="settings">The resolved settings; <see cref="GenerationSettings.Seed"/> seeds the RNG (a random seed when null).</param>
    public TokenSampler(GenerationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _random = new SeededRandom(settings.Seed ?? Random.Shared.NextInt64());
    }

    /// <summary>Picks a token.</summary>
    /// <param name="logits">The (already penalised) logits.</param>
    /// <returns>The argmax when not sampling; otherwise a draw from the truncated distribution.</returns>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (!_settings.DoSample)
        {
            return ArgMax(logits);
        }

        var count = ComputeCandidates(logits);
        var u = _random.NextDouble();
        double cumulative = 0;
        for (var i = 0; i < count; i++)
        {
            cumulative += _probabilities[i];
            if (u < cumulative)
            {
                return _order[i];
            }
        }

        // Rounding can leave the cumulative sum a hair under 1; the last candidate takes that sliver.
        return _order[count - 1];
    }

    /// <summary>Returns the index of the largest logit (the first one on ties, as <c>torch.argmax</c>).</summary>
    /// <param name="logits">The logits.</param>
    /// <returns>The index.</returns>
    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);

    /// <summary>Computes the truncated, renormalised distribution sampling would draw from.</summary>
    /// <param name="logits">The logits.</param>
    /// <returns>Candidate ids and their probabilities, most likely first.</returns>
    public IReadOnlyList<(int Id, double Probability)> GetCandidates(ReadOnlySpan<float> logits)
    {
        var count = ComputeCandidates(logits);
        var result = new (int, double)[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (_order[i], _probabilities[i]);
        }

        return result;
    }

    /// <summary>Fills <see cref="_order"/>/<see cref="_probabilities"/> with the surviving candidates, most likely first, and returns how many survive.</summary>
    private int ComputeCandidates(ReadOnlySpan<float> logits)
    {
        var v = logits.Length;
        if (_order.Length < v)
        {
            _order = new int[v];
            _pairs = new (float, int)[v];
            _probabilities = new double[v];
        }

        var invT = 1.0 / _settings.Temperature;

        // Top-k: HF keeps every token whose score is >= the k-th largest score (ties survive).
        var threshold = double.NegativeInfinity;
        if (_settings.TopK > 0 && _settings.TopK < v)
        {
            threshold = KthLargest(logits, _settings.TopK);
        }

        var n = 0;
        for (var i = 0; i < v; i++)
        {
            if (logits[i] >= threshold && !float.IsNegativeInfinity(logits[i]))
            {
                _pairs[n++] = (logits[i], i);
            }
        }

        if (n == 0)
        {
            // Every logit was -inf: fall back to the argmax, as a distribution cannot be formed.
            _order[0] = ArgMax(logits);
            _probabilities[0] = 1;
            return 1;
        }

        // Most likely first; ties broken by id so that a seed always maps to the same token.
        _pairs.AsSpan(0, n).Sort(static (a, b) =>
        {
            var c = b.Score.CompareTo(a.Score);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });
        for (var i = 0; i < n; i++)
        {
            _order[i] = _pairs[i].Id;
        }

        var order = _order.AsSpan(0, n);
        Softmax(logits, order, invT, _probabilities.AsSpan(0, n));

        // Top-p: keep a token while the mass of the tokens ranked above it is below p (HF removes tokens whose
        // ascending cumulative mass is <= 1 - p, which is the same set), always keeping the first.
        if (_settings.TopP < 1f)
        {
            double above = 0;
            var keep = 0;
            while (keep < n && (keep == 0 || above < _settings.TopP))
            {
                above += _probabilities[keep];
                keep++;
            }

            n = keep;
            Softmax(logits, order[..n], invT, _probabilities.AsSpan(0, n));
        }

        // Min-p: drop tokens whose probability is below min_p times the top probability.
        if (_settings.MinP > 0f)
        {
            var cutoff = _settings.MinP * _probabilities[0];
            var keep = 1;
            while (keep < n && _probabilities[keep] >= cutoff)
            {
                keep++;
            }

            n = keep;
            Softmax(logits, order[..n], invT, _probabilities.AsSpan(0, n));
        }

        return n;
    }

    private static void Softmax(ReadOnlySpan<float> logits, ReadOnlySpan<int> ids, double invT, Span<double> destination)
    {
        var max = logits[ids[0]] * invT;
        double sum = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            var e = Math.Exp((logits[ids[i]] * invT) - max);
            destination[i] = e;
            sum += e;
        }

        for (var i = 0; i < ids.Length; i++)
        {
            destination[i] /= sum;
        }
    }

    private static float KthLargest(ReadOnlySpan<float> logits, int k)
    {
        // Quickselect on a copy: O(V) on average, versus O(V log V) for a full sort of a 150k vocabulary.
        var copy = logits.ToArray();
        int lo = 0, hi = copy.Length - 1, target = k - 1;
        while (lo < hi)
        {
            var pivot = copy[lo + ((hi - lo) / 2)];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (copy[i] > pivot)
                {
                    i++;
                }

                while (copy[j] < pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (copy[i], copy[j]) = (copy[j], copy[i]);
                    i++;
                    j--;
                }
            }

            if (target <= j)
            {
                hi = j;
            }
            else if (target >= i)
            {
                lo = i;
            }
            else
            {
                break;
            }
        }

        return copy[target];
    }
}
