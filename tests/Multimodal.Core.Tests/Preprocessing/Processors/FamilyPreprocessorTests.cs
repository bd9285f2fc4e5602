// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Imaging;

namespace Multimodal.Preprocessing;

/// <summary>Behaviour of the family preprocessors beyond pixel parity: options, masks, token counts, the processor on raw views, argument checks.</summary>
public class FamilyPreprocessorTests
{
    private static readonly ImageFrame Odd = PixelGoldens.MakeSource(97, 89, 3, 4);
    private static readonly ImageFrame Mid = PixelGoldens.MakeSource(700, 500, 3, 7);

    [Fact]
    public void Options_AcceptClrValuesStringsAndJsonElements_Alike()
    {
        // Arrange
        using var json = JsonDocument.Parse("""{"max_slice_nums": 4, "never_split": false, "max_image_size": 490, "split_image": true}""");
        var fromJson = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        var fromStrings = new Dictionary<string, object?> { ["max_slice_nums"] = "4", ["never_split"] = "False", ["max_image_size"] = "490", ["split_image"] = "true" };
        var fromClr = new Dictionary<string, object?> { ["max_slice_nums"] = 4L, ["never_split"] = false, ["max_image_size"] = 490.0, ["split_image"] = true };
        var size = new PixelSize(1344, 896);

        // Act + Assert
        foreach (var options in new[] { fromJson, fromStrings, fromClr })
        {
            var slices = MiniCpmVImagePreprocessor.MiniCpmV2.GetLayout(size, options);
            Assert.Equal(new GridShape(2, 2), slices.Grid);
            var crops = AriaImagePreprocessor.Aria.GetLayout(size, options);
            Assert.Equal(490, crops.MaxImageSize);
            Assert.Equal(new GridShape(3, 2), crops.SplitRatio);
        }
    }

    [Fact]
    public void Options_NullOrAbsent_UseTheDefaults_AndUnknownKeysAreIgnored()
    {
        var options = new Dictionary<string, object?> { ["max_slice_nums"] = null, ["something_else"] = new object() };
        Assert.Equal(new GridShape(3, 2), MiniCpmVImagePreprocessor.MiniCpmV2.GetLayout(new PixelSize(1344, 896), options).Grid);
        var aria = AriaImagePreprocessor.Aria.GetLayout(new PixelSize(1344, 896), options);
        Assert.Equal(980, aria.MaxImageSize);
        Assert.Null(aria.SplitRatio);
        Assert.Equal(1, aria.NumCrops);
    }

    [Fact]
    public void Options_OfTheWrongTypeOrRange_Throw()
    {
        var wrongType = new Dictionary<string, object?> { ["max_slice_nums"] = "many" };
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => MiniCpmVImagePreprocessor.MiniCpmV2.Split(Odd, wrongType)).ParamName);
        var fractional = new Dictionary<string, object?> { ["max_slice_nums"] = 2.5 };
        Assert.Throws<ArgumentException>(() => MiniCpmVImagePreprocessor.MiniCpmV2.Split(Odd, fractional));
        var notBool = new Dictionary<string, object?> { ["split_image"] = 1 };
        Assert.Throws<ArgumentException>(() => AriaImagePreprocessor.Aria.Split(Odd, notBool));
        var zero = new Dictionary<string, object?> { ["max_slice_nums"] = 0 };
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => MiniCpmVImagePreprocessor.MiniCpmV2.Split(Odd, zero)).ParamName);
        var badSize = new Dictionary<string, object?> { ["max_image_size"] = 500 };
        Assert.Equal("options", Assert.Throws<ArgumentOutOfRangeException>(() => AriaImagePreprocessor.Aria.Split(Odd, badSize)).ParamName);
    }

    [Fact]
    public void Aria_PixelMask_IsTrueExactlyOnTheResizedArea_AndThePaddingNormalisesToMinusOne()
    {
        // Arrange: 97x89 at 980 → resized to 980x899 (int(89 * 980/97) = 899), 81 zero rows below.
        var aria = AriaImagePreprocessor.Aria;

        // Act
        var view = Assert.Single(aria.Split(Odd).Views);
        var mask = aria.GetPixelMask(view);
        var tensor = aria.Process(view);

        // Assert
        Assert.Equal([980, 980], mask.Shape.ToArray());
        var plane = 980 * 980;
        for (var y = 0; y < 980; y++)
        {
            for (var x = 0; x < 980; x++)
            {
                Assert.Equal(y < 899, mask.Span[(y * 980) + x]);
                if (y >= 899)
                {
                    Assert.Equal(-1f, tensor.Span[(y * 980) + x]);
                    Assert.Equal(-1f, tensor.Span[(2 * plane) + (y * 980) + x]);
                }
            }
        }
    }

    [Fact]
    public void Aria_Process_OnARawFrame_DoesWhatSplitThenProcessDoes()
    {
        // Arrange: a video frame reaches the processor without the splitter (RequestPreparation), at 490 for video.
        var aria490 = new AriaImagePreprocessor(490);
        var raw = new ImageView(Mid, ImageViewKind.Global);

        // Act
        var direct = aria490.Process(raw);
        var viaSplit = aria490.Preprocess(Mid);

        // Assert
        Assert.Equal(viaSplit.PixelValues[0].Span.ToArray(), direct.Span.ToArray());
        Assert.Equal(aria490.GetPixelMask(viaSplit.Split.Views[0]).Span.ToArray(), aria490.GetPixelMask(raw).Span.ToArray());
        Assert.Equal([128], aria490.GetViewTokenCounts(ImageSplit.Single(Mid), VisualInputKind.Video));
    }

    [Fact]
    public void Aria_ViewsSplitAt490ByA980Preprocessor_StayAt490()
    {
        // Arrange
        var aria = AriaImagePreprocessor.Aria;
        var options = new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 490, [ImageSplitOptionKeys.SplitImage] = true };

        // Act
        var result = aria.Preprocess(Mid, options);

        // Assert: the 490 crops are normalised as they are, not resized to the 980 default.
        Assert.Equal(7, result.PixelValues.Count);
        Assert.All(result.PixelValues, t => Assert.Equal([3, 490, 490], t.Shape.ToArray()));
        Assert.All(result.Split.Views, v => Assert.Equal([490, 490], aria.GetPixelMask(v).Shape.ToArray()));
        Assert.Equal(Enumerable.Repeat(128, 7), result.ViewTokenCounts);
        Assert.Equal(7 * 128, result.TokenCount);
        Assert.Equal((2, 3), (result.Split.GridRows, result.Split.GridColumns));
    }

    [Fact]
    public void Aria_ConcurrentUse_GivesTheSameResults()
    {
        var aria = new AriaImagePreprocessor(490, splitImage: true);
        var expected = aria.Preprocess(Odd).PixelValues.Select(t => t.Span.ToArray()).ToArray();
        Parallel.For(0, 8, _ =>
        {
            var actual = aria.Preprocess(Odd).PixelValues;
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i], actual[i].Span.ToArray());
            }
        });
    }

    [Fact]
    public void Llava_Process_OnARawImage_PadsResizesAndCropsLikeSplit()
    {
        foreach (var llava in new[] { LlavaImagePreprocessor.Llava15, LlavaImagePreprocessor.LlavaMptPreview })
        {
            var viaSplit = llava.Preprocess(Mid).PixelValues[0];
            var direct = llava.Process(new ImageView(Mid, ImageViewKind.Global));
            Assert.Equal(viaSplit.Shape.ToArray(), direct.Shape.ToArray());
            Assert.Equal(viaSplit.Span.ToArray(), direct.Span.ToArray());
        }

        Assert.Equal([576], LlavaImagePreprocessor.Llava15.Preprocess(Odd).ViewTokenCounts);
        Assert.Equal([256], LlavaImagePreprocessor.LlavaMptPreview.Preprocess(Odd).ViewTokenCounts);
    }

    [Fact]
    public void Llava15_PadsWithTheMeanColour()
    {
        // A 40x20 image becomes 40x40 with ten rows of (122, 116, 104) above and below before the CLIP resize.
        var image = ImageOperations.Canvas(40, 20, ImagePixelFormat.Rgb24, 255, 255, 255);
        var view = Assert.Single(LlavaImagePreprocessor.Llava15.Split(image).Views).Image;
        Assert.Equal((336, 336), (view.Width, view.Height));
        Assert.Equal([122, 116, 104], view.GetRow(0)[..3].ToArray());
        Assert.Equal([255, 255, 255], view.GetRow(168)[..3].ToArray());
    }

    [Fact]
    public void LongVa_TokenCounts_DropTheBaseView_AndPoolTilesAndFrames()
    {
        // Arrange
        var longVa = LongVaImagePreprocessor.LongVa;

        // Act
        var image = longVa.Preprocess(Mid);
        var frames = longVa.GetViewTokenCounts(new ImageSplit([new ImageView(Mid, ImageViewKind.Global), new ImageView(Odd, ImageViewKind.Global)]), VisualInputKind.Video);

        // Assert: 700x500 → pinpoint 1008x672 → 3 x 2 tiles of 144 after the base view's 0.
        Assert.Equal([0, 144, 144, 144, 144, 144, 144], image.ViewTokenCounts);
        Assert.Equal(AnyResGeometry.LongVa.Compute(new PixelSize(700, 500)).TokenCount, image.TokenCount);
        Assert.Equal([144, 144], frames);
        Assert.Equal([576], longVa.GetViewTokenCounts(ImageSplit.Single(Odd)));
        Assert.Equal(VisualTokenCounts.LongVaPerFrame, longVa.TokensPerFrame);
    }

    [Fact]
    public void LongVa_Process_OnAVideoFrame_IsClip336()
    {
        var frame = new ImageView(Mid, ImageViewKind.Global);
        Assert.Equal(ClipImagePreprocessor.LongVaFrame.Process(frame).Span.ToArray(), LongVaImagePreprocessor.LongVa.Process(frame).Span.ToArray());
        Assert.Equal([144], ClipImagePreprocessor.LongVaFrame.GetViewTokenCounts(ImageSplit.Single(Mid), VisualInputKind.Video));
    }

    [Fact]
    public void AuroraCap_CountsTokensBeforeOrAfterMerging()
    {
        Assert.Equal([VisualTokenCounts.AuroraCapBeforeMerging], ClipImagePreprocessor.AuroraCap.Preprocess(Odd).ViewTokenCounts);
        var merged = ClipImagePreprocessor.CreateAuroraCap(0.8);
        Assert.Equal([VisualTokenCounts.AuroraCapAfterMerging(0.8)], merged.Preprocess(Odd).ViewTokenCounts);
        Assert.Equal(ClipImagePreprocessor.AuroraCap.Preprocess(Odd).PixelValues[0].Span.ToArray(), merged.Preprocess(Odd).PixelValues[0].Span.ToArray());
    }

    [Fact]
    public void Clip_WithCustomMeanAndStd_NormalisesWithThem()
    {
        var clip = new ClipImagePreprocessor(ClipImageGeometry.LlavaMptPreview, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
        var white = ImageOperations.Canvas(300, 200, ImagePixelFormat.Rgb24, 255, 255, 255);
        Assert.All(clip.Preprocess(white).PixelValues[0].Span.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal([0.5f, 0.5f, 0.5f], clip.ImageMean);
        Assert.Throws<ArgumentException>(() => new ClipImagePreprocessor(ClipImageGeometry.LlavaMptPreview, [0.5, 0.5]));
    }

    [Fact]
    public void Clip_WithACropLargerThanTheShortestEdge_PadsOnce_AndProcessesRawViewsLikeSplit()
    {
        // shortest_edge 100 < crop 120: a second resize + crop would change a view, so produced views are remembered.
        var clip = new ClipImagePreprocessor(new ClipImageGeometry(100, 120));
        var view = Assert.Single(clip.Split(Odd).Views);
        Assert.Same(view.Image, clip.Transform(view.Image));
        Assert.Equal(clip.Process(view).Span.ToArray(), clip.Process(new ImageView(Odd, ImageViewKind.Global)).Span.ToArray());

        // 97x89 → 108x100, pasted at (6, 10) on a zero 120x120 canvas: the corner normalises to -mean/std.
        var tensor = clip.Process(view);
        Assert.Equal((0f - 0.48145466f) / 0.26862954f, tensor.Span[0]);
        Assert.Equal((0f - 0.40821073f) / 0.27577711f, tensor.Span[(2 * 120 * 120) + (119 * 120) + 119]);
    }

    [Fact]
    public void MiniCpmV_ViewsAreRgbAndKeepTheirSizes_WithOneQueryNumEach()
    {
        // Arrange: a grey image is converted to RGB like chat.py's convert("RGB").
        var grey = PixelGoldens.MakeSource(1344, 896, 1, 6);

        // Act
        var result = MiniCpmVImagePreprocessor.MiniCpmV2.Preprocess(grey);

        // Assert: source 546x364, then 3 x 2 slices of 448x448 row-major.
        Assert.Equal(7, result.Split.Views.Count);
        Assert.All(result.Split.Views, v => Assert.Equal(ImagePixelFormat.Rgb24, v.Image.Format));
        Assert.Equal((546, 364), (result.Split.Views[0].Image.Width, result.Split.Views[0].Image.Height));
        Assert.Equal([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)], result.Split.Views.Skip(1).Select(v => (v.Row, v.Column)));
        Assert.Equal((2, 3), (result.Split.GridRows, result.Split.GridColumns));
        Assert.Equal(7 * 64, result.TokenCount);
        var placeholder = MiniCpmVSliceGeometry.MiniCpmV2.GetSliceImagePlaceholder(MiniCpmVImagePreprocessor.MiniCpmV2.GetLayout(new PixelSize(1344, 896)));
        Assert.Equal(7, placeholder.Split("<image>").Length - 1);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => LlavaImagePreprocessor.Llava15.Split(null!)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => LongVaImagePreprocessor.LongVa.Split(null!)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => MiniCpmVImagePreprocessor.MiniCpmV2.Split(null!)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => AriaImagePreprocessor.Aria.Split(null!)).ParamName);
        Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => ClipImagePreprocessor.AuroraCap.Split(null!)).ParamName);
        Assert.Equal("view", Assert.Throws<ArgumentNullException>(() => AriaImagePreprocessor.Aria.Process(null!)).ParamName);
        Assert.Equal("view", Assert.Throws<ArgumentNullException>(() => AriaImagePreprocessor.Aria.GetPixelMask(null!)).ParamName);
        Assert.Equal("split", Assert.Throws<ArgumentNullException>(() => MiniCpmVImagePreprocessor.MiniCpmV2.GetViewTokenCounts(null!)).ParamName);
        Assert.Equal("geometry", Assert.Throws<ArgumentNullException>(() => new LlavaImagePreprocessor(null!)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImagePreprocessor(600));
    }
}
