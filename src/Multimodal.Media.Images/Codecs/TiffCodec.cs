// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>A managed decoder for baseline TIFF (first image, strips), following Pillow 9.4's TiffImagePlugin modes.</summary>
/// <remarks>
/// <para>
/// Compression: none, PackBits, LZW and Deflate (8 and 32946), with horizontal-differencing predictor 2 for 8- and
/// 16-bit samples; little- and big-endian files; FillOrder 2. Photometric WhiteIsZero/BlackIsZero (1, 2, 4, 8 and
/// 16 bits), RGB (8 and 16 bits, with unassociated, associated or unspecified extra samples), palette (1–8 bits),
/// grey + alpha, and CMYK (8 bits). Tiled, planar (PlanarConfiguration 2), JPEG-compressed, YCbCr, float and signed
/// images are rejected with a clear message.
/// </para>
/// <para>
/// As Pillow 9.4 does at load time, the Orientation tag is always applied (Pillow's <c>load_end</c>); 16-bit samples
/// keep their high byte (colour) or saturate at 255 (grey), and 16-bit WhiteIsZero is not inverted.
/// </para>
/// </remarks>
internal static class TiffCodec
{
    private const ushort TagWidth = 256, TagHeight = 257, TagBitsPerSample = 258, TagCompression = 259, TagPhotometric = 262,
        TagFillOrder = 266, TagStripOffsets = 273, TagOrientation = 274, TagSamplesPerPixel = 277, TagRowsPerStrip = 278,
        TagStripByteCounts = 279, TagPlanarConfiguration = 284, TagPredictor = 317, TagColorMap = 320, TagTileWidth = 322,
        TagTileOffsets = 324, TagExtraSamples = 338, TagSampleFormat = 339;

    /// <summary>Tells whether data starts with a TIFF (or BigTIFF) header.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a TIFF file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) =>
        data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8) || data.StartsWith("II+\0"u8) || data.StartsWith("MM\0+"u8);

    /// <summary>Decodes the first image of a TIFF file.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <returns>The image in its Pillow mode, with <see cref="DecodedImage.LoadOrientation"/> set from the Orientation tag.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, unsupported or over a limit.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, DecodeContext context)
    {
        if (data.Length < 8)
        {
            throw context.Truncated("the header");
        }

        if (data[2] == 43 || data[3] == 43)
        {
            throw context.Fail("BigTIFF files are not supported");
        }

        var little = data[0] == 'I';
        var ifd = new Ifd(data, ReadUInt32(data, 4, little), little, context);

        if (ifd.Has(TagTileWidth) || ifd.Has(TagTileOffsets))
        {
            throw context.Fail("tiled TIFF images are not supported (only strips)");
        }

        var compression = ifd.GetScalar(TagCompression, 1);
        if (compression is not (1 or 5 or 8 or 32773 or 32946))
        {
            throw context.Fail($"the compression {compression} is not supported (none, LZW, Deflate and PackBits are)");
        }

        if (ifd.GetScalar(TagPlanarConfiguration, 1) != 1)
        {
            throw context.Fail("planar (PlanarConfiguration = 2) TIFF images are not supported");
        }

        long width = ifd.GetScalar(TagWidth, -1), height = ifd.GetScalar(TagHeight, -1);
        if (width < 0 || height < 0)
        {
            throw context.Fail("the ImageWidth or ImageLength tag is missing");
        }

        context.CheckSize(width, height);
        var photometric = ifd.GetScalar(TagPhotometric, 0);
        var fillOrder = ifd.GetScalar(TagFillOrder, 1);
        var sampleFormat = ifd.GetArray(TagSampleFormat) ?? [1];
        if (sampleFormat.Any(v => v != 1))
        {
            throw context.Fail("only unsigned integer samples are supported");
        }

        // Pillow's normalisation of BitsPerSample against SamplesPerPixel.
        var bps = ifd.GetArray(TagBitsPerSample) ?? [1];
        var extra = ifd.GetArray(TagExtraSamples) ?? [];
        var samples = ifd.GetScalar(TagSamplesPerPixel, 1);
        if (samples is <= 0 or > 6)
        {
            throw context.Fail($"{samples} samples per pixel are not supported");
        }

        if (samples < bps.Length)
        {
            bps = bps[..(int)samples];
        }
        else if (samples > bps.Length && bps.Length == 1)
        {
            bps = Enumerable.Repeat(bps[0], (int)samples).ToArray();
        }

        if (bps.Length != samples || bps.Any(b => b != bps[0]))
        {
            throw context.Fail("the BitsPerSample values do not match the samples per pixel");
        }

        var layout = ChooseLayout(photometric, (int)bps[0], (int)samples, extra, little, fillOrder, context);
        var image = new DecodedImage((int)width, (int)height, layout.Mode);
        if (layout.Mode == PixelMode.P)
        {
            var map = ifd.GetArray(TagColorMap) ?? throw context.Fail("the palette image has no ColorMap");
            var entries = Math.Min(map.Length / 3, 256);
            for (var i = 0; i < entries; i++)
            {
                // Pillow keeps the high byte of each 16-bit colour-map value.
                image.Palette![i * 4] = (byte)(map[i] / 256);
                image.Palette[(i * 4) + 1] = (byte)(map[entries + i] / 256);
                image.Palette[(i * 4) + 2] = (byte)(map[(2 * entries) + i] / 256);
            }
        }

        var predictor = compression is 5 or 8 or 32946 ? ifd.GetScalar(TagPredictor, 1) : 1;
        if (predictor != 1 && (predictor != 2 || layout.Bits < 8))
        {
            throw context.Fail($"predictor {predictor} with {layout.Bits}-bit samples is not supported");
        }

        var rowBytes = ((width * layout.Bits * samples) + 7) / 8;
        var rowsPerStrip = Math.Min(ifd.GetScalar(TagRowsPerStrip, height), height);
        if (rowsPerStrip <= 0)
        {
            rowsPerStrip = height;
        }

        if (rowsPerStrip * rowBytes > Array.MaxLength)
        {
            throw context.Fail("a strip is too large to decode into one buffer");
        }

        var stripCount = (int)((height + rowsPerStrip - 1) / rowsPerStrip);
        var offsets = ifd.GetArray(TagStripOffsets) ?? throw context.Fail("the StripOffsets tag is missing");
        var counts = ifd.GetArray(TagStripByteCounts);
        if (offsets.Length < stripCount || (compression != 1 && (counts is null || counts.Length < stripCount)))
        {
            throw context.Fail($"the image needs {stripCount} strips but the file describes fewer");
        }

        context.CheckWorkingMemory((long)rowsPerStrip * rowBytes, "one strip");
        var stripBuffer = ArrayPool<byte>.Shared.Rent((int)(rowsPerStrip * rowBytes));
        try
        {
            for (var s = 0; s < stripCount; s++)
            {
                var firstRow = s * rowsPerStrip;
                var rows = (int)Math.Min(rowsPerStrip, height - firstRow);
                var expected = (int)(rows * rowBytes);
                var strip = stripBuffer.AsSpan(0, expected);
                var offset = offsets[s];
                if (compression == 1)
                {
                    // Pillow's raw path reads rows from the strip offset; the byte count is not needed.
                    if (offset + expected > data.Length)
                    {
                        throw context.Truncated($"strip {s} needs {expected:N0} bytes at byte {offset:N0}");
                    }

                    data.Slice((int)offset, expected).CopyTo(strip);
                    if (fillOrder == 2)
                    {
                        ReverseBits(strip);
                    }
                }
                else
                {
                    var count = counts![s];
                    if (offset > data.Length || count > data.Length - offset)
                    {
                        throw context.Truncated($"strip {s} needs {count:N0} bytes at byte {offset:N0}");
                    }

                    var source = data.Slice((int)offset, (int)count);
                    byte[]? reversed = null;
                    try
                    {
                        if (fillOrder == 2)
                        {
                            reversed = ArrayPool<byte>.Shared.Rent(source.Length);
                            source.CopyTo(reversed);
                            ReverseBits(reversed.AsSpan(0, source.Length));
                            source = reversed.AsSpan(0, source.Length);
                        }

                        Decompress(source, strip, compression, s, context);
                    }
                    finally
                    {
                        if (reversed is not null)
                        {
                            ArrayPool<byte>.Shared.Return(reversed);
                        }
                    }
                }

                if (predictor == 2)
                {
                    UndoPredictor(strip, rows, (int)rowBytes, (int)samples, layout.Bits, little);
                }

                for (var r = 0; r < rows; r++)
                {
                    var y = (int)(firstRow + r);
                    Unpack(strip.Slice((int)(r * rowBytes), (int)rowBytes), image, y, layout, (int)samples, little);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripBuffer);
        }

        image.LoadOrientation = (int)ifd.GetScalar(TagOrientation, 0) is var o and >= 1 and <= 8 ? o : 0;
        return image;
    }

    private static Layout ChooseLayout(long photometric, int bits, int samples, uint[] extra, bool little, long fillOrder, DecodeContext context)
    {
        var ex = string.Join(",", extra);
        Layout? layout = (photometric, bits, samples, ex) switch
        {
            (0 or 1, 1, 1, "") => new(PixelMode.Bilevel, Kind.Gray, 1, photometric == 0),
            (0 or 1, 2 or 4 or 8, 1, "") => new(PixelMode.L, Kind.Gray, bits, photometric == 0),
            (1, 16, 1, "") => new(PixelMode.I16, Kind.Gray16, 16, false),
            (0, 16, 1, "") when little => new(PixelMode.I16, Kind.Gray16, 16, false), // Pillow: II WhiteIsZero 16-bit is not inverted
            (1, 8, 2, "2") => new(PixelMode.LA, Kind.GrayAlpha, 8, false),
            (2, 8 or 16, 3, "") => new(PixelMode.Rgb, Kind.Rgb, bits, false),
            (2, 8 or 16, 4, "" or "2") => new(PixelMode.Rgba, Kind.Rgba, bits, false),
            (2, 8, 4, "999") => new(PixelMode.Rgba, Kind.Rgba, bits, false),
            (2, 8, 5, "2,0") or (2, 8, 6, "2,0,0") => new(PixelMode.Rgba, Kind.Rgba, bits, false),
            (2, 8 or 16, 4, "0") => new(PixelMode.Rgb, Kind.Rgb, bits, false),
            (2, 8, 5, "0,0") or (2, 8, 6, "0,0,0") => new(PixelMode.Rgb, Kind.Rgb, bits, false),
            (2, 8, 4, "1") or (2, 8, 5, "1,0") or (2, 8, 6, "1,0,0") => new(PixelMode.Rgba, Kind.RgbaPremultiplied, 8, false),
            (3, 1 or 2 or 4 or 8, 1, "") => new(PixelMode.P, Kind.Palette, bits, false),
            (5, 8, 4, "") or (5, 8, 5, "0") or (5, 8, 6, "0,0") => new(PixelMode.Cmyk, Kind.Cmyk, 8, false),
            _ => null,
        };
        if (layout is null)
        {
            throw context.Fail($"photometric interpretation {photometric} with {samples} x {bits}-bit samples (extra samples: {(ex.Length == 0 ? "none" : ex)}) is not supported");
        }

        // Pillow only has FillOrder 2 modes for grey, 8-bit RGB without extra samples, and palette images.
        if (fillOrder == 2 && !(layout.Value.Kind is Kind.Gray or Kind.Palette || (layout.Value.Kind == Kind.Rgb && samples == 3 && bits == 8)))
        {
            throw context.Fail("FillOrder 2 is not supported for this pixel layout");
        }

        if (fillOrder is not (1 or 2))
        {
            throw context.Fail($"FillOrder {fillOrder} is not valid");
        }

        return layout.Value;
    }

    private static void Decompress(ReadOnlySpan<byte> source, Span<byte> destination, long compression, int strip, DecodeContext context)
    {
        int written;
        switch (compression)
        {
            case 32773:
                written = PackBits(source, destination);
                break;
            case 5:
                written = TiffLzw.Decode(source, destination, context);
                break;
            default:
                var buffer = ArrayPool<byte>.Shared.Rent(source.Length);
                try
                {
                    source.CopyTo(buffer);
                    using var zlib = new ZLibStream(new MemoryStream(buffer, 0, source.Length, writable: false), CompressionMode.Decompress);
                    written = zlib.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
                }
                catch (InvalidDataException ex)
                {
                    throw new InvalidMediaException($"Cannot decode the TIFF image: strip {strip} holds corrupt Deflate data ({ex.Message}).", context.MediaType, ex);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                break;
        }

        if (written < destination.Length)
        {
            throw context.Truncated($"strip {strip} decodes to {written:N0} of its {destination.Length:N0} bytes");
        }
    }

    /// <summary>libtiff's PackBitsDecode: returns how many bytes were written.</summary>
    private static int PackBits(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int i = 0, o = 0;
        while (o < destination.Length && i < source.Length)
        {
            var n = (sbyte)source[i++];
            if (n < 0)
            {
                if (n == -128 || i >= source.Length)
                {
                    continue;
                }

                var count = Math.Min(-n + 1, destination.Length - o);
                destination.Slice(o, count).Fill(source[i++]);
                o += count;
            }
            else
            {
                var count = Math.Min(n + 1, destination.Length - o);
                if (i + count > source.Length)
                {
                    break;
                }

                source.Slice(i, count).CopyTo(destination[o..]);
                i += n + 1;
                o += count;
            }
        }

        return o;
    }

    private static void UndoPredictor(Span<byte> strip, int rows, int rowBytes, int samples, int bits, bool little)
    {
        for (var r = 0; r < rows; r++)
        {
            var row = strip.Slice(r * rowBytes, rowBytes);
            if (bits == 8)
            {
                for (var i = samples; i < row.Length; i++)
                {
                    row[i] += row[i - samples];
                }
            }
            else
            {
                // 16-bit samples are differenced as values, in the file's byte order.
                for (var i = samples; i < row.Length / 2; i++)
                {
                    var prev = ReadUInt16(row, (i - samples) * 2, little);
                    var cur = (ushort)(ReadUInt16(row, i * 2, little) + prev);
                    if (little)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(row[(i * 2)..], cur);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(row[(i * 2)..], cur);
                    }
                }
            }
        }
    }

    private static void Unpack(ReadOnlySpan<byte> row, DecodedImage image, int y, Layout layout, int samples, bool little)
    {
        var w = image.Width;
        var bpp = DecodedImage.BytesPerPixel(image.Mode);
        var dst = image.Pixels.AsSpan(y * w * bpp, w * bpp);
        var hi = little ? 1 : 0; // the most significant byte of a 16-bit sample
        switch (layout.Kind)
        {
            case Kind.Gray or Kind.Palette:
                var bits = layout.Bits;
                var mask = (1 << bits) - 1;
                for (var x = 0; x < w; x++)
                {
                    var bit = x * bits;
                    var v = bits == 8 ? row[x] : (row[bit >> 3] >> (8 - bits - (bit & 7))) & mask;
                    if (layout.Invert)
                    {
                        v = mask - v;
                    }

                    dst[x] = layout.Kind == Kind.Palette ? (byte)v : image.Mode == PixelMode.Bilevel ? (v != 0 ? (byte)255 : (byte)0) : (byte)(v * (255 / mask));
                }

                break;
            case Kind.Gray16:
                var values = MemoryMarshal.Cast<byte, ushort>(dst);
                for (var x = 0; x < w; x++)
                {
                    values[x] = ReadUInt16(row, x * 2, little);
                }

                break;
            case Kind.GrayAlpha:
                row[..(w * 2)].CopyTo(dst);
                break;
            case Kind.Rgb or Kind.Rgba or Kind.Cmyk:
                var channels = bpp;
                var sampleBytes = layout.Bits / 8;
                for (var x = 0; x < w; x++)
                {
                    var p = x * samples * sampleBytes;
                    for (var c = 0; c < channels; c++)
                    {
                        dst[(x * channels) + c] = sampleBytes == 1 ? row[p + c] : row[p + (c * 2) + hi];
                    }
                }

                break;
            case Kind.RgbaPremultiplied:
                // Pillow's unpackRGBa: divide by alpha (truncating), clip; alpha 0 gives transparent black.
                for (var x = 0; x < w; x++)
                {
                    var s = row.Slice(x * samples, 4);
                    var d = dst.Slice(x * 4, 4);
                    int a = s[3];
                    if (a == 0)
                    {
                        d.Clear();
                    }
                    else if (a == 255)
                    {
                        s.CopyTo(d);
                    }
                    else
                    {
                        d[0] = (byte)Math.Min(s[0] * 255 / a, 255);
                        d[1] = (byte)Math.Min(s[1] * 255 / a, 255);
                        d[2] = (byte)Math.Min(s[2] * 255 / a, 255);
                        d[3] = (byte)a;
                    }
                }

                break;
        }
    }

    private static void ReverseBits(Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            b = (byte)(((b & 0xF0) >> 4) | ((b & 0x0F) << 4));
            b = (byte)(((b & 0xCC) >> 2) | ((b & 0x33) << 2));
            data[i] = (byte)(((b & 0xAA) >> 1) | ((b & 0x55) << 1));
        }
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> data, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]) : BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);

    private static uint ReadUInt32(ReadOnlySpan<byte> data, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]) : BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);

    private enum Kind
    {
        Gray,
        Gray16,
        GrayAlpha,
        Rgb,
        Rgba,
        RgbaPremultiplied,
        Palette,
        Cmyk,
    }

    private readonly record struct Layout(PixelMode Mode, Kind Kind, int Bits, bool Invert);

    /// <summary>The integer-valued tags of one image file directory.</summary>
    private readonly ref struct Ifd
    {
        private readonly Dictionary<ushort, uint[]> _values;

        public Ifd(ReadOnlySpan<byte> data, uint offset, bool little, DecodeContext context)
        {
            if (offset < 8 || offset > data.Length - 2)
            {
                throw context.Truncated("the first image file directory is outside the file");
            }

            var count = ReadUInt16(data, (int)offset, little);
            if (offset + 2L + (count * 12L) > data.Length)
            {
                throw context.Truncated("the first image file directory");
            }

            _values = [];
            for (var i = 0; i < count; i++)
            {
                var e = (int)offset + 2 + (i * 12);
                var tag = ReadUInt16(data, e, little);
                var type = ReadUInt16(data, e + 2, little);
                var n = ReadUInt32(data, e + 4, little);
                var size = type switch
                {
                    1 or 6 or 7 => 1,
                    3 or 8 => 2,
                    4 or 9 => 4,
                    _ => 0,
                };
                if (size == 0)
                {
                    continue; // ASCII, rationals, floats: none of the tags read here use them.
                }

                var bytes = (long)n * size;
                ReadOnlySpan<byte> payload;
                if (bytes <= 4)
                {
                    payload = data.Slice(e + 8, (int)bytes);
                }
                else
                {
                    var at = ReadUInt32(data, e + 8, little);
                    if (at > data.Length || bytes > data.Length - at)
                    {
                        throw context.Truncated($"the values of tag {tag}");
                    }

                    payload = data.Slice((int)at, (int)bytes);
                }

                var values = new uint[n];
                for (var k = 0; k < n; k++)
                {
                    values[k] = size switch
                    {
                        1 => payload[k],
                        2 => ReadUInt16(payload, k * 2, little),
                        _ => ReadUInt32(payload, k * 4, little),
                    };
                }

                _values[tag] = values;
            }
        }

        public bool Has(ushort tag) => _values.ContainsKey(tag);

        public uint[]? GetArray(ushort tag) => _values.TryGetValue(tag, out var v) ? v : null;

        public long GetScalar(ushort tag, long fallback) => _values.TryGetValue(tag, out var v) && v.Length > 0 ? v[0] : fallback;
    }
}

/// <summary>TIFF LZW decoding as libtiff's LZWDecode does it (MSB-first codes, 9–12 bits, early change).</summary>
internal static class TiffLzw
{
    private const int Clear = 256, EndOfInformation = 257, First = 258, MaxBits = 12;

    // libtiff keeps room past 4096 entries for encoders that clear the table late; codes never exceed 4095.
    private const int TableSize = 4096 + 1024;

    /// <summary>Decodes one strip.</summary>
    /// <param name="source">The compressed strip.</param>
    /// <param name="destination">Room for the decoded strip.</param>
    /// <param name="context">For errors.</param>
    /// <returns>The number of bytes written (less than the destination when the data ends early).</returns>
    /// <exception cref="InvalidMediaException">The LZW data is corrupt or old-style.</exception>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination, DecodeContext context)
    {
        if (source.Length >= 2 && source[0] == 0 && (source[1] & 1) != 0)
        {
            throw context.Fail("old-style (pre-TIFF 6.0) LZW compression is not supported");
        }

        var prefix = new short[TableSize];
        var suffix = new byte[TableSize];
        var firstByte = new byte[TableSize];
        var length = new ushort[TableSize];
        for (var i = 0; i < 256; i++)
        {
            prefix[i] = -1;
            suffix[i] = firstByte[i] = (byte)i;
            length[i] = 1;
        }

        int bits = 9, next = First, previous = -1, o = 0;
        long buffer = 0;
        int bitCount = 0, pos = 0;
        while (o < destination.Length)
        {
            while (bitCount < bits && pos < source.Length)
            {
                buffer = (buffer << 8) | source[pos++];
                bitCount += 8;
            }

            if (bitCount < bits)
            {
                break; // Out of data; the caller reports the short strip.
            }

            var code = (int)((buffer >> (bitCount - bits)) & ((1 << bits) - 1));
            bitCount -= bits;
            if (code == EndOfInformation)
            {
                break;
            }

            if (code == Clear)
            {
                bits = 9;
                next = First;
                previous = -1;
                continue;
            }

            if (previous < 0)
            {
                if (code > Clear)
                {
                    throw context.Fail("the LZW data is corrupt (a string code right after a clear code)");
                }

                destination[o++] = (byte)code;
                previous = code;
                continue;
            }

            if (code > next || next >= TableSize)
            {
                throw context.Fail("the LZW data is corrupt (an undefined code)");
            }

            // The new entry is the previous string plus the first byte of the current one (of itself for KwKwK).
            var first = code < next ? firstByte[code] : firstByte[previous];
            prefix[next] = (short)previous;
            suffix[next] = first;
            firstByte[next] = firstByte[previous];
            length[next] = (ushort)Math.Min(length[previous] + 1, ushort.MaxValue);
            next++;

            // Write the string of `code` back to front, clipped to the room left.
            int n = length[code], end = o + n;
            var c = code;
            for (var k = n - 1; k >= 0; k--)
            {
                if (o + k < destination.Length)
                {
                    destination[o + k] = suffix[c];
                }

                c = prefix[c];
            }

            o = Math.Min(end, destination.Length);
            previous = code;
            if (next >= (1 << bits) - 1 && bits < MaxBits)
            {
                bits++;
            }
        }

        return o;
    }

}
