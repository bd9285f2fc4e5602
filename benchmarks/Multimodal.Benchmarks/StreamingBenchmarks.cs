// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using BenchmarkDotNet.Attributes;
using Multimodal.Advanced;

namespace Multimodal.Benchmarks;

/// <summary>
/// The per-token cost of streaming text: incremental detokenization plus stop-string hold-back, over 512 tokens of
/// byte-level output, against the simple approach of decoding the whole output again at every step.
/// </summary>
[BenchmarkCategory("Generation")]
public class StreamingBenchmarks
{
    private readonly ByteTokenizer _tokenizer = new();
    private int[] _ids = [];

    [GlobalSetup]
    public void Setup()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. Ünïcödé 😀 ", 10));
        _ids = [.. Encoding.UTF8.GetBytes(text).Take(512).Select(b => (int)b)];
    }

    [Benchmark(Baseline = true, Description = "reference: re-decode everything each token")]
    public int Reference_RedecodeAll()
    {
        var emitted = 0;
        for (var n = 1; n <= _ids.Length; n++)
        {
            var text = _tokenizer.Decode(_ids.AsSpan(0, n));
            if (!text.EndsWith('\uFFFD'))
            {
                emitted = text.Length;
            }
        }

        return emitted;
    }

    [Benchmark(Description = "IncrementalDetokenizer + StopStringMatcher")]
    public int Incremental()
    {
        var detokenizer = new IncrementalDetokenizer(_tokenizer);
        var matcher = new StopStringMatcher(["</s>", "<|im_end|>"]);
        var emitted = 0;
        foreach (var id in _ids)
        {
            emitted += matcher.Append(detokenizer.Add(id)).Length;
        }

        return emitted + matcher.Append(detokenizer.Flush()).Length + matcher.Flush().Length;
    }

    /// <summary>Byte-level tokenizer: id = byte.</summary>
    private sealed class ByteTokenizer : ITokenizer
    {
        public int VocabularySize => 256;

        public SpecialTokens SpecialTokens { get; } = new(null, []);

        public int[] Encode(string text, bool addSpecialTokens = true) => [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

        public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
        {
            Span<byte> bytes = ids.Length <= 1024 ? stackalloc byte[ids.Length] : new byte[ids.Length];
            for (var i = 0; i < ids.Length; i++)
            {
                bytes[i] = (byte)ids[i];
            }

            return Encoding.UTF8.GetString(bytes);
        }

        public int? TokenToId(string token) => null;

        public string? IdToToken(int id) => null;
    }
}
