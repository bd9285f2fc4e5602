// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal.Imaging;

public class NormalizationTests
{
    [Theory]
    [InlineData("huggingface", RescaleMode.HuggingFace)]
    [InlineData("torchvision", RescaleMode.Torchvision)]
    public void EveryByteValue_NormalisesToTheReferenceFloat32Bits(string name, RescaleMode mode)
    {
        // Golden: eng/images/make_normalize_goldens.py (NumPy's float32 arithmetic in each reference's order).
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ResizeParityTests.Root, "tests", "data", "images", "normalize.json")));
        var g = doc.RootElement.GetProperty(name);
        float[] mean = [.. g.GetProperty("mean").EnumerateArray().Select(e => (float)e.GetDouble())];
        float[] std = [.. g.GetProperty("std").EnumerateArray().Select(e => (float)e.GetDouble())];
        var processor = new NormalizingImageProcessor(mean, std, mode);

        // A 256x1 image whose pixel v has value v in every channel.
        var pixels = new byte[256 * 3];
        for (var v = 0; v < 256; v++)
        {
            pixels[v * 3] = pixels[(v * 3) + 1] = pixels[(v * 3) + 2] = (byte)v;
        }

        var tensor = processor.Process(new ImageView(new ImageFrame(256, 1, ImagePixelFormat.Rgb24, pixels), ImageViewKind.Global));
        for (var c = 0; c < 3; c++)
        {
            var expected = g.GetProperty("bits")[c].EnumerateArray().Select(e => e.GetUInt32()).ToArray();
            for (var v = 0; v < 256; v++)
            {
                Assert.True(expected[v] == BitConverter.SingleToUInt32Bits(tensor.Span[(c * 256) + v]), $"{name} channel {c} value {v}");
            }
        }
    }

    [Fact]
    public void ProcessBatch_StacksImagesInOneTensor_AndRejectsMixedSizes()
    {
        var processor = new NormalizingImageProcessor([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], RescaleMode.Torchvision);
        var white = ImageOperations.Canvas(2, 3, ImagePixelFormat.Rgb24, 255, 255, 255);
        var black = ImageOperations.Canvas(2, 3, ImagePixelFormat.Rgb24, 0, 0, 0);
        var batch = processor.ProcessBatch([white, black]);
        Assert.Equal([2, 3, 3, 2], batch.Shape.ToArray());
        Assert.All(batch.Span[..18].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(batch.Span[18..].ToArray(), v => Assert.Equal(-1f, v));
        Assert.Throws<ArgumentException>(() => processor.ProcessBatch([white, ImageOperations.Canvas(3, 3, ImagePixelFormat.Rgb24)]));
    }

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.5f, 0xC020)]
    [InlineData(1.00390625f, 0x3F80)] // exactly halfway between 0x3F80 and 0x3F81: ties to even
    [InlineData(1.01171875f, 0x3F82)] // halfway between 0x3F81 and 0x3F82: ties to even (up)
    [InlineData(1.004f, 0x3F81)] // above halfway: rounds up
    [InlineData(float.PositiveInfinity, 0x7F80)]
    public void BFloat16_RoundsToNearestEven(float value, int bits) => Assert.Equal((ushort)bits, TensorConversions.ToBFloat16Bits(value));

    [Fact]
    public void Float16AndBFloat16Tensors_KeepTheShape()
    {
        var t = new DenseTensor<float>(new float[] { 0.5f, -1f, 65504f, 1e-8f }, 2, 2);
        var half = t.ToFloat16();
        Assert.Equal([2, 2], half.Shape.ToArray());
        Assert.Equal((Half)0.5f, half.Span[0]);
        Assert.Equal((Half)65504f, half.Span[2]);
        Assert.Equal([2, 2], t.ToBFloat16Bits().Shape.ToArray());
    }
}
