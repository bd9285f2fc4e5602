// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>A managed GIF decoder for the first frame, following Pillow 9.4's GifImagePlugin and GifDecode.c.</summary>
/// <remarks>
/// <para>
/// The canvas is the logical screen (grown when the frame extends past it), filled with the frame's transparency
/// index, or 0 when there is none; the frame is decoded into its rectangle. A palette whose entry i is (i, i, i)
/// for every entry is not "needed", so such files open as "L"; otherwise the frame is "P" with the local or global
/// palette. Interlaced frames are supported.
/// </para>
/// <para>A frame whose LZW data ends before every pixel is written is rejected (Pillow reports it as truncated).</para>
/// </remarks>
internal static class GifCodec
{
    private const int TableSize = 4096;

    /// <summary>Tells whether data starts with a GIF signature.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a GIF file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) => data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8);

    /// <summary>Decodes the first frame of a GIF file.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <returns>The image in its Pillow mode ("P" or "L").</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated or over a limit.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, DecodeContext context)
    {
        if (data.Length < 13 || !IsMatch(data))
        {
            throw context.Truncated("the logical screen descriptor");
        }

        int screenWidth = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), screenHeight = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        var flags = data[10];
        var pos = 13;
        ReadOnlySpan<byte> globalPalette = default;
        if ((flags & 0x80) != 0)
        {
            var size = 3 << ((flags & 7) + 1);
            if (pos + size > data.Length)
            {
                throw context.Truncated("the global colour table");
            }

            var table = data.Slice(pos, size);
            pos += size;
            if (IsPaletteNeeded(table))
            {
                globalPalette = table;
            }
        }

        int? transparency = null;
        while (true)
        {
            if (pos >= data.Length)
            {
                throw context.Truncated("the file ends before the first image");
            }

            var introducer = data[pos++];
            if (introducer == 0x3B)
            {
                throw context.Fail("the file has no image");
            }

            if (introducer == 0x21)
            {
                // Extension: a label, then data sub-blocks.
                if (pos >= data.Length)
                {
                    throw context.Truncated("an extension");
                }

                var label = data[pos++];
                var first = true;
                while (true)
                {
                    if (pos >= data.Length)
                    {
                        throw context.Truncated("an extension block");
                    }

                    int blockSize = data[pos++];
                    if (blockSize == 0)
                    {
                        break;
                    }

                    if (pos + blockSize > data.Length)
                    {
                        throw context.Truncated("an extension block");
                    }

                    if (first && label == 0xF9)
                    {
                        // Graphic control extension: flags, delay (2 bytes), transparent index.
                        if (blockSize < 4)
                        {
                            throw context.Fail("the graphic control extension is shorter than 4 bytes");
                        }

                        // As in Pillow, a later control block without the flag keeps an earlier index.
                        if ((data[pos] & 1) != 0)
                        {
                            transparency = data[pos + 3];
                        }
                    }

                    first = false;
                    pos += blockSize;
                }

                continue;
            }

            if (introducer != 0x2C)
            {
                // Pillow skips unknown bytes between blocks.
                continue;
            }

            if (pos + 9 > data.Length)
            {
                throw context.Truncated("the image descriptor");
            }

            int x0 = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]), y0 = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 2)..]);
            int frameWidth = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 4)..]), frameHeight = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 6)..]);
            var frameFlags = data[pos + 8];
            pos += 9;
            if (frameWidth == 0 || frameHeight == 0)
            {
                throw context.Fail("the first frame is empty");
            }

            // Pillow grows the canvas to hold a frame that extends past the logical screen.
            int width = Math.Max(screenWidth, x0 + frameWidth), height = Math.Max(screenHeight, y0 + frameHeight);
            context.CheckSize(width, height);

            bool? localNeeded = null;
            ReadOnlySpan<byte> localPalette = default;
            if ((frameFlags & 0x80) != 0)
            {
                var size = 3 << ((frameFlags & 7) + 1);
                if (pos + size > data.Length)
                {
                    throw context.Truncated("the local colour table");
                }

                localPalette = data.Slice(pos, size);
                pos += size;
                localNeeded = IsPaletteNeeded(localPalette);
            }

            // A local table that is a grey ramp hides the global one: the frame is "L" (palette = False in Pillow).
            var palette = localNeeded switch
            {
                true => localPalette,
                false => default,
                null => globalPalette,
            };
            var mode = palette.IsEmpty ? PixelMode.L : PixelMode.P;
            var image = new DecodedImage(width, height, mode);
            if (mode == PixelMode.P)
            {
                var entries = Math.Min(palette.Length / 3, 256);
                for (var i = 0; i < entries; i++)
                {
                    image.Palette![i * 4] = palette[i * 3];
                    image.Palette[(i * 4) + 1] = palette[(i * 3) + 1];
                    image.Palette[(i * 4) + 2] = palette[(i * 3) + 2];
                }
            }

            // The first frame's canvas starts as the transparency index (or 0); Pillow keeps the index as
            // info["transparency"], which only matters when converting to RGBA.
            image.Pixels.AsSpan().Fill((byte)(transparency ?? 0));
            if (transparency is { } t)
            {
                if (mode == PixelMode.P)
                {
                    image.Palette![(t * 4) + 3] = 0;
                }
                else
                {
                    image.Transparency = [t];
                }
            }

            if (pos >= data.Length)
            {
                throw context.Truncated("the LZW minimum code size");
            }

            int codeBits = data[pos++];
            DecodeLzw(data[pos..], codeBits, (frameFlags & 0x40) != 0, image.Pixels.AsSpan(), width, x0, y0, frameWidth, frameHeight, context);
            return image;
        }
    }

    private static bool IsPaletteNeeded(ReadOnlySpan<byte> palette)
    {
        for (var i = 0; i + 2 < palette.Length; i += 3)
        {
            var index = i / 3;
            if (!(index == palette[i] && palette[i] == palette[i + 1] && palette[i + 1] == palette[i + 2]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>GifDecode.c's LZW decoder: writes a frame's indices into the canvas, row by row (interlaced in four passes).</summary>
    private static void DecodeLzw(ReadOnlySpan<byte> data, int bits, bool interlaced, Span<byte> canvas, int canvasWidth, int x0, int y0, int frameWidth, int frameHeight, DecodeContext context)
    {
        // With a minimum code size of 12 the first free code (4098) lies past the 4096-entry tables; GIF allows at most 11.
        if (bits >= 12)
        {
            throw context.Fail($"the LZW minimum code size {bits} is over 11");
        }

        int clear = 1 << bits, end = clear + 1;
        var link = new ushort[TableSize];
        var suffix = new byte[TableSize];
        var stack = new byte[TableSize + 1];
        int next = clear + 2, codeSize = bits + 1, codeMask = (1 << codeSize) - 1;
        var state = 2; // 2: expecting the first code after a clear; 3: decoding.
        int lastCode = 0;
        byte lastData = 0;

        var pos = 0;
        var blockLeft = 0;
        long bitBuffer = 0;
        var bitCount = 0;

        // Output position: rows in interlace order for interlaced frames.
        int x = 0, y = 0, step = interlaced ? 8 : 1, pass = interlaced ? 1 : 0;
        var done = false;

        while (!done)
        {
            while (bitCount < codeSize)
            {
                if (blockLeft == 0)
                {
                    if (pos >= data.Length)
                    {
                        throw context.Truncated("the image data ends inside the LZW stream");
                    }

                    blockLeft = data[pos++];
                    if (blockLeft == 0)
                    {
                        throw context.Truncated("the image data ends before the frame is complete");
                    }

                    continue;
                }

                if (pos >= data.Length)
                {
                    throw context.Truncated("the image data ends inside an LZW block");
                }

                bitBuffer |= (long)data[pos++] << bitCount;
                bitCount += 8;
                blockLeft--;
            }

            var code = (int)(bitBuffer & codeMask);
            bitBuffer >>= codeSize;
            bitCount -= codeSize;

            if (code == clear)
            {
                next = clear + 2;
                codeSize = bits + 1;
                codeMask = (1 << codeSize) - 1;
                state = 2;
                continue;
            }

            if (code == end)
            {
                throw context.Truncated("the LZW stream ends before the frame is complete");
            }

            int length;
            if (state == 2)
            {
                if (code > clear)
                {
                    throw context.Fail("the LZW stream starts with an undefined code");
                }

                lastCode = code;
                lastData = (byte)code;
                stack[0] = lastData;
                length = 1;
                state = 3;
            }
            else
            {
                var thisCode = code;
                if (code > next)
                {
                    throw context.Fail("the LZW stream uses an undefined code");
                }

                var sp = stack.Length;
                if (code == next)
                {
                    // The KwKwK case: the string of the previous code plus its own first byte.
                    stack[--sp] = lastData;
                    code = lastCode;
                }

                while (code >= clear)
                {
                    if (sp <= 0)
                    {
                        throw context.Fail("an LZW string is too long");
                    }

                    stack[--sp] = suffix[code];
                    code = link[code];
                }

                lastData = (byte)code;
                stack[--sp] = lastData;
                if (next < TableSize)
                {
                    suffix[next] = lastData;
                    link[next] = (ushort)lastCode;
                    if (next == codeMask && codeSize < 12)
                    {
                        codeSize++;
                        codeMask = (1 << codeSize) - 1;
                    }

                    next++;
                }

                lastCode = thisCode;
                length = stack.Length - sp;
                stack.AsSpan(sp, length).CopyTo(stack);
            }

            for (var i = 0; i < length; i++)
            {
                canvas[((y0 + y) * canvasWidth) + x0 + x] = stack[i];
                if (++x < frameWidth)
                {
                    continue;
                }

                x = 0;
                y += step;
                while (y >= frameHeight)
                {
                    // Interlace passes start at rows 4, 2, 1 with steps 8, 4, 2; after the last pass (or after the
                    // last row of a non-interlaced frame) the frame is complete and the rest of the stream is ignored.
                    (pass, y, step) = pass switch
                    {
                        1 => (2, 4, 8),
                        2 => (3, 2, 4),
                        3 => (4, 1, 2),
                        _ => (0, 0, 0),
                    };
                    if (pass == 0)
                    {
                        done = true;
                        break;
                    }
                }

                if (done)
                {
                    break;
                }
            }
        }
    }
}
