// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Preprocessing;

namespace Multimodal.Imaging;

/// <summary>
/// <see cref="ImageOperations.ResizeAndCrop"/> and <see cref="ImageOperations.ResizeOntoCanvas"/> compute only part of
/// a resize; they must give exactly the pixels of the composed operations (which the Pillow goldens pin down).
/// </summary>
public class FusedResizeTests
{
    public static TheoryData<ResampleFilter, ImagePixelFormat> Cases()
    {
        var data = new TheoryData<ResampleFilter, ImagePixelFormat>();
        foreach (var filter in Enum.GetValues<ResampleFilter>())
        {
            foreach (var format in new[] { ImagePixelFormat.Rgb24, ImagePixelFormat.Gray8, ImagePixelFormat.Rgba32 })
            {
                data.Add(filter, format);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ResizeAndCrop_EqualsCropOfTheFullResize(ResampleFilter filter, ImagePixelFormat format)
    {
        var random = new Random(11 + (int)filter);
        for (var trial = 0; trial < 40; trial++)
        {
            var image = Noise(random, random.Next(1, 90), random.Next(1, 90), format);

            // Down, up, one side unchanged, both unchanged.
            var width = trial % 7 == 0 ? image.Width : random.Next(1, 120);
            var height = trial % 5 == 0 ? image.Height : random.Next(1, 120);
            var left = random.Next(0, width);
            var top = random.Next(0, height);
            var crop = new PixelBox(left, top, random.Next(left + 1, width + 1), random.Next(top + 1, height + 1));

            var expected = ImageOperations.Crop(ImageOperations.Resize(image, width, height, filter), crop.Left, crop.Top, crop.Right, crop.Bottom);
            var actual = ImageOperations.ResizeAndCrop(image, width, height, filter, crop);

            AssertSame(expected, actual, $"{image.Width}x{image.Height} -> {width}x{height} crop {crop}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ResizeOntoCanvas_EqualsPasteOfTheResizeOnACanvas(ResampleFilter filter, ImagePixelFormat format)
    {
        var random = new Random(23 + (int)filter);
        byte[] background = [17, 130, 250, 90];
        for (var trial = 0; trial < 40; trial++)
        {
            var image = Noise(random, random.Next(1, 90), random.Next(1, 90), format);
            var width = trial % 7 == 0 ? image.Width : random.Next(1, 120);
            var height = trial % 5 == 0 ? image.Height : random.Next(1, 120);
            var canvasWidth = random.Next(1, 140);
            var canvasHeight = random.Next(1, 140);

            // Offsets that centre, clip on every side, or miss the canvas entirely.
            var x = random.Next(-width - 5, canvasWidth + 5);
            var y = random.Next(-height - 5, canvasHeight + 5);
            var colour = trial % 2 == 0 ? background : [];

            var expected = ImageOperations.Paste(ImageOperations.Canvas(canvasWidth, canvasHeight, format, colour), ImageOperations.Resize(image, width, height, filter), x, y);
            var actual = ImageOperations.ResizeOntoCanvas(image, width, height, filter, canvasWidth, canvasHeight, x, y, colour);

            AssertSame(expected, actual, $"{image.Width}x{image.Height} -> {width}x{height} at ({x}, {y}) on {canvasWidth}x{canvasHeight}");
        }
    }

    [Fact]
    public void ResizeAndCrop_RejectsACropOutsideTheResize()
    {
        var image = Noise(new Random(1), 10, 10, ImagePixelFormat.Rgb24);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ImageOperations.ResizeAndCrop(image, 8, 8, ResampleFilter.Bicubic, new PixelBox(0, 0, 9, 8)));
        Assert.Contains("8x8 resize", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageOperations.ResizeAndCrop(image, 8, 8, ResampleFilter.Bicubic, new PixelBox(3, 3, 3, 5)));
    }

    private static ImageFrame Noise(Random random, int width, int height, ImagePixelFormat format)
    {
        var pixels = new byte[width * height * ImageFrame.BytesPerPixelOf(format)];
        random.NextBytes(pixels);
        return new ImageFrame(width, height, format, pixels);
    }

    private static void AssertSame(ImageFrame expected, ImageFrame actual, string what)
    {
        Assert.Equal((expected.Width, expected.Height, expected.Format), (actual.Width, actual.Height, actual.Format));
        Assert.True(expected.Pixels.Span.SequenceEqual(actual.Pixels.Span), $"pixels differ for {what}");
    }
}
