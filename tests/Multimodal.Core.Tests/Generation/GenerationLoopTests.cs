// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Multimodal.TestDoubles;

namespace Multimodal.Generation;

public class GenerationLoopTests
{
    /// <summary>A decoder that emits a fixed script of tokens (one per step, after the prompt), then EOS forever.</summary>
    private static TestLanguageDecoder Scripted(ITokenizer tokenizer, int promptLength, IReadOnlyList<int> script)
    {
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        decoder.NextLogits = history =>
        {
            var step = history.Count - promptLength;
            var next = step < script.Count ? script[step] : TestTokenizer.Eos;
            return TestLanguageDecoder.OneHot(tokenizer.VocabularySize, next);
        };
        return decoder;
    }

    private static async Task<(List<GenerationUpdate> Updates, string Text)> RunAsync(TestLanguageDecoder decoder, ITokenizer tokenizer, GenerationSettings settings, int[] prompt)
    {
        var updates = new List<GenerationUpdate>();
        using var state = decoder.CreateState();
        await foreach (var u in GenerationLoop.RunAsync(decoder, state, new DecoderInput(prompt), tokenizer, settings))
        {
            updates.Add(u);
        }

        return (updates, string.Concat(updates.Select(u => u.Text)));
    }

    [Fact]
    public async Task StopStringSplitAcrossThreeTokens_StopsGeneration_AndIsAbsentFromTheOutput()
    {
        // Arrange: "<|end|>" arrives as "<", "|e", "nd|>", followed by text that must never be generated.
        var tokenizer = new TestTokenizer("The", " answer", " is", " 4", "<", "|e", "nd|>", " garbage");
        int[] script = [.. new[] { "The", " answer", " is", " 4", "<", "|e", "nd|>", " garbage", " garbage" }.Select(tokenizer.Id)];
        int[] prompt = [TestTokenizer.Bos, 'Q'];
        var decoder = Scripted(tokenizer, prompt.Length, script);
        var settings = GenerationSettings.Resolve(null, null, ["<|end|>"], [TestTokenizer.Eos]);

        // Act
        var (updates, text) = await RunAsync(decoder, tokenizer, settings, prompt);

        // Assert
        Assert.Equal("The answer is 4", text);
        Assert.All(updates, u => Assert.DoesNotContain("<", u.Text));
        Assert.Equal(GenerationFinishReason.StopString, updates[^1].FinishReason);

        // The prompt forward plus one forward per token before the one that completed the stop string.
        Assert.Equal(1 + 6, decoder.ForwardCalls);
    }

    [Fact]
    public async Task StreamingAFourByteEmojiSplitOverByteTokens_YieldsNoReplacementCharacter()
    {
        var tokenizer = new TestTokenizer();
        var text = "Hi 😀!";
        int[] script = [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)];
        var decoder = Scripted(tokenizer, 1, script);
        var settings = GenerationSettings.Resolve(null, null, null, [TestTokenizer.Eos]);

        var (updates, streamed) = await RunAsync(decoder, tokenizer, settings, [TestTokenizer.Bos]);

        Assert.All(updates, u => Assert.DoesNotContain('\uFFFD', u.Text));
        Assert.Equal(text, streamed);
        Assert.Contains(updates, u => u.Text == "😀");
        Assert.Equal(GenerationFinishReason.StopToken, updates[^1].FinishReason);
    }

    [Fact]
    public async Task BeamSearchWithThreeBeams_FindsAMoreLikelySequenceThanMyopicGreedy()
    {
        // Arrange: a tree where the greedy first choice (A, 0.6) leads to a flat distribution (0.25 each),
        // while B (0.4) leads to G with 0.99. Every sequence ends with EOS after two tokens.
        var tokenizer = new TestTokenizer("A", "B", "C", "D", "E", "F", "G");
        int Id(string s) => tokenizer.Id(s);
        var vocab = tokenizer.VocabularySize;
        Dictionary<int, double> Distribution(IReadOnlyList<int> generated) => generated.Count switch
        {
            0 => new() { [Id("A")] = 0.6, [Id("B")] = 0.4 },
            1 when generated[0] == Id("A") => new() { [Id("C")] = 0.25, [Id("D")] = 0.25, [Id("E")] = 0.25, [Id("F")] = 0.25 },
            1 => new() { [Id("G")] = 0.99, [Id("C")] = 0.01 },
            _ => new() { [TestTokenizer.Eos] = 1.0 },
        };

        TestLanguageDecoder Decoder()
        {
            var d = new TestLanguageDecoder(vocab);
            d.NextLogits = history => TestLanguageDecoder.FromProbabilities(vocab, Distribution([.. history.Skip(1)]));
            return d;
        }

        double LogProbability(IReadOnlyList<int> tokens)
        {
            double sum = 0;
            for (var i = 0; i < tokens.Count; i++)
            {
                sum += Math.Log(Distribution([.. tokens.Take(i)])[tokens[i]]);
            }

            return sum;
        }

        var greedy = GenerationSettings.Resolve(new GenerationOptions { NumBeams = 1 }, null, null, [TestTokenizer.Eos]);
        var beam = GenerationSettings.Resolve(new GenerationOptions { NumBeams = 3, LengthPenalty = 1f }, null, null, [TestTokenizer.Eos]);

        // Act
        var (greedyUpdates, greedyText) = await RunAsync(Decoder(), tokenizer, greedy, [TestTokenizer.Bos]);
        var (beamUpdates, beamText) = await RunAsync(Decoder(), tokenizer, beam, [TestTokenizer.Bos]);
        var greedyTokens = greedyUpdates.SelectMany(u => u.TokenIds).ToList();
        var beamTokens = beamUpdates.SelectMany(u => u.TokenIds).ToList();

        // Assert
        Assert.Equal("AC", greedyText);
        Assert.Equal("BG", beamText);
        Assert.True(LogProbability(beamTokens) > LogProbability(greedyTokens), $"beam {LogProbability(beamTokens):F3} vs greedy {LogProbability(greedyTokens):F3}");
        Assert.Equal(GenerationFinishReason.StopToken, beamUpdates[^1].FinishReason);
    }

    [Fact]
    public async Task BeamSearch_LeavesTheCallersStateHoldingTheWinningSequence()
    {
        var tokenizer = new TestTokenizer("A", "B");
        var vocab = tokenizer.VocabularySize;
        var decoder = new TestLanguageDecoder(vocab);
        decoder.NextLogits = h => h.Count switch
        {
            1 => TestLanguageDecoder.FromProbabilities(vocab, new Dictionary<int, double> { [tokenizer.Id("A")] = 0.5, [tokenizer.Id("B")] = 0.5 }),
            2 => TestLanguageDecoder.FromProbabilities(vocab, new Dictionary<int, double> { [tokenizer.Id("B")] = 0.9, [TestTokenizer.Eos] = 0.1 }),
            _ => TestLanguageDecoder.OneHot(vocab, TestTokenizer.Eos),
        };
        var settings = GenerationSettings.Resolve(new GenerationOptions { NumBeams = 2 }, null, null, [TestTokenizer.Eos]);
        using var state = decoder.CreateState();
        var ids = new List<int>();
        await foreach (var u in GenerationLoop.RunAsync(decoder, state, new DecoderInput(new[] { TestTokenizer.Bos }), tokenizer, settings))
        {
            ids.AddRange(u.TokenIds);
        }

        Assert.Equal([TestTokenizer.Bos, .. ids], ((TestLanguageDecoder.State)state).History);
    }

    [Fact]
    public async Task CancellationMidGeneration_EndsTheStreamWithinOneStep()
    {
        // Arrange: a decoder that would generate forever.
        var tokenizer = new TestTokenizer("x");
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        decoder.NextLogits = _ => TestLanguageDecoder.OneHot(tokenizer.VocabularySize, tokenizer.Id("x"));
        var settings = GenerationSettings.Resolve(new GenerationOptions { MaxNewTokens = 100_000 }, null, null, [TestTokenizer.Eos]);
        using var cts = new CancellationTokenSource();
        using var state = decoder.CreateState();
        var received = 0;
        var forwardsAtCancel = -1;

        // Act
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in GenerationLoop.RunAsync(decoder, state, new DecoderInput(new[] { TestTokenizer.Bos }), tokenizer, settings, null, cts.Token))
            {
                if (++received == 5)
                {
                    forwardsAtCancel = decoder.ForwardCalls;
                    await cts.CancelAsync();
                }
            }
        });

        // Assert: no forward pass ran after the cancellation was requested.
        Assert.Equal(5, received);
        Assert.Equal(forwardsAtCancel, decoder.ForwardCalls);
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task MaxNewTokens_EndsWithMaxTokens_AndReportsUsageAndTimings()
    {
        var tokenizer = new TestTokenizer("x");
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        decoder.NextLogits = _ => TestLanguageDecoder.OneHot(tokenizer.VocabularySize, tokenizer.Id("x"));
        var settings = GenerationSettings.Resolve(new GenerationOptions { MaxNewTokens = 7 }, null, null, [TestTokenizer.Eos]);

        var (updates, text) = await RunAsync(decoder, tokenizer, settings, [TestTokenizer.Bos, 'a', 'b']);

        Assert.Equal("xxxxxxx", text);
        var last = updates[^1];
        Assert.Equal(GenerationFinishReason.MaxTokens, last.FinishReason);
        Assert.Equal(new GenerationUsage(3, 0, 7), last.Usage);
        Assert.True(last.Timings!.TimeToFirstToken > TimeSpan.Zero);
        Assert.True(last.Timings.Total >= last.Timings.TimeToFirstToken);
        Assert.True(last.Timings.DecodeTokensPerSecond > 0);
    }

    [Fact]
    public async Task PromptLongerThanTheContext_ThrowsContextLengthExceeded_WithTheNumbers()
    {
        var tokenizer = new TestTokenizer();
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize, contextLength: 8);
        using var state = decoder.CreateState();
        var ex = Assert.Throws<ContextLengthExceededException>(() => GenerationLoop.RunAsync(decoder, state, new DecoderInput(new int[8]), tokenizer, GenerationSettings.Default, new GenerationRequestInfo { VisualTokens = 3 }));
        Assert.Equal(9, ex.TokenCount);
        Assert.Equal(8, ex.MaxTokens);
        Assert.Equal(3, ex.VisualTokenCount);
        Assert.Contains("context length is 8", ex.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task FillingTheContext_EndsWithContextLength()
    {
        var tokenizer = new TestTokenizer("x");
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize, contextLength: 6);
        decoder.NextLogits = _ => TestLanguageDecoder.OneHot(tokenizer.VocabularySize, tokenizer.Id("x"));
        var (updates, text) = await RunAsync(decoder, tokenizer, GenerationSettings.Default, [TestTokenizer.Bos, 'a']);
        Assert.Equal(GenerationFinishReason.ContextLength, updates[^1].FinishReason);
        Assert.Equal("xxxxx", text);
    }

    [Fact]
    public async Task RepetitionPenalty_ChangesTheGreedyChoice_OnlyForSeenTokens()
    {
        // Logits favour 'a' (3.0) over 'b' (2.0); once 'a' is generated, penalty 2 turns it into 1.5 < 2.0.
        var tokenizer = new TestTokenizer();
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        decoder.NextLogits = _ =>
        {
            var l = new float[tokenizer.VocabularySize];
            l['a'] = 3f;
            l['b'] = 2f;
            return l;
        };
        var settings = GenerationSettings.Resolve(new GenerationOptions { RepetitionPenalty = 2f, MaxNewTokens = 2 }, null, null, [TestTokenizer.Eos]);
        var (_, text) = await RunAsync(decoder, tokenizer, settings, [TestTokenizer.Bos, 'a']);

        // The prompt's 'a' is not counted (as with generate(inputs_embeds=...)), so the first choice is still 'a'.
        Assert.Equal("ab", text);
    }

    [Fact]
    public async Task SameSeed_GivesTheSameText_DifferentSeedsDiffer()
    {
        var tokenizer = new TestTokenizer();
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        decoder.NextLogits = _ =>
        {
            var l = Enumerable.Repeat(float.NegativeInfinity, tokenizer.VocabularySize).ToArray();
            for (var c = 'a'; c <= 'z'; c++)
            {
                l[c] = 0f;
            }

            return l;
        };

        async Task<string> Run(long seed)
        {
            var s = GenerationSettings.Resolve(new GenerationOptions { Temperature = 1f, Seed = seed, MaxNewTokens = 32 }, null, null, [TestTokenizer.Eos]);
            return (await RunAsync(decoder, tokenizer, s, [TestTokenizer.Bos])).Text;
        }

        Assert.Equal(await Run(1234), await Run(1234));
        Assert.NotEqual(await Run(1234), await Run(4321));
    }
}
