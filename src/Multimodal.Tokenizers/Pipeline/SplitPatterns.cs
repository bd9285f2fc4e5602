// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.RegularExpressions;

namespace Multimodal.Tokenizers;

/// <summary>Finds the matches of a pre-tokenizer's split pattern as (start, end) ranges in UTF-16 units.</summary>
internal abstract class SplitPattern
{
    /// <summary>The GPT-2 pattern used by the ByteLevel pre-tokenizer.</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pattern (one digit per match).</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The cl100k / Llama 3 pattern (up to three digits per match).</summary>
    public const string Cl100k = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Appends the non-overlapping matches in <paramref name="text"/>, left to right.</summary>
    public abstract void Matches(string text, List<(int Start, int End)> matches);

    /// <summary>Creates the fastest exact matcher for a regex pattern: a hand-written scanner for the well-known ones, .NET's regex otherwise.</summary>
    public static SplitPattern ForRegex(string pattern) => pattern switch
    {
        Gpt2 => new Gpt2Scanner(),
        Qwen2 => new Cl100kScanner(maxDigits: 1),
        Cl100k => new Cl100kScanner(maxDigits: 3),
        _ => new RegexSplitPattern(pattern),
    };

    /// <summary>Creates a matcher for a literal string.</summary>
    public static SplitPattern ForLiteral(string literal) => new LiteralSplitPattern(literal);

    /// <summary>Creates a matcher for a predicate on single code points.</summary>
    public static SplitPattern ForCharacters(Func<Rune, bool> predicate) => new CharacterSplitPattern(predicate);
}

/// <summary>A literal string pattern.</summary>
internal sealed class LiteralSplitPattern(string literal) : SplitPattern
{
    public override void Matches(string text, List<(int Start, int End)> matches)
    {
        if (literal.Length == 0)
        {
            return;
        }

        var at = 0;
        while ((at = text.IndexOf(literal, at, StringComparison.Ordinal)) >= 0)
        {
            matches.Add((at, at + literal.Length));
            at += literal.Length;
        }
    }
}

/// <summary>Every code point satisfying a predicate is one match.</summary>
internal sealed class CharacterSplitPattern(Func<Rune, bool> predicate) : SplitPattern
{
    public override void Matches(string text, List<(int Start, int End)> matches)
    {
        for (var i = 0; i < text.Length;)
        {
            var (r, n) = UnicodeClasses.At(text, i);
            if (predicate(r))
            {
                matches.Add((i, i + n));
            }

            i += n;
        }
    }
}

/// <summary>
/// Any other regex, run by .NET's engine. Because .NET matches UTF-16 units, each supplementary-plane code point is
/// first replaced by two stand-in units of the same class (letter, number or other), so that classes such as
/// <c>\p{L}</c> see it; matches that would end between the two units are extended to the whole code point.
/// </summary>
internal sealed class RegexSplitPattern(string pattern) : SplitPattern
{
    private readonly Regex _regex = new(pattern, RegexOptions.CultureInvariant);

    public override void Matches(string text, List<(int Start, int End)> matches)
    {
        var subject = ShadowSupplementary(text);
        var lastEnd = 0;
        for (var m = _regex.Match(subject); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0)
            {
                continue;
            }

            var start = Math.Max(m.Index, lastEnd);
            var end = m.Index + m.Length;
            if (end < text.Length && char.IsLowSurrogate(text[end]) && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            if (end > start)
            {
                matches.Add((start, end));
                lastEnd = end;
            }
        }
    }

    private static string ShadowSupplementary(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return text;
        }

        var chars = text.ToCharArray();
        for (var i = 0; i + 1 < chars.Length; i++)
        {
            if (char.IsSurrogatePair(chars[i], chars[i + 1]))
            {
                var rune = new Rune(chars[i], chars[i + 1]);
                var standIn = UnicodeClasses.IsLetter(rune) ? 'a' : UnicodeClasses.IsNumber(rune) ? '0' : '\u00A6';
                chars[i] = chars[i + 1] = standIn;
                i++;
            }
        }

        return new string(chars);
    }
}

/// <summary>Scanner for the GPT-2 pattern: contractions, ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`, `\s+(?!\S)`, `\s+`.</summary>
internal sealed class Gpt2Scanner : SplitPattern
{
    public override void Matches(string text, List<(int Start, int End)> matches)
    {
        var s = text.AsSpan();
        var i = 0;
        while (i < s.Length)
        {
            var end = Contraction(s, i, ignoreCase: false);
            if (end < 0)
            {
                var (r, n) = UnicodeClasses.At(s, i);
                var j = i;
                var first = r;
                if (r.Value == ' ' && i + 1 < s.Length)
                {
                    (first, var n2) = UnicodeClasses.At(s, i + 1);
                    if (!UnicodeClasses.IsWhiteSpace(first))
                    {
                        j = i + 1;
                        n = n2;
                    }
                    else
                    {
                        first = r;
                    }
                }

                if (UnicodeClasses.IsLetter(first) && (j > i || !UnicodeClasses.IsWhiteSpace(r)))
                {
                    end = Run(s, j, UnicodeClasses.IsLetter);
                }
                else if (UnicodeClasses.IsNumber(first) && (j > i || !UnicodeClasses.IsWhiteSpace(r)))
                {
                    end = Run(s, j, UnicodeClasses.IsNumber);
                }
                else if (!UnicodeClasses.IsWhiteSpace(first) && !UnicodeClasses.IsLetter(first) && !UnicodeClasses.IsNumber(first))
                {
                    end = Run(s, j, static x => !UnicodeClasses.IsWhiteSpace(x) && !UnicodeClasses.IsLetter(x) && !UnicodeClasses.IsNumber(x));
                }
                else
                {
                    end = WhitespaceNotBeforeNonSpace(s, i);
                }
            }

            matches.Add((i, end));
            i = end;
        }
    }

    /// <summary>`'s|'t|'re|'ve|'m|'ll|'d` at <paramref name="i"/>: the end of the match, or -1.</summary>
    internal static int Contraction(ReadOnlySpan<char> s, int i, bool ignoreCase)
    {
        if (s[i] != '\'' || i + 1 >= s.Length)
        {
            return -1;
        }

        static char Fold(char c, bool ignoreCase) => ignoreCase && c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
        var c1 = Fold(s[i + 1], ignoreCase);
        if (c1 is 's' or 't' or 'm' or 'd')
        {
            return i + 2;
        }

        if (i + 2 < s.Length)
        {
            var c2 = Fold(s[i + 2], ignoreCase);
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
            {
                return i + 3;
            }
        }

        return -1;
    }

    /// <summary>The end of a run of code points satisfying <paramref name="predicate"/> starting at <paramref name="i"/> (which satisfies it).</summary>
    internal static int Run(ReadOnlySpan<char> s, int i, Func<Rune, bool> predicate)
    {
        while (i < s.Length)
        {
            var (r, n) = UnicodeClasses.At(s, i);
            if (!predicate(r))
            {
                break;
            }

            i += n;
        }

        return i;
    }

    /// <summary>`\s+(?!\S)|\s+` at a whitespace code point: the whole run if it reaches the end, else all but its last code point (or the single one).</summary>
    internal static int WhitespaceNotBeforeNonSpace(ReadOnlySpan<char> s, int i)
    {
        var end = Run(s, i, UnicodeClasses.IsWhiteSpace);
        if (end >= s.Length)
        {
            return end;
        }

        // Backtrack one code point so that the lookahead sees whitespace; a run of one falls to plain \s+.
        var lastLength = end >= 2 && char.IsSurrogatePair(s[end - 2], s[end - 1]) ? 2 : 1;
        return end - lastLength > i ? end - lastLength : end;
    }
}

/// <summary>
/// Scanner for the cl100k family (Qwen2 with one digit per match, Llama 3 with up to three):
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
/// </summary>
internal sealed class Cl100kScanner(int maxDigits) : SplitPattern
{
    public override void Matches(string text, List<(int Start, int End)> matches)
    {
        var s = text.AsSpan();
        var i = 0;
        while (i < s.Length)
        {
            var end = Next(s, i);
            matches.Add((i, end));
            i = end;
        }
    }

    private int Next(ReadOnlySpan<char> s, int i)
    {
        // 1. Contractions, case-insensitive.
        var end = Gpt2Scanner.Contraction(s, i, ignoreCase: true);
        if (end > 0)
        {
            return end;
        }

        var (r, n) = UnicodeClasses.At(s, i);

        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (UnicodeClasses.IsLetter(r))
        {
            return Gpt2Scanner.Run(s, i, UnicodeClasses.IsLetter);
        }

        var isNewline = r.Value is '\r' or '\n';
        if (!isNewline && !UnicodeClasses.IsNumber(r) && i + n < s.Length && UnicodeClasses.IsLetter(UnicodeClasses.At(s, i + n).Rune))
        {
            return Gpt2Scanner.Run(s, i + n, UnicodeClasses.IsLetter);
        }

        // 3. \p{N}{1,k}
        if (UnicodeClasses.IsNumber(r))
        {
            end = i;
            for (var k = 0; k < maxDigits && end < s.Length; k++)
            {
                var (d, dn) = UnicodeClasses.At(s, end);
                if (!UnicodeClasses.IsNumber(d))
                {
                    break;
                }

                end += dn;
            }

            return end;
        }

        // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var j = i;
        var c = r;
        if (r.Value == ' ' && i + 1 < s.Length)
        {
            var next = UnicodeClasses.At(s, i + 1).Rune;
            if (IsOther(next))
            {
                j = i + 1;
                c = next;
            }
        }

        if (IsOther(c))
        {
            end = Gpt2Scanner.Run(s, j, IsOther);
            while (end < s.Length && s[end] is '\r' or '\n')
            {
                end++;
            }

            return end;
        }

        // 5. \s*[\r\n]+ : the whitespace run up to and including its last line break, if it has one.
        var runEnd = Gpt2Scanner.Run(s, i, UnicodeClasses.IsWhiteSpace);
        for (var k = runEnd - 1; k >= i; k--)
        {
            if (s[k] is '\r' or '\n')
            {
                return k + 1;
            }
        }

        // 6 and 7. \s+(?!\S) | \s+
        return Gpt2Scanner.WhitespaceNotBeforeNonSpace(s, i);
    }

    private static bool IsOther(Rune r) => !UnicodeClasses.IsWhiteSpace(r) && !UnicodeClasses.IsLetter(r) && !UnicodeClasses.IsNumber(r);
}
