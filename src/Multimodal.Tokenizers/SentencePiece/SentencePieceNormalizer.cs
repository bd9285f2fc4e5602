// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>SentencePiece's <c>normalizer::Normalizer</c> over UTF-8 bytes.</summary>
/// <remarks>
/// For each position it takes the longest user-defined symbol (kept verbatim), else the longest
/// <c>precompiled_charsmap</c> rule, else one UTF-8 character (a malformed byte becomes U+FFFD). Around that it removes
/// leading, trailing and repeated spaces (<c>remove_extra_whitespaces</c>), adds the dummy prefix
/// (<c>add_dummy_prefix</c>, as a suffix when <c>treat_whitespace_as_suffix</c>) and writes spaces as U+2581
/// (<c>escape_whitespaces</c>), with the same order of operations as <c>Normalizer::Normalize</c> in
/// sentencepiece 0.1.97. Thread-safe (immutable).
/// </remarks>
internal sealed class SentencePieceNormalizer
{
    private readonly SentencePieceCharsMap? _charsMap;
    private readonly SentencePieceByteTrie? _userDefined;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly bool _treatWhitespaceAsSuffix;

    /// <summary>Initializes a normalizer.</summary>
    /// <param name="spec">The normalizer spec.</param>
    /// <param name="treatWhitespaceAsSuffix">The trainer spec's <c>treat_whitespace_as_suffix</c> (false for a denormalizer).</param>
    /// <param name="userDefined">The user-defined symbols to pass through untouched, or null.</param>
    /// <exception cref="InvalidDataException">The charsmap is malformed.</exception>
    public SentencePieceNormalizer(SentencePieceNormalizerSpec spec, bool treatWhitespaceAsSuffix, SentencePieceByteTrie? userDefined)
    {
        _charsMap = spec.PrecompiledCharsMap.Length == 0 ? null : SentencePieceCharsMap.Parse(spec.PrecompiledCharsMap);
        _userDefined = userDefined is { Count: > 0 } ? userDefined : null;
        _addDummyPrefix = spec.AddDummyPrefix;
        _removeExtraWhitespaces = spec.RemoveExtraWhitespaces;
        _escapeWhitespaces = spec.EscapeWhitespaces;
        _treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
    }

    /// <summary>Normalizes <paramref name="input"/> and appends the result to <paramref name="output"/>.</summary>
    /// <param name="input">The text in UTF-8.</param>
    /// <param name="output">The builder that receives the normalized UTF-8.</param>
    public void Normalize(ReadOnlySpan<byte> input, ref SentencePieceByteBuilder output)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var outputStart = output.Length;

        // Leading characters that normalize to exactly one space are dropped.
        if (_removeExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                var consumed = NormalizePrefix(input, out var piece);
                if (piece.Length != 1 || piece[0] != (byte)' ')
                {
                    break;
                }

                input = input[consumed..];
            }
        }

        if (input.IsEmpty)
        {
            return;
        }

        if (!_treatWhitespaceAsSuffix && _addDummyPrefix)
        {
            AppendSpace(ref output);
        }

        var isPrevSpace = _removeExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var consumed = NormalizePrefix(input, out var piece);

            // Spaces at the start of this piece go when the previous piece ended with one.
            while (isPrevSpace && !piece.IsEmpty && piece[0] == (byte)' ')
            {
                piece = piece[1..];
            }

            if (!piece.IsEmpty)
            {
                foreach (var b in piece)
                {
                    if (b == (byte)' ' && _escapeWhitespaces)
                    {
                        output.Append(SentencePieceUtf8.SpaceSymbol);
                    }
                    else
                    {
                        output.Append(b);
                    }
                }

                isPrevSpace = piece[^1] == (byte)' ';
            }

            input = input[consumed..];
            if (!_removeExtraWhitespaces)
            {
                isPrevSpace = false;
            }
        }

        if (_removeExtraWhitespaces)
        {
            var space = _escapeWhitespaces ? SentencePieceUtf8.SpaceSymbol : " "u8;
            while (output.Length - outputStart >= space.Length && output.Written[^space.Length..].SequenceEqual(space))
            {
                output.Length -= space.Length;
            }
        }

        if (_treatWhitespaceAsSuffix && _addDummyPrefix)
        {
            AppendSpace(ref output);
        }
    }

    /// <summary>Normalizes a whole string (used for the denormalizer on decoded text).</summary>
    public byte[] Normalize(ReadOnlySpan<byte> input)
    {
        var builder = new SentencePieceByteBuilder(input.Length * 3);
        try
        {
            Normalize(input, ref builder);
            return builder.Written.ToArray();
        }
        finally
        {
            builder.Dispose();
        }
    }

    /// <summary>SentencePiece's <c>NormalizePrefix</c>: the normalized form of the longest unit at the start of <paramref name="input"/>.</summary>
    /// <returns>The number of input bytes consumed.</returns>
    private int NormalizePrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> normalized)
    {
        if (_userDefined is not null)
        {
            var length = _userDefined.LongestPrefix(input, out _);
            if (length > 0)
            {
                normalized = input[..length];
                return length;
            }
        }

        if (_charsMap is not null)
        {
            var length = _charsMap.LongestPrefix(input, out normalized);
            if (length > 0)
            {
                return length;
            }
        }

        if (SentencePieceUtf8.TryDecode(input, out var charLength))
        {
            normalized = input[..charLength];
            return charLength;
        }

        // A malformed byte becomes U+FFFD but consumes only itself.
        normalized = SentencePieceUtf8.ReplacementCharacter;
        return 1;
    }

    private void AppendSpace(ref SentencePieceByteBuilder output)
    {
        if (_escapeWhitespaces)
        {
            output.Append(SentencePieceUtf8.SpaceSymbol);
        }
        else
        {
            output.Append((byte)' ');
        }
    }
}
