// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>GPT-2's reversible mapping of the 256 byte values onto printable characters (used by byte-level BPE).</summary>
/// <remarks>Printable Latin-1 bytes map to themselves; the other 68 bytes map, in order, to U+0100 upwards.</remarks>
internal static class ByteLevelAlphabet
{
    /// <summary>Gets the character of each byte.</summary>
    public static char[] ByteToChar { get; } = Build();

    /// <summary>Gets the byte of each character, or -1 for characters outside the alphabet (indexable up to U+0143).</summary>
    public static short[] CharToByte { get; } = BuildReverse();

    private static char[] Build()
    {
        var map = new char[256];
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + n++);
        }

        return map;
    }

    private static short[] BuildReverse()
    {
        var reverse = new short[324];
        Array.Fill(reverse, (short)-1);
        for (var b = 0; b < 256; b++)
        {
            reverse[ByteToChar[b]] = (short)b;
        }

        return reverse;
    }

    /// <summary>Returns the byte of a character, or -1.</summary>
    public static int ByteOf(char c) => c < CharToByte.Length ? CharToByte[c] : -1;
}
