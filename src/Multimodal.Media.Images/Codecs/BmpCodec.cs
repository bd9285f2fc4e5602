// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>A managed BMP decoder, a port of Pillow 9.4's BmpImagePlugin (header parsing, raw modes, RLE).</summary>
/// <remarks>
/// <para>
/// Headers of 12 (OS/2 1.x), 40, 64, 108 and 124 bytes; 1, 4, 8, 16, 24 and 32 bits per pixel; BI_RGB,
/// BI_BITFIELDS (the mask layouts Pillow knows) and RLE8/RLE4. Bottom-up and top-down rows.
/// </para>
/// <para>
/// As in Pillow, a 32-bit BI_RGB file is RGB (its fourth byte is ignored); only bit-field files with an alpha mask
/// open as RGBA. A palette whose entries are the grey ramp (entry i = (i, i, i); black/white for two colours)
/// opens as "L" (or "1"); any other palette as "P".
/// </para>
/// </remarks>
internal static class BmpCodec
{
    private const int Raw = 0, Rle8 = 1, Rle4 = 2, BitFields = 3;

    /// <summary>Tells whether data starts with the BMP signature.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a BMP file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) => data.StartsWith("BM"u8);

    /// <summary>Decodes a BMP file.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <returns>The image in its Pillow mode.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, unsupported or over a limit.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, DecodeContext context)
    {
        if (data.Length < 18 || !IsMatch(data))
        {
            throw context.Truncated("the file header");
        }

        long offset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        if (headerSize is not (12 or 40 or 64 or 108 or 124))
        {
            throw context.Fail($"the BMP header type ({headerSize} bytes) is not supported");
        }

        if (18 + headerSize - 4 > data.Length)
        {
            throw context.Truncated("the bitmap header");
        }

        var h = data.Slice(18, (int)headerSize - 4);
        long width, height;
        int bits, compression = Raw, colors = 0, paletteEntrySize;
        var topDown = false;
        var readPosition = 18 + (int)headerSize - 4;
        uint rMask = 0, gMask = 0, bMask = 0, aMask = 0;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(h);
            height = BinaryPrimitives.ReadUInt16LittleEndian(h[2..]);
            bits = BinaryPrimitives.ReadUInt16LittleEndian(h[6..]);
            paletteEntrySize = 3;
        }
        else
        {
            // Pillow reads a top-down image (negative height) by looking at the height's top byte.
            topDown = h[7] == 0xFF;
            width = BinaryPrimitives.ReadInt32LittleEndian(h);
            var rawHeight = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            height = topDown ? (1L << 32) - rawHeight : rawHeight;
            bits = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            compression = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(h[12..]), int.MaxValue);
            colors = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(h[28..]), int.MaxValue);
            paletteEntrySize = 4;
            if (compression == BitFields)
            {
                if (h.Length >= 52)
                {
                    (rMask, gMask, bMask, aMask) = (BinaryPrimitives.ReadUInt32LittleEndian(h[36..]), BinaryPrimitives.ReadUInt32LittleEndian(h[40..]), BinaryPrimitives.ReadUInt32LittleEndian(h[44..]), BinaryPrimitives.ReadUInt32LittleEndian(h[48..]));
                }
                else
                {
                    // A 40-byte header's masks follow it; its fourth "mask" is reserved, not alpha.
                    if (readPosition + 12 > data.Length)
                    {
                        throw context.Truncated("the bit-field masks");
                    }

                    rMask = BinaryPrimitives.ReadUInt32LittleEndian(data[readPosition..]);
                    gMask = BinaryPrimitives.ReadUInt32LittleEndian(data[(readPosition + 4)..]);
                    bMask = BinaryPrimitives.ReadUInt32LittleEndian(data[(readPosition + 8)..]);
                    readPosition += 12;
                }
            }
        }

        context.CheckSize(width, height);
        if (colors == 0 && bits < 31)
        {
            colors = 1 << bits;
        }

        if (offset == 14 + headerSize && bits <= 8)
        {
            offset += 4L * colors;
        }

        // BIT2MODE, then the bit-field layouts Pillow supports.
        var (mode, rawMode) = bits switch
        {
            1 => (PixelMode.P, RawMode.P1),
            4 => (PixelMode.P, RawMode.P4),
            8 => (PixelMode.P, RawMode.P8),
            16 => (PixelMode.Rgb, RawMode.Bgr15),
            24 => (PixelMode.Rgb, RawMode.Bgr),
            32 => (PixelMode.Rgb, RawMode.Bgrx),
            _ => throw context.Fail($"the pixel depth {bits} is not supported"),
        };
        var rle = false;
        switch (compression)
        {
            case BitFields:
                (mode, rawMode) = (bits, rMask, gMask, bMask, aMask) switch
                {
                    (32, 0xFF0000, 0xFF00, 0xFF, 0) => (PixelMode.Rgb, RawMode.Bgrx),
                    (32, 0xFF000000, 0xFF0000, 0xFF00, 0) => (PixelMode.Rgb, RawMode.Xbgr),
                    (32, 0xFF000000, 0xFF0000, 0xFF00, 0xFF) => (PixelMode.Rgba, RawMode.Abgr),
                    (32, 0xFF, 0xFF00, 0xFF0000, 0xFF000000) => (PixelMode.Rgba, RawMode.Rgba),
                    (32, 0xFF0000, 0xFF00, 0xFF, 0xFF000000) => (PixelMode.Rgba, RawMode.Bgra),
                    (32, 0, 0, 0, 0) => (PixelMode.Rgba, RawMode.Bgra),
                    (24, 0xFF0000, 0xFF00, 0xFF, _) => (PixelMode.Rgb, RawMode.Bgr),
                    (16, 0xF800, 0x7E0, 0x1F, _) => (PixelMode.Rgb, RawMode.Bgr16),
                    (16, 0x7C00, 0x3E0, 0x1F, _) => (PixelMode.Rgb, RawMode.Bgr15),
                    _ => throw context.Fail("the bit-field layout is not supported"),
                };
                break;
            case Raw:
                break;
            case Rle8 or Rle4:
                rle = true;
                break;
            default:
                throw context.Fail($"the compression {compression} is not supported");
        }

        byte[]? palette = null;
        var paletteEnd = readPosition;
        if (mode == PixelMode.P)
        {
            if (colors is <= 0 or > 256)
            {
                throw context.Fail($"the palette size {colors} is not supported");
            }

            var paletteBytes = paletteEntrySize * colors;
            if (readPosition + paletteBytes > data.Length)
            {
                throw context.Truncated("the palette");
            }

            var table = data.Slice(readPosition, paletteBytes);
            paletteEnd = readPosition + paletteBytes;
            var greyscale = true;
            for (var i = 0; i < colors; i++)
            {
                var expected = colors == 2 ? (i == 0 ? 0 : 255) : i;
                var entry = table.Slice(i * paletteEntrySize, 3);
                if (entry[0] != expected || entry[1] != expected || entry[2] != expected)
                {
                    greyscale = false;
                }
            }

            if (greyscale)
            {
                mode = colors == 2 ? PixelMode.Bilevel : PixelMode.L;
                rawMode = colors == 2 ? RawMode.Bit1 : RawMode.L8;
            }
            else
            {
                palette = DecodedImage.CreateRampPalette();
                for (var i = 0; i < colors; i++)
                {
                    // BGRX / BGR entries.
                    palette[i * 4] = table[(i * paletteEntrySize) + 2];
                    palette[(i * 4) + 1] = table[(i * paletteEntrySize) + 1];
                    palette[(i * 4) + 2] = table[i * paletteEntrySize];
                }
            }
        }

        var image = new DecodedImage((int)width, (int)height, mode);
        palette?.CopyTo(image.Palette!, 0);
        if (offset == 0)
        {
            // Pillow's tile offset is "offset or fp.tell()": a zero offset means "right after the palette".
            offset = paletteEnd;
        }

        if (offset > data.Length)
        {
            throw context.Truncated("the pixel data offset is past the end of the file");
        }

        if (rle)
        {
            if (mode is not (PixelMode.P or PixelMode.L))
            {
                throw context.Fail("RLE compression needs a 4- or 8-bit palette image");
            }

            DecodeRle(data, (int)offset, compression == Rle4, image, topDown, context);
        }
        else
        {
            var stride = ((width * bits) + 31) >> 3 & ~3L;
            DecodeRaw(data[(int)offset..], rawMode, stride, image, topDown, context);
        }

        return image;
    }

    private static void DecodeRaw(ReadOnlySpan<byte> pixels, RawMode rawMode, long stride, DecodedImage image, bool topDown, DecodeContext context)
    {
        // Pillow's raw decoder: each row is the unpacker's byte count plus padding up to the stride.
        int w = image.Width, h = image.Height;
        var rowBytes = ((long)w * RawBits(rawMode) + 7) / 8;
        if (stride < rowBytes)
        {
            throw context.Fail("the row stride is shorter than a row of pixels");
        }

        if (stride * h > pixels.Length)
        {
            // The last row needs only its pixel bytes, not its padding.
            if ((stride * (h - 1)) + rowBytes > pixels.Length)
            {
                throw context.Truncated($"the pixel data needs {stride * h:N0} bytes but {pixels.Length:N0} remain");
            }
        }

        var bpp = DecodedImage.BytesPerPixel(image.Mode);
        for (var row = 0; row < h; row++)
        {
            var y = topDown ? row : h - 1 - row;
            var src = pixels.Slice((int)(row * stride), (int)rowBytes);
            var dst = image.Pixels.AsSpan(y * w * bpp, w * bpp);
            Unpack(src, dst, w, rawMode);
        }
    }

    private static int RawBits(RawMode mode) => mode switch
    {
        RawMode.Bit1 or RawMode.P1 => 1,
        RawMode.P4 => 4,
        RawMode.P8 or RawMode.L8 => 8,
        RawMode.Bgr15 or RawMode.Bgr16 => 16,
        RawMode.Bgr => 24,
        _ => 32,
    };

    private static void Unpack(ReadOnlySpan<byte> src, Span<byte> dst, int width, RawMode mode)
    {
        switch (mode)
        {
            case RawMode.Bit1:
                for (var x = 0; x < width; x++)
                {
                    dst[x] = (src[x >> 3] & (0x80 >> (x & 7))) != 0 ? (byte)255 : (byte)0;
                }

                break;
            case RawMode.P1:
                for (var x = 0; x < width; x++)
                {
                    dst[x] = (byte)((src[x >> 3] >> (7 - (x & 7))) & 1);
                }

                break;
            case RawMode.P4:
                for (var x = 0; x < width; x++)
                {
                    dst[x] = (byte)((x & 1) == 0 ? src[x >> 1] >> 4 : src[x >> 1] & 0x0F);
                }

                break;
            case RawMode.P8 or RawMode.L8:
                src[..width].CopyTo(dst);
                break;
            case RawMode.Bgr15 or RawMode.Bgr16:
                for (var x = 0; x < width; x++)
                {
                    var v = src[x * 2] | (src[(x * 2) + 1] << 8);
                    if (mode == RawMode.Bgr15)
                    {
                        dst[x * 3] = (byte)(((v >> 10) & 31) * 255 / 31);
                        dst[(x * 3) + 1] = (byte)(((v >> 5) & 31) * 255 / 31);
                    }
                    else
                    {
                        dst[x * 3] = (byte)(((v >> 11) & 31) * 255 / 31);
                        dst[(x * 3) + 1] = (byte)(((v >> 5) & 63) * 255 / 63);
                    }

                    dst[(x * 3) + 2] = (byte)((v & 31) * 255 / 31);
                }

                break;
            case RawMode.Bgr:
                for (var x = 0; x < width; x++)
                {
                    dst[x * 3] = src[(x * 3) + 2];
                    dst[(x * 3) + 1] = src[(x * 3) + 1];
                    dst[(x * 3) + 2] = src[x * 3];
                }

                break;
            case RawMode.Bgrx:
                for (var x = 0; x < width; x++)
                {
                    dst[x * 3] = src[(x * 4) + 2];
                    dst[(x * 3) + 1] = src[(x * 4) + 1];
                    dst[(x * 3) + 2] = src[x * 4];
                }

                break;
            case RawMode.Xbgr:
                for (var x = 0; x < width; x++)
                {
                    dst[x * 3] = src[(x * 4) + 3];
                    dst[(x * 3) + 1] = src[(x * 4) + 2];
                    dst[(x * 3) + 2] = src[(x * 4) + 1];
                }

                break;
            case RawMode.Abgr:
                for (var x = 0; x < width; x++)
                {
                    dst[x * 4] = src[(x * 4) + 3];
                    dst[(x * 4) + 1] = src[(x * 4) + 2];
                    dst[(x * 4) + 2] = src[(x * 4) + 1];
                    dst[(x * 4) + 3] = src[x * 4];
                }

                break;
            case RawMode.Rgba:
                src[..(width * 4)].CopyTo(dst);
                break;
            default: // Bgra
                for (var x = 0; x < width; x++)
                {
                    dst[x * 4] = src[(x * 4) + 2];
                    dst[(x * 4) + 1] = src[(x * 4) + 1];
                    dst[(x * 4) + 2] = src[x * 4];
                    dst[(x * 4) + 3] = src[(x * 4) + 3];
                }

                break;
        }
    }

    /// <summary>Pillow's BmpRleDecoder, byte for byte: runs, end-of-line, delta and absolute (word-aligned) records.</summary>
    private static void DecodeRle(ReadOnlySpan<byte> file, int start, bool rle4, DecodedImage image, bool topDown, DecodeContext context)
    {
        int w = image.Width, h = image.Height;
        var total = (long)w * h;
        var output = new byte[total];
        long length = 0;
        var x = 0;
        var pos = start;

        void Append(byte value, long count)
        {
            // Bytes past the image are dropped: Pillow decodes only the first width*height of them.
            var n = Math.Min(count, total - length);
            if (n > 0)
            {
                output.AsSpan((int)length, (int)n).Fill(value);
            }

            length += count;
        }

        while (length < total)
        {
            if (pos + 2 > file.Length)
            {
                break;
            }

            int pixels = file[pos], value = file[pos + 1];
            pos += 2;
            if (pixels != 0)
            {
                if (x + pixels > w)
                {
                    pixels = Math.Max(0, w - x);
                }

                if (rle4)
                {
                    for (var i = 0; i < pixels; i++)
                    {
                        Append((byte)(i % 2 == 0 ? value >> 4 : value & 0x0F), 1);
                    }
                }
                else
                {
                    Append((byte)value, pixels);
                }

                x += pixels;
            }
            else if (value == 0)
            {
                // End of line: pad the row with zeros.
                Append(0, (w - (length % w)) % w);
                x = 0;
            }
            else if (value == 1)
            {
                break;
            }
            else if (value == 2)
            {
                if (pos + 2 > file.Length)
                {
                    break;
                }

                int right = file[pos], up = file[pos + 1];
                pos += 2;
                Append(0, right + ((long)up * w));
                x = (int)(length % w);
            }
            else
            {
                // Absolute mode. Pillow's RLE4 reads count/2 bytes (two pixels each) but advances x by count.
                var byteCount = rle4 ? value / 2 : value;
                var available = Math.Min(byteCount, file.Length - pos);
                for (var i = 0; i < available; i++)
                {
                    if (rle4)
                    {
                        Append((byte)(file[pos + i] >> 4), 1);
                        Append((byte)(file[pos + i] & 0x0F), 1);
                    }
                    else
                    {
                        Append(file[pos + i], 1);
                    }
                }

                pos += available;
                if (available < byteCount)
                {
                    break;
                }

                x += value;

                // Word alignment, measured from the start of the file as Pillow's fd.tell() does.
                if (pos % 2 != 0)
                {
                    pos++;
                }
            }
        }

        if (length < total)
        {
            throw context.Truncated("the RLE data ends before the image is complete");
        }

        for (var row = 0; row < h; row++)
        {
            var y = topDown ? row : h - 1 - row;
            output.AsSpan(row * w, w).CopyTo(image.Pixels.AsSpan(y * w));
        }
    }

    private enum RawMode
    {
        Bit1,
        P1,
        P4,
        P8,
        L8,
        Bgr15,
        Bgr16,
        Bgr,
        Bgrx,
        Xbgr,
        Abgr,
        Rgba,
        Bgra,
    }
}
