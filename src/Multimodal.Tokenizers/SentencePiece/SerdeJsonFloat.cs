// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>Parses a JSON number to <see cref="double"/> exactly as Rust's <c>serde_json</c> does without its <c>float_roundtrip</c> feature.</summary>
/// <remarks>
/// Hugging Face <c>tokenizers</c> reads tokenizer.json with that default <c>serde_json</c>, whose float parsing is not
/// correctly rounded: it accumulates up to 19-20 significant digits in a <c>u64</c> (ignoring the rest), converts that
/// to <c>f64</c>, then multiplies or divides by one power of ten. About one Unigram score in five then differs from
/// <see cref="double.Parse(string)"/> by one unit in the last place, which is enough to flip exact ties between
/// segmentations made of the same pieces in a different order (for example long runs of one letter). Parsing the
/// scores with this function reproduces the reference bit for bit. Thread-safe.
/// </remarks>
internal static class SerdeJsonFloat
{
    private static readonly double[] Pow10 = CreatePow10();

    /// <summary>Parses the raw text of a JSON number (as in <c>Utf8JsonReader.ValueSpan</c>).</summary>
    /// <param name="utf8">The number's bytes, e.g. <c>-10.711343765258789</c>.</param>
    /// <param name="value">The value serde_json produces for an <c>f64</c> field.</param>
    /// <returns>False when the text is not a JSON number or is out of range (serde_json reports an error then).</returns>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out double value)
    {
        value = 0;
        var i = 0;
        var positive = true;
        if (i < utf8.Length && utf8[i] == (byte)'-')
        {
            positive = false;
            i++;
        }

        if (i >= utf8.Length || !IsDigit(utf8[i]))
        {
            return false;
        }

        ulong significand = 0;
        var exponent = 0;
        var isFloat = false;
        var overflowed = false;

        if (utf8[i] == (byte)'0')
        {
            i++;
            if (i < utf8.Length && IsDigit(utf8[i]))
            {
                return false;
            }
        }
        else
        {
            for (; i < utf8.Length && IsDigit(utf8[i]); i++)
            {
                var digit = (ulong)(utf8[i] - '0');
                if (overflowed || Overflows(significand, digit))
                {
                    // parse_long_integer: once the u64 is full, further integer digits only scale the exponent.
                    overflowed = true;
                    isFloat = true;
                    exponent++;
                }
                else
                {
                    significand = (significand * 10) + digit;
                }
            }
        }

        if (i < utf8.Length && utf8[i] == (byte)'.')
        {
            isFloat = true;
            i++;
            var fractionDigits = 0;
            var fractionOverflowed = false;
            for (; i < utf8.Length && IsDigit(utf8[i]); i++)
            {
                fractionDigits++;
                var digit = (ulong)(utf8[i] - '0');

                // parse_decimal checks every digit against the current significand (even after a long integer part);
                // once one would overflow, parse_decimal_overflow ignores all the remaining fraction digits.
                if (fractionOverflowed || Overflows(significand, digit))
                {
                    fractionOverflowed = true;
                    continue;
                }

                significand = (significand * 10) + digit;
                exponent--;
            }

            if (fractionDigits == 0)
            {
                return false;
            }
        }

        if (i < utf8.Length && (utf8[i] == (byte)'e' || utf8[i] == (byte)'E'))
        {
            isFloat = true;
            i++;
            var positiveExponent = true;
            if (i < utf8.Length && (utf8[i] == (byte)'+' || utf8[i] == (byte)'-'))
            {
                positiveExponent = utf8[i] == (byte)'+';
                i++;
            }

            if (i >= utf8.Length || !IsDigit(utf8[i]))
            {
                return false;
            }

            var exp = 0;
            for (; i < utf8.Length && IsDigit(utf8[i]); i++)
            {
                var digit = utf8[i] - '0';
                if (exp > int.MaxValue / 10 || (exp == int.MaxValue / 10 && digit > int.MaxValue % 10))
                {
                    // parse_exponent_overflow: +/-0 for a zero significand or a negative exponent, else an error.
                    if (significand != 0 && positiveExponent)
                    {
                        return false;
                    }

                    while (i < utf8.Length && IsDigit(utf8[i]))
                    {
                        i++;
                    }

                    value = positive ? 0.0 : -0.0;
                    return i == utf8.Length;
                }

                exp = (exp * 10) + digit;
            }

            exponent = positiveExponent ? SaturatingAdd(exponent, exp) : SaturatingAdd(exponent, -exp);
        }

        if (i != utf8.Length)
        {
            return false;
        }

        if (!isFloat)
        {
            // Integers become u64 / i64 and are then converted with `as f64`.
            if (positive)
            {
                value = significand;
            }
            else
            {
                var negated = unchecked(-(long)significand);
                value = negated >= 0 ? -(double)significand : negated;
            }

            return true;
        }

        return FromParts(positive, significand, exponent, out value);
    }

    private static bool FromParts(bool positive, ulong significand, int exponent, out double value)
    {
        double f = significand;
        while (true)
        {
            var magnitude = exponent == int.MinValue ? int.MinValue : Math.Abs(exponent);
            if ((uint)magnitude < (uint)Pow10.Length)
            {
                if (exponent >= 0)
                {
                    f *= Pow10[magnitude];
                    if (double.IsInfinity(f))
                    {
                        value = 0;
                        return false;
                    }
                }
                else
                {
                    f /= Pow10[magnitude];
                }

                break;
            }

            if (f == 0.0)
            {
                break;
            }

            if (exponent >= 0)
            {
                value = 0;
                return false;
            }

            f /= 1e308;
            exponent += 308;
        }

        value = positive ? f : -f;
        return true;
    }

    private static bool Overflows(ulong significand, ulong digit) =>
        significand >= ulong.MaxValue / 10 && (significand > ulong.MaxValue / 10 || digit > ulong.MaxValue % 10);

    private static int SaturatingAdd(int a, int b)
    {
        var sum = (long)a + b;
        return sum > int.MaxValue ? int.MaxValue : sum < int.MinValue ? int.MinValue : (int)sum;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static double[] CreatePow10()
    {
        // The same correctly rounded constants as serde_json's POW10 table (1e0 to 1e308).
        var table = new double[309];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = double.Parse("1e" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        }

        return table;
    }
}
