// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers.HuggingFace;

public sealed class LoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json, string name = "tokenizer.json")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    private const string MinimalBpe = """
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
        """;

    [Fact]
    public void AMinimalBpe_Loads_AndMerges()
    {
        var tokenizer = Tokenizer.Load(Write(MinimalBpe));
        Assert.Equal([2, 0], tokenizer.Encode("aba"));
        Assert.Equal("BPE", tokenizer.ModelType);
        Assert.Equal(3, tokenizer.VocabularySize);
    }

    [Fact]
    public void TruncatedJson_NamesTheFileAndThePosition()
    {
        var path = Write(MinimalBpe[..40]);
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(path));
        Assert.Equal(path, ex.ModelPath);
        Assert.Contains("tokenizer.json' is not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownModelType_IsNamed()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Write("""{"model": {"type": "WordPieceX", "vocab": {}}}""")));
        Assert.Contains("model type 'WordPieceX' is not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MergeReferencingAnUnknownToken_IsNamed()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Write("""{"model": {"type": "BPE", "vocab": {"a": 0, "ab": 1}, "merges": ["a b"]}}""")));
        Assert.Contains("merge #0 ('a' + 'b') refers to 'b', which is not in the vocabulary", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("tokenizer.json", ex.ModelPath, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedMergeString_IsNamed()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Write("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}}""")));
        Assert.Contains("merge #0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedComponent_IsNamed()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Write("""{"normalizer": {"type": "Mystery"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""")));
        Assert.Contains("normalizer type 'Mystery' is not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotATokenizerJson_IsNamed()
    {
        var ex = Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Write("""{"hello": 1}""")));
        Assert.Contains("has no \"model\" object", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutATokenizer_AndAMissingFile_AreNamed()
    {
        Assert.Contains("has neither tokenizer.json nor tokenizer.model", Assert.Throws<ModelLoadException>(() => Tokenizer.Load(_dir)).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ModelLoadException>(() => Tokenizer.Load(Path.Combine(_dir, "x.json"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolder_PrefersTokenizerJson_AndReadsTheConfigFiles()
    {
        Write("""
            {"added_tokens": [{"id": 3, "content": "<s>", "special": true, "normalized": false}, {"id": 4, "content": "</s>", "special": true, "normalized": false}],
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
            """);
        Write("""{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "clean_up_tokenization_spaces": true, "chat_template": "{{ messages }}"}""", "tokenizer_config.json");
        Write("""{"<extra>": 5}""", "added_tokens.json");
        var tokenizer = Tokenizer.Load(_dir);
        Assert.Equal(3, tokenizer.SpecialTokens.BosTokenId);
        Assert.Equal([4], tokenizer.SpecialTokens.EosTokenIds);
        Assert.Equal("{{ messages }}", tokenizer.ChatTemplate);
        Assert.Equal(5, tokenizer.TokenToId("<extra>"));
        Assert.Equal([3, 2, 5, 4], tokenizer.Encode("<s>ab<extra></s>"));
        Assert.Equal("ab", tokenizer.Decode([3, 2, 4], skipSpecialTokens: true));
    }

    [Fact]
    public void CleanUpTokenizationSpaces_FollowsTransformers()
    {
        var tokenizer = Tokenizer.Load(Write("""{"model": {"type": "WordLevel", "vocab": {"a": 0, ".": 1, "n't": 2, "[UNK]": 3}, "unk_token": "[UNK]"}, "pre_tokenizer": {"type": "WhitespaceSplit"}}"""));
        Assert.Equal("a . n't", tokenizer.Decode([0, 1, 2]));
        Assert.Equal("a.n't", tokenizer.Decode([0, 1, 2], cleanUpTokenizationSpaces: true));
    }

    [Fact]
    public void DecodingAnIdOutsideTheVocabulary_Throws()
    {
        var tokenizer = Tokenizer.Load(Write(MinimalBpe));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([7]));
    }

    [Fact]
    public void StripDecoder_OnAnEmptyToken_DoesNotFail_WhereTheReferencePanics()
    {
        var decoder = new StripDecoder(" ", 1, 1);
        Assert.Equal([string.Empty, "a"], decoder.DecodeChain([string.Empty, " a "]));
    }

    [Fact]
    public void IncrementalDecoding_OfByteLevelTokens_NeverBreaksCharacters()
    {
        // The generation loop's streaming path over a real byte-level tokenizer: Qwen splits "日本語" into byte tokens.
        var tokenizer = ReferenceParityTests.Get("qwen3");
        var text = "日本語のテキスト 😀👨‍👩‍👧‍👦 done";
        var detokenizer = new Multimodal.Advanced.IncrementalDetokenizer(tokenizer);
        var output = new System.Text.StringBuilder();
        foreach (var id in tokenizer.Encode(text, addSpecialTokens: false))
        {
            var delta = detokenizer.Add(id);
            Assert.DoesNotContain('\uFFFD', delta);
            output.Append(delta);
        }

        output.Append(detokenizer.Flush());
        Assert.Equal(text, output.ToString());
    }
}
