// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Attributes;
using Multimodal.Advanced;

namespace Multimodal.Benchmarks;

/// <summary>
/// Choosing one token from a vocabulary-sized logits vector with top-k/top-p, against the straightforward
/// reference (softmax over the whole vocabulary, full sort, cumulative cut), which is what a direct port of
/// Hugging Face's warpers does. Vocabulary sizes: 32,000 (Llama/Vicuna, MiniCPM) and 151,646 (Qwen2 / LongVA).
/// </summary>
[BenchmarkCategory("Generation")]
public class SamplingBenchmarks
{
    private float[] _logits = [];
    private TokenSampler _topKTopP = null!;
    private TokenSampler _topPOnly = null!;
    private SeededRandom _random = null!;

    [Params(32_000, 151_646)]
    public int Vocabulary { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new SeededRandom(1);
        _logits = new float[Vocabulary];
        for (var i = 0; i < _logits.Length; i++)
        {
            // Roughly the spread of real LM logits: a few strong candidates over a broad low tail.
            _logits[i] = (float)((r.NextDouble() * 8) - 4 + (i % 997 == 0 ? 10 : 0));
        }

        _topKTopP = new TokenSampler(new GenerationSettings { DoSample = true, TopK = 50, TopP = 0.9f, Seed = 7 });
        _topPOnly = new TokenSampler(new GenerationSettings { DoSample = true, TopP = 0.9f, Seed = 7 });
        _random = new SeededRandom(7);
    }

    [Benchmark(Baseline = true, Description = "reference: full softmax + sort, top-k 50 + top-p 0.9")]
    public int Reference_TopKTopP() => NaiveSample(_logits, 50, 0.9, _random);

    [Benchmark(Description = "TokenSampler top-k 50 + top-p 0.9")]
    public int TokenSampler_TopKTopP() => _topKTopP.Next(_logits);

    [Benchmark(Description = "TokenSampler top-p 0.9")]
    public int TokenSampler_TopP() => _topPOnly.Next(_logits);

    [Benchmark(Description = "greedy (argmax)")]
    public int Greedy() => TokenSampler.ArgMax(_logits);

    private static int NaiveSample(float[] logits, int topK, double topP, SeededRandom random)
    {
        var max = logits.Max();
        var probs = logits.Select(l => Math.Exp(l - max)).ToArray();
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        var kept = order.Take(topK).ToArray();
        var sum = kept.Sum(i => probs[i]);
        var list = new List<int>();
        double cum = 0;
        foreach (var i in kept)
        {
            if (list.Count > 0 && cum >= topP)
            {
                break;
            }

            list.Add(i);
            cum += probs[i] / sum;
        }

        var total = list.Sum(i => probs[i]);
        var u = random.NextDouble() * total;
        foreach (var i in list)
        {
            u -= probs[i];
            if (u < 0)
            {
                return i;
            }
        }

        return list[^1];
    }
}
