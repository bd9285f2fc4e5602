// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Advanced;
using Multimodal.TestDoubles;

namespace Multimodal.Generation;

public class TokenSamplerTests
{
    private const int Draws = 10_000;

    // Probabilities of ids 0..7; ids 8..11 have probability 0 (-inf logits).
    private static readonly double[] P = [0.4, 0.2, 0.15, 0.1, 0.08, 0.04, 0.02, 0.01];

    private static float[] Logits()
    {
        var l = Enumerable.Repeat(float.NegativeInfinity, 12).ToArray();
        for (var i = 0; i < P.Length; i++)
        {
            l[i] = (float)Math.Log(P[i]);
        }

        return l;
    }

    public static TheoryData<string, GenerationSettings, int[]> TruncationCases => new()
    {
        // Hand-derived sets. top-k 3 keeps the 3 most likely.
        { "top-k 3", new GenerationSettings { DoSample = true, TopK = 3, Seed = 1 }, [0, 1, 2] },

        // top-p 0.8: HF sorts ascending, cumsum .01 .03 .07 .15 .25 ... and removes cumsum <= 0.2 -> keeps .4 .2 .15 .1.
        { "top-p 0.8", new GenerationSettings { DoSample = true, TopP = 0.8f, Seed = 2 }, [0, 1, 2, 3] },

        // min-p 0.19: cutoff 0.19 * 0.4 = 0.076 -> keeps .4 .2 .15 .1 .08.
        { "min-p 0.19", new GenerationSettings { DoSample = true, MinP = 0.19f, Seed = 3 }, [0, 1, 2, 3, 4] },

        // top-k 6 then top-p 0.9 over the renormalised six (.4 .2 .15 .1 .08 .04)/.97: masses above id 4 = .876 < .9 keeps it; above id 5 = .959 -> dropped.
        { "top-k 6 + top-p 0.9", new GenerationSettings { DoSample = true, TopK = 6, TopP = 0.9f, Seed = 4 }, [0, 1, 2, 3, 4] },

        // No truncation: every token with non-zero probability.
        { "plain sampling", new GenerationSettings { DoSample = true, Seed = 5 }, [0, 1, 2, 3, 4, 5, 6, 7] },
    };

    [Theory]
    [MemberData(nameof(TruncationCases))]
    public void Truncation_NeverSamplesOutsideItsSet_AndMatchesTheExpectedDistribution(string name, GenerationSettings settings, int[] expectedSet)
    {
        // Arrange
        var logits = Logits();
        var sampler = new TokenSampler(settings);
        var expectedMass = expectedSet.Sum(i => P[i]);

        // The sampler's own candidate set must be exactly the hand-derived one.
        var candidates = sampler.GetCandidates(logits);
        Assert.Equal(expectedSet, candidates.Select(c => c.Id).Order());

        // Act
        var counts = new int[logits.Length];
        for (var i = 0; i < Draws; i++)
        {
            counts[sampler.Next(logits)]++;
        }

        // Assert: nothing outside the set, ever.
        for (var id = 0; id < logits.Length; id++)
        {
            if (!expectedSet.Contains(id))
            {
                Assert.True(counts[id] == 0, $"{name}: id {id} was sampled {counts[id]} times but is outside the set.");
            }
        }

        // Chi-square goodness of fit against the renormalised probabilities, at alpha = 0.001.
        var chi2 = expectedSet.Sum(id =>
        {
            var expected = Draws * P[id] / expectedMass;
            return Math.Pow(counts[id] - expected, 2) / expected;
        });
        Assert.True(chi2 < ChiSquareCritical001(expectedSet.Length - 1), $"{name}: chi-square {chi2:F2} with {expectedSet.Length - 1} degrees of freedom rejects the expected distribution.");
    }

    [Fact]
    public void Temperature_SharpensTheDistribution_AsProbabilitiesToThePowerOneOverT()
    {
        // T = 0.5 turns p into p^2 / sum p^2.
        var sampler = new TokenSampler(new GenerationSettings { DoSample = true, Temperature = 0.5f, Seed = 7 });
        var logits = Logits();
        var squares = P.Select(p => p * p).ToArray();
        var total = squares.Sum();
        var counts = new int[logits.Length];
        for (var i = 0; i < Draws; i++)
        {
            counts[sampler.Next(logits)]++;
        }

        var chi2 = Enumerable.Range(0, P.Length).Sum(id =>
        {
            var expected = Draws * squares[id] / total;
            return Math.Pow(counts[id] - expected, 2) / expected;
        });
        Assert.True(chi2 < ChiSquareCritical001(P.Length - 1), $"chi-square {chi2:F2}");
    }

    [Fact]
    public void TopK_OnALargeRandomVocabulary_SamplesOnlyTheKLargest()
    {
        var random = new SeededRandom(99);
        var logits = Enumerable.Range(0, 5000).Select(_ => (float)((random.NextDouble() * 20) - 10)).ToArray();
        var allowed = logits.Select((v, i) => (v, i)).OrderByDescending(t => t.v).Take(50).Select(t => t.i).ToHashSet();
        var sampler = new TokenSampler(new GenerationSettings { DoSample = true, TopK = 50, Seed = 11 });
        for (var i = 0; i < Draws; i++)
        {
            Assert.Contains(sampler.Next(logits), allowed);
        }
    }

    [Theory]
    [InlineData(0.05f, false)]
    [InlineData(0.5f, false)]
    [InlineData(0.9f, false)]
    [InlineData(0.999f, false)]
    [InlineData(0.5f, true)]
    [InlineData(0.9f, true)]
    public void TopP_OnALargeVocabulary_KeepsExactlyTheBruteForceNucleus(float topP, bool heavyTies)
    {
        // Arrange: 50,000 logits (ties: only 40 distinct values), so the partitioning path does the work.
        var random = new SeededRandom(2024);
        var logits = Enumerable.Range(0, 50_000).Select(_ =>
        {
            var x = (random.NextDouble() * 12) - 6;
            return (float)(heavyTies ? Math.Round(x * 3) / 3 : x);
        }).ToArray();

        // Brute force: rank by (logit desc, id asc), keep the smallest prefix whose probability reaches p.
        var max = logits.Max();
        var weights = logits.Select(l => Math.Exp(l - max)).ToArray();
        var total = weights.Sum();
        var ranked = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        var expected = new List<int>();
        double above = 0;
        foreach (var id in ranked)
        {
            if (expected.Count > 0 && above >= topP)
            {
                break;
            }

            expected.Add(id);
            above += weights[id] / total;
        }

        // Act
        var sampler = new TokenSampler(new GenerationSettings { DoSample = true, TopP = topP, Seed = 1 });
        var candidates = sampler.GetCandidates(logits);

        // Assert
        Assert.Equal(expected.Order(), candidates.Select(c => c.Id).Order());
        Assert.Equal(1.0, candidates.Sum(c => c.Probability), 6);
        for (var i = 0; i < 2000; i++)
        {
            Assert.Contains(sampler.Next(logits), expected);
        }
    }

    [Fact]
    public void TopK_KeepsTiesWithTheKthScore_AsHuggingFaceDoes()
    {
        float[] logits = [3f, 2f, 2f, 2f, 1f];
        var sampler = new TokenSampler(new GenerationSettings { DoSample = true, TopK = 2, Seed = 1 });
        Assert.Equal([0, 1, 2, 3], sampler.GetCandidates(logits).Select(c => c.Id).Order());
    }

    [Fact]
    public void SameSeed_GivesTheSameDraws_AndAnotherSeedDiffers()
    {
        var logits = Logits();
        int[] Draw(long seed)
        {
            var s = new TokenSampler(new GenerationSettings { DoSample = true, Seed = seed });
            return [.. Enumerable.Range(0, 200).Select(_ => s.Next(logits))];
        }

        Assert.Equal(Draw(42), Draw(42));
        Assert.NotEqual(Draw(42), Draw(43));
    }

    [Fact]
    public void Greedy_PicksTheFirstMaximum()
    {
        var sampler = new TokenSampler(new GenerationSettings { DoSample = false });
        Assert.Equal(1, sampler.Next([0f, 5f, 5f, -1f]));
    }

    [Fact]
    public void AllNegativeInfinity_FallsBackToArgMaxInsteadOfFailing()
    {
        var sampler = new TokenSampler(new GenerationSettings { DoSample = true, Seed = 1 });
        Assert.Equal(0, sampler.Next([float.NegativeInfinity, float.NegativeInfinity]));
    }

    [Fact]
    public void SeededRandom_IsUniformEnough()
    {
        // 10 bins of NextDouble, chi-square at alpha 0.001 with 9 degrees of freedom (27.88).
        var r = new SeededRandom(123);
        var bins = new int[10];
        for (var i = 0; i < 100_000; i++)
        {
            bins[(int)(r.NextDouble() * 10)]++;
        }

        var chi2 = bins.Sum(b => Math.Pow(b - 10_000, 2) / 10_000.0);
        Assert.True(chi2 < 27.88, $"chi-square {chi2:F2}");
    }

    /// <summary>Upper 0.1% points of the chi-square distribution.</summary>
    private static double ChiSquareCritical001(int df) => df switch
    {
        1 => 10.828,
        2 => 13.816,
        3 => 16.266,
        4 => 18.467,
        5 => 20.515,
        6 => 22.458,
        7 => 24.322,
        _ => throw new ArgumentOutOfRangeException(nameof(df)),
    };
}
