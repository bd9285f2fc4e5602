// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Multimodal;

/// <summary>Reads and writes NumPy's <c>.npy</c> format (version 1.0, little-endian, C order), so tensors can be checked from Python.</summary>
public static partial class NpyFormat
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes a uint8 array.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="data">The elements in C order.</param>
    /// <param name="shape">The dimensions.</param>
    public static void Write(Stream stream, ReadOnlySpan<byte> data, params ReadOnlySpan<int> shape) => Write(stream, "|u1", data, shape);

    /// <summary>Writes a float32 array.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="data">The elements in C order.</param>
    /// <param name="shape">The dimensions.</param>
    public static void Write(Stream stream, ReadOnlySpan<float> data, params ReadOnlySpan<int> shape) => Write(stream, "<f4", MemoryMarshal.AsBytes(data), shape);

    /// <summary>Writes a float16 array.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="data">The elements in C order.</param>
    /// <param name="shape">The dimensions.</param>
    public static void Write(Stream stream, ReadOnlySpan<Half> data, params ReadOnlySpan<int> shape) => Write(stream, "<f2", MemoryMarshal.AsBytes(data), shape);

    /// <summary>Writes only the header of a uint8 array, so that large arrays (video frames, pages) can be streamed after it piece by piece.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="shape">The dimensions; exactly the product of them in bytes must follow.</param>
    public static void WriteUInt8Header(Stream stream, params ReadOnlySpan<int> shape) => Write(stream, "|u1", default, shape);

    /// <summary>Reads an array: its dtype (<c>|u1</c>, <c>|b1</c>, <c>&lt;f2</c>, <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>, <c>&lt;i8</c>), shape and raw little-endian bytes.</summary>
    /// <param name="stream">The source.</param>
    /// <returns>The dtype, the shape and the data bytes.</returns>
    /// <exception cref="FormatException">The stream is not a version 1/2 .npy file in C order.</exception>
    public static (string DType, int[] Shape, byte[] Data) Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        if (!prefix[..6].SequenceEqual(Magic) || prefix[6] is not (1 or 2))
        {
            throw new FormatException("Not a .npy file (bad magic or unsupported version).");
        }

        int headerLength;
        if (prefix[6] == 1)
        {
            Span<byte> len = stackalloc byte[2];
            stream.ReadExactly(len);
            headerLength = len[0] | (len[1] << 8);
        }
        else
        {
            Span<byte> len = stackalloc byte[4];
            stream.ReadExactly(len);
            headerLength = BitConverter.ToInt32(len);
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var text = Encoding.ASCII.GetString(header);
        var descr = DescrPattern().Match(text);
        var shape = ShapePattern().Match(text);
        if (!descr.Success || !shape.Success || text.Contains("'fortran_order': True", StringComparison.Ordinal))
        {
            throw new FormatException($"Unsupported .npy header: {text.Trim()}");
        }

        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        var dtype = descr.Groups[1].Value;
        var itemSize = dtype switch
        {
            "|u1" or "<u1" or "|b1" => 1,
            "<f2" => 2,
            "<f4" or "<i4" => 4,
            "<i8" or "<f8" => 8,
            _ => throw new FormatException($"Unsupported .npy dtype '{dtype}'."),
        };
        var count = dims.Aggregate(1L, (a, b) => a * b);
        var data = new byte[checked(count * itemSize)];
        stream.ReadExactly(data);
        return (dtype, dims, data);
    }

    private static void Write(Stream stream, string descr, ReadOnlySpan<byte> data, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.ToArray());
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";

        // Pad with spaces so that the data starts at a multiple of 64 bytes, and end with a newline.
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        stream.Write([(byte)(header.Length & 0xFF), (byte)(header.Length >> 8)]);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
