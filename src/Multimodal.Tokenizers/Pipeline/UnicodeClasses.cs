// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>Code-point classes as the reference's regex engines define them (letters, numbers, whitespace, word characters).</summary>
/// <remarks>
/// .NET's <c>Regex</c> works on UTF-16 code units, so <c>\p{L}</c> never matches a letter outside the Basic Multilingual
/// Plane; these helpers classify whole code points (runes) instead.
/// </remarks>
internal static class UnicodeClasses
{
    /// <summary>Reads the code point at <paramref name="index"/> and its UTF-16 length (a lone surrogate counts as one unit).</summary>
    public static (Rune Rune, int Length) At(ReadOnlySpan<char> text, int index)
    {
        var status = Rune.DecodeFromUtf16(text[index..], out var rune, out var length);
        return status == System.Buffers.OperationStatus.Done ? (rune, length) : (Rune.ReplacementChar, 1);
    }

    /// <summary>\p{L}.</summary>
    public static bool IsLetter(Rune r) => Rune.IsLetter(r);

    /// <summary>\p{N} (Nd, Nl, No).</summary>
    public static bool IsNumber(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>\s: the Unicode White_Space property.</summary>
    public static bool IsWhiteSpace(Rune r) => Rune.IsWhiteSpace(r);

    /// <summary>\w as Rust's regex defines it: Alphabetic, marks, decimal digits, connector punctuation, join controls.</summary>
    public static bool IsWord(Rune r)
    {
        var c = Rune.GetUnicodeCategory(r);
        return c is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation
            || r.Value is 0x200C or 0x200D;
    }

    /// <summary>Unicode punctuation (the P categories) or ASCII punctuation, as Rust's <c>is_ascii_punctuation || is_punctuation</c>.</summary>
    public static bool IsPunctuation(Rune r)
    {
        if (r.IsAscii)
        {
            var c = (char)r.Value;
            return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
        }

        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }
}
