// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.RegularExpressions;

namespace Multimodal.Tokenizers;

/// <summary>Unicode normalization forms NFC, NFD, NFKC, NFKD.</summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
}

/// <summary>Full Unicode lowercasing, as Rust's <c>str::to_lowercase</c> (İ → i̇, final sigma).</summary>
internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text)
    {
        var lower = text.ToLowerInvariant();
        if (!text.Contains('\u0130', StringComparison.Ordinal) && !lower.Contains('σ', StringComparison.Ordinal))
        {
            return lower;
        }

        var sb = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\u0130')
            {
                sb.Append("i\u0307");
            }
            else if (c == 'Σ' && IsFinalSigma(text, i))
            {
                sb.Append('ς');
            }
            else
            {
                sb.Append(lower[i]);
            }
        }

        return sb.ToString();
    }

    // Final_Sigma: preceded by a cased letter and not followed by one (case-ignorable characters skipped).
    private static bool IsFinalSigma(string s, int i)
    {
        var before = i - 1;
        while (before >= 0 && IsCaseIgnorable(s[before]))
        {
            before--;
        }

        if (before < 0 || !char.IsLetter(s[before]))
        {
            return false;
        }

        var after = i + 1;
        while (after < s.Length && IsCaseIgnorable(s[after]))
        {
            after++;
        }

        return after >= s.Length || !char.IsLetter(s[after]);
    }

    private static bool IsCaseIgnorable(char c) => char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark
        or System.Globalization.UnicodeCategory.EnclosingMark or System.Globalization.UnicodeCategory.Format
        or System.Globalization.UnicodeCategory.ModifierLetter or System.Globalization.UnicodeCategory.ModifierSymbol
        || c is '\'' or '.' or ':' or '\u00B7' or '\u2019';
}

/// <summary>Strips whitespace on the left and/or right.</summary>
internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text)
    {
        var span = text.AsSpan();
        var start = 0;
        var end = span.Length;
        if (left)
        {
            while (start < end)
            {
                var (r, n) = UnicodeClasses.At(span, start);
                if (!UnicodeClasses.IsWhiteSpace(r))
                {
                    break;
                }

                start += n;
            }
        }

        if (right)
        {
            while (end > start)
            {
                var n = end >= 2 && char.IsSurrogatePair(span[end - 2], span[end - 1]) ? 2 : 1;
                var (r, _) = UnicodeClasses.At(span, end - n);
                if (!UnicodeClasses.IsWhiteSpace(r))
                {
                    break;
                }

                end -= n;
            }
        }

        return start == 0 && end == span.Length ? text : text[start..end];
    }
}

/// <summary>Prepends a string to non-empty text.</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

/// <summary>Replaces every occurrence of a literal string or a regex with a string.</summary>
internal sealed class ReplaceNormalizer : INormalizer, ITokenDecoder
{
    private readonly string? _literal;
    private readonly Regex? _regex;
    private readonly string _content;

    public ReplaceNormalizer(string? literal, Regex? regex, string content)
    {
        _literal = literal;
        _regex = regex;
        _content = content;
    }

    public string Normalize(string text)
    {
        if (_literal is not null)
        {
            return _literal.Length == 0 ? text : text.Replace(_literal, _content, StringComparison.Ordinal);
        }

        return _regex!.Replace(text, _content.Replace("$", "$$", StringComparison.Ordinal));
    }

    public List<string> DecodeChain(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            tokens[i] = Normalize(tokens[i]);
        }

        return tokens;
    }
}

/// <summary>Applies normalizers in order.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> normalizers) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var n in normalizers)
        {
            text = n.Normalize(text);
        }

        return text;
    }
}
