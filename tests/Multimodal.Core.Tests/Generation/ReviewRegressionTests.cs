// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Advanced;
using Multimodal.TestDoubles;

namespace Multimodal.Generation;

/// <summary>Regression tests for defects found in review of the generation loop.</summary>
public class ReviewRegressionTests
{
    private static TestLanguageDecoder UniformDecoder(TestTokenizer tokenizer, params string[] pieces)
    {
        // Every step: the given pieces equally likely, EOS a little less likely, so beams branch every step.
        var vocab = tokenizer.VocabularySize;
        var decoder = new TestLanguageDecoder(vocab);
        decoder.NextLogits = _ =>
        {
            var l = Enumerable.Repeat(float.NegativeInfinity, vocab).ToArray();
            foreach (var p in pieces)
            {
                l[tokenizer.Id(p)] = 0f;
            }

            l[TestTokenizer.Eos] = -3f;
            return l;
        };
        return decoder;
    }

    [Fact]
    public async Task BeamSearch_ReleasesForksAsSoonAsNoBeamUsesThem_AndAllAtTheEnd()
    {
        var tokenizer = new TestTokenizer("a", "b", "c");
        var decoder = UniformDecoder(tokenizer, "a", "b", "c");
        var settings = GenerationSettings.Resolve(new GenerationOptions { NumBeams = 3, MaxNewTokens = 60 }, null, null, [TestTokenizer.Eos]);
        using var state = decoder.CreateState();

        await foreach (var _ in GenerationLoop.RunAsync(decoder, state, new DecoderInput(new[] { TestTokenizer.Bos }), tokenizer, settings))
        {
        }

        // Three beams never need more than three caches, besides the caller's own state (which outlives a pruned beam).
        Assert.True(decoder.PeakLiveStates <= 3 + 1, $"peak live states {decoder.PeakLiveStates}");
        Assert.Equal(1, decoder.LiveStates);
        Assert.False(((TestLanguageDecoder.State)state).Disposed);
    }

    [Fact]
    public void BeamHypotheses_CountTheStopTokenInTheirLength_AsHuggingFaceDoes()
    {
        // One beam whose best continuation is EOS with log-probability log(0.9), after 2 generated tokens:
        // HF scores it sum_logprobs / (2 + 1) ^ length_penalty.
        var tokenizer = new TestTokenizer();
        var settings = new GenerationSettings { NumBeams = 1, LengthPenalty = 1f, StopTokenIds = [TestTokenizer.Eos] };
        var search = new BeamSearch(settings, tokenizer.VocabularySize, [], tokenizer);
        var logits = TestLanguageDecoder.FromProbabilities(tokenizer.VocabularySize, new Dictionary<int, double> { [TestTokenizer.Eos] = 0.9, ['x'] = 0.1 });
        var beam = new BeamSearch.Beam(null!, ['a', 'b'], -1.5, logits);

        search.Step([beam]);

        var best = search.Best()!;
        Assert.True(best.EndedWithStopToken);
        Assert.Equal((-1.5 + Math.Log(0.9)) / 3, best.Score, 5);
    }

    [Fact]
    public async Task BothPaths_LeaveTheStateWithThePromptAndAllChosenTokensButTheLast()
    {
        var tokenizer = new TestTokenizer("x");
        int[] prompt = [TestTokenizer.Bos, 'q'];
        foreach (var beams in new[] { 1, 2 })
        {
            var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
            decoder.NextLogits = _ => TestLanguageDecoder.OneHot(tokenizer.VocabularySize, tokenizer.Id("x"));
            var settings = GenerationSettings.Resolve(new GenerationOptions { NumBeams = beams, MaxNewTokens = 3 }, null, null, [TestTokenizer.Eos]);
            using var state = decoder.CreateState();
            GenerationUpdate? last = null;
            await foreach (var u in GenerationLoop.RunAsync(decoder, state, new DecoderInput(prompt), tokenizer, settings))
            {
                last = u;
            }

            Assert.Equal(3, last!.Usage!.CompletionTokens);
            Assert.Equal(prompt.Length + 3 - 1, state.Length);
        }
    }

    [Fact]
    public void NegativeOrNaNTemperature_ThrowsNamingTheOption()
    {
        Assert.Equal("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => GenerationSettings.Resolve(new GenerationOptions { Temperature = -0.5f }, null)).ParamName);
        Assert.Equal("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => GenerationSettings.Resolve(new GenerationOptions { Temperature = float.NaN }, null)).ParamName);
    }

    [Fact]
    public void AnEmptyPromptOnAnEmptyState_IsRejected()
    {
        var tokenizer = new TestTokenizer();
        var decoder = new TestLanguageDecoder(tokenizer.VocabularySize);
        using var state = decoder.CreateState();
        Assert.Throws<ArgumentException>(() => GenerationLoop.RunAsync(decoder, state, new DecoderInput(Array.Empty<int>()), tokenizer, GenerationSettings.Default));
    }

    [Fact]
    public void SkippedSpecialTokens_DoNotCountAsHeldBack_SoALaterEmojiStreamsWhole()
    {
        var tokenizer = new TestTokenizer();
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var output = new System.Text.StringBuilder();
        foreach (var id in new[] { TestTokenizer.Bos, TestTokenizer.Bos, TestTokenizer.Bos }.Concat("😀!"u8.ToArray().Select(b => (int)b)))
        {
            var delta = detokenizer.Add(id);
            Assert.DoesNotContain('\uFFFD', delta);
            output.Append(delta);
        }

        output.Append(detokenizer.Flush());
        Assert.Equal("😀!", output.ToString());
    }
}
