// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>The reusable Viterbi encoder, with SentencePiece semantics and with Hugging Face <c>Unigram</c> semantics.</summary>
public sealed class SentencePieceUnigramEncoderTests
{
    [Theory]
    [InlineData("Hello world", "\u2581Hello\u2581world")]
    [InlineData("the quick brown fox", "\u2581the\u2581quick\u2581brown\u2581fox")]
    [InlineData("a\U0001F980\U0001F980b", "\u2581a\U0001F980\U0001F980b")]
    [InlineData("<image>x", "\u2581<image>x")]
    public void SentencePieceSemantics_MatchTheProcessorOnNormalizedText(string text, string normalized)
    {
        // Arrange
        var sp = SentencePieceTestModels.Unigram;
        var pieces = Enumerable.Range(0, sp.PieceCount).Select(id => (sp.IdToPiece(id), sp.GetScore(id), sp.GetPieceType(id))).ToArray();
        var encoder = new UnigramEncoder(pieces, sp.UnknownId, byteFallback: false);
        var expected = new List<int>();
        var actual = new List<int>();

        // Act
        sp.Encode(text, expected);
        encoder.Encode(normalized, actual);

        // Assert
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void SentencePieceSemantics_ReservedPiecesAreNotMatchedInText()
    {
        var encoder = new UnigramEncoder(
            [("<unk>", 0f, SentencePiecePieceType.Unknown), ("<s>", 0f, SentencePiecePieceType.Control), ("<", -1f, SentencePiecePieceType.Normal), ("s", -1f, SentencePiecePieceType.Normal), (">", -1f, SentencePiecePieceType.Normal)],
            unkId: 0,
            byteFallback: false);
        var ids = new List<int>();

        encoder.Encode("<s><unk>", ids);

        // "<unk>" spells u, n, k: three unknown characters, one unknown id.
        Assert.Equal([2, 3, 4, 2, 0, 4], ids);
        Assert.Equal(-1f, encoder.MinScore);
    }

    [Fact]
    public void HuggingFaceSemantics_FuseUnk()
    {
        (string, double)[] vocab = [("<unk>", 0), ("a", -1), ("b", -2), ("ab", -1.5)];
        var fused = new UnigramEncoder(vocab, unkId: 0, byteFallback: false, fuseUnk: true);
        var separate = new UnigramEncoder(vocab, unkId: 0, byteFallback: false, fuseUnk: false);
        var ids = new List<int>();

        fused.Encode("xyab", ids);
        Assert.Equal([0, 3], ids);

        ids.Clear();
        separate.Encode("xyab", ids);
        Assert.Equal([0, 0, 3], ids);

        // Every vocabulary entry is matchable in Hugging Face's trie, the unknown token included.
        ids.Clear();
        fused.Encode("<unk>a", ids);
        Assert.Equal([0, 1], ids);
    }

    [Fact]
    public void HuggingFaceSemantics_ByteFallback()
    {
        var vocab = new List<(string, double)> { ("<unk>", 0), ("a", -1) };
        vocab.AddRange(Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", -10.0)));
        var encoder = new UnigramEncoder(vocab, unkId: 0, byteFallback: true, fuseUnk: true);
        var ids = new List<int>();

        encoder.Encode("a\u00e9x", ids);

        // é and x are unknown, fused into one token, then spelled as the bytes C3 A9 78.
        Assert.Equal([1, 2 + 0xC3, 2 + 0xA9, 2 + 0x78], ids);
    }

    [Fact]
    public void HuggingFaceSemantics_WithoutUnknownToken_ThrowsOnUnknownCharacter()
    {
        var encoder = new UnigramEncoder([("a", -1.0)], unkId: null, byteFallback: false, fuseUnk: true);
        var ids = new List<int>();

        encoder.Encode("aa", ids);
        Assert.Equal([0, 0], ids);
        Assert.Throws<InvalidOperationException>(() => encoder.Encode("ab", ids));
    }

    [Fact]
    public void Constructor_ChecksTheUnknownId()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnigramEncoder([("a", -1f, SentencePiecePieceType.Normal)], unkId: 1, byteFallback: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnigramEncoder([("a", -1.0)], unkId: 3, byteFallback: false, fuseUnk: true));
    }
}
