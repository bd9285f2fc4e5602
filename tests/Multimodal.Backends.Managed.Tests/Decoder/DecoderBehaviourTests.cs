// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Families;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>KV cache semantics of the managed decoder on the tiny checkpoints: cached decoding equals recomputation,
/// chunked prefill equals one prefill, Fork and Truncate rewind exactly, and bad requests fail clearly.</summary>
public sealed class DecoderBehaviourTests
{
    public static TheoryData<string> Families => new() { "llava-1.5", "longva", "llava-mpt", "auroracap" };

    [Theory]
    [MemberData(nameof(Families))]
    public void CachedSteps_EqualFullRecomputation(string family)
    {
        using var model = ManagedModel.Load(Goldens.For(family).ModelFolder);
        var decoder = model.Family.Decoder;
        var vocab = decoder.Config.VocabularySize;
        var ids = Enumerable.Range(0, 40).Select(i => ((i * 37) + 11) % vocab).ToArray();

        // One step at a time over the cache...
        using var state = decoder.CreateState();
        var stepLogits = new float[vocab];
        var cached = new List<float[]>();
        foreach (var id in ids)
        {
            decoder.Forward(state, DecoderInput.Token(id), stepLogits);
            cached.Add((float[])stepLogits.Clone());
        }

        // ...equals every position of one full pass.
        using var fresh = decoder.CreateState();
        var all = decoder.ForwardAll(fresh, new DecoderInput(ids));
        for (var p = 0; p < ids.Length; p++)
        {
            Goldens.AssertClose(all.AsSpan(p * vocab, vocab), cached[p], 2e-5f, $"{family} position {p}");
        }

        Assert.Equal(ids.Length, state.Length);
    }

    [Fact]
    public void ChunkedPrefill_ForkAndTruncate_GiveIdenticalLogits()
    {
        using var model = ManagedModel.Load(Goldens.For("longva").ModelFolder);
        var decoder = model.Family.Decoder;
        var vocab = decoder.Config.VocabularySize;
        var ids = Enumerable.Range(0, 70).Select(i => ((i * 53) + 7) % vocab).ToArray();

        using var whole = decoder.CreateState();
        var expected = new float[vocab];
        decoder.Forward(whole, new DecoderInput(ids), expected);

        using var chunked = decoder.CreateState();
        var actual = new float[vocab];
        foreach (var chunk in ids.Chunk(17))
        {
            decoder.Forward(chunked, new DecoderInput(chunk), actual);
        }

        Goldens.AssertClose(expected, actual, 2e-5f, "chunked prefill");

        // Fork, extend the fork, and the original is untouched; truncate and re-feed reproduces the logits.
        using var fork = chunked.Fork();
        decoder.Forward(fork, DecoderInput.Token(5), actual);
        Assert.Equal(ids.Length + 1, fork.Length);
        Assert.Equal(ids.Length, chunked.Length);
        chunked.Truncate(ids.Length - 1);
        decoder.Forward(chunked, DecoderInput.Token(ids[^1]), actual);
        Goldens.AssertClose(expected, actual, 2e-5f, "truncate and re-feed");
    }

    [Fact]
    public void BadRequests_FailWithClearErrors()
    {
        using var model = ManagedModel.Load(Goldens.For("llava-1.5").ModelFolder, new ManagedModelOptions { ContextLength = 32 });
        var decoder = model.LanguageDecoder;
        Assert.Equal(32, decoder.Metadata.ContextLength);
        var logits = new float[decoder.Metadata.VocabularySize];
        using var state = decoder.CreateState();

        var tooLong = Assert.Throws<ContextLengthExceededException>(() => decoder.Forward(state, new DecoderInput(new int[33]), logits));
        Assert.Equal(33, tooLong.TokenCount);
        Assert.Equal(0, state.Length);

        var badId = Assert.Throws<ArgumentException>(() => decoder.Forward(state, new DecoderInput(new[] { 1, 5000 }), logits));
        Assert.Contains("Token id 5000 at position 1", badId.Message, StringComparison.Ordinal);

        var wrongWidth = new DenseTensor<float>(2, 7);
        var visual = Assert.Throws<ArgumentException>(() => decoder.Forward(state, new DecoderInput(new[] { 1, -200, -200 }, [new PlacedEmbeddings(1, wrongWidth)]), logits));
        Assert.Contains("[rows, 64]", visual.Message, StringComparison.Ordinal);

        using var other = ManagedModel.Load(Goldens.For("llava-1.5").ModelFolder);
        using var foreign = other.LanguageDecoder.CreateState();
        Assert.Throws<ArgumentException>(() => decoder.Forward(foreign, DecoderInput.Token(1), logits));
        Assert.Throws<ArgumentException>(() => decoder.Forward(state, DecoderInput.Token(1), new float[3]));
    }

    [Fact]
    public void MptAlibiSlopes_FollowTheReference()
    {
        // 8 heads: 2^-1 .. 2^-8; 6 heads: interleaved from the next power of two (8).
        Assert.Equal([0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.015625f, 0.0078125f, 0.00390625f], TransformerDecoder.AlibiSlopes(8, 8));
        Assert.Equal([0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f], TransformerDecoder.AlibiSlopes(6, 8));
        var slopes32 = TransformerDecoder.AlibiSlopes(32, 8);
        Assert.Equal(MathF.Pow(2, -0.25f), slopes32[0], 6);
    }
}
