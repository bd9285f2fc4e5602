// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Multimodal.Tokenizers;

/// <summary>Builds a <see cref="HuggingFacePipeline"/> from tokenizer.json and the optional tokenizer_config.json, special_tokens_map.json and added_tokens.json beside it.</summary>
internal static class TokenizerJsonLoader
{
    public static HuggingFacePipeline Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"'{path}' is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}): {ex.Message}", path, ex);
        }
        catch (IOException ex)
        {
            throw new ModelLoadException($"Cannot read '{path}': {ex.Message}", path, ex);
        }

        using (doc)
        {
            try
            {
                return Build(doc.RootElement, path);
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException or RegexParseException)
            {
                throw new ModelLoadException($"'{path}' is not a valid tokenizer.json: {ex.Message}", path, ex);
            }
        }
    }

    private static HuggingFacePipeline Build(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var modelJson) || modelJson.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException($"'{path}' has no \"model\" object; it is not a Hugging Face tokenizer.json.", path);
        }

        var folder = Path.GetDirectoryName(path)!;
        var config = ReadOptionalJson(Path.Combine(folder, "tokenizer_config.json"));
        var specialMap = ReadOptionalJson(Path.Combine(folder, "special_tokens_map.json"));
        var addedJson = ReadOptionalJson(Path.Combine(folder, "added_tokens.json"));

        var normalizer = Optional(root, "normalizer") is { } n ? ParseNormalizer(n) : null;
        var preTokenizer = Optional(root, "pre_tokenizer") is { } p ? ParsePreTokenizer(p) : null;
        var model = ParseModel(modelJson, path);
        var decoder = Optional(root, "decoder") is { } d ? ParseDecoder(d) : null;

        // Added tokens: tokenizer.json first, then tokens only the config files know. Like the reference, ids are not
        // taken from the files: a token whose text is in the model's vocabulary gets the model's id, another gets the
        // next id after the largest added id (or the vocabulary size), and a repeated text keeps its first id.
        var added = new Dictionary<int, AddedToken>();
        var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(AddedToken token)
        {
            if (byContent.ContainsKey(token.Content))
            {
                return;
            }

            int id;
            if (model.TokenToId(token.Content) is { } modelId)
            {
                id = modelId;
            }
            else if (added.Count == 0)
            {
                id = model.VocabularySize;
            }
            else
            {
                var max = added.Keys.Max();
                id = max >= model.VocabularySize || model.VocabularySize == 0 ? max + 1 : model.VocabularySize;
            }

            added[id] = token with { Id = id };
            byContent[token.Content] = id;
        }

        if (Optional(root, "added_tokens") is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var t in list.EnumerateArray())
            {
                Add(ParseAddedToken(t, t.GetProperty("id").GetInt32()));
            }
        }

        if (config is { } cfg && Optional(cfg, "added_tokens_decoder") is { ValueKind: JsonValueKind.Object } extra)
        {
            foreach (var e in extra.EnumerateObject().OrderBy(e => int.Parse(e.Name, System.Globalization.CultureInfo.InvariantCulture)))
            {
                Add(ParseAddedToken(e.Value, int.Parse(e.Name, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        if (addedJson is { ValueKind: JsonValueKind.Object } addedFile)
        {
            foreach (var e in addedFile.EnumerateObject().OrderBy(e => e.Value.GetInt32()))
            {
                Add(new AddedToken(e.Value.GetInt32(), e.Name, Special: false, Normalized: true));
            }
        }

        // additional_special_tokens mark tokens special.
        foreach (var source in new[] { config, specialMap })
        {
            if (source is { } s && Optional(s, "additional_special_tokens") is { ValueKind: JsonValueKind.Array } extraSpecial)
            {
                foreach (var t in extraSpecial.EnumerateArray())
                {
                    var content = TokenContent(t);
                    var match = added.Values.FirstOrDefault(a => a.Content == content);
                    if (match is not null && !match.Special)
                    {
                        added[match.Id] = match with { Special = true };
                    }
                }
            }
        }

        var addedVocabulary = new AddedVocabulary(added.Values.OrderBy(a => a.Id), normalizer);
        int? Lookup(string? content) => content is null ? null : addedVocabulary.ByContent(content)?.Id ?? model.TokenToId(content);
        string? Named(string key) => (config is { } c && Optional(c, key) is { } v ? TokenContent(v) : null)
            ?? (specialMap is { } m && Optional(m, key) is { } w ? TokenContent(w) : null);

        var postProcessor = Optional(root, "post_processor") is { } pp ? ParsePostProcessor(pp, model, addedVocabulary) : null;
        var bos = Lookup(Named("bos_token"));
        var eos = Lookup(Named("eos_token"));
        var special = new SpecialTokens(
            bos,
            eos is { } e1 ? [e1] : [],
            Lookup(Named("pad_token")),
            Lookup(Named("unk_token")),
            addedVocabulary.SpecialIds);

        var vocabSize = Math.Max(model.VocabularySize, addedVocabulary.MaxId + 1);
        return new HuggingFacePipeline
        {
            Source = path,
            ModelType = modelJson.TryGetProperty("type", out var type) ? type.GetString()! : InferModelType(modelJson),
            VocabularySize = vocabSize,
            SpecialTokens = special,
            AddedTokens = [.. added.Values.OrderBy(a => a.Id)],
            ChatTemplate = config is { } ct ? ReadChatTemplate(ct) : null,
            Added = addedVocabulary,
            Model = model,
            Normalizer = normalizer,
            PreTokenizer = preTokenizer,
            PostProcessor = postProcessor,
            Decoder = decoder,
            CleanUpTokenizationSpaces = config is { } cc && Optional(cc, "clean_up_tokenization_spaces") is { ValueKind: JsonValueKind.True },
        };
    }

    private static ITokenizerModel ParseModel(JsonElement m, string path)
    {
        var type = m.TryGetProperty("type", out var t) ? t.GetString() : InferModelType(m);
        switch (type)
        {
            case "BPE":
            {
                var vocab = ReadVocab(m, path);
                var merges = new List<(string, string)>();
                if (Optional(m, "merges") is { ValueKind: JsonValueKind.Array } array)
                {
                    foreach (var merge in array.EnumerateArray())
                    {
                        if (merge.ValueKind == JsonValueKind.String)
                        {
                            var parts = merge.GetString()!.Split(' ');
                            if (parts.Length != 2)
                            {
                                throw new ModelLoadException($"'{path}': merge #{merges.Count} \"{merge.GetString()}\" must be two tokens separated by one space.", path);
                            }

                            merges.Add((parts[0], parts[1]));
                        }
                        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2)
                        {
                            merges.Add((merge[0].GetString()!, merge[1].GetString()!));
                        }
                        else
                        {
                            throw new ModelLoadException($"'{path}': merge #{merges.Count} must be a \"a b\" string or an [a, b] pair.", path);
                        }
                    }
                }

                return new BpeModel(
                    vocab,
                    merges,
                    OptionalString(m, "unk_token"),
                    OptionalString(m, "continuing_subword_prefix"),
                    OptionalString(m, "end_of_word_suffix"),
                    OptionalBool(m, "fuse_unk"),
                    OptionalBool(m, "byte_fallback"),
                    OptionalBool(m, "ignore_merges"),
                    path);
            }

            case "WordLevel":
                return new WordLevelModel(ReadVocab(m, path), OptionalString(m, "unk_token"));
            case "Unigram":
                return UnigramModel.FromJson(m, path);
            default:
                throw new ModelLoadException($"'{path}': model type '{type}' is not supported (supported: BPE, Unigram, WordLevel).", path);
        }
    }

    private static string InferModelType(JsonElement m) =>
        m.TryGetProperty("merges", out _) ? "BPE" : m.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array ? "Unigram" : "WordLevel";

    private static Dictionary<string, int> ReadVocab(JsonElement m, string path)
    {
        if (Optional(m, "vocab") is not { ValueKind: JsonValueKind.Object } vocab)
        {
            throw new ModelLoadException($"'{path}': the model has no \"vocab\" object.", path);
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in vocab.EnumerateObject())
        {
            result[e.Name] = e.Value.GetInt32();
        }

        return result;
    }

    private static INormalizer ParseNormalizer(JsonElement j)
    {
        var type = j.GetProperty("type").GetString();
        return type switch
        {
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(OptionalBool(j, "strip_left", true), OptionalBool(j, "strip_right", true)),
            "Prepend" => new PrependNormalizer(j.GetProperty("prepend").GetString()!),
            "Replace" => ParseReplace(j),
            "Sequence" => new SequenceNormalizer([.. j.GetProperty("normalizers").EnumerateArray().Select(ParseNormalizer)]),
            _ => throw new InvalidOperationException($"normalizer type '{type}' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence)."),
        };
    }

    private static ReplaceNormalizer ParseReplace(JsonElement j)
    {
        var pattern = j.GetProperty("pattern");
        var content = j.GetProperty("content").GetString()!;
        return pattern.TryGetProperty("String", out var s)
            ? new ReplaceNormalizer(s.GetString()!, null, content)
            : new ReplaceNormalizer(null, new Regex(pattern.GetProperty("Regex").GetString()!, RegexOptions.CultureInvariant), content);
    }

    private static IPreTokenizer ParsePreTokenizer(JsonElement j)
    {
        var type = j.GetProperty("type").GetString();
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelPreTokenizer(OptionalBool(j, "add_prefix_space", true), OptionalBool(j, "use_regex", true));
            case "Split":
            {
                var pattern = j.GetProperty("pattern");
                var split = pattern.TryGetProperty("String", out var s)
                    ? SplitPattern.ForLiteral(s.GetString()!)
                    : SplitPattern.ForRegex(pattern.GetProperty("Regex").GetString()!);
                return new SplitPreTokenizer(split, ParseBehavior(j.GetProperty("behavior").GetString()), OptionalBool(j, "invert"));
            }

            case "Metaspace":
            {
                var replacement = j.GetProperty("replacement").GetString()!;
                return new MetaspacePreTokenizer(replacement[0], ParsePrependScheme(j), OptionalBool(j, "split", true));
            }

            case "Whitespace":
                return new WhitespacePreTokenizer();
            case "WhitespaceSplit":
                return new WhitespaceSplitPreTokenizer();
            case "Digits":
                return new DigitsPreTokenizer(OptionalBool(j, "individual_digits"));
            case "Punctuation":
                return new PunctuationPreTokenizer(Optional(j, "behavior") is { } b ? ParseBehavior(b.GetString()) : SplitBehavior.Isolated);
            case "Sequence":
                return new SequencePreTokenizer([.. j.GetProperty("pretokenizers").EnumerateArray().Select(ParsePreTokenizer)]);
            default:
                throw new InvalidOperationException($"pre-tokenizer type '{type}' is not supported (supported: ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, Digits, Punctuation, Sequence).");
        }
    }

    private static PrependScheme ParsePrependScheme(JsonElement j)
    {
        if (Optional(j, "prepend_scheme") is { ValueKind: JsonValueKind.String } scheme)
        {
            return scheme.GetString() switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                var other => throw new InvalidOperationException($"unknown prepend_scheme '{other}'."),
            };
        }

        // Older files: add_prefix_space true means "always".
        return OptionalBool(j, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never;
    }

    private static SplitBehavior ParseBehavior(string? name) => name switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw new InvalidOperationException($"unknown split behavior '{name}'."),
    };

    private static IPostProcessor ParsePostProcessor(JsonElement j, ITokenizerModel model, AddedVocabulary added)
    {
        var type = j.GetProperty("type").GetString();
        switch (type)
        {
            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
                if (Optional(j, "special_tokens") is { ValueKind: JsonValueKind.Object } st)
                {
                    foreach (var e in st.EnumerateObject())
                    {
                        specials[e.Name] = [.. e.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())];
                    }
                }

                List<TemplatePiece> Template(string key)
                {
                    var pieces = new List<TemplatePiece>();
                    if (Optional(j, key) is not { ValueKind: JsonValueKind.Array } items)
                    {
                        return pieces;
                    }

                    foreach (var item in items.EnumerateArray())
                    {
                        if (item.TryGetProperty("SpecialToken", out var sp))
                        {
                            var id = sp.GetProperty("id").GetString()!;
                            pieces.Add(new TemplateSpecial(specials.TryGetValue(id, out var ids) ? ids : throw new InvalidOperationException($"template special token '{id}' is missing from special_tokens.")));
                        }
                        else
                        {
                            pieces.Add(new TemplateSequence(item.GetProperty("Sequence").GetProperty("id").GetString() == "B"));
                        }
                    }

                    return pieces;
                }

                return new TemplatePostProcessor(Template("single"), Template("pair"));
            }

            case "BertProcessing":
                return new ClsSepPostProcessor(j.GetProperty("cls")[1].GetInt32(), j.GetProperty("sep")[1].GetInt32(), roberta: false);
            case "RobertaProcessing":
                return new ClsSepPostProcessor(j.GetProperty("cls")[1].GetInt32(), j.GetProperty("sep")[1].GetInt32(), roberta: true);
            case "ByteLevel":
                return new PassThroughPostProcessor();
            case "Sequence":
                return new SequencePostProcessor([.. j.GetProperty("processors").EnumerateArray().Select(p => ParsePostProcessor(p, model, added))]);
            default:
                throw new InvalidOperationException($"post-processor type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence).");
        }
    }

    private static ITokenDecoder ParseDecoder(JsonElement j)
    {
        var type = j.GetProperty("type").GetString();
        return type switch
        {
            "ByteLevel" => new ByteLevelDecoder(),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(j.GetProperty("content").GetString()!, j.GetProperty("start").GetInt32(), j.GetProperty("stop").GetInt32()),
            "Replace" => ParseReplace(j),
            "Metaspace" => new MetaspaceDecoder(j.GetProperty("replacement").GetString()![0], ParsePrependScheme(j)),
            "WordPiece" => new WordPieceDecoder(OptionalString(j, "prefix") ?? "##", OptionalBool(j, "cleanup", true)),
            "BPEDecoder" => new BpeSuffixDecoder(OptionalString(j, "suffix") ?? "</w>"),
            "Sequence" => new SequenceDecoder([.. j.GetProperty("decoders").EnumerateArray().Select(ParseDecoder)]),
            _ => throw new InvalidOperationException($"decoder type '{type}' is not supported (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, WordPiece, BPEDecoder, Sequence)."),
        };
    }

    private static AddedToken ParseAddedToken(JsonElement t, int id) => new(
        id,
        t.GetProperty("content").GetString()!,
        OptionalBool(t, "special"),
        OptionalBool(t, "single_word"),
        OptionalBool(t, "lstrip"),
        OptionalBool(t, "rstrip"),
        OptionalBool(t, "normalized", !OptionalBool(t, "special")));

    private static string? ReadChatTemplate(JsonElement config)
    {
        var t = Optional(config, "chat_template");
        if (t is { ValueKind: JsonValueKind.String })
        {
            return t.Value.GetString();
        }

        if (t is { ValueKind: JsonValueKind.Array } named)
        {
            foreach (var item in named.EnumerateArray())
            {
                if (OptionalString(item, "name") == "default")
                {
                    return OptionalString(item, "template");
                }
            }
        }

        return null;
    }

    private static string? TokenContent(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Object => OptionalString(e, "content"),
        _ => null,
    };

    private static JsonElement? ReadOptionalJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"'{path}' is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}", path, ex);
        }
    }

    internal static JsonElement? Optional(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    internal static string? OptionalString(JsonElement e, string name) => Optional(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    internal static bool OptionalBool(JsonElement e, string name, bool fallback = false) => Optional(e, name) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => fallback,
    };
}
