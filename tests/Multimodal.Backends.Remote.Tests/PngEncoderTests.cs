// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Remote.Internal;
using Multimodal.Media.Images;

namespace Multimodal.Backends.Remote;

/// <summary>The PNG encoder is lossless: Multimodal.Media.Images' decoder gives back exactly the pixels that went in.</summary>
public sealed class PngEncoderTests
{
    public static TheoryData<ImagePixelFormat, int, int> Shapes => new()
    {
        { ImagePixelFormat.Rgb24, 1, 1 },
        { ImagePixelFormat.Rgb24, 7, 5 },
        { ImagePixelFormat.Rgb24, 112, 112 },
        { ImagePixelFormat.Rgb24, 301, 3 },
        { ImagePixelFormat.Rgba32, 13, 9 },
        { ImagePixelFormat.Gray8, 17, 11 },
        { ImagePixelFormat.Gray8, 1, 64 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Encode_RoundTripsThroughImageDecoder_BitExact(ImagePixelFormat format, int width, int height)
    {
        // Arrange: noise in one half (so every filter wins somewhere), gradients in the other.
        var bpp = ImageFrame.BytesPerPixelOf(format);
        var pixels = new byte[width * height * bpp];
        var random = new Random(width * 1000 + height);
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = i % 2 == 0 ? (byte)random.Next(256) : (byte)(i / bpp % width * 3);
        }

        var frame = new ImageFrame(width, height, format, pixels);

        // Act
        var png = PngEncoder.Encode(frame);
        var decoded = ImageDecoder.Shared.Decode(png, new ImageDecodeOptions { Format = format });

        // Assert
        Assert.Equal("image/png", ImageDecoder.DetectMediaType(png));
        Assert.Equal((width, height, format), (decoded.Width, decoded.Height, decoded.Format));
        Assert.Equal(pixels, Packed(decoded));
    }

    [Fact]
    public void Encode_HonoursTheRowStride()
    {
        // Arrange: 4x3 RGB rows padded to 16 bytes; the padding must not leak into the image.
        var pixels = new byte[16 * 3];
        for (var y = 0; y < 3; y++)
        {
            for (var x = 0; x < 12; x++)
            {
                pixels[(y * 16) + x] = (byte)((y * 40) + x);
            }

            pixels[(y * 16) + 12] = 0xEE;
        }

        var frame = new ImageFrame(4, 3, ImagePixelFormat.Rgb24, pixels, rowStride: 16);

        // Act
        var decoded = ImageDecoder.Shared.Decode(PngEncoder.Encode(frame));

        // Assert
        for (var y = 0; y < 3; y++)
        {
            Assert.Equal(frame.GetRow(y).ToArray(), decoded.GetRow(y).ToArray());
        }
    }

    [Fact]
    public void Encode_WritesTheSignatureAndChunksWithValidCrcs()
    {
        var png = PngEncoder.Encode(new ImageFrame(2, 2, ImagePixelFormat.Rgb24, new byte[12]));

        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var types = new List<string>();
        for (var at = 8; at < png.Length;)
        {
            var length = (png[at] << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            var crc = (uint)((png[at + 8 + length] << 24) | (png[at + 9 + length] << 16) | (png[at + 10 + length] << 8) | png[at + 11 + length]);
            Assert.Equal(Crc32.Compute(typeAndData), crc);
            types.Add(System.Text.Encoding.ASCII.GetString(typeAndData[..4]));
            at += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    private static byte[] Packed(ImageFrame frame)
    {
        var row = frame.Width * frame.BytesPerPixel;
        var packed = new byte[row * frame.Height];
        for (var y = 0; y < frame.Height; y++)
        {
            frame.GetRow(y).CopyTo(packed.AsSpan(y * row));
        }

        return packed;
    }
}
