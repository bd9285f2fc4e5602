// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;

namespace Multimodal.Advanced;

/// <summary>Chooses the next token from logits: greedy, or sampling with temperature, top-k, top-p and min-p.</summary>
/// <remarks>
/// <para>The truncations follow Hugging Face's warpers in Hugging Face's order (temperature, top-k, top-p, min-p), each
/// keeping at least one token. Softmax weights are float32 (as the reference computes them); sums and the
/// cumulative mass are accumulated in double precision.</para>
/// <para>Cost is linear in the vocabulary: top-k finds its threshold by quickselect and top-p finds its nucleus by a
/// mass-aware quickselect, so only the nucleus' boundary is ever ordered, never the whole vocabulary.</para>
/// <para>Not thread-safe (it owns an RNG and scratch buffers).</para>
/// </remarks>
public sealed class TokenSampler
{
    // Below this many candidates a plain sort beats further partitioning.
    private const int SmallRange = 32;

    private readonly GenerationSettings _settings;
    private readonly SeededRandom _random;
    private int[] _ids = [];
    private float[] _weights = [];
    private float[] _scratch = [];

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

        var (count, total) = ComputeCandidates(logits);
        var u = _random.NextDouble() * total;
        double cumulative = 0;
        for (var i = 0; i < count; i++)
        {
            cumulative += _weights[i];
            if (u < cumulative)
            {
                return _ids[i];
            }
        }

        // Rounding can leave the cumulative sum a hair under the total; the last candidate takes that sliver.
        return _ids[count - 1];
    }

    /// <summary>Returns the index of the largest logit (the first one on ties, as <c>torch.argmax</c>).</summary>
    /// <param name="logits">The logits.</param>
    /// <returns>The index.</returns>
    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);

    /// <summary>Computes the truncated, renormalised distribution sampling would draw from.</summary>
    /// <param name="logits">The logits.</param>
    /// <returns>Candidate ids and their probabilities, most likely first (ties by id).</returns>
    public IReadOnlyList<(int Id, double Probability)> GetCandidates(ReadOnlySpan<float> logits)
    {
        var (count, total) = ComputeCandidates(logits);
        var result = new (int Id, double Probability)[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (_ids[i], _weights[i] / total);
        }

        Array.Sort(result, static (a, b) =>
        {
            var c = b.Probability.CompareTo(a.Probability);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });
        return result;
    }

    /// <summary>Leaves the surviving candidates in <see cref="_ids"/>/<see cref="_weights"/> (unnormalised softmax weights, in no particular order) and returns their count and total weight.</summary>
    private (int Count, double Total) ComputeCandidates(ReadOnlySpan<float> logits)
    {
        var v = logits.Length;
        if (_ids.Length < v)
        {
            _ids = new int[v];
            _weights = new float[v];
            _scratch = new float[v];
        }

        // Top-k: HF keeps every token whose score is >= the k-th largest score (ties survive).
        var threshold = float.NegativeInfinity;
        if (_settings.TopK > 0 && _settings.TopK < v)
        {
            logits.CopyTo(_scratch);
            threshold = KthLargest(_scratch.AsSpan(0, v), _settings.TopK);
        }

        var n = 0;
        for (var i = 0; i < v; i++)
        {
            var l = logits[i];
            if (l >= threshold && !float.IsNegativeInfinity(l))
            {
                _ids[n] = i;
                _weights[n] = l;
                n++;
            }
        }

        if (n == 0)
        {
            // Every logit was -inf: fall back to the argmax, as no distribution can be formed.
            _ids[0] = ArgMax(logits);
            _weights[0] = 1f;
            return (1, 1.0);
        }

        // Softmax weights exp((l - max) / T), vectorised; the largest weight is exactly 1.
        var weights = _weights.AsSpan(0, n);
        var max = TensorPrimitives.Max(weights);
        TensorPrimitives.Subtract(weights, max, weights);
        TensorPrimitives.Multiply(weights, 1f / _settings.Temperature, weights);
        TensorPrimitives.Exp(weights, weights);
        var total = SumAsDouble(weights);

        // Top-p: keep the smallest set of most likely tokens whose mass reaches p (HF removes tokens whose ascending
        // cumulative mass is <= 1 - p, which is the same set), always keeping the first.
        if (_settings.TopP < 1f)
        {
            n = SelectNucleus(_weights.AsSpan(0, n), _ids.AsSpan(0, n), _settings.TopP * total);
            total = SumAsDouble(_weights.AsSpan(0, n));
        }

        // Min-p: drop tokens whose probability is below min_p times the top probability (the top weight is 1).
        if (_settings.MinP > 0f)
        {
            var cutoff = _settings.MinP * TensorPrimitives.Max(_weights.AsSpan(0, n));
            var kept = 0;
            for (var i = 0; i < n; i++)
            {
                if (_weights[i] >= cutoff)
                {
                    _weights[kept] = _weights[i];
                    _ids[kept] = _ids[i];
                    kept++;
                }
            }

            n = kept;
            total = SumAsDouble(_weights.AsSpan(0, n));
        }

        return (n, total);
    }

    /// <summary>
    /// Moves the nucleus (the smallest top-ranked set whose weight reaches <paramref name="target"/>) to the front and
    /// returns its size. Ranking is by weight, then by id, so the set is well defined under ties. Expected O(n).
    /// </summary>
    private static int SelectNucleus(Span<float> weights, Span<int> ids, double target)
    {
        int lo = 0, hi = weights.Length;

        // Invariant: [0, lo) is wholly inside the nucleus and ranks above [lo, hi); 'above' is its weight.
        double above = 0;
        while (hi - lo > SmallRange)
        {
            // Median-of-three pivot, then partition [lo, hi) into "ranks above the pivot" | pivot | "ranks below".
            var p = MedianOfThree(weights, ids, lo, lo + ((hi - lo) / 2), hi - 1);
            Swap(weights, ids, p, hi - 1);
            var pw = weights[hi - 1];
            var pid = ids[hi - 1];
            var store = lo;
            double frontMass = 0;
            for (var i = lo; i < hi - 1; i++)
            {
                if (weights[i] > pw || (weights[i] == pw && ids[i] < pid))
                {
                    frontMass += weights[i];
                    Swap(weights, ids, i, store++);
                }
            }

            Swap(weights, ids, store, hi - 1);
            if (above + frontMass >= target && store > 0)
            {
                // The boundary lies among the tokens ranked above the pivot.
                hi = store;
            }
            else
            {
                // Everything above the pivot is in, and so is the pivot (the mass ranked above it is below target).
                above += frontMass + weights[store];
                lo = store + 1;
                if (above >= target)
                {
                    return lo;
                }
            }
        }

        // Finish the small remainder in rank order.
        SortByRank(weights[lo..hi], ids[lo..hi]);
        for (var i = lo; i < hi; i++)
        {
            if (i > 0 && above >= target)
            {
                return i;
            }

            above += weights[i];
        }

        return hi;
    }

    private static int MedianOfThree(Span<float> w, Span<int> ids, int a, int b, int c)
    {
        if (Before(w, ids, a, b))
        {
            return Before(w, ids, b, c) ? b : Before(w, ids, a, c) ? c : a;
        }

        return Before(w, ids, a, c) ? a : Before(w, ids, b, c) ? c : b;
    }

    private static bool Before(Span<float> w, Span<int> ids, int x, int y) => w[x] > w[y] || (w[x] == w[y] && ids[x] < ids[y]);

    private static void SortByRank(Span<float> weights, Span<int> ids)
    {
        // Insertion sort: at most SmallRange elements.
        for (var i = 1; i < weights.Length; i++)
        {
            var w = weights[i];
            var id = ids[i];
            var j = i - 1;
            while (j >= 0 && (weights[j] < w || (weights[j] == w && ids[j] > id)))
            {
                weights[j + 1] = weights[j];
                ids[j + 1] = ids[j];
                j--;
            }

            weights[j + 1] = w;
            ids[j + 1] = id;
        }
    }

    private static void Swap(Span<float> w, Span<int> ids, int i, int j)
    {
        (w[i], w[j]) = (w[j], w[i]);
        (ids[i], ids[j]) = (ids[j], ids[i]);
    }

    private static double SumAsDouble(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var x in values)
        {
            sum += x;
        }

        return sum;
    }

    private static float KthLargest(Span<float> values, int k)
    {
        // Quickselect in place on a scratch copy: O(V) on average, versus O(V log V) for a full sort.
        int lo = 0, hi = values.Length - 1, target = k - 1;
        while (lo < hi)
        {
            var pivot = values[lo + ((hi - lo) / 2)];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] > pivot)
                {
                    i++;
                }

                while (values[j] < pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
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

        return values[target];
    }
}
