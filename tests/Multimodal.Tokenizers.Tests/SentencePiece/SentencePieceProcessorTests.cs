// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>Lookups, unknown characters, byte fallback and decoding details; expected values come from sentencepiece 0.1.97.</summary>
public sealed class SentencePieceProcessorTests
{
    [Fact]
    public void SpecialIds_MatchTheTrainerSpec()
    {
        var bpe = SentencePieceTestModels.Bpe;
        Assert.Equal((0, 1, 2, -1), (bpe.UnknownId, bpe.BosId, bpe.EosId, bpe.PadId));

        var unigram = SentencePieceTestModels.Unigram;
        Assert.Equal((0, 1, 2, -1), (unigram.UnknownId, unigram.BosId, unigram.EosId, unigram.PadId));
    }

    [Fact]
    public void IdToPiece_AndPieceToId_RoundTrip()
    {
        var sp = SentencePieceTestModels.Bpe;

        Assert.Equal("<unk>", sp.IdToPiece(0));
        Assert.Equal("<s>", sp.IdToPiece(1));
        Assert.Equal("</s>", sp.IdToPiece(2));
        Assert.Equal("<image>", sp.IdToPiece(3));
        Assert.Equal("<|im_end|>", sp.IdToPiece(5));
        Assert.Equal(71, sp.PieceToId("<0x41>"));
        Assert.Equal(246, sp.PieceToId("<0xF0>"));
        Assert.Equal(316, sp.PieceToId("\u2581the"));
        Assert.Equal(3, SentencePieceTestModels.Unigram.PieceToId("<image>"));
        Assert.Null(sp.PieceToId("definitely not a piece"));
        Assert.Null(sp.PieceToId(string.Empty));
        for (var id = 0; id < sp.PieceCount; id++)
        {
            Assert.Equal(id, sp.PieceToId(sp.IdToPiece(id)));
        }
    }

    [Fact]
    public void GetPieceType_ReportsEveryKind()
    {
        var sp = SentencePieceTestModels.Bpe;

        Assert.Equal(SentencePiecePieceType.Unknown, sp.GetPieceType(0));
        Assert.Equal(SentencePiecePieceType.Control, sp.GetPieceType(1));
        Assert.Equal(SentencePiecePieceType.Control, sp.GetPieceType(2));
        Assert.Equal(SentencePiecePieceType.UserDefined, sp.GetPieceType(3));
        Assert.Equal(SentencePiecePieceType.Byte, sp.GetPieceType(71));
        Assert.Equal(SentencePiecePieceType.Normal, sp.GetPieceType(316));
        Assert.Equal(256, Enumerable.Range(0, sp.PieceCount).Count(id => sp.GetPieceType(id) == SentencePiecePieceType.Byte));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2000)]
    [InlineData(int.MaxValue)]
    public void IdLookups_OutOfRange_Throw(int id)
    {
        var sp = SentencePieceTestModels.Bpe;

        Assert.Equal("id", Assert.Throws<ArgumentOutOfRangeException>(() => sp.IdToPiece(id)).ParamName);
        Assert.Equal("id", Assert.Throws<ArgumentOutOfRangeException>(() => sp.GetPieceType(id)).ParamName);
        Assert.Equal("ids", Assert.Throws<ArgumentOutOfRangeException>(() => sp.Decode([5, id])).ParamName);
    }

    [Theory]
    [InlineData("a\U0001F980\U0001F980b", new[] { 426, 0, 1197 }, "a \u2047 b")]
    [InlineData("\U0001F980", new[] { 4, 0 }, " \u2047 ")]
    [InlineData("\uFF71\u2460", new[] { 4, 0, 8 }, " \u2047 1")]
    public void Encode_UnknownCharacters_GiveOneUnknownPerRun(string text, int[] expected, string decoded)
    {
        // Arrange: the Unigram model has no byte fallback; ｱ normalizes (NFKC) to ア, which is not in the vocabulary.
        var sp = SentencePieceTestModels.Unigram;
        var ids = new List<int>();

        // Act
        sp.Encode(text, ids);

        // Assert
        Assert.Equal(expected, ids);
        Assert.Equal(decoded, sp.Decode(ids.ToArray()));
    }

    [Theory]
    [InlineData("\U0001F980", new[] { 1679, 246, 165, 172, 134 })]
    [InlineData("a\U0001F980\U0001F980b", new[] { 270, 246, 165, 172, 134, 246, 165, 172, 134, 1697 })]
    [InlineData("\uFF71\u2460", new[] { 1679, 245, 195, 183, 232, 151, 166 })]
    public void Encode_ByteFallback_SpellsUnknownCharactersInUtf8Bytes(string text, int[] expected)
    {
        var sp = SentencePieceTestModels.Bpe;
        var ids = new List<int>();

        sp.Encode(text, ids);

        Assert.Equal(expected, ids);
        Assert.Equal(text, sp.Decode(ids.ToArray()));
    }

    [Fact]
    public void Encode_UserDefinedSymbols_AreAtomic()
    {
        var ids = new List<int>();

        SentencePieceTestModels.Bpe.Encode("<image>x", ids);
        Assert.Equal([1679, 3, 1710], ids);

        ids.Clear();
        SentencePieceTestModels.Unigram.Encode("<image>x", ids);
        Assert.Equal([4, 3, 277], ids);
    }

    [Fact]
    public void Encode_Whitespace_FollowsEachModelsNormalizer()
    {
        var ids = new List<int>();

        // BPE: remove_extra_whitespaces is off, so every space is kept.
        SentencePieceTestModels.Bpe.Encode("  two  spaces  ", ids);
        Assert.Equal([443, 998, 1679, 269, 1695, 1685, 1690, 265, 443], ids);
        Assert.Equal("  two  spaces  ", SentencePieceTestModels.Bpe.Decode(ids.ToArray()));

        // Unigram: leading, trailing and repeated spaces go.
        ids.Clear();
        SentencePieceTestModels.Unigram.Encode("  two  spaces  ", ids);
        Assert.Equal([268, 4, 1279, 12], ids);
        Assert.Equal("two spaces", SentencePieceTestModels.Unigram.Decode(ids.ToArray()));
    }

    [Fact]
    public void Encode_EmptyOrWhitespaceOnly_GivesNothing()
    {
        var ids = new List<int> { 42 };

        SentencePieceTestModels.Unigram.Encode(string.Empty, ids);
        SentencePieceTestModels.Unigram.Encode("   \t ", ids);
        SentencePieceTestModels.Bpe.Encode(string.Empty, ids);

        Assert.Equal([42], ids);
    }

    [Fact]
    public void Decode_InvalidByteSequences_BecomeReplacementCharacters()
    {
        var sp = SentencePieceTestModels.Bpe;

        // <0xF0><0x41>: a lead byte without its continuation, then 'A'. <0xE2><0x82>: a truncated sequence.
        Assert.Equal("\uFFFDA", sp.Decode([246, 71]));
        Assert.Equal("\uFFFD\uFFFD", sp.Decode([sp.PieceToId("<0xE2>")!.Value, sp.PieceToId("<0x82>")!.Value]));
    }

    [Fact]
    public void Decode_ControlAndUnknownPieces()
    {
        Assert.Equal(" \u2047  \u2047 ", SentencePieceTestModels.Bpe.Decode([1, 2, 0, 0]));
        Assert.Equal(" \u2047 ", SentencePieceTestModels.Bpe.Decode([0]));
        Assert.Equal(string.Empty, SentencePieceTestModels.Bpe.Decode([]));
        Assert.Equal(string.Empty, SentencePieceTestModels.Bpe.Decode([1, 2]));
    }

    [Fact]
    public void Encode_AppendsToTheList()
    {
        var sp = SentencePieceTestModels.Unigram;
        var ids = new List<int>();

        sp.Encode("Hello world", ids);
        sp.Encode("Hello world", ids);

        Assert.Equal([411, 109, 411, 109], ids);
    }

    [Fact]
    public void Encode_IsThreadSafe()
    {
        foreach (var sp in new[] { SentencePieceTestModels.Bpe, SentencePieceTestModels.Unigram })
        {
            var expected = TestData.Corpus.Select(text =>
            {
                var ids = new List<int>();
                sp.Encode(text, ids);
                return ids.ToArray();
            }).ToArray();

            var actual = new int[TestData.Corpus.Count][];
            Parallel.For(0, TestData.Corpus.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var ids = new List<int>();
                sp.Encode(TestData.Corpus[i], ids);
                actual[i] = [.. ids];
            });

            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Arguments_AreChecked()
    {
        var sp = SentencePieceTestModels.Bpe;

        Assert.Throws<ArgumentNullException>(() => sp.Encode((string)null!, []));
        Assert.Throws<ArgumentNullException>(() => sp.Encode("x", null!));
        Assert.Throws<ArgumentNullException>(() => sp.PieceToId((string)null!));
        Assert.Throws<ArgumentException>(() => SentencePieceProcessor.Load(string.Empty));
    }
}
