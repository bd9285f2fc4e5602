// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Multimodal.Media.Images.Pixels;

/// <summary>Pillow 9.4's <c>Image.convert("RGB" | "RGBA" | "L")</c>, reproduced bit for bit (libImaging/Convert.c).</summary>
/// <remarks>
/// <list type="bullet">
/// <item>To RGB, alpha is dropped, never composited onto a background.</item>
/// <item>To L, colour uses <c>L24</c>: <c>(r·19595 + g·38470 + b·7471 + 0x8000) &gt;&gt; 16</c>; "I" clips to 0–255.</item>
/// <item>To RGBA, a single transparent colour (PNG tRNS for grey/RGB, a GIF index) becomes alpha 0 where a pixel
/// equals the colour's low byte(s), as <c>rgbT2rgba</c> does; palette alpha comes from tRNS.</item>
/// <item>CMYK uses <c>cmyk2rgb</c>: <c>nk = 255 − k; out = nk − nk·c/255</c> (rounded with <c>MULDIV255</c>).</item>
/// </list>
/// </remarks>
internal static class PillowConversion
{
    /// <summary>Converts decoded pixels to the requested layout.</summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="format">The output layout.</param>
    /// <returns>Tightly packed pixels, <see cref="ImageFrame.BytesPerPixelOf"/> bytes each.</returns>
    public static byte[] Convert(DecodedImage image, ImagePixelFormat format)
    {
        var count = image.Width * image.Height;
        var output = GC.AllocateUninitializedArray<byte>(count * ImageFrame.BytesPerPixelOf(format));
        ReadOnlySpan<byte> src = image.Pixels;
        Span<byte> dst = output;
        switch (image.Mode)
        {
            case PixelMode.Bilevel:
            case PixelMode.L:
                FromGray(src, dst, format, TransparentGray(image));
                break;
            case PixelMode.I16:
                FromI16(MemoryMarshal.Cast<byte, ushort>(src), dst, format, TransparentGray(image));
                break;
            case PixelMode.LA:
                FromLa(src, dst, format);
                break;
            case PixelMode.P:
                FromPalette(src, dst, format, image.Palette!);
                break;
            case PixelMode.Rgb:
                FromRgb(src, dst, format, image.Transparency);
                break;
            case PixelMode.Rgba:
                FromRgba(src, dst, format);
                break;
            case PixelMode.Cmyk:
                FromCmyk(src, dst, format);
                break;
            default:
                throw new InvalidOperationException($"Unknown pixel mode {image.Mode}.");
        }

        return output;
    }

    /// <summary>Pillow's <c>L24(rgb) &gt;&gt; 16</c>: ITU-R 601-2 luma in 16-bit fixed point, rounded.</summary>
    /// <param name="r">Red.</param>
    /// <param name="g">Green.</param>
    /// <param name="b">Blue.</param>
    /// <returns>The luminance.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Luma(int r, int g, int b) => (byte)(((r * 19595) + (g * 38470) + (b * 7471) + 0x8000) >> 16);

    /// <summary>Pillow's <c>cmyk2rgb</c> for one channel: <c>CLIP8(nk − MULDIV255(c, nk))</c> with <c>nk = 255 − k</c>.</summary>
    /// <param name="c">The C, M or Y value.</param>
    /// <param name="nk">255 minus K.</param>
    /// <returns>The R, G or B value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte CmykChannel(int c, int nk)
    {
        var tmp = (c * nk) + 128;
        var v = nk - (((tmp >> 8) + tmp) >> 8);
        return (byte)Math.Clamp(v, 0, 255);
    }

    /// <summary>Converts Pillow CMYK pixels (not inverted) to the requested layout.</summary>
    /// <param name="src">4 bytes per pixel.</param>
    /// <param name="dst">The output.</param>
    /// <param name="format">The output layout.</param>
    public static void FromCmyk(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format)
    {
        var n = src.Length / 4;
        for (var i = 0; i < n; i++)
        {
            var s = src.Slice(i * 4, 4);
            var nk = 255 - s[3];
            var r = CmykChannel(s[0], nk);
            var g = CmykChannel(s[1], nk);
            var b = CmykChannel(s[2], nk);
            WriteRgb(dst, i, format, r, g, b, 255);
        }
    }

    /// <summary>Converts RGB pixels to luminance with <see cref="Luma"/> (Pillow's <c>rgb2l</c>).</summary>
    /// <param name="src">3 bytes per pixel.</param>
    /// <param name="dst">1 byte per pixel.</param>
    public static void RgbToLuma(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        for (var i = 0; i < dst.Length; i++)
        {
            dst[i] = Luma(src[i * 3], src[(i * 3) + 1], src[(i * 3) + 2]);
        }
    }

    private static int TransparentGray(DecodedImage image) => image.Transparency is { Length: >= 1 } t ? t[0] & 0xFF : -1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteRgb(Span<byte> dst, int i, ImagePixelFormat format, byte r, byte g, byte b, byte a)
    {
        switch (format)
        {
            case ImagePixelFormat.Rgb24:
                dst[i * 3] = r;
                dst[(i * 3) + 1] = g;
                dst[(i * 3) + 2] = b;
                break;
            case ImagePixelFormat.Rgba32:
                dst[i * 4] = r;
                dst[(i * 4) + 1] = g;
                dst[(i * 4) + 2] = b;
                dst[(i * 4) + 3] = a;
                break;
            default:
                dst[i] = Luma(r, g, b);
                break;
        }
    }

    private static void FromGray(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format, int transparent)
    {
        switch (format)
        {
            case ImagePixelFormat.Gray8:
                src.CopyTo(dst);
                break;
            case ImagePixelFormat.Rgb24:
                for (var i = 0; i < src.Length; i++)
                {
                    dst[i * 3] = dst[(i * 3) + 1] = dst[(i * 3) + 2] = src[i];
                }

                break;
            default:
                for (var i = 0; i < src.Length; i++)
                {
                    var v = src[i];
                    dst[i * 4] = dst[(i * 4) + 1] = dst[(i * 4) + 2] = v;
                    dst[(i * 4) + 3] = v == transparent ? (byte)0 : (byte)255;
                }

                break;
        }
    }

    private static void FromI16(ReadOnlySpan<ushort> src, Span<byte> dst, ImagePixelFormat format, int transparent)
    {
        // Pillow's i2l / i2rgb (and I16_L for "I;16") saturate: every value of 255 or more becomes 255.
        for (var i = 0; i < src.Length; i++)
        {
            var v = (byte)Math.Min(src[i], (ushort)255);
            switch (format)
            {
                case ImagePixelFormat.Gray8:
                    dst[i] = v;
                    break;
                case ImagePixelFormat.Rgb24:
                    dst[i * 3] = dst[(i * 3) + 1] = dst[(i * 3) + 2] = v;
                    break;
                default:
                    dst[i * 4] = dst[(i * 4) + 1] = dst[(i * 4) + 2] = v;
                    dst[(i * 4) + 3] = v == transparent ? (byte)0 : (byte)255;
                    break;
            }
        }
    }

    private static void FromLa(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format)
    {
        var n = src.Length / 2;
        for (var i = 0; i < n; i++)
        {
            var l = src[i * 2];
            switch (format)
            {
                case ImagePixelFormat.Gray8:
                    dst[i] = l;
                    break;
                case ImagePixelFormat.Rgb24:
                    dst[i * 3] = dst[(i * 3) + 1] = dst[(i * 3) + 2] = l;
                    break;
                default:
                    dst[i * 4] = dst[(i * 4) + 1] = dst[(i * 4) + 2] = l;
                    dst[(i * 4) + 3] = src[(i * 2) + 1];
                    break;
            }
        }
    }

    private static void FromPalette(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format, byte[] palette)
    {
        switch (format)
        {
            case ImagePixelFormat.Gray8:
                // Pillow's p2l: L24 of the palette entry.
                Span<byte> luma = stackalloc byte[256];
                for (var e = 0; e < 256; e++)
                {
                    luma[e] = Luma(palette[e * 4], palette[(e * 4) + 1], palette[(e * 4) + 2]);
                }

                for (var i = 0; i < src.Length; i++)
                {
                    dst[i] = luma[src[i]];
                }

                break;
            case ImagePixelFormat.Rgb24:
                for (var i = 0; i < src.Length; i++)
                {
                    var e = src[i] * 4;
                    dst[i * 3] = palette[e];
                    dst[(i * 3) + 1] = palette[e + 1];
                    dst[(i * 3) + 2] = palette[e + 2];
                }

                break;
            default:
                for (var i = 0; i < src.Length; i++)
                {
                    palette.AsSpan(src[i] * 4, 4).CopyTo(dst.Slice(i * 4, 4));
                }

                break;
        }
    }

    private static void FromRgb(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format, int[]? transparency)
    {
        var n = src.Length / 3;
        switch (format)
        {
            case ImagePixelFormat.Rgb24:
                src.CopyTo(dst);
                break;
            case ImagePixelFormat.Gray8:
                RgbToLuma(src, dst);
                break;
            default:
                // Pillow compares against the low byte of each tRNS sample (rgbT2rgba masks with 0xff).
                int tr = -1, tg = -1, tb = -1;
                if (transparency is { Length: >= 3 })
                {
                    (tr, tg, tb) = (transparency[0] & 0xFF, transparency[1] & 0xFF, transparency[2] & 0xFF);
                }

                for (var i = 0; i < n; i++)
                {
                    byte r = src[i * 3], g = src[(i * 3) + 1], b = src[(i * 3) + 2];
                    dst[i * 4] = r;
                    dst[(i * 4) + 1] = g;
                    dst[(i * 4) + 2] = b;
                    dst[(i * 4) + 3] = r == tr && g == tg && b == tb ? (byte)0 : (byte)255;
                }

                break;
        }
    }

    private static void FromRgba(ReadOnlySpan<byte> src, Span<byte> dst, ImagePixelFormat format)
    {
        var n = src.Length / 4;
        switch (format)
        {
            case ImagePixelFormat.Rgba32:
                src.CopyTo(dst);
                break;
            case ImagePixelFormat.Rgb24:
                for (var i = 0; i < n; i++)
                {
                    dst[i * 3] = src[i * 4];
                    dst[(i * 3) + 1] = src[(i * 4) + 1];
                    dst[(i * 3) + 2] = src[(i * 4) + 2];
                }

                break;
            default:
                for (var i = 0; i < n; i++)
                {
                    dst[i] = Luma(src[i * 4], src[(i * 4) + 1], src[(i * 4) + 2]);
                }

                break;
        }
    }
}
