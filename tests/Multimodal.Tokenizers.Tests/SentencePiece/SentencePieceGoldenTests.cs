// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.Json.Serialization;

namespace Multimodal.Tokenizers;

/// <summary>Every corpus line against the ids and decodes of the SentencePiece C++ library (0.1.97, eng/tokenizers/sentencepiece_models.py).</summary>
public sealed class SentencePieceGoldenTests
{
    [Theory]
    [InlineData("bpe")]
    [InlineData("unigram")]
    public void Encode_EveryCorpusLine_MatchesGoldenIds(string name)
    {
        // Arrange
        var sp = SentencePieceTestModels.Load(name);
        var goldens = ReadGoldens(name);
        var ids = new List<int>();
        var mismatches = 0;
        string? first = null;

        // Act
        for (var i = 0; i < TestData.Corpus.Count; i++)
        {
            ids.Clear();
            sp.Encode(TestData.Corpus[i], ids);
            if (!ids.SequenceEqual(goldens[i].Ids))
            {
                mismatches++;
                first ??= $"line {i} {Show(TestData.Corpus[i])}: expected [{string.Join(", ", goldens[i].Ids)}] " +
                          $"({Pieces(sp, goldens[i].Ids)}) but got [{string.Join(", ", ids)}] ({Pieces(sp, ids)})";
            }
        }

        // Assert
        Assert.True(mismatches == 0, $"{name}: {mismatches} of {TestData.Corpus.Count} lines differ; first: {first}");
    }

    [Theory]
    [InlineData("bpe")]
    [InlineData("unigram")]
    public void Decode_EveryGoldenIdList_MatchesGoldenText(string name)
    {
        // Arrange
        var sp = SentencePieceTestModels.Load(name);
        var goldens = ReadGoldens(name);
        var mismatches = 0;
        string? first = null;

        // Act
        for (var i = 0; i < goldens.Count; i++)
        {
            var decoded = sp.Decode(goldens[i].Ids);
            if (decoded != goldens[i].Decoded)
            {
                mismatches++;
                first ??= $"line {i} [{string.Join(", ", goldens[i].Ids)}]: expected {Show(goldens[i].Decoded)} but got {Show(decoded)}";
            }
        }

        // Assert
        Assert.True(mismatches == 0, $"{name}: {mismatches} of {goldens.Count} decodes differ; first: {first}");
    }

    [Fact]
    public void Goldens_CoverTheWholeCorpus()
    {
        Assert.Equal(2600, TestData.Corpus.Count);
        Assert.Equal(TestData.Corpus.Count, ReadGoldens("bpe").Count);
        Assert.Equal(TestData.Corpus.Count, ReadGoldens("unigram").Count);
    }

    private static IReadOnlyList<Golden> ReadGoldens(string name) =>
        TestData.ReadJsonLines<Golden>(Path.Combine(SentencePieceTestModels.Folder, name + ".goldens.jsonl"));

    private static string Pieces(SentencePieceProcessor sp, IEnumerable<int> ids) =>
        string.Join(" ", ids.Select(id => id >= 0 && id < sp.PieceCount ? sp.IdToPiece(id) : "?"));

    private static string Show(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var rune in text.EnumerateRunes())
        {
            builder.Append(rune.Value is < 0x20 or 0x7F ? $"\\u{rune.Value:X4}" : rune.ToString());
        }

        return builder.Append('"').ToString();
    }

    private sealed record Golden([property: JsonPropertyName("ids")] int[] Ids, [property: JsonPropertyName("decoded")] string Decoded);
}
