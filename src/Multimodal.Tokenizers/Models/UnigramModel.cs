// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal.Tokenizers;

/// <summary>Hugging Face's <c>Unigram</c> model: Viterbi over the vocabulary's log-probabilities, unknown characters fused into one unknown token (or byte tokens with <c>byte_fallback</c>).</summary>
/// <remarks>The lattice search is SentencePiece's algorithm, shared with the <c>.model</c> reader (<see cref="UnigramEncoder"/>). Thread-safe.</remarks>
internal sealed class UnigramModel : ITokenizerModel
{
    private readonly UnigramEncoder _encoder;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _pieces;

    private UnigramModel(List<(string Token, double Score)> vocab, int? unkId, bool byteFallback)
    {
        _encoder = new UnigramEncoder(vocab, unkId, byteFallback, fuseUnk: true);
        _pieces = [.. vocab.Select(v => v.Token)];
        _vocab = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        for (var i = 0; i < _pieces.Length; i++)
        {
            _vocab.TryAdd(_pieces[i], i);
        }
    }

    public int VocabularySize => _pieces.Length;

    public static UnigramModel FromJson(JsonElement m, string path)
    {
        if (TokenizerJsonLoader.Optional(m, "vocab") is not { ValueKind: JsonValueKind.Array } vocabJson)
        {
            throw new ModelLoadException($"'{path}': the Unigram model has no \"vocab\" array of [piece, score] pairs.", path);
        }

        var vocab = new List<(string, double)>();
        foreach (var entry in vocabJson.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2)
            {
                throw new ModelLoadException($"'{path}': Unigram vocab entry #{vocab.Count} must be a [piece, score] pair.", path);
            }

            // Scores are read with the reference's parser: Viterbi ties are decided by their last bits.
            var raw = System.Text.Encoding.UTF8.GetBytes(entry[1].GetRawText());
            if (!SerdeJsonFloat.TryParse(raw, out var score))
            {
                throw new ModelLoadException($"'{path}': Unigram vocab entry #{vocab.Count} has an invalid score {entry[1].GetRawText()}.", path);
            }

            vocab.Add((entry[0].GetString()!, score));
        }

        int? unkId = TokenizerJsonLoader.Optional(m, "unk_id") is { ValueKind: JsonValueKind.Number } u ? u.GetInt32() : null;
        if (unkId is { } id && (id < 0 || id >= vocab.Count))
        {
            throw new ModelLoadException($"'{path}': unk_id {id} is outside the vocabulary of {vocab.Count} pieces.", path);
        }

        return new UnigramModel(vocab, unkId, TokenizerJsonLoader.OptionalBool(m, "byte_fallback"));
    }

    public void Encode(string word, List<int> ids) => _encoder.Encode(word, ids);

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;
}
