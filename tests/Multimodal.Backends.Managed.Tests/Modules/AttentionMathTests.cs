// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;

namespace Multimodal.Backends.Managed.Modules;

/// <summary>Attention against a double-precision reference, for both code paths (in-place per-key for few queries,
/// GEMM over per-head copies for many), causal with a cache offset, grouped-query heads, ALiBi and key masks.</summary>
public sealed class AttentionMathTests
{
    [Theory]
    [InlineData(4, 4, 16, false)]
    [InlineData(8, 2, 8, false)]
    [InlineData(6, 6, 12, true)]
    public void Causal_MatchesTheReferenceAtEveryLength(int heads, int kvHeads, int d, bool alibi)
    {
        var random = new Random(heads * 31 + d);
        float[]? slopes = alibi ? Decoder.TransformerDecoder.AlibiSlopes(heads, 8) : null;
        foreach (var (start, queries) in new[] { (0, 1), (0, 7), (0, 8), (0, 65), (0, 130), (5, 1), (9, 3), (17, 40), (63, 64), (100, 9) })
        {
            var total = start + queries;
            var q = Random(random, queries * heads * d);
            var k = Random(random, total * kvHeads * d);
            var v = Random(random, total * kvHeads * d);
            var scale = 1 / MathF.Sqrt(d);
            var actual = new float[queries * heads * d];
            AttentionMath.Causal(q, k, v, actual, queries, start, heads, kvHeads, d, scale, slopes, ComputeContext.Default);
            var expected = Reference(q, k, v, queries, total, start, heads, kvHeads, d, scale, slopes, null, causal: true);
            AssertClose(expected, actual, $"start {start}, queries {queries}");
        }
    }

    [Fact]
    public void Bidirectional_WithAKeyMask_MatchesTheReference()
    {
        var random = new Random(5);
        const int Heads = 4, D = 8;
        foreach (var tokens in new[] { 1, 2, 7, 8, 16, 17, 64, 65, 100 })
        {
            var q = Random(random, tokens * Heads * D);
            var k = Random(random, tokens * Heads * D);
            var v = Random(random, tokens * Heads * D);
            var valid = Enumerable.Range(0, tokens).Select(i => i == 0 || random.Next(3) > 0).ToArray();
            var actual = new float[q.Length];
            AttentionMath.Bidirectional(q, k, v, actual, tokens, tokens, Heads, D, 0.3f, valid, ComputeContext.Default);
            AssertClose(Reference(q, k, v, tokens, tokens, tokens, Heads, Heads, D, 0.3f, null, valid, causal: false), actual, $"{tokens} tokens");
        }
    }

    [Fact]
    public void AllKeysMasked_GivesZeros()
    {
        foreach (var tokens in new[] { 3, 20 })
        {
            var q = Enumerable.Repeat(1f, tokens * 8).ToArray();
            var actual = Enumerable.Repeat(9f, tokens * 8).ToArray();
            AttentionMath.Bidirectional(q, q, q, actual, tokens, tokens, 2, 4, 1f, new bool[tokens], ComputeContext.SingleThreaded);
            Assert.All(actual, value => Assert.Equal(0f, value));
        }
    }

    private static float[] Reference(float[] q, float[] k, float[] v, int queries, int keys, int start, int heads, int kvHeads, int d, float scale, float[]? slopes, bool[]? valid, bool causal)
    {
        var output = new float[queries * heads * d];
        for (var h = 0; h < heads; h++)
        {
            var kh = h / (heads / kvHeads);
            for (var i = 0; i < queries; i++)
            {
                var position = causal ? start + i : i;
                var scores = new double[keys];
                var max = double.NegativeInfinity;
                for (var j = 0; j < keys; j++)
                {
                    if ((causal && j > position) || (valid is not null && !valid[j]))
                    {
                        scores[j] = double.NegativeInfinity;
                        continue;
                    }

                    double dot = 0;
                    for (var c = 0; c < d; c++)
                    {
                        dot += (double)q[(i * heads * d) + (h * d) + c] * k[(j * kvHeads * d) + (kh * d) + c];
                    }

                    scores[j] = (dot * scale) + (slopes is null ? 0 : slopes[h] * (j - position));
                    max = Math.Max(max, scores[j]);
                }

                if (double.IsNegativeInfinity(max))
                {
                    continue;
                }

                var sum = scores.Sum(s => Math.Exp(s - max));
                for (var c = 0; c < d; c++)
                {
                    double acc = 0;
                    for (var j = 0; j < keys; j++)
                    {
                        acc += Math.Exp(scores[j] - max) / sum * v[(j * kvHeads * d) + (kh * d) + c];
                    }

                    output[(i * heads * d) + (h * d) + c] = (float)acc;
                }
            }
        }

        return output;
    }

    private static float[] Random(Random random, int count) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= 2e-5f, $"{what}: index {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
