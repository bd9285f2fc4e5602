// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Multimodal.Backends.Remote.Internal;

/// <summary>Writes an <see cref="ImageFrame"/> as a PNG file (8 bits per sample, no interlacing), so that decoded pixels
/// (rendered PDF pages, video frames, <see cref="ImageContent.FromPixels"/>) can travel in an <c>image_url</c> data URL.</summary>
/// <remarks>
/// Each row gets the filter (None, Sub, Up, Average or Paeth) whose output has the smallest sum of absolute values,
/// the heuristic the PNG specification recommends; the filtered rows are compressed into one zlib stream in one
/// <c>IDAT</c> chunk. Lossless: a decoder gives back exactly the input pixels.
/// </remarks>
internal static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes a frame.</summary>
    /// <param name="frame">The pixels: <see cref="ImagePixelFormat.Rgb24"/> (PNG colour type 2), <see cref="ImagePixelFormat.Rgba32"/> (6) or <see cref="ImagePixelFormat.Gray8"/> (0).</param>
    /// <param name="level">The zlib compression level; <see cref="CompressionLevel.Fastest"/> keeps large pages quick.</param>
    /// <returns>The PNG file.</returns>
    public static byte[] Encode(ImageFrame frame, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var colorType = frame.Format switch
        {
            ImagePixelFormat.Rgb24 => (byte)2,
            ImagePixelFormat.Rgba32 => (byte)6,
            ImagePixelFormat.Gray8 => (byte)0,
            _ => throw new ArgumentOutOfRangeException(nameof(frame), frame.Format, "Unknown pixel format."),
        };

        using var output = new MemoryStream(capacity: 1024 + (frame.Width * frame.Height * frame.BytesPerPixel / 2));
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, frame.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], frame.Height);
        header[8] = 8;          // bit depth
        header[9] = colorType;
        header[10] = 0;         // deflate
        header[11] = 0;         // adaptive filtering
        header[12] = 0;         // no interlace
        WriteChunk(output, "IHDR"u8, header);

        using (var compressed = Compress(frame, level))
        {
            WriteChunk(output, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }

        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>Filters every row and deflates the result into a zlib stream.</summary>
    /// <returns>A stream holding the zlib data, which the caller disposes.</returns>
    private static MemoryStream Compress(ImageFrame frame, CompressionLevel level)
    {
        var bpp = frame.BytesPerPixel;
        var rowBytes = frame.Width * bpp;
        var pool = ArrayPool<byte>.Shared;

        // One candidate buffer per filter type (each holds the filter byte and the filtered row).
        var candidates = pool.Rent(5 * (rowBytes + 1));
        var zeros = pool.Rent(rowBytes);
        try
        {
            Array.Clear(zeros, 0, rowBytes);
            var compressed = new MemoryStream();
            using (var zlib = new ZLibStream(compressed, level, leaveOpen: true))
            {
                for (var y = 0; y < frame.Height; y++)
                {
                    var row = frame.GetRow(y);
                    var previous = y == 0 ? zeros.AsSpan(0, rowBytes) : frame.GetRow(y - 1);
                    var best = FilterRow(row, previous, bpp, candidates.AsSpan(0, 5 * (rowBytes + 1)), rowBytes + 1);
                    zlib.Write(best);
                }
            }

            return compressed;
        }
        finally
        {
            pool.Return(candidates);
            pool.Return(zeros);
        }
    }

    /// <summary>Writes the row through each of the five filters and returns the candidate (filter byte + data) with the smallest sum of absolute values.</summary>
    private static ReadOnlySpan<byte> FilterRow(ReadOnlySpan<byte> row, ReadOnlySpan<byte> previous, int bpp, Span<byte> scratch, int stride)
    {
        var bestIndex = 0;
        var bestScore = long.MaxValue;
        for (var filter = 0; filter < 5; filter++)
        {
            var target = scratch.Slice(filter * stride, stride);
            target[0] = (byte)filter;
            var data = target[1..];
            long score = 0;
            for (var i = 0; i < row.Length; i++)
            {
                int left = i >= bpp ? row[i - bpp] : 0;
                int up = previous[i];
                int upLeft = i >= bpp ? previous[i - bpp] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => up,
                    3 => (left + up) >> 1,
                    _ => Paeth(left, up, upLeft),
                };

                var value = (byte)(row[i] - predictor);
                data[i] = value;

                // Filtered bytes are read as signed: small magnitudes compress best.
                score += value < 128 ? value : 256 - value;
            }

            if (score < bestScore)
            {
                bestScore = score;
                bestIndex = filter;
            }
        }

        return scratch.Slice(bestIndex * stride, stride);
    }

    /// <summary>The Paeth predictor of the PNG specification: whichever of left, up and up-left is closest to left + up - up-left.</summary>
    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Writes one chunk: length, type, data and the CRC-32 of type and data.</summary>
    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = Crc32.Append(Crc32.Initial, type);
        crc = Crc32.Append(crc, data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Finish(crc));
        output.Write(word);
    }
}

/// <summary>CRC-32 as PNG and zlib's <c>crc32</c> compute it (reflected polynomial 0xEDB88320), one table lookup per byte.</summary>
internal static class Crc32
{
    /// <summary>The running value to start from.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    /// <summary>Folds bytes into a running CRC.</summary>
    /// <param name="crc">The running value (start with <see cref="Initial"/>).</param>
    /// <param name="data">The bytes.</param>
    /// <returns>The new running value.</returns>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    /// <summary>Turns a running value into the CRC.</summary>
    /// <param name="crc">The running value.</param>
    /// <returns>The CRC-32.</returns>
    public static uint Finish(uint crc) => crc ^ 0xFFFFFFFFu;

    /// <summary>Computes the CRC-32 of some bytes.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The CRC-32.</returns>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));

    private static uint[] BuildTable()
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
