// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.Intrinsics;

namespace Multimodal.Media.Pdf;

/// <summary>Converts cairo's RGB24 surfaces (native-endian xRGB32) to packed RGB.</summary>
internal static class PixelConversion
{
    /// <summary>Copies <paramref name="height"/> rows of xRGB32 pixels into tightly packed RGB bytes.</summary>
    /// <param name="source">The first row of the surface.</param>
    /// <param name="sourceStride">Bytes between surface rows.</param>
    /// <param name="destination">Room for <paramref name="width"/> × <paramref name="height"/> × 3 bytes.</param>
    /// <param name="width">Pixels per row.</param>
    /// <param name="height">Rows.</param>
    public static unsafe void XrgbToRgb(byte* source, int sourceStride, Span<byte> destination, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, checked(width * height * 3), nameof(destination));
        fixed (byte* dst = destination)
        {
            for (var y = 0; y < height; y++)
            {
                ConvertRow(source + ((long)y * sourceStride), dst + ((long)y * width * 3), width);
            }
        }
    }

    private static unsafe void ConvertRow(byte* src, byte* dst, int width)
    {
        var x = 0;
        if (BitConverter.IsLittleEndian)
        {
            if (Vector128.IsHardwareAccelerated)
            {
                // Little-endian xRGB32 is B, G, R, x in memory: four pixels (16 bytes) become 12 RGB bytes; the store
                // writes 16, and the 4 extra bytes are overwritten by the next step, so stop 6 pixels before the end.
                var mask = Vector128.Create((byte)2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 0x80, 0x80, 0x80, 0x80);
                for (; x + 6 <= width; x += 4)
                {
                    Vector128.Shuffle(Vector128.Load(src + (x * 4)), mask).Store(dst + (x * 3));
                }
            }

            for (; x < width; x++)
            {
                var s = src + (x * 4);
                var d = dst + (x * 3);
                d[0] = s[2];
                d[1] = s[1];
                d[2] = s[0];
            }
        }
        else
        {
            for (; x < width; x++)
            {
                var s = src + (x * 4);
                var d = dst + (x * 3);
                d[0] = s[1];
                d[1] = s[2];
                d[2] = s[3];
            }
        }
    }
}
