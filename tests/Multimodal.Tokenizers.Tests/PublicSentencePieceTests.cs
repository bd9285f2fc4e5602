// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json.Serialization;

namespace Multimodal.Tokenizers;

/// <summary>The public <see cref="Tokenizer"/> over SentencePiece .model files: BOS handling and added tokens from tokenizer_config.json.</summary>
public sealed class PublicSentencePieceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-sp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Model(string name) => Path.Combine(TestData.Folder, "sentencepiece", name + ".model");

    private static IReadOnlyList<Golden> Goldens(string name) => TestData.ReadJsonLines<Golden>(Path.Combine(TestData.Folder, "sentencepiece", name + ".goldens.jsonl"));

    [Theory]
    [InlineData("bpe")]
    [InlineData("unigram")]
    public void Encode_WithoutSpecialTokens_IsSentencePiece_AndWithThemPrependsBos(string name)
    {
        var tokenizer = Tokenizer.Load(Model(name));
        var goldens = Goldens(name);
        var bos = tokenizer.SpecialTokens.BosTokenId!.Value;
        for (var i = 0; i < goldens.Count; i++)
        {
            Assert.Equal(goldens[i].Ids, tokenizer.Encode(TestData.Corpus[i], addSpecialTokens: false));
            Assert.Equal([bos, .. goldens[i].Ids], tokenizer.Encode(TestData.Corpus[i]));
            Assert.Equal(goldens[i].Decoded, tokenizer.Decode([bos, .. goldens[i].Ids], skipSpecialTokens: true));
        }

        Assert.StartsWith("SentencePiece", tokenizer.ModelType, StringComparison.Ordinal);
        Assert.Equal("<s>", tokenizer.BosToken);
        Assert.Equal("</s>", tokenizer.EosToken);
    }

    [Fact]
    public void WithoutSkipping_ControlTokensAreWrittenOut()
    {
        var tokenizer = Tokenizer.Load(Model("bpe"));
        int[] ids = [.. tokenizer.Encode("Hello world"), tokenizer.SpecialTokens.EosTokenIds[0]];
        Assert.Equal("<s>Hello world</s>", tokenizer.Decode(ids));
        Assert.Equal("Hello world", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void AConfigBesideTheModel_AddsTokensAndControlsBosAndEos()
    {
        // As MiniCPM-V 2 and Aria ship them: tokenizer.model plus tokenizer_config.json with added_tokens_decoder.
        File.Copy(Model("bpe"), Path.Combine(_dir, "tokenizer.model"));
        var plain = Tokenizer.Load(Path.Combine(_dir, "tokenizer.model"));
        var extraId = plain.VocabularySize;
        var config = """{"add_bos_token": false, "add_eos_token": true, "chat_template": "t", "added_tokens_decoder": {"ID": {"content": "<slice>", "special": true}}}""";
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), config.Replace("ID", extraId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        var tokenizer = Tokenizer.Load(_dir);

        // "<slice>" is split out first; the text on each side is encoded by SentencePiece on its own.
        var ids = tokenizer.Encode("abc<slice>def");
        int[] expected = [.. plain.Encode("abc", addSpecialTokens: false), extraId, .. plain.Encode("def", addSpecialTokens: false), tokenizer.SpecialTokens.EosTokenIds[0]];
        Assert.Equal(expected, ids);
        Assert.Equal(extraId + 1, tokenizer.VocabularySize);
        Assert.Equal(extraId, tokenizer.TokenToId("<slice>"));
        Assert.Equal("t", tokenizer.ChatTemplate);
        Assert.Equal("abcdef", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("abc<slice>def</s>", tokenizer.Decode(ids));
    }

    [Fact]
    public void AFileThatIsNotAModel_NamesTheFile()
    {
        var path = Path.Combine(_dir, "tokenizer.model");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(path));
        Assert.Contains("tokenizer.model", ex.Message, StringComparison.Ordinal);
    }

    internal sealed record Golden([property: JsonPropertyName("ids")] int[] Ids, [property: JsonPropertyName("decoded")] string Decoded);
}
