// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using Multimodal.Media.Images.Codecs;

namespace Multimodal.Media.Images;

/// <summary>Corrupt, truncated, unsupported and oversized inputs fail with <see cref="InvalidMediaException"/> naming the reason and the media type.</summary>
public sealed class ImageDecoderErrorTests
{
    private static readonly ImageDecoder Decoder = new();

    [Fact]
    public void EmptyData_IsInvalidMedia()
    {
        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode([], mediaType: "image/png"));
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal("image/png", ex.MediaType);
    }

    [Fact]
    public void UnknownData_IsInvalidMedia_WithTheDeclaredMediaType()
    {
        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode("%PDF-1.7 not an image"u8, mediaType: "image/jpeg"));
        Assert.Contains("not a JPEG, PNG, WebP, GIF, BMP or TIFF", ex.Message, StringComparison.Ordinal);
        Assert.Contains("255044462D", ex.Message, StringComparison.Ordinal);
        Assert.Equal("image/jpeg", ex.MediaType);
    }

    [Fact]
    public void FormatIsSniffedFromTheBytes_NotTheDeclaredMediaType()
    {
        var png = TestData.Read("png_rgb.png");

        var frame = Decoder.Decode(png, mediaType: "image/jpeg");

        Assert.Equal(TestData.Get("png_rgb.png").RgbSha256, TestData.Sha256(TestData.Packed(frame)));
        Assert.Equal("image/png", ImageDecoder.DetectMediaType(png));
        Assert.Equal("image/jpeg", ImageDecoder.DetectMediaType(TestData.Read("jpeg_444.jpg")));
        Assert.Equal("image/webp", ImageDecoder.DetectMediaType(TestData.Read("webp_lossy.webp")));
        Assert.Equal("image/gif", ImageDecoder.DetectMediaType(TestData.Read("gif_p.gif")));
        Assert.Equal("image/bmp", ImageDecoder.DetectMediaType(TestData.Read("bmp_24.bmp")));
        Assert.Equal("image/tiff", ImageDecoder.DetectMediaType(TestData.Read("tiff_rgb_raw.tif")));
        Assert.Equal("image/tiff", ImageDecoder.DetectMediaType(TestData.Read("tiff_rgb_bigendian.tif")));
        Assert.Null(ImageDecoder.DetectMediaType("hello"u8));
    }

    [Fact]
    public void TwelveBitJpeg_IsRejectedClearly()
    {
        // Arrange: the same file with the SOF precision byte set to 12.
        var jpeg = TestData.Read("jpeg_444.jpg");
        var sof = IndexOfMarker(jpeg, 0xC0);
        jpeg[sof + 4] = 12;

        // Act
        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(jpeg));

        // Assert
        Assert.Contains("12-bit JPEG is not supported", ex.Message, StringComparison.Ordinal);
        Assert.Equal("image/jpeg", ex.MediaType);
    }

    [Fact]
    public void LosslessJpeg_IsRejectedClearly()
    {
        var jpeg = TestData.Read("jpeg_444.jpg");
        jpeg[IndexOfMarker(jpeg, 0xC0) + 1] = 0xC3;

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(jpeg));

        Assert.Contains("lossless JPEG", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jpeg_420.jpg")]
    [InlineData("jpeg_progressive.jpg")]
    [InlineData("png_rgb.png")]
    [InlineData("png_interlaced_rgb.png")]
    [InlineData("webp_lossy.webp")]
    [InlineData("webp_lossless.webp")]
    [InlineData("gif_p.gif")]
    [InlineData("bmp_24.bmp")]
    [InlineData("tiff_rgb_lzw.tif")]
    [InlineData("tiff_rgb_raw.tif")]
    public void TruncatedFiles_AreInvalidMedia_WithTheSniffedMediaType(string file)
    {
        var data = TestData.Read(file);
        var expectedType = ImageDecoder.DetectMediaType(data);

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(data.AsSpan(0, data.Length * 2 / 3)));

        Assert.Equal(expectedType, ex.MediaType);
        Assert.StartsWith("Cannot decode the ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedBaselineJpeg_SaysTruncated()
    {
        var data = TestData.Read("perf_1920x1080.jpg");

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(data.AsSpan(0, data.Length / 2)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Premature end of JPEG file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JpegWithoutEoi_IsTruncated_AsInPillow()
    {
        // Pillow 9.4: "image file is truncated" for a JPEG whose last two bytes (FF D9) are missing.
        var data = TestData.Read("jpeg_420.jpg");

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(data.AsSpan(0, data.Length - 2)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JpegWithTrailingGarbage_Decodes_AsInPillow()
    {
        byte[] data = [.. TestData.Read("jpeg_420.jpg"), .. "garbage"u8];

        var frame = Decoder.Decode(data);

        Assert.Equal(TestData.Get("jpeg_420.jpg").RgbSha256, TestData.Sha256(TestData.Packed(frame)));
    }

    [Fact]
    public void PngWithABadCrc_IsRejected()
    {
        var png = TestData.Read("png_rgb.png");
        png[20] ^= 0x40; // inside IHDR's data: the width

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(png));

        Assert.Contains("CRC of the 'IHDR' chunk", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jpeg_420.jpg")]
    [InlineData("png_rgb.png")]
    [InlineData("webp_lossy.webp")]
    [InlineData("gif_p.gif")]
    [InlineData("bmp_24.bmp")]
    [InlineData("tiff_rgb_lzw.tif")]
    public void MaxPixels_IsCheckedFromTheHeader(string file)
    {
        var golden = TestData.Get(file);
        var limit = ((long)golden.Width * golden.Height) - 1;

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(TestData.Read(file), new ImageDecodeOptions { MaxPixels = limit }));

        Assert.Contains("ImageDecodeOptions.MaxPixels", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{golden.Width}x{golden.Height}", ex.Message, StringComparison.Ordinal);

        // Exactly at the limit is fine.
        Decoder.Decode(TestData.Read(file), new ImageDecodeOptions { MaxPixels = limit + 1 });
    }

    [Fact]
    public void ABombHeader_IsRejectedBeforeAnythingIsAllocated()
    {
        // A valid PNG header claiming 100000 x 100000 pixels and no data.
        var png = TestData.Read("png_rgb.png");
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.Compute(png.AsSpan(12, 17)));

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(png));

        Assert.Contains("10,000,000,000 pixels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidOptions_AreArgumentErrors()
    {
        var png = TestData.Read("png_1x1.png");

        Assert.Throws<ArgumentOutOfRangeException>("options", () => Decoder.Decode(png, new ImageDecodeOptions { MaxPixels = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => Decoder.Decode(png, new ImageDecodeOptions { Format = (ImagePixelFormat)42 }));
    }

    [Fact]
    public void AnimatedWebP_IsRejectedClearly()
    {
        // A minimal extended WebP with the animation flag set: libwebp reports has_animation.
        byte[] data =
        [
            .. "RIFF"u8, 0x24, 0, 0, 0, .. "WEBP"u8,
            .. "VP8X"u8, 10, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            .. "ANIM"u8, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];

        var ex = Assert.Throws<InvalidMediaException>(() => Decoder.Decode(data));

        Assert.Contains("animated WebP is not supported", ex.Message, StringComparison.Ordinal);
    }

    private static int IndexOfMarker(byte[] jpeg, byte marker)
    {
        for (var i = 2; i + 1 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"No 0xFF{marker:X2} marker.");
    }
}
