// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;

namespace Multimodal.Tokenizers;

/// <summary>Parses JSON numbers the way the reference (Rust <c>serde_json</c> without its <c>float_roundtrip</c> feature) does.</summary>
/// <remarks>
/// That parser accumulates the digits into a 64-bit integer and applies one multiplication or division by a power of
/// ten, which is not always correctly rounded: a score may come out one unit in the last place away from the
/// exact value. Unigram's Viterbi search breaks exact ties between segmentations by those last bits, so to choose the
/// same tokens as the reference, the scores must be the same bits.
/// </remarks>
internal static class SerdeJsonNumbers
{
    private static readonly double[] Pow10 = BuildPow10();

    /// <summary>Parses a JSON number's text.</summary>
    public static double Parse(ReadOnlySpan<char> text)
    {
        var i = 0;
        var positive = true;
        if (i < text.Length && text[i] == '-')
        {
            positive = false;
            i++;
        }

        ulong significand = 0;
        var exponent = 0;
        const ulong Threshold = ulong.MaxValue / 10;
        const ulong LastDigit = ulong.MaxValue % 10;

        // Integer part: digits past 64 bits only raise the exponent.
        for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
        {
            var d = (ulong)(text[i] - '0');
            if (significand > Threshold || (significand == Threshold && d > LastDigit))
            {
                exponent++;
            }
            else
            {
                significand = (significand * 10) + d;
            }
        }

        // Fraction: digits past 64 bits are dropped.
        if (i < text.Length && text[i] == '.')
        {
            i++;
            var overflow = false;
            for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
            {
                var d = (ulong)(text[i] - '0');
                if (overflow || significand > Threshold || (significand == Threshold && d > LastDigit))
                {
                    overflow = true;
                    continue;
                }

                significand = (significand * 10) + d;
                exponent--;
            }
        }

        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            exponent += int.Parse(text[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        var f = (double)significand;
        while (true)
        {
            var abs = Math.Abs(exponent);
            if (abs < Pow10.Length)
            {
                f = exponent >= 0 ? f * Pow10[abs] : f / Pow10[abs];
                break;
            }

            if (f == 0 || exponent >= 0)
            {
                f = exponent >= 0 && f != 0 ? double.PositiveInfinity : f;
                break;
            }

            f /= 1e308;
            exponent += 308;
        }

        return positive ? f : -f;
    }

    private static double[] BuildPow10()
    {
        // Correctly rounded 1e0..1e308, the same constants as the reference's table.
        var table = new double[309];
        for (var k = 0; k < table.Length; k++)
        {
            table[k] = double.Parse("1e" + k.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        return table;
    }
}
