// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Converts between text and token ids exactly as the model's reference tokenizer does.</summary>
/// <remarks>Implementations are immutable after loading and thread-safe.</remarks>
public interface ITokenizer
{
    /// <summary>Gets the number of ids, including added and special tokens.</summary>
    int VocabularySize { get; }

    /// <summary>Gets the special tokens (BOS, EOS, padding, unknown, and every token marked special).</summary>
    SpecialTokens SpecialTokens { get; }

    /// <summary>Encodes text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Whether to apply the tokenizer's post-processor (for example prepend BOS), as Hugging Face's <c>add_special_tokens</c>.</param>
    /// <returns>The token ids.</returns>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Decodes ids to text.</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="skipSpecialTokens">Whether special tokens are left out, as Hugging Face's <c>skip_special_tokens</c>.</param>
    /// <param name="cleanUpTokenizationSpaces">Whether spaces before punctuation are removed, as <c>clean_up_tokenization_spaces</c>; <see langword="null"/> uses the tokenizer's configured default.</param>
    /// <returns>The text. Bytes that do not form complete UTF-8 characters decode to U+FFFD.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null);

    /// <summary>Looks up the id of a token string (a vocabulary entry, not text to encode).</summary>
    /// <param name="token">The token string.</param>
    /// <returns>The id, or <see langword="null"/> when the vocabulary has no such token.</returns>
    int? TokenToId(string token);

    /// <summary>Looks up the token string of an id.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token string, or <see langword="null"/> when the id is outside the vocabulary.</returns>
    string? IdToToken(int id);

    /// <summary>Asks for an optional service, such as the underlying model description.</summary>
    /// <param name="serviceType">The type of service requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The service, or <see langword="null"/>.</returns>
    object? GetService(Type serviceType, object? serviceKey = null) => serviceType?.IsInstanceOfType(this) == true ? this : null;
}

/// <summary>The special tokens of a tokenizer.</summary>
public sealed class SpecialTokens
{
    /// <summary>Initializes the set.</summary>
    /// <param name="bosTokenId">The beginning-of-sequence id, if any.</param>
    /// <param name="eosTokenIds">The end-of-sequence ids (generation stops on any of them).</param>
    /// <param name="padTokenId">The padding id, if any.</param>
    /// <param name="unknownTokenId">The unknown-token id, if any.</param>
    /// <param name="allSpecialIds">Every id marked special (skipped by <c>skipSpecialTokens</c>); BOS/EOS/PAD/UNK are added automatically.</param>
    public SpecialTokens(int? bosTokenId, IReadOnlyList<int> eosTokenIds, int? padTokenId = null, int? unknownTokenId = null, IEnumerable<int>? allSpecialIds = null)
    {
        ArgumentNullException.ThrowIfNull(eosTokenIds);
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds;
        PadTokenId = padTokenId;
        UnknownTokenId = unknownTokenId;
        var all = new HashSet<int>(allSpecialIds ?? []);
        foreach (var id in eosTokenIds)
        {
            all.Add(id);
        }

        if (bosTokenId is { } b)
        {
            all.Add(b);
        }

        if (padTokenId is { } p)
        {
            all.Add(p);
        }

        if (unknownTokenId is { } u)
        {
            all.Add(u);
        }

        AllSpecialIds = all;
    }

    /// <summary>Gets the beginning-of-sequence id, if any.</summary>
    public int? BosTokenId { get; }

    /// <summary>Gets the end-of-sequence ids.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Gets the padding id, if any.</summary>
    public int? PadTokenId { get; }

    /// <summary>Gets the unknown-token id, if any.</summary>
    public int? UnknownTokenId { get; }

    /// <summary>Gets every special id.</summary>
    public IReadOnlySet<int> AllSpecialIds { get; }
}
