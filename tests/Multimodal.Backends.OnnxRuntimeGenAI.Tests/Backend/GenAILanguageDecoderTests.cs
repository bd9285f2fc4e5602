// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using static Multimodal.Backends.OnnxRuntimeGenAI.LlavaTinyGenAIFixture;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>The <see cref="ILanguageDecoder"/> contract on the GenAI decoder of models/llava-tiny, checked against the plain
/// ONNX Runtime decoder over the same graph (a fresh prefill there is the reference for every cached path here).</summary>
[Collection(GenAiCollection.Name)]
public sealed class GenAILanguageDecoderTests(LlavaTinyGenAIFixture fixture) : IClassFixture<LlavaTinyGenAIFixture>
{
    private const float Tolerance = 1e-4f;

    /// <summary>Tokens the tests feed instead of the greedy ones, so that the sequences are not what the model would pick.</summary>
    private static readonly int[] s_ownChoice = [302, 277, 362, 278, 621, 262, 346, 329, 270, 264];

    private ILanguageDecoder Decoder => fixture.Decoder;

    private ILanguageDecoder Reference => fixture.Reference;

    [Fact]
    public void PrefillWithVisualRowsThenTenSteps_MatchesOnnxRuntime()
    {
        // Arrange
        var input = Input(fixture.Prompts[0], fixture.Rows[0]);
        using var state = Decoder.CreateState();
        using var reference = Reference.CreateState();

        // Act + Assert
        AssertLogits(Forward(Reference, reference, input), Forward(Decoder, state, input), "prefill");
        foreach (var id in s_ownChoice)
        {
            AssertLogits(Forward(Reference, reference, DecoderInput.Token(id)), Forward(Decoder, state, DecoderInput.Token(id)), $"after {id}");
        }

        Assert.Equal(fixture.Prompts[0].Length + s_ownChoice.Length, state.Length);
    }

    [Fact]
    public void Truncate_ThenContinuing_MatchesAFreshPrefillOfThePrefix()
    {
        // Arrange: an image prompt and five tokens.
        var prompt = fixture.Prompts[1];
        var rows = fixture.Rows[1];
        int[] all = [.. prompt, .. s_ownChoice[..5]];
        using var state = Decoder.CreateState();
        Forward(Decoder, state, Input(prompt, rows));
        foreach (var id in s_ownChoice[..5])
        {
            Forward(Decoder, state, DecoderInput.Token(id));
        }

        // Act: rewind into the prompt's text after the image, then continue with different tokens.
        var cut = prompt.Length - 4;
        state.Truncate(cut);
        var afterCut = Forward(Decoder, state, new DecoderInput(new[] { 370, 606 }));
        var next = Forward(Decoder, state, DecoderInput.Token(2));

        // Assert
        Assert.Equal(cut + 3, state.Length);
        AssertLogits(Prefill(Reference, Input([.. all[..cut], 370, 606], rows)), afterCut, $"truncated to {cut}, then two tokens");
        AssertLogits(Prefill(Reference, Input([.. all[..cut], 370, 606, 2], rows)), next, "one more step");

        // Act: rewind to before the image (its rows are dropped), then continue with text.
        var beforeImage = Array.IndexOf(prompt, ImagePlaceholder) - 2;
        state.Truncate(beforeImage);
        var text = Forward(Decoder, state, new DecoderInput(new[] { 361, 606 }));

        // Assert
        AssertLogits(Prefill(Reference, new DecoderInput((int[])[.. prompt[..beforeImage], 361, 606])), text, "truncated before the image");
    }

    [Fact]
    public void Truncate_ThroughTheVisualRows_ThrowsAndKeepsTheState()
    {
        // Arrange
        var prompt = fixture.Prompts[2];
        using var state = Decoder.CreateState();
        Forward(Decoder, state, Input(prompt, fixture.Rows[2]));
        var insideImage = Array.IndexOf(prompt, ImagePlaceholder) + 10;

        // Act + Assert
        Assert.Throws<ArgumentException>("length", () => state.Truncate(insideImage));
        Assert.Throws<ArgumentOutOfRangeException>("length", () => state.Truncate(prompt.Length + 1));
        Assert.Equal(prompt.Length, state.Length);
        AssertLogits(Prefill(Reference, Input([.. prompt, 361], fixture.Rows[2])), Forward(Decoder, state, DecoderInput.Token(361)), "after the refused truncation");
    }

    [Fact]
    public void Fork_ThenExtendingBothIndependently_EachMatchesItsOwnSequence()
    {
        // Arrange
        var prompt = fixture.Prompts[3];
        var rows = fixture.Rows[3];
        using var original = Decoder.CreateState();
        Forward(Decoder, original, Input(prompt, rows));
        Forward(Decoder, original, DecoderInput.Token(302));

        // Act: the fork takes two tokens, then the original one different token, then the fork one more.
        using var fork = original.Fork();
        Assert.Equal(original.Length, fork.Length);
        Forward(Decoder, fork, DecoderInput.Token(277));
        var forkLogits = Forward(Decoder, fork, DecoderInput.Token(362));
        var originalLogits = Forward(Decoder, original, DecoderInput.Token(370));
        var forkAgain = Forward(Decoder, fork, DecoderInput.Token(278));

        // Assert
        Assert.Equal(prompt.Length + 2, original.Length);
        Assert.Equal(prompt.Length + 4, fork.Length);
        AssertLogits(Prefill(Reference, Input([.. prompt, 302, 277, 362], rows)), forkLogits, "fork");
        AssertLogits(Prefill(Reference, Input([.. prompt, 302, 370], rows)), originalLogits, "original after the fork was extended");
        AssertLogits(Prefill(Reference, Input([.. prompt, 302, 277, 362, 278], rows)), forkAgain, "fork after the original was extended");
    }

    [Fact]
    public void LaterForwardWithNewVisualRows_MatchesAFreshPrefillOfTheWholeSequence()
    {
        // Arrange: turn 1 is an image prompt and a short reply.
        var first = fixture.Prompts[0];
        var second = fixture.Prompts[4][1..]; // the next turn's text and its image, without a second BOS
        using var state = Decoder.CreateState();
        Forward(Decoder, state, Input(first, fixture.Rows[0]));
        Forward(Decoder, state, DecoderInput.Token(361));
        Forward(Decoder, state, DecoderInput.Token(606));
        int[] history = [.. first, 361, 606];

        // Act: turn 2 brings a second image.
        var turn2 = Forward(Decoder, state, Input(second, fixture.Rows[4]));
        var step = Forward(Decoder, state, DecoderInput.Token(370));

        // Assert: the same as prefilling both turns, both images, at once.
        int[] whole = [.. history, .. second];
        Assert.Equal(whole.Length + 1, state.Length);
        AssertLogits(Prefill(Reference, Input(whole, fixture.Rows[0], fixture.Rows[4])), turn2, "turn 2 with a new image");
        AssertLogits(Prefill(Reference, Input([.. whole, 370], fixture.Rows[0], fixture.Rows[4])), step, "a step after turn 2");
    }

    [Fact]
    public void Forward_PastTheContextLength_ThrowsAndLeavesTheStateUsable()
    {
        // Arrange
        var context = Decoder.Metadata.ContextLength;
        var filler = Enumerable.Range(0, context - 10).Select(i => 300 + (i % 300)).ToArray();
        using var state = Decoder.CreateState();
        var logits = new float[Decoder.Metadata.VocabularySize];

        // Act + Assert
        var whole = Assert.Throws<ContextLengthExceededException>(() => Decoder.Forward(state, new DecoderInput(new int[context + 1]), logits));
        Assert.Equal(context + 1, whole.TokenCount);
        Assert.Equal(context, whole.MaxTokens);
        Decoder.Forward(state, new DecoderInput(filler), logits);
        var step = Assert.Throws<ContextLengthExceededException>(() => Decoder.Forward(state, new DecoderInput(new int[11]), logits));
        Assert.Equal(context + 1, step.TokenCount);
        Assert.Equal(context - 10, state.Length);

        // The cache can be filled exactly to the context length, and matches ONNX Runtime there.
        int[] tail = [.. Enumerable.Range(0, 10).Select(i => 400 + i)];
        Decoder.Forward(state, new DecoderInput(tail), logits);
        Assert.Equal(context, state.Length);
        AssertLogits(Prefill(Reference, new DecoderInput((int[])[.. filler, .. tail])), logits, "at the full context");
    }

    [Fact]
    public void Forward_BadArguments_Throw()
    {
        // Arrange
        var vocab = Decoder.Metadata.VocabularySize;
        using var state = Decoder.CreateState();
        using var foreign = Reference.CreateState();
        var logits = new float[vocab];

        // Act + Assert
        Assert.Throws<ArgumentException>("state", () => Decoder.Forward(foreign, DecoderInput.Token(1), logits));
        Assert.Throws<ArgumentException>("input", () => Decoder.Forward(state, new DecoderInput(new[] { 1, vocab }), logits));
        Assert.Throws<ArgumentException>("input", () => Decoder.Forward(state, new DecoderInput(fixture.Prompts[0]), logits));
        Assert.Throws<ArgumentException>("logits", () => Decoder.Forward(state, DecoderInput.Token(1), new float[vocab - 1]));
        Assert.Equal(0, state.Length);
    }

    [Fact]
    public void DisposedState_ThrowsObjectDisposedException()
    {
        // Arrange
        var state = Decoder.CreateState();
        Forward(Decoder, state, new DecoderInput(new[] { 1, 365, 443 }));

        // Act
        state.Dispose();
        state.Dispose();

        // Assert
        Assert.Throws<ObjectDisposedException>(() => Decoder.Forward(state, DecoderInput.Token(5), new float[Decoder.Metadata.VocabularySize]));
        Assert.Throws<ObjectDisposedException>(() => state.Truncate(1));
        Assert.Throws<ObjectDisposedException>(() => state.Fork());
    }

    [Fact]
    public async Task ConcurrentForwardOnTwoStates_GivesTheRightLogits()
    {
        // Arrange: two image prompts and their own-choice steps, run at the same time from two threads.
        List<float[]> Run(int prompt)
        {
            using var state = Decoder.CreateState();
            var results = new List<float[]> { Forward(Decoder, state, Input(fixture.Prompts[prompt], fixture.Rows[prompt])) };
            foreach (var id in s_ownChoice)
            {
                results.Add(Forward(Decoder, state, DecoderInput.Token(id)));
            }

            return results;
        }

        List<float[]> RunReference(int prompt)
        {
            using var state = Reference.CreateState();
            var results = new List<float[]> { Forward(Reference, state, Input(fixture.Prompts[prompt], fixture.Rows[prompt])) };
            results.AddRange(s_ownChoice.Select(id => Forward(Reference, state, DecoderInput.Token(id))));
            return results;
        }

        using var start = new Barrier(2);

        // Act
        var concurrent = await Task.WhenAll(
            Task.Factory.StartNew(() => { start.SignalAndWait(); return Run(4); }, TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => { start.SignalAndWait(); return Run(5); }, TaskCreationOptions.LongRunning));

        // Assert
        int[] prompts = [4, 5];
        for (var p = 0; p < 2; p++)
        {
            var expected = RunReference(prompts[p]);
            for (var s = 0; s < expected.Count; s++)
            {
                AssertLogits(expected[s], concurrent[p][s], $"prompt {prompts[p]}, pass {s}");
            }
        }
    }

    [Fact]
    public void Metadata_MatchesTheOnnxRuntimeDecoder()
    {
        var metadata = Decoder.Metadata;

        Assert.Equal("onnxruntime-genai:cpu", metadata.ProviderName);
        Assert.Equal(Reference.Metadata.VocabularySize, metadata.VocabularySize);
        Assert.Equal(Reference.Metadata.HiddenSize, metadata.HiddenSize);
        Assert.Equal(Reference.Metadata.ContextLength, metadata.ContextLength);
        Assert.IsType<GenAiModel>(Decoder.GetService(typeof(GenAiModel)));
    }

    private static void AssertLogits(float[] expected, float[] actual, string what) =>
        GenAiTestEnvironment.AssertLogits(expected, actual, what, Tolerance);
}
