// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.Json;

namespace Multimodal.Tokenizers;

/// <summary>A SentencePiece <c>.model</c> as a tokenizer: SentencePiece's own normalization and encoding, plus BOS/EOS and added tokens from a <c>tokenizer_config.json</c> beside the model, as Hugging Face's slow tokenizers add them.</summary>
/// <remarks>
/// <para>Encoding: added tokens (from <c>added_tokens_decoder</c>) are split out first; each piece of text between them is
/// encoded by SentencePiece on its own (so each piece gets the dummy prefix, as the "legacy" slow tokenizers do); with
/// special tokens, BOS is prepended (<c>add_bos_token</c>, default true when the model has a BOS) and EOS appended
/// (<c>add_eos_token</c>, default false).</para>
/// <para>Decoding with <c>skipSpecialTokens</c> is exactly SentencePiece's <c>decode</c> (control pieces vanish, unknown
/// pieces read " ⁇ "); without it, control and added special tokens are written out verbatim between decoded runs.</para>
/// </remarks>
internal sealed class SentencePiecePipeline : TokenizerPipeline
{
    private SentencePieceProcessor _processor = null!;
    private AddedVocabulary _added = null!;
    private bool _addBos;
    private bool _addEos;
    private bool _cleanUp;

    public static SentencePiecePipeline Load(string path)
    {
        var processor = SentencePieceProcessor.Load(path);
        var configPath = Path.Combine(Path.GetDirectoryName(path)!, "tokenizer_config.json");
        JsonElement? config = null;
        if (File.Exists(configPath))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath), new JsonDocumentOptions { AllowTrailingCommas = true });
                config = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new ModelLoadException($"'{configPath}' is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}", configPath, ex);
            }
        }

        // Added tokens: only those the model cannot express as a single piece of the same id need splitting out,
        // but all of them mark special ids; control pieces are special too.
        var added = new List<AddedToken>();
        if (config is { } c && TokenizerJsonLoader.Optional(c, "added_tokens_decoder") is { ValueKind: JsonValueKind.Object } decoder)
        {
            foreach (var e in decoder.EnumerateObject())
            {
                var id = int.Parse(e.Name, System.Globalization.CultureInfo.InvariantCulture);
                var content = TokenizerJsonLoader.OptionalString(e.Value, "content") ?? throw new ModelLoadException($"'{configPath}': added token {id} has no content.", configPath);
                added.Add(new AddedToken(
                    id,
                    content,
                    TokenizerJsonLoader.OptionalBool(e.Value, "special"),
                    TokenizerJsonLoader.OptionalBool(e.Value, "single_word"),
                    TokenizerJsonLoader.OptionalBool(e.Value, "lstrip"),
                    TokenizerJsonLoader.OptionalBool(e.Value, "rstrip"),
                    Normalized: false));
            }
        }

        var special = new HashSet<int>(added.Where(a => a.Special).Select(a => a.Id));
        for (var id = 0; id < processor.PieceCount; id++)
        {
            if (processor.GetPieceType(id) is SentencePiecePieceType.Control or SentencePiecePieceType.Unknown)
            {
                special.Add(id);
            }
        }

        int? Id(int value) => value >= 0 ? value : null;
        var bos = Id(processor.BosId);
        var addBos = bos is not null && (config is not { } c1 || TokenizerJsonLoader.OptionalBool(c1, "add_bos_token", true));
        var addEos = config is { } c2 && TokenizerJsonLoader.OptionalBool(c2, "add_eos_token");
        var vocabularySize = Math.Max(processor.PieceCount, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1);
        return new SentencePiecePipeline
        {
            Source = path,
            ModelType = processor.ModelType == SentencePieceModelType.Bpe ? "SentencePiece BPE" : "SentencePiece Unigram",
            VocabularySize = vocabularySize,
            SpecialTokens = new SpecialTokens(bos, processor.EosId >= 0 ? [processor.EosId] : [], Id(processor.PadId), Id(processor.UnknownId), special),
            AddedTokens = added,
            ChatTemplate = config is { } c3 ? TokenizerJsonLoader.OptionalString(c3, "chat_template") : null,
            _processor = processor,
            _added = new AddedVocabulary(added, normalizer: null),
            _addBos = addBos,
            _addEos = addEos,
            _cleanUp = config is { } c4 && TokenizerJsonLoader.OptionalBool(c4, "clean_up_tokenization_spaces"),
        };
    }

    public override List<int> Encode(string text, bool addSpecialTokens)
    {
        var ids = new List<int>();
        if (addSpecialTokens && _addBos)
        {
            ids.Add(SpecialTokens.BosTokenId!.Value);
        }

        EncodeText(text, ids);
        if (addSpecialTokens && _addEos && SpecialTokens.EosTokenIds.Count > 0)
        {
            ids.Add(SpecialTokens.EosTokenIds[0]);
        }

        return ids;
    }

    public override List<int> EncodePair(string first, string second, bool addSpecialTokens)
    {
        var ids = Encode(first, addSpecialTokens);
        ids.AddRange(Encode(second, addSpecialTokens));
        return ids;
    }

    private void EncodeText(string text, List<int> ids)
    {
        if (!_added.HasRaw)
        {
            _processor.Encode(text, ids);
            return;
        }

        var parts = new List<(int Start, int End, int Id)>();
        _added.Split(text, normalizedTrie: false, parts);
        foreach (var (start, end, id) in parts)
        {
            if (id >= 0)
            {
                ids.Add(id);
            }
            else
            {
                _processor.Encode(text[start..end], ids);
            }
        }
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens, bool? cleanUpTokenizationSpaces)
    {
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Id {id} is not in the vocabulary ({VocabularySize} ids).");
            }
        }

        string text;
        if (skipSpecialTokens && !ContainsAddedBeyondModel(ids))
        {
            text = _processor.Decode(ids);
        }
        else
        {
            // Runs of model pieces decode together; special tokens are written out (or skipped) between them.
            var sb = new StringBuilder();
            var runStart = 0;
            for (var i = 0; i <= ids.Length; i++)
            {
                var isSpecial = i < ids.Length && (SpecialTokens.AllSpecialIds.Contains(ids[i]) || ids[i] >= _processor.PieceCount);
                if (i == ids.Length || isSpecial)
                {
                    if (i > runStart)
                    {
                        sb.Append(_processor.Decode(ids[runStart..i]));
                    }

                    if (i < ids.Length && !(skipSpecialTokens && SpecialTokens.AllSpecialIds.Contains(ids[i])))
                    {
                        sb.Append(IdToToken(ids[i]));
                    }

                    runStart = i + 1;
                }
            }

            text = sb.ToString();
        }

        return cleanUpTokenizationSpaces ?? _cleanUp ? CleanUp.Apply(text) : text;
    }

    private bool ContainsAddedBeyondModel(ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
        {
            if (id >= _processor.PieceCount)
            {
                return true;
            }
        }

        return false;
    }

    public override int? TokenToId(string token) => _added.ByContent(token)?.Id ?? _processor.PieceToId(token);

    public override string? IdToToken(int id) =>
        _added.ById(id)?.Content ?? ((uint)id < (uint)_processor.PieceCount ? _processor.IdToPiece(id) : null);
}
