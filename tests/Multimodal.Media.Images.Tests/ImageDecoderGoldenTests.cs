// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Xunit.Abstractions;

namespace Multimodal.Media.Images;

/// <summary>Every committed test image decodes to exactly the pixels Pillow 9.4 gives (RGB, RGBA, L and EXIF-transposed).</summary>
public sealed class ImageDecoderGoldenTests(ITestOutputHelper output)
{
    private static readonly ImageDecoder Decoder = new();

    public static TheoryData<string> AllFiles => TestData.Files(_ => true);

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Rgb_IsPillowConvertRgb(string file)
    {
        // Arrange
        var golden = TestData.Get(file);

        // Act
        var frame = Decoder.Decode(TestData.Read(file));

        // Assert
        Assert.Equal(ImagePixelFormat.Rgb24, frame.Format);
        Assert.Equal((golden.Width, golden.Height), (frame.Width, frame.Height));
        var pixels = TestData.Packed(frame);
        foreach (var s in golden.SamplesRgba)
        {
            var at = ((s[1] * frame.Width) + s[0]) * 3;
            Assert.True(
                (s[2], s[3], s[4]) == (pixels[at], pixels[at + 1], pixels[at + 2]),
                $"{file} ({s[0]},{s[1]}): Pillow ({s[2]},{s[3]},{s[4]}), decoded ({pixels[at]},{pixels[at + 1]},{pixels[at + 2]})");
        }

        Assert.Equal(golden.RgbSha256, TestData.Sha256(pixels));
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Rgba_IsPillowConvertRgba(string file)
    {
        var golden = TestData.Get(file);

        var frame = Decoder.Decode(TestData.Read(file), new ImageDecodeOptions { Format = ImagePixelFormat.Rgba32 });

        var pixels = TestData.Packed(frame);
        foreach (var s in golden.SamplesRgba)
        {
            var at = ((s[1] * frame.Width) + s[0]) * 4;
            Assert.Equal([s[2], s[3], s[4], s[5]], pixels.AsSpan(at, 4).ToArray().Select(b => (int)b));
        }

        Assert.Equal(golden.RgbaSha256, TestData.Sha256(pixels));
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Gray_IsPillowConvertL(string file)
    {
        var golden = TestData.Get(file);

        var frame = Decoder.Decode(TestData.Read(file), new ImageDecodeOptions { Format = ImagePixelFormat.Gray8 });

        Assert.Equal(ImagePixelFormat.Gray8, frame.Format);
        Assert.Equal(golden.LSha256, TestData.Sha256(TestData.Packed(frame)));
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void ApplyExifOrientation_IsPillowExifTranspose(string file)
    {
        var golden = TestData.Get(file);

        var frame = Decoder.Decode(TestData.Read(file), new ImageDecodeOptions { ApplyExifOrientation = true });

        if (file.EndsWith(".tif", StringComparison.Ordinal))
        {
            // Pillow 9.4 already rotates a TIFF by its Orientation tag while loading, and exif_transpose then rotates
            // it a second time (a Pillow bug). The decoder applies the tag once, so the result is the plain image.
            Assert.Equal((golden.Width, golden.Height), (frame.Width, frame.Height));
            Assert.Equal(golden.RgbSha256, TestData.Sha256(TestData.Packed(frame)));
            return;
        }

        Assert.Equal((golden.Transposed.Width, golden.Transposed.Height), (frame.Width, frame.Height));
        Assert.Equal(golden.Transposed.RgbSha256, TestData.Sha256(TestData.Packed(frame)));
    }

    [Fact]
    public void LossyFormats_MatchPillowExactly_ReportingTheLargestDifference()
    {
        // JPEG and lossy WebP go through the same libjpeg-turbo 2.1.5 / libwebp 1.2.4 code and settings as Pillow,
        // so the tolerance is zero; the report says by how much any file differs.
        var worst = 0;
        foreach (var file in TestData.Goldens.Where(g => g.RgbRaw is not null).Select(g => g.File))
        {
            var golden = TestData.Get(file);
            var expected = TestData.ReadRaw(golden.RgbRaw!);
            var actual = TestData.Packed(Decoder.Decode(TestData.Read(file)));
            Assert.Equal(expected.Length, actual.Length);
            int maxDelta = 0, differing = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                var d = Math.Abs(expected[i] - actual[i]);
                maxDelta = Math.Max(maxDelta, d);
                differing += d == 0 ? 0 : 1;
            }

            output.WriteLine($"{file,-32} {golden.Width,4}x{golden.Height,-4} max |delta| = {maxDelta}, differing channels = {differing} of {expected.Length}");
            worst = Math.Max(worst, maxDelta);
        }

        Assert.Equal(0, worst);
    }

    [Fact]
    public void GoldensCoverEveryFormatAndMode()
    {
        var files = TestData.Goldens.Select(g => g.File).ToArray();
        foreach (var prefix in new[] { "jpeg_", "png_", "webp_", "bmp_", "gif_", "tiff_" })
        {
            Assert.Contains(files, f => f.StartsWith(prefix, StringComparison.Ordinal));
        }

        var modes = TestData.Goldens.Select(g => g.Mode).ToHashSet();
        Assert.Superset(new HashSet<string> { "1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16" }, modes);
    }
}
