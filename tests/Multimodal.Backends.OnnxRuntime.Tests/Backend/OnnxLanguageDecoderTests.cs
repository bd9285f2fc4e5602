// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntime.LlavaTinyFixture;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>The <see cref="ILanguageDecoder"/> contract on the ONNX Runtime decoder of models/llava-tiny, with held-out
/// image prompts (64 visual rows from the managed encoder).</summary>
public sealed class OnnxLanguageDecoderTests(LlavaTinyFixture fixture) : IClassFixture<LlavaTinyFixture>
{
    /// <summary>Same graph, different sequence lengths: only the GEMM blocking changes.</summary>
    private const float SelfTolerance = 1e-5f;

    /// <summary>ONNX Runtime against the managed engine (the parity tests' bound).</summary>
    private const float ManagedTolerance = 1e-4f;

    private ILanguageDecoder Decoder => fixture.OnnxDecoder;

    [Fact]
    public void PrefillThenSteps_MatchesOnePrefillOfTheWholeSequence()
    {
        // Arrange: prefill an image prompt, then pick 6 greedy tokens one step at a time.
        var prompt = fixture.Prompts[1];
        var rows = fixture.ManagedRows[1];
        using var state = Decoder.CreateState();
        var logits = Forward(Decoder, state, Input(prompt, rows));
        var ids = prompt.ToList();

        for (var step = 0; step < 6; step++)
        {
            // Act
            var next = Argmax(logits);
            ids.Add(next);
            logits = Forward(Decoder, state, DecoderInput.Token(next));

            // Assert: the cached run equals a fresh prefill of everything so far.
            Assert.Equal(ids.Count, state.Length);
            AssertClose(Prefill(Decoder, Input([.. ids], rows)), logits, SelfTolerance, $"step {step}");
        }
    }

    [Fact]
    public void PrefillInChunks_MatchesOnePrefill()
    {
        // Arrange: the image prompt split after the visual rows, and a text-only prompt fed as three chunks.
        var prompt = fixture.Prompts[0];
        var rows = fixture.ManagedRows[0];
        var split = Array.IndexOf(prompt, ImagePlaceholder) + rows.Dimension(0) + 2;
        using var state = Decoder.CreateState();

        // Act
        Forward(Decoder, state, Input(prompt[..split], rows));
        var logits = Forward(Decoder, state, new DecoderInput(prompt[split..]));

        // Assert
        AssertClose(Prefill(Decoder, Input(prompt, rows)), logits, SelfTolerance, "two chunks");
    }

    [Fact]
    public void Truncate_ThenRefeeding_MatchesAFreshState()
    {
        // Arrange: prompt plus 4 tokens; then rewind to just after the visual rows, and to the very start.
        var prompt = fixture.Prompts[2];
        var rows = fixture.ManagedRows[2];
        int[] continuation = [361, 606, 302, 277];
        int[] all = [.. prompt, .. continuation];
        var cut = Array.IndexOf(prompt, ImagePlaceholder) + rows.Dimension(0) + 3;
        using var state = Decoder.CreateState();
        Forward(Decoder, state, Input(prompt, rows));
        foreach (var id in continuation)
        {
            Forward(Decoder, state, DecoderInput.Token(id));
        }

        var expected = Prefill(Decoder, Input(all, rows));

        // Act: rewind into the prompt, then feed the rest again.
        state.Truncate(cut);
        Assert.Equal(cut, state.Length);
        var refed = Forward(Decoder, state, new DecoderInput(all[cut..]));

        // Assert
        AssertClose(expected, refed, SelfTolerance, $"truncated to {cut} and re-fed");

        // Act: rewind to nothing and feed everything.
        state.Truncate(0);
        Assert.Equal(0, state.Length);
        var fromEmpty = Forward(Decoder, state, Input(all, rows));

        // Assert
        AssertClose(expected, fromEmpty, SelfTolerance, "truncated to 0 and re-fed");
        Assert.Throws<ArgumentOutOfRangeException>("length", () => state.Truncate(state.Length + 1));
        Assert.Throws<ArgumentOutOfRangeException>("length", () => state.Truncate(-1));
    }

    [Fact]
    public void Fork_GivesAnIndependentCopy()
    {
        // Arrange
        var prompt = fixture.Prompts[3];
        var rows = fixture.ManagedRows[3];
        using var original = Decoder.CreateState();
        Forward(Decoder, original, Input(prompt, rows));

        // Act: fork, extend the fork by two tokens, then extend the original by a different one.
        using var fork = original.Fork();
        Assert.Equal(original.Length, fork.Length);
        Forward(Decoder, fork, DecoderInput.Token(366));
        var forkLogits = Forward(Decoder, fork, DecoderInput.Token(606));
        var originalLogits = Forward(Decoder, original, DecoderInput.Token(370));

        // Assert: each equals a fresh prefill of its own sequence; the fork's steps left the original untouched.
        Assert.Equal(prompt.Length + 1, original.Length);
        Assert.Equal(prompt.Length + 2, fork.Length);
        AssertClose(Prefill(Decoder, Input([.. prompt, 370], rows)), originalLogits, SelfTolerance, "original after the fork was extended");
        AssertClose(Prefill(Decoder, Input([.. prompt, 366, 606], rows)), forkLogits, SelfTolerance, "fork");

        // Act + Assert: disposing the original leaves the fork usable.
        original.Dispose();
        var afterDispose = Forward(Decoder, fork, DecoderInput.Token(2));
        AssertClose(Prefill(Decoder, Input([.. prompt, 366, 606, 2], rows)), afterDispose, SelfTolerance, "fork after the original was disposed");
    }

    [Fact]
    public async Task Forward_StateOfAnotherDecoder_ThrowsArgumentException()
    {
        // Arrange: a state of the managed decoder, and one of a second ONNX Runtime decoder over the same files.
        using var managedState = fixture.ManagedDecoder.CreateState();
        using var other = CreateModel(CreateOnnxBackend(o => o.LoadVisionEncoder = false));
        await other.LoadAsync();
        using var otherState = other.Components.LanguageDecoder.CreateState();
        var logits = new float[Decoder.Metadata.VocabularySize];

        // Act + Assert
        Assert.Throws<ArgumentException>("state", () => Decoder.Forward(managedState, DecoderInput.Token(1), logits));
        Assert.Throws<ArgumentException>("state", () => Decoder.Forward(otherState, DecoderInput.Token(1), logits));
        Assert.Equal(0, otherState.Length);
    }

    [Fact]
    public void Forward_PastTheContextLength_ThrowsAndLeavesTheStateUsable()
    {
        // Arrange
        var context = Decoder.Metadata.ContextLength;
        var filler = Enumerable.Range(0, context - 10).Select(i => 300 + (i % 300)).ToArray();
        using var state = Decoder.CreateState();
        var logits = new float[Decoder.Metadata.VocabularySize];

        // Act + Assert: one input longer than the context.
        var whole = Assert.Throws<ContextLengthExceededException>(() => Decoder.Forward(state, new DecoderInput(new int[context + 1]), logits));
        Assert.Equal(context + 1, whole.TokenCount);
        Assert.Equal(context, whole.MaxTokens);
        Assert.Equal(0, state.Length);

        // Act + Assert: a step that would cross the end of a nearly full cache.
        Decoder.Forward(state, new DecoderInput(filler), logits);
        var step = Assert.Throws<ContextLengthExceededException>(() => Decoder.Forward(state, new DecoderInput(new int[11]), logits));
        Assert.Equal(context + 1, step.TokenCount);
        Assert.Equal(context - 10, state.Length);

        // Filling exactly to the context length is allowed.
        Decoder.Forward(state, new DecoderInput(new int[10]), logits);
        Assert.Equal(context, state.Length);
        Assert.Throws<ContextLengthExceededException>(() => Decoder.Forward(state, DecoderInput.Token(1), logits));
    }

    [Fact]
    public void Forward_IdOutsideTheVocabularyNotCoveredByVisualRows_ThrowsArgumentException()
    {
        // Arrange
        var vocab = Decoder.Metadata.VocabularySize;
        using var state = Decoder.CreateState();
        var logits = new float[vocab];

        // Act + Assert: the vocabulary size itself, and the image placeholder with no rows over it.
        var tooLarge = Assert.Throws<ArgumentException>("input", () => Decoder.Forward(state, new DecoderInput(new[] { 1, 5, vocab }), logits));
        Assert.Contains(vocab.ToString(System.Globalization.CultureInfo.InvariantCulture), tooLarge.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("input", () => Decoder.Forward(state, new DecoderInput(fixture.Prompts[0]), logits));
        Assert.Equal(0, state.Length);

        // The same placeholders covered by visual rows are fine.
        Decoder.Forward(state, Input(fixture.Prompts[0], fixture.ManagedRows[0]), logits);
        Assert.Equal(fixture.Prompts[0].Length, state.Length);
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
        var logits = new float[Decoder.Metadata.VocabularySize];
        Assert.Throws<ObjectDisposedException>(() => Decoder.Forward(state, DecoderInput.Token(5), logits));
        Assert.Throws<ObjectDisposedException>(() => state.Truncate(1));
        Assert.Throws<ObjectDisposedException>(() => state.Fork());
    }

    [Fact]
    public void Forward_Cancelled_ThrowsAndLeavesTheStateUnchanged()
    {
        // Arrange
        using var state = Decoder.CreateState();
        var logits = new float[Decoder.Metadata.VocabularySize];
        Decoder.Forward(state, new DecoderInput(new[] { 1, 365, 443 }), logits);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        // Act + Assert
        Assert.ThrowsAny<OperationCanceledException>(() => Decoder.Forward(state, DecoderInput.Token(453), logits, cancelled.Token));
        Assert.Equal(3, state.Length);
        var next = Forward(Decoder, state, DecoderInput.Token(453));
        AssertClose(Prefill(Decoder, new DecoderInput(new[] { 1, 365, 443, 453 })), next, SelfTolerance, "after the cancelled call");
    }

    [Fact]
    public async Task TwoStatesOnTwoThreads_GiveTheSameLogitsAsSequentially()
    {
        // Arrange: two different image prompts, each followed by 8 greedy steps.
        float[][] Run(int prompt)
        {
            using var state = Decoder.CreateState();
            var results = new List<float[]> { Forward(Decoder, state, Input(fixture.Prompts[prompt], fixture.ManagedRows[prompt])) };
            for (var i = 0; i < 8; i++)
            {
                results.Add(Forward(Decoder, state, DecoderInput.Token(Argmax(results[^1]))));
            }

            return [.. results];
        }

        var sequential = new[] { Run(4), Run(5) };

        // Act: both at once, started together.
        using var start = new Barrier(2);
        var concurrent = await Task.WhenAll(
            Task.Factory.StartNew(() => { start.SignalAndWait(); return Run(4); }, TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => { start.SignalAndWait(); return Run(5); }, TaskCreationOptions.LongRunning));

        // Assert: one intra-op thread per session, so the runs are bit-identical.
        for (var p = 0; p < 2; p++)
        {
            for (var s = 0; s < sequential[p].Length; s++)
            {
                Assert.Equal(sequential[p][s], concurrent[p][s]);
            }
        }
    }

    [Fact]
    public void PrefillAndTenGreedySteps_MatchTheManagedDecoder()
    {
        // Arrange: the same DecoderInput (64 rows from the managed vision encoder) to both decoders.
        var input = Input(fixture.Prompts[1], fixture.ManagedRows[1]);
        var managed = fixture.ManagedDecoder;
        using var managedState = managed.CreateState();
        using var onnxState = Decoder.CreateState();

        // Act + Assert
        var expected = Forward(managed, managedState, input);
        var actual = Forward(Decoder, onnxState, input);
        AssertClose(expected, actual, ManagedTolerance, "prefill");
        for (var step = 0; step < 10; step++)
        {
            var next = DecoderInput.Token(Argmax(expected));
            expected = Forward(managed, managedState, next);
            actual = Forward(Decoder, onnxState, next);
            AssertClose(expected, actual, ManagedTolerance, $"step {step}");
        }
    }

    [Fact]
    public void Metadata_NamesTheProviderAndMatchesTheManagedDecoder()
    {
        // Arrange
        var managed = fixture.ManagedDecoder.Metadata;

        // Act
        var metadata = Decoder.Metadata;

        // Assert
        Assert.Equal("onnxruntime:cpu", metadata.ProviderName);
        Assert.Equal(managed.VocabularySize, metadata.VocabularySize);
        Assert.Equal(managed.HiddenSize, metadata.HiddenSize);
        Assert.Equal(managed.ContextLength, metadata.ContextLength);
        Assert.Same(metadata, Decoder.GetService(typeof(LanguageDecoderMetadata)));
        Assert.Same(Decoder, Decoder.GetService(typeof(ILanguageDecoder)));
        Assert.Null(Decoder.GetService(typeof(LanguageDecoderMetadata), "key"));
    }
}
