// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Text;

namespace Multimodal.Media.Images;

/// <summary>Crafted inputs found in review: each must end in <see cref="InvalidMediaException"/>, never another exception.</summary>
public sealed class HostileInputRegressionTests
{
    [Fact]
    public void AGifWithLzwMinimumCodeSize12_IsRejected()
    {
        // 1x1 GIF, 2-colour global palette, one image whose LZW minimum code size is 12 followed by codes 0, 4098, 4098
        // (13 bits each, least significant bit first): 4098 is past the 4096-entry code tables.
        var gif = new List<byte>();
        gif.AddRange("GIF89a"u8.ToArray());
        gif.AddRange([1, 0, 1, 0, 0x80, 0, 0]);
        gif.AddRange([0, 0, 0, 255, 255, 255]);
        gif.AddRange([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
        gif.Add(12);
        ulong packed = 0 | (4098UL << 13) | (4098UL << 26);
        var bytes = BitConverter.GetBytes(packed);
        gif.Add(5);
        gif.AddRange(bytes.AsSpan(0, 5).ToArray());
        gif.AddRange([0, 0x3B]);

        var ex = Assert.Throws<InvalidMediaException>(() => new ImageDecoder().Decode(gif.ToArray()));
        Assert.Contains("LZW minimum code size", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APngWhoseRowSizeOverflows_IsInvalidMedia_EvenWithARaisedPixelLimit()
    {
        // 536,000,000 x 1, 16-bit RGBA: 8 bytes a pixel overflow a 32-bit row size.
        var png = WideDeepPng(536_000_000);

        Assert.Throws<InvalidMediaException>(() => new ImageDecoder().Decode(png, new ImageDecodeOptions { MaxPixels = 600_000_000 }));
    }

    [Fact]
    public void ATinyPngDeclaringAHugeDeepImage_IsRejectedBeforeAllocatingGigabytes()
    {
        // 178,000,000 x 1, 16-bit RGBA: under the default pixel limit, but 1.4 GB per row buffer.
        var png = WideDeepPng(178_000_000);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var ex = Assert.Throws<InvalidMediaException>(() => new ImageDecoder().Decode(png));

        Assert.Contains("budget", ex.Message, StringComparison.Ordinal);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "the decoder allocated large buffers before rejecting the file");
    }

    /// <summary>A minimal PNG declaring a width x 1, 16-bit RGBA image, with a tiny valid IDAT and correct CRCs.</summary>
    private static byte[] WideDeepPng(uint width)
    {
        var png = new List<byte>([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), 1);
        ihdr[8] = 16;
        ihdr[9] = 6;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(png, "IEND", []);
        return [.. png];
    }

    private static void Chunk(List<byte> png, string type, byte[] data)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)data.Length);
        png.AddRange(header);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.AddRange(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        png.AddRange(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
