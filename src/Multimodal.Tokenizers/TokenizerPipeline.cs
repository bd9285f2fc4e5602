// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>What every tokenizer does, whatever it was loaded from.</summary>
internal abstract class TokenizerPipeline
{
    public required string Source { get; init; }

    public required string ModelType { get; init; }

    public required int VocabularySize { get; init; }

    public required SpecialTokens SpecialTokens { get; init; }

    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    public string? ChatTemplate { get; init; }

    public abstract List<int> Encode(string text, bool addSpecialTokens);

    public abstract List<int> EncodePair(string first, string second, bool addSpecialTokens);

    public abstract string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens, bool? cleanUpTokenizationSpaces);

    public abstract int? TokenToId(string token);

    public abstract string? IdToToken(int id);
}

/// <summary>The Hugging Face tokenizer.json pipeline: added tokens → normalizer → pre-tokenizer → model → post-processor; decoder for the way back.</summary>
internal sealed class HuggingFacePipeline : TokenizerPipeline
{
    public required AddedVocabulary Added { get; init; }

    public required ITokenizerModel Model { get; init; }

    public INormalizer? Normalizer { get; init; }

    public IPreTokenizer? PreTokenizer { get; init; }

    public IPostProcessor? PostProcessor { get; init; }

    public ITokenDecoder? Decoder { get; init; }

    public bool CleanUpTokenizationSpaces { get; init; }

    public override List<int> Encode(string text, bool addSpecialTokens)
    {
        var ids = EncodeWithoutTemplate(text);
        return addSpecialTokens && PostProcessor is not null ? PostProcessor.ProcessSingle(ids) : ids;
    }

    public override List<int> EncodePair(string first, string second, bool addSpecialTokens)
    {
        var a = EncodeWithoutTemplate(first);
        var b = EncodeWithoutTemplate(second);
        return addSpecialTokens && PostProcessor is not null ? PostProcessor.ProcessPair(a, b) : [.. a, .. b];
    }

    private List<int> EncodeWithoutTemplate(string text)
    {
        var ids = new List<int>();
        var raw = new List<(int Start, int End, int Id)>();
        if (Added.HasRaw)
        {
            Added.Split(text, normalizedTrie: false, raw);
        }
        else if (text.Length > 0)
        {
            raw.Add((0, text.Length, -1));
        }

        var pieces = new List<TextPiece>();
        var normalizedSplits = new List<(int Start, int End, int Id)>();
        foreach (var (start, end, id) in raw)
        {
            if (id >= 0)
            {
                ids.Add(id);
                continue;
            }

            var segment = text[start..end];
            var normalized = Normalizer?.Normalize(segment) ?? segment;
            normalizedSplits.Clear();
            if (Added.HasNormalized)
            {
                Added.Split(normalized, normalizedTrie: true, normalizedSplits);
            }
            else if (normalized.Length > 0)
            {
                normalizedSplits.Add((0, normalized.Length, -1));
            }

            foreach (var (s, e, nid) in normalizedSplits)
            {
                if (nid >= 0)
                {
                    ids.Add(nid);
                    continue;
                }

                pieces.Clear();
                pieces.Add(new TextPiece(normalized[s..e], start == 0 && s == 0));
                PreTokenizer?.PreTokenize(pieces);
                foreach (var word in pieces)
                {
                    Model.Encode(word.Text, ids);
                }
            }
        }

        return ids;
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens, bool? cleanUpTokenizationSpaces)
    {
        var tokens = new List<string>(ids.Length);
        foreach (var id in ids)
        {
            var token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"Id {id} is not in the vocabulary ({VocabularySize} ids).");
            if (skipSpecialTokens && Added.IsSpecial(id))
            {
                continue;
            }

            tokens.Add(token);
        }

        var text = Decoder is null ? string.Join(' ', tokens) : string.Concat(Decoder.DecodeChain(tokens));
        return cleanUpTokenizationSpaces ?? CleanUpTokenizationSpaces ? CleanUp.Apply(text) : text;
    }

    public override int? TokenToId(string token) => Added.ByContent(token)?.Id ?? Model.TokenToId(token);

    public override string? IdToToken(int id) => Added.ById(id)?.Content ?? Model.IdToToken(id);
}
