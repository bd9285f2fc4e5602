// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Advanced;

/// <summary>Turns a growing list of token ids into text deltas for streaming, for any <see cref="ITokenizer"/>.</summary>
/// <remarks>
/// <para>Each step decodes a short window of recent tokens twice (without and with the new tokens) and emits the
/// difference. Decoding a window instead of single tokens keeps context-dependent rules right (SentencePiece's
/// leading-space handling, byte-level merges), and a delta that ends in U+FFFD is held back because the
/// character's remaining bytes are still to come (byte-level BPE and byte-fallback split characters over tokens).</para>
/// <para>If the replacement character is real (invalid bytes that never complete), it is released once more than
/// <see cref="MaxHeldTokens"/> tokens are pending, and at <see cref="Flush"/>. Tokens that add no text (skipped special
/// tokens) are passed over and never count as pending. Not thread-safe.</para>
/// </remarks>
public sealed class IncrementalDetokenizer
{
    /// <summary>The most tokens held back waiting for a character to complete (a UTF-8 character has at most 4 bytes).</summary>
    public const int MaxHeldTokens = 4;

    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<int> _ids = [];
    private int _prefixOffset;
    private int _readOffset;

    /// <summary>Initializes a detokenizer.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="skipSpecialTokens">Whether special tokens are left out of the text.</param>
    /// <param name="contextIds">Tokens already before the stream (for example the end of the prompt), used as decoding context but never emitted.</param>
    public IncrementalDetokenizer(ITokenizer tokenizer, bool skipSpecialTokens = true, ReadOnlySpan<int> contextIds = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;

        // A little context (up to 5 tokens) lets the first generated token decode as it would mid-sentence.
        var context = contextIds.Length > 5 ? contextIds[^5..] : contextIds;
        _ids.AddRange(context);
        _prefixOffset = 0;
        _readOffset = context.Length;
    }

    /// <summary>Adds one token and returns the text it completes.</summary>
    /// <param name="tokenId">The token.</param>
    /// <returns>New text (possibly empty while a character is incomplete).</returns>
    public string Add(int tokenId)
    {
        _ids.Add(tokenId);
        return Emit(force: _ids.Count - _readOffset > MaxHeldTokens);
    }

    /// <summary>Returns any text still held back (at the end of generation).</summary>
    /// <returns>The remaining text.</returns>
    public string Flush() => _ids.Count > _readOffset ? Emit(force: true) : string.Empty;

    private string Emit(bool force)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids);
        var prefixText = _tokenizer.Decode(span[_prefixOffset.._readOffset], _skipSpecialTokens, cleanUpTokenizationSpaces: false);
        var fullText = _tokenizer.Decode(span[_prefixOffset..], _skipSpecialTokens, cleanUpTokenizationSpaces: false);
        if (fullText.Length > prefixText.Length)
        {
            if (!force && fullText.EndsWith('\uFFFD'))
            {
                // A character is incomplete: wait for its remaining bytes.
                return string.Empty;
            }

            // The new text is what lies past the already emitted window text (sliced by length: a decoder that rewrites
            // earlier characters must not make us drop text).
            var delta = fullText[prefixText.Length..];
            _prefixOffset = _readOffset;
            _readOffset = _ids.Count;
            return delta;
        }

        // Nothing new (a skipped special token, say): move past it so it never counts as a held-back token.
        if (!fullText.EndsWith('\uFFFD') || force)
        {
            _readOffset = _ids.Count;
        }

        return string.Empty;
    }
}
