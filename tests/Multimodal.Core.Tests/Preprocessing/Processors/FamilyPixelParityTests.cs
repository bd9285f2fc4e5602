// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.InteropServices;
using Xunit.Abstractions;

namespace Multimodal.Preprocessing;

/// <summary>
/// Every family's pixel pipeline against eng/images/family_pixels.py (PIL + NumPy run as the reference code runs them):
/// same views in the same order with the same kinds, grid positions and sizes, and float32 tensors within 1e-6 (they are
/// expected to be bit-identical: resize, crop, pad and normalisation are all exact).
/// </summary>
public class FamilyPixelParityTests(ITestOutputHelper output)
{
    /// <summary>The tolerance the task states; the measured difference is reported and expected to be 0.</summary>
    private const float Tolerance = 1e-6f;

    public static TheoryData<string> Cases => PixelGoldens.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Views_MatchTheReferencePipeline(string caseName)
    {
        // Arrange
        var golden = PixelGoldens.Case(caseName);
        var family = golden.GetProperty("family").GetString()!;
        var source = PixelGoldens.Source(golden.GetProperty("source").GetString()!);
        var options = PixelGoldens.Options(golden.GetProperty("options"));
        var arrays = PixelGoldens.ReadArchive(caseName);
        var expectedViews = golden.GetProperty("views").EnumerateArray().ToArray();

        // Act
        var (split, tensors, tokens, masks) = Run(family, source, options);

        // Assert: layout
        Assert.Equal(expectedViews.Length, tensors.Count);
        Assert.Equal(golden.GetProperty("grid")[0].GetInt32(), split.GridRows);
        Assert.Equal(golden.GetProperty("grid")[1].GetInt32(), split.GridColumns);
        var maxDelta = 0f;
        long differing = 0;
        for (var i = 0; i < expectedViews.Length; i++)
        {
            var e = expectedViews[i];
            var (w, h) = (e.GetProperty("w").GetInt32(), e.GetProperty("h").GetInt32());
            var kind = e.GetProperty("kind").GetString() == "global" ? ImageViewKind.Global : ImageViewKind.Tile;
            var view = split.Views[i];
            Assert.True(kind == view.Kind, $"{caseName} view {i}: kind {view.Kind}, expected {kind}");
            Assert.True(e.GetProperty("row").GetInt32() == view.Row && e.GetProperty("col").GetInt32() == view.Column, $"{caseName} view {i}: at ({view.Row}, {view.Column}), expected ({e.GetProperty("row")}, {e.GetProperty("col")})");
            Assert.True(w == view.Image.Width && h == view.Image.Height, $"{caseName} view {i}: {view.Image.Width}x{view.Image.Height}, expected {w}x{h}");
            Assert.Equal(e.GetProperty("tokens").GetInt32(), tokens[i]);

            // Assert: pixels
            var (dtype, shape, data) = arrays["view" + i.ToString(CultureInfo.InvariantCulture)];
            Assert.Equal("<f4", dtype);
            Assert.Equal([3, h, w], shape);
            Assert.Equal(shape, tensors[i].Shape.ToArray());
            var expected = MemoryMarshal.Cast<byte, float>(data);
            var actual = tensors[i].Span;
            for (var k = 0; k < expected.Length; k++)
            {
                var delta = Math.Abs(expected[k] - actual[k]);
                if (BitConverter.SingleToInt32Bits(expected[k]) != BitConverter.SingleToInt32Bits(actual[k]))
                {
                    differing++;
                }

                maxDelta = Math.Max(maxDelta, float.IsNaN(delta) ? float.PositiveInfinity : delta);
            }

            // Assert: Aria's pixel mask
            if (arrays.TryGetValue("mask" + i.ToString(CultureInfo.InvariantCulture), out var mask))
            {
                Assert.NotNull(masks);
                Assert.Equal("|b1", mask.DType);
                Assert.Equal(mask.Shape, masks[i].Shape.ToArray());
                var actualMask = masks[i].Span;
                for (var k = 0; k < mask.Data.Length; k++)
                {
                    Assert.True((mask.Data[k] != 0) == actualMask[k], $"{caseName} view {i}: mask differs at {k}");
                }
            }
        }

        Assert.True(masks is null || arrays.ContainsKey("mask0"), $"{caseName}: the golden has no masks");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{caseName}: {tensors.Count} views, max |delta| = {maxDelta}, {differing} float32 values differ bitwise"));
        Assert.True(maxDelta <= Tolerance, string.Create(CultureInfo.InvariantCulture, $"{caseName}: max |delta| {maxDelta} ({differing} values differ)"));
    }

    [Fact]
    public void EveryFamily_HasGoldenCases()
    {
        var families = PixelGoldens.Cases().Select(c => c.GetProperty("family").GetString()!).ToHashSet();
        Assert.Equal<string[]>(["aria", "auroracap", "clip_s100_c120", "llava15", "llava_mpt", "longva", "longva_frame", "minicpmv2"], [.. families.Order(StringComparer.Ordinal)]);
    }

    /// <summary>Runs one family the way the pipeline does: split (or, for video frames, the processor alone), process each view, count tokens.</summary>
    internal static (ImageSplit Split, IReadOnlyList<DenseTensor<float>> Tensors, IReadOnlyList<int> Tokens, IReadOnlyList<DenseTensor<bool>>? Masks) Run(
        string family, ImageFrame source, IReadOnlyDictionary<string, object?> options)
    {
        switch (family)
        {
            case "longva_frame":
                {
                    // Video frames bypass the splitter: RequestPreparation hands raw frames to IImageProcessor.Process.
                    var tensor = LongVaImagePreprocessor.LongVa.Process(new ImageView(source, ImageViewKind.Global));
                    var split = ImageSplit.Single(ClipImagePreprocessor.LongVaFrame.Transform(source));
                    return (split, [tensor], LongVaImagePreprocessor.LongVa.GetViewTokenCounts(split, VisualInputKind.Video), null);
                }

            case "aria":
                {
                    var aria = AriaImagePreprocessor.Aria;
                    var result = aria.Preprocess(source, options);
                    return (result.Split, result.PixelValues, result.ViewTokenCounts, [.. result.Split.Views.Select(aria.GetPixelMask)]);
                }
        }

        var preprocessed = family switch
        {
            "llava15" => LlavaImagePreprocessor.Llava15.Preprocess(source, options),
            "llava_mpt" => LlavaImagePreprocessor.LlavaMptPreview.Preprocess(source, options),
            "auroracap" => ClipImagePreprocessor.AuroraCap.Preprocess(source, options),
            "longva" => LongVaImagePreprocessor.LongVa.Preprocess(source, options),
            "minicpmv2" => MiniCpmVImagePreprocessor.MiniCpmV2.Preprocess(source, options),
            "clip_s100_c120" => new ClipImagePreprocessor(new ClipImageGeometry(100, 120)).Preprocess(source, options),
            _ => throw new InvalidOperationException("Unknown family " + family),
        };
        return (preprocessed.Split, preprocessed.PixelValues, preprocessed.ViewTokenCounts, null);
    }
}
