// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images.Codecs;

/// <summary>A managed PNG decoder that opens files the way Pillow 9.4's PngImagePlugin does.</summary>
/// <remarks>
/// <para>
/// Managed rather than libpng because libpng reports errors with <c>longjmp</c>, which must never cross managed
/// frames. All colour types and bit depths, every filter, Adam7 interlacing, PLTE and tRNS are supported; every
/// chunk CRC is checked. zlib data goes through <see cref="ZLibStream"/>.
/// </para>
/// <para>
/// Modes follow Pillow's <c>_MODES</c>: 1-bit grey is "1", 2/4-bit grey is "L" scaled by 85/17, 16-bit grey is "I"
/// (clipped to 255 on conversion), 16-bit RGB/RGBA/LA keep the high byte of each sample, and 16-bit LA opens as RGBA.
/// APNG files decode their default image. Chunks after the image data that are truncated or fail their CRC are
/// ignored, as Pillow does.
/// </para>
/// </remarks>
internal static class PngCodec
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Tells whether data starts with the PNG signature.</summary>
    /// <param name="data">The first bytes of the file.</param>
    /// <returns>Whether it is a PNG file.</returns>
    public static bool IsMatch(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>Decodes a PNG file.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="context">The decode options and error helpers.</param>
    /// <returns>The image in its Pillow mode.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated or over a limit.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, DecodeContext context)
    {
        if (!IsMatch(data))
        {
            throw context.Fail("the PNG signature is missing");
        }

        var header = default(Header);
        var haveHeader = false;
        ReadOnlySpan<byte> plte = default, trns = default, exif = default;
        var hasTrns = false;
        var idat = new List<Range>();
        var idatEnded = false;
        var pos = Signature.Length;
        while (true)
        {
            // Once image data has been seen, a file that ends early is judged by whether the data decompresses to
            // every row (checked below), as Pillow does; before that, it is plainly truncated.
            var afterImageData = idat.Count > 0 && idatEnded;
            if (pos + 8 > data.Length)
            {
                if (idat.Count > 0)
                {
                    break;
                }

                throw context.Truncated($"a chunk header at byte {pos}");
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            var type = data.Slice(pos + 4, 4);
            if (length > int.MaxValue || pos + 12L + length > data.Length)
            {
                if (idat.Count > 0)
                {
                    break;
                }

                throw length > int.MaxValue
                    ? context.Fail($"the chunk at byte {pos} declares an invalid length of {length}")
                    : context.Truncated($"the '{ChunkName(type)}' chunk at byte {pos} needs {length} bytes of data");
            }

            var body = data.Slice(pos + 8, (int)length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]);
            if (Crc32.Compute(data.Slice(pos + 4, 4 + (int)length)) != crc)
            {
                if (afterImageData)
                {
                    break;
                }

                throw context.Fail($"the CRC of the '{ChunkName(type)}' chunk at byte {pos} does not match (the file is corrupt)");
            }

            var chunkStart = pos;
            pos += 12 + (int)length;
            if (!haveHeader)
            {
                if (!type.SequenceEqual("IHDR"u8))
                {
                    throw context.Fail("the first chunk is not IHDR");
                }

                header = ReadHeader(body, context);
                haveHeader = true;
                continue;
            }

            if (type.SequenceEqual("IDAT"u8))
            {
                if (!idatEnded)
                {
                    idat.Add(new Range(chunkStart + 8, chunkStart + 8 + (int)length));
                }

                continue;
            }

            if (idat.Count > 0)
            {
                idatEnded = true;
            }

            if (type.SequenceEqual("IEND"u8))
            {
                break;
            }
            else if (type.SequenceEqual("PLTE"u8))
            {
                plte = body;
            }
            else if (type.SequenceEqual("tRNS"u8))
            {
                trns = body;
                hasTrns = true;
            }
            else if (type.SequenceEqual("eXIf"u8))
            {
                exif = body;
            }
        }

        if (!haveHeader)
        {
            throw context.Fail("the IHDR chunk is missing");
        }

        if (idat.Count == 0)
        {
            throw context.Fail("there is no image data (no IDAT chunk)");
        }

        var image = new DecodedImage(header.Width, header.Height, header.Mode);
        if (header.Mode == PixelMode.P)
        {
            // Pillow's putpalette: the PLTE entries replace the start of the default grey ramp.
            var entries = Math.Min(plte.Length / 3, 256);
            for (var i = 0; i < entries; i++)
            {
                image.Palette![i * 4] = plte[i * 3];
                image.Palette[(i * 4) + 1] = plte[(i * 3) + 1];
                image.Palette[(i * 4) + 2] = plte[(i * 3) + 2];
            }
        }

        if (hasTrns)
        {
            ApplyTransparency(image, header, trns, context);
        }

        if (exif.Length > 0)
        {
            image.ExifOrientation = ExifOrientation.Read(exif);
        }

        DecodePixels(data, idat, header, image, context);
        return image;
    }

    private static string ChunkName(ReadOnlySpan<byte> type)
    {
        Span<char> name = stackalloc char[4];
        for (var i = 0; i < 4; i++)
        {
            name[i] = type[i] is >= 0x20 and < 0x7F ? (char)type[i] : '?';
        }

        return new string(name);
    }

    private static Header ReadHeader(ReadOnlySpan<byte> body, DecodeContext context)
    {
        if (body.Length < 13)
        {
            throw context.Fail("the IHDR chunk is shorter than 13 bytes");
        }

        var width = BinaryPrimitives.ReadUInt32BigEndian(body);
        var height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int depth = body[8], colorType = body[9];
        if (body[11] != 0)
        {
            throw context.Fail($"the filter method {body[11]} is unknown");
        }

        // Pillow's _MODES table: (bit depth, colour type) -> mode.
        PixelMode mode;
        int channels;
        switch ((depth, colorType))
        {
            case (1, 0): (mode, channels) = (PixelMode.Bilevel, 1); break;
            case (2, 0) or (4, 0) or (8, 0): (mode, channels) = (PixelMode.L, 1); break;
            case (16, 0): (mode, channels) = (PixelMode.I16, 1); break;
            case (8, 2) or (16, 2): (mode, channels) = (PixelMode.Rgb, 3); break;
            case (1, 3) or (2, 3) or (4, 3) or (8, 3): (mode, channels) = (PixelMode.P, 1); break;
            case (8, 4): (mode, channels) = (PixelMode.LA, 2); break;
            case (16, 4): (mode, channels) = (PixelMode.Rgba, 2); break;
            case (8, 6) or (16, 6): (mode, channels) = (PixelMode.Rgba, 4); break;
            default: throw context.Fail($"bit depth {depth} with colour type {colorType} is not a valid PNG combination");
        }

        context.CheckSize(width > int.MaxValue ? -1 : width, height > int.MaxValue ? -1 : height);

        // The decoded frame and four row buffers of the widest row are allocated before any data is inflated.
        context.CheckWorkingMemory((RowBytes(width, depth * channels) * 4) + (width * height * DecodedImage.BytesPerPixel(mode)), "its frame and row buffers");

        // Pillow treats any non-zero interlace method as Adam7.
        return new Header((int)width, (int)height, depth, colorType, channels, mode, body[12] != 0);
    }

    private static void ApplyTransparency(DecodedImage image, Header header, ReadOnlySpan<byte> trns, DecodeContext context)
    {
        switch (header.Mode)
        {
            case PixelMode.P:
                // Pillow stores either one transparent index or per-entry alphas; converting to RGBA puts them in the
                // palette's alpha (putpalettealpha / putpalettealphas), which is what both forms amount to.
                if (trns.Length > 256)
                {
                    throw context.Fail("the tRNS chunk has more than 256 entries");
                }

                for (var i = 0; i < trns.Length; i++)
                {
                    image.Palette![(i * 4) + 3] = trns[i];
                }

                break;
            case PixelMode.Bilevel or PixelMode.L or PixelMode.I16:
                if (trns.Length < 2)
                {
                    throw context.Fail("the tRNS chunk of a greyscale image is shorter than 2 bytes");
                }

                // The raw sample value, as Pillow keeps it (not rescaled for 1/2/4-bit images).
                image.Transparency = [BinaryPrimitives.ReadUInt16BigEndian(trns)];
                break;
            case PixelMode.Rgb:
                if (trns.Length < 6)
                {
                    throw context.Fail("the tRNS chunk of an RGB image is shorter than 6 bytes");
                }

                image.Transparency = [BinaryPrimitives.ReadUInt16BigEndian(trns), BinaryPrimitives.ReadUInt16BigEndian(trns[2..]), BinaryPrimitives.ReadUInt16BigEndian(trns[4..])];
                break;
        }
    }

    private static void DecodePixels(ReadOnlySpan<byte> data, List<Range> idat, Header header, DecodedImage image, DecodeContext context)
    {
        var compressedLength = 0;
        foreach (var r in idat)
        {
            compressedLength += r.GetOffsetAndLength(data.Length).Length;
        }

        var compressed = ArrayPool<byte>.Shared.Rent(compressedLength);
        try
        {
            var at = 0;
            foreach (var r in idat)
            {
                var slice = data[r];
                slice.CopyTo(compressed.AsSpan(at));
                at += slice.Length;
            }

            try
            {
                // Rows are inflated one at a time, so no buffer of the whole filtered stream is needed. Pillow stops
                // once every row is decoded: a missing Adler-32 or trailing data is not an error.
                using var zlib = new ZLibStream(new MemoryStream(compressed, 0, compressedLength, writable: false), CompressionMode.Decompress);
                Unfilter(zlib, header, image, context);
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidMediaException($"Cannot decode the PNG image: the compressed image data is corrupt ({ex.Message}).", context.MediaType, ex);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private static long RowBytes(long width, int bitsPerPixel) => ((width * bitsPerPixel) + 7) / 8;

    private static (int X0, int Y0, int Dx, int Dy) Adam7(int pass) => pass switch
    {
        0 => (0, 0, 8, 8),
        1 => (4, 0, 8, 8),
        2 => (0, 4, 4, 8),
        3 => (2, 0, 4, 4),
        4 => (0, 2, 2, 4),
        5 => (1, 0, 2, 2),
        _ => (0, 1, 1, 2),
    };

    private static void Unfilter(Stream inflated, Header header, DecodedImage image, DecodeContext context)
    {
        var bitsPerPixel = header.Depth * header.Channels;
        var bpp = Math.Max(1, bitsPerPixel / 8); // the filter's byte distance to the "left" pixel
        var pixelBytes = DecodedImage.BytesPerPixel(header.Mode);
        var maxRow = checked((int)RowBytes(header.Width, bitsPerPixel));
        var current = ArrayPool<byte>.Shared.Rent(maxRow + 1);
        var previous = ArrayPool<byte>.Shared.Rent(maxRow);
        var unpacked = ArrayPool<byte>.Shared.Rent(header.Width * pixelBytes);
        try
        {
            for (var p = 0; p < (header.Interlaced ? 7 : 1); p++)
            {
                var (x0, y0, dx, dy) = header.Interlaced ? Adam7(p) : (0, 0, 1, 1);
                int pw = (header.Width - x0 + dx - 1) / dx, ph = (header.Height - y0 + dy - 1) / dy;
                if (pw <= 0 || ph <= 0)
                {
                    continue;
                }

                var rowBytes = (int)RowBytes(pw, bitsPerPixel);
                var prior = previous.AsSpan(0, rowBytes);
                prior.Clear();
                for (var y = 0; y < ph; y++)
                {
                    // One filter byte, then the packed row.
                    var raw = current.AsSpan(0, rowBytes + 1);
                    var read = inflated.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
                    if (read < raw.Length)
                    {
                        throw context.Truncated($"the image data ends in row {y0 + (y * dy)}{(header.Interlaced ? $" of interlace pass {p + 1}" : string.Empty)}");
                    }

                    var row = raw[1..];
                    ApplyFilter(raw[0], row, prior, bpp, context);
                    row.CopyTo(prior);

                    var line = unpacked.AsSpan(0, pw * pixelBytes);
                    Unpack(row, line, pw, header);
                    var targetY = y0 + (y * dy);
                    if (dx == 1)
                    {
                        line.CopyTo(image.Pixels.AsSpan(targetY * header.Width * pixelBytes));
                    }
                    else
                    {
                        for (var x = 0; x < pw; x++)
                        {
                            line.Slice(x * pixelBytes, pixelBytes).CopyTo(image.Pixels.AsSpan(((targetY * header.Width) + x0 + (x * dx)) * pixelBytes));
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(previous);
            ArrayPool<byte>.Shared.Return(unpacked);
        }
    }

    private static void ApplyFilter(byte filter, Span<byte> row, ReadOnlySpan<byte> prior, int bpp, DecodeContext context)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < row.Length; i++)
                {
                    row[i] += row[i - bpp];
                }

                break;
            case 2:
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] += prior[i];
                }

                break;
            case 3:
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= bpp ? row[i - bpp] : 0;
                    row[i] += (byte)((left + prior[i]) >> 1);
                }

                break;
            case 4:
                for (var i = 0; i < row.Length; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
                    int pa = Math.Abs(b - c), pb = Math.Abs(a - c), pc = Math.Abs(a + b - c - c);
                    row[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }

                break;
            default:
                throw context.Fail($"a row uses the unknown filter type {filter}");
        }
    }

    private static void Unpack(ReadOnlySpan<byte> row, Span<byte> line, int width, Header header)
    {
        switch (header.Depth, header.ColorType)
        {
            case (1, 0):
                for (var x = 0; x < width; x++)
                {
                    line[x] = (row[x >> 3] & (0x80 >> (x & 7))) != 0 ? (byte)255 : (byte)0;
                }

                break;
            case (2, 0) or (4, 0) or (1, 3) or (2, 3) or (4, 3):
                // Sub-byte samples, MSB first; grey is scaled to 0-255 (L;2 x85, L;4 x17), palette indices are not.
                var depth = header.Depth;
                var mask = (1 << depth) - 1;
                var scale = header.ColorType == 0 ? 255 / mask : 1;
                for (var x = 0; x < width; x++)
                {
                    var bit = x * depth;
                    var v = (row[bit >> 3] >> (8 - depth - (bit & 7))) & mask;
                    line[x] = (byte)(v * scale);
                }

                break;
            case (16, 0):
                var samples = MemoryMarshal.Cast<byte, ushort>(line);
                for (var x = 0; x < width; x++)
                {
                    samples[x] = BinaryPrimitives.ReadUInt16BigEndian(row[(x * 2)..]);
                }

                break;
            case (16, 2) or (16, 6):
                // RGB;16B / RGBA;16B: Pillow keeps the most significant byte of each sample.
                for (var i = 0; i < line.Length; i++)
                {
                    line[i] = row[i * 2];
                }

                break;
            case (16, 4):
                // LA;16B opens as RGBA: (L, L, L, A) from the high bytes.
                for (var x = 0; x < width; x++)
                {
                    line[x * 4] = line[(x * 4) + 1] = line[(x * 4) + 2] = row[x * 4];
                    line[(x * 4) + 3] = row[(x * 4) + 2];
                }

                break;
            default:
                row[..line.Length].CopyTo(line);
                break;
        }
    }

    private readonly record struct Header(int Width, int Height, int Depth, int ColorType, int Channels, PixelMode Mode, bool Interlaced);
}

/// <summary>The CRC-32 of PNG chunks (ISO 3309 / zlib polynomial 0xEDB88320).</summary>
internal static class Crc32
{
    private static readonly uint[] Table = CreateTable();

    /// <summary>Computes the CRC-32 of the data.</summary>
    /// <param name="data">The bytes (for a PNG chunk: the type and the data).</param>
    /// <returns>The CRC.</returns>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        var table = Table;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
