// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

/// <summary>Aria's crop sizes from the model's projector: the map of supported <c>max_image_size</c> values to tokens per
/// crop, its validation, and the reference defaults it must keep.</summary>
public sealed class AriaCropSizeMapTests
{
    // A tiny checkpoint: projector_patch_to_query_dict {"64": 16} with 14-pixel patches → 112-pixel crops of 16 tokens.
    private static readonly Dictionary<int, int> Tiny = new() { [112] = 16 };

    // Two sizes, as {"16": 4, "64": 16} would give.
    private static readonly Dictionary<int, int> TwoSizes = new() { [56] = 4, [112] = 16 };

    private static readonly ImageFrame Wide = PixelGoldens.MakeSource(200, 100, 3, 11);

    [Fact]
    public void DefaultMap_IsTheReferences()
    {
        Assert.Equal(new Dictionary<int, int> { [490] = 128, [980] = 256 }, AriaImageGeometry.DefaultTokensPerCrop);
        Assert.Equal([490, 980], AriaImageGeometry.Aria980.SupportedImageSizes);
        Assert.Equal(AriaImageGeometry.DefaultTokensPerCrop, AriaImageGeometry.Aria490.TokensPerCropBySize);
        Assert.Equal((128, 256), (AriaImageGeometry.Aria980.GetTokensPerCrop(490), AriaImageGeometry.Aria980.GetTokensPerCrop(980)));
        Assert.Equal([490, 980], AriaImagePreprocessor.Aria.SupportedImageSizes);
        Assert.Equal(256, AriaImagePreprocessor.Aria.TokensPerCrop);
    }

    [Fact]
    public void Geometry_WithATinyMap_MakesCropsOfThatSizeAndTokens()
    {
        var geometry = new AriaImageGeometry(Tiny, 112, 28);

        var single = geometry.Compute(new PixelSize(200, 100));
        var split = geometry.Compute(new PixelSize(200, 100), splitImage: true);

        Assert.Equal(16, geometry.TokensPerCrop);
        Assert.Equal([112], geometry.SupportedImageSizes);
        Assert.Equal(new PixelSize(112, 56), single.Crops[0].Resize.ResizeSize);
        Assert.Equal((0, 56, 112), (single.Crops[0].Resize.PaddingRight, single.Crops[0].Resize.PaddingBottom, single.Crops[0].Resize.CanvasSize));
        Assert.Equal(16, single.TokenCount);
        Assert.Equal(new GridShape(2, 1), split.SplitRatio);
        Assert.Equal(new PixelSize(224, 112), split.SplitResizeSize);
        Assert.Equal(new PixelBox(112, 0, 224, 112), split.Crops[2].SourceBox);
        Assert.Equal(3 * 16, split.TokenCount);
    }

    [Fact]
    public void Geometry_WithTheReferencesMapGiven_BehavesAsTheDefault()
    {
        var copy = new Dictionary<int, int> { [980] = 256, [490] = 128 };
        foreach (var size in new[] { new PixelSize(2000, 1000), new PixelSize(97, 89), new PixelSize(300, 1200) })
        {
            foreach (var m in new[] { 490, 980 })
            {
                var expected = new AriaImageGeometry(m).Compute(size, splitImage: true);
                var actual = new AriaImageGeometry(copy, m).Compute(size, splitImage: true);
                Assert.Equal(expected.Crops, actual.Crops);
                Assert.Equal((expected.SplitRatio, expected.TokenCount), (actual.SplitRatio, actual.TokenCount));
            }
        }
    }

    [Fact]
    public void Geometry_CopiesTheMap()
    {
        var map = new Dictionary<int, int> { [112] = 16 };
        var geometry = new AriaImageGeometry(map, 112, 112);

        map[112] = 99;
        map[224] = 64;

        Assert.Equal(16, geometry.TokensPerCrop);
        Assert.Equal([112], geometry.SupportedImageSizes);
    }

    [Fact]
    public void Geometry_SizeOutsideTheMap_ListsTheSupportedSizes()
    {
        var tiny = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImageGeometry(TwoSizes, 980, 56));
        var reference = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImageGeometry(500));
        var lookup = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImageGeometry(Tiny, 112, 112).GetTokensPerCrop(490));

        Assert.Equal("maxImageSize", tiny.ParamName);
        Assert.Contains("56 or 112", tiny.Message, StringComparison.Ordinal);
        Assert.Contains("490 or 980", reference.Message, StringComparison.Ordinal);
        Assert.Equal("maxImageSize", lookup.ParamName);
        Assert.Contains("supported crop sizes: 112", lookup.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(113)]
    public void Geometry_MinSizeOutsideOneToMax_Throws(int minImageSize)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImageGeometry(Tiny, 112, minImageSize));

        Assert.Equal("minImageSize", ex.ParamName);
        Assert.Contains("[1, 112]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Geometry_MinSizeUpToMax_IsAccepted()
    {
        Assert.Equal(112, new AriaImageGeometry(Tiny, 112, 112).MinImageSize);
        Assert.Equal(1, new AriaImageGeometry(Tiny, 112, 1).MinImageSize);
        Assert.Equal(980, new AriaImageGeometry(980, 980).MinImageSize);
    }

    [Fact]
    public void Geometry_InvalidMap_Throws()
    {
        Assert.Equal("tokensPerCropBySize", Assert.Throws<ArgumentNullException>(() => new AriaImageGeometry(null!, 112)).ParamName);
        Assert.Equal("tokensPerCropBySize", Assert.Throws<ArgumentException>(() => new AriaImageGeometry(new Dictionary<int, int>(), 112)).ParamName);
        Assert.Equal("tokensPerCropBySize", Assert.Throws<ArgumentException>(() => new AriaImageGeometry(new Dictionary<int, int> { [112] = 0 }, 112)).ParamName);
        Assert.Equal("tokensPerCropBySize", Assert.Throws<ArgumentException>(() => new AriaImageGeometry(new Dictionary<int, int> { [-112] = 16 }, 112)).ParamName);
        Assert.Equal("tokensPerCropBySize", Assert.Throws<ArgumentNullException>(() => new AriaImagePreprocessor(null!, 112)).ParamName);
    }

    [Fact]
    public void Preprocessor_WithATinyMap_MakesCropsOfThatSizeAndTokens()
    {
        var aria = new AriaImagePreprocessor(Tiny, 112, 112);

        var result = aria.Preprocess(Wide);
        var split = aria.Preprocess(Wide, new Dictionary<string, object?> { [ImageSplitOptionKeys.SplitImage] = true });

        Assert.Equal((112, 112, 16), (aria.MaxImageSize, aria.MinImageSize, aria.TokensPerCrop));
        Assert.Equal([3, 112, 112], Assert.Single(result.PixelValues).Shape.ToArray());
        Assert.Equal([16], result.ViewTokenCounts);
        Assert.Equal(16, result.TokenCount);

        // min_image_size 112 stretches the short side to the whole canvas: no padding.
        Assert.All(aria.GetPixelMask(result.Split.Views[0]).Span.ToArray(), Assert.True);
        Assert.Equal(Enumerable.Repeat(16, 3), split.ViewTokenCounts);
        Assert.All(split.PixelValues, t => Assert.Equal([3, 112, 112], t.Shape.ToArray()));
    }

    [Fact]
    public void Preprocessor_RawFrame_CountsTheTokensOfItsDefaultSize()
    {
        var aria = new AriaImagePreprocessor(TwoSizes, 112, 56);

        Assert.Equal([16], aria.GetViewTokenCounts(ImageSplit.Single(Wide), VisualInputKind.Video));
        Assert.Equal([3, 112, 112], aria.Process(new ImageView(Wide, ImageViewKind.Global)).Shape.ToArray());
    }

    [Fact]
    public void Preprocessor_OptionSwitchesToAnotherSupportedSize()
    {
        var aria = new AriaImagePreprocessor(TwoSizes, 112, 56);

        var result = aria.Preprocess(Wide, new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 56 });

        Assert.Equal([3, 56, 56], Assert.Single(result.PixelValues).Shape.ToArray());
        Assert.Equal([56, 56], aria.GetPixelMask(result.Split.Views[0]).Shape.ToArray());
        Assert.Equal([4], result.ViewTokenCounts);
        Assert.Equal(new Dictionary<int, int> { [56] = 4, [112] = 16 }, aria.TokensPerCropBySize);
    }

    [Fact]
    public void Preprocessor_OptionOutsideTheMap_ListsTheSupportedSizes()
    {
        var tiny = new AriaImagePreprocessor(TwoSizes, 112, 56);
        var tooBig = new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 980 };
        var odd = new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 500 };

        var fromTiny = Assert.Throws<ArgumentOutOfRangeException>(() => tiny.Split(Wide, tooBig));
        var fromReference = Assert.Throws<ArgumentOutOfRangeException>(() => AriaImagePreprocessor.Aria.GetLayout(new PixelSize(10, 10), odd));

        Assert.Equal("options", fromTiny.ParamName);
        Assert.Contains("max_image_size option", fromTiny.Message, StringComparison.Ordinal);
        Assert.Contains("56 or 112", fromTiny.Message, StringComparison.Ordinal);
        Assert.Equal("options", fromReference.ParamName);
        Assert.Contains("490 or 980", fromReference.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocessor_MaxSizeOutsideTheMap_ListsTheSupportedSizes()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImagePreprocessor(Tiny, 980));

        Assert.Equal("maxImageSize", ex.ParamName);
        Assert.Contains("supported crop sizes: 112", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocessor_MinSize_IsCappedAtTheSmallestSupportedSize()
    {
        // The reference's sizes keep today's cap of 490: a request may switch to 490.
        Assert.Equal(490, new AriaImagePreprocessor(980, 490).MinImageSize);
        var reference = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImagePreprocessor(980, 491));
        Assert.Equal("minImageSize", reference.ParamName);
        Assert.Contains("[1, 490]", reference.Message, StringComparison.Ordinal);

        // A tiny map allows tiny sizes, up to its smallest size.
        Assert.Equal(56, new AriaImagePreprocessor(TwoSizes, 112, 56).MinImageSize);
        Assert.Equal(112, new AriaImagePreprocessor(Tiny, 112, 112).MinImageSize);
        var tiny = Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImagePreprocessor(TwoSizes, 112, 57));
        Assert.Equal("minImageSize", tiny.ParamName);
        Assert.Contains("[1, 56]", tiny.Message, StringComparison.Ordinal);
        Assert.Equal("minImageSize", Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImagePreprocessor(Tiny, 112, 0)).ParamName);
    }

    [Fact]
    public void Preprocessor_WithTheReferencesMapGiven_BehavesAsTheDefault()
    {
        var given = new AriaImagePreprocessor(new Dictionary<int, int> { [490] = 128, [980] = 256 }, 980, splitImage: true);
        var reference = new AriaImagePreprocessor(splitImage: true);
        var options = new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 490 };

        var expected = reference.Preprocess(Wide, options);
        var actual = given.Preprocess(Wide, options);

        Assert.Equal(expected.ViewTokenCounts, actual.ViewTokenCounts);
        Assert.Equal(expected.PixelValues.Select(t => t.Span.ToArray()), actual.PixelValues.Select(t => t.Span.ToArray()));
        Assert.Equal(reference.GetViewTokenCounts(ImageSplit.Single(Wide)), given.GetViewTokenCounts(ImageSplit.Single(Wide)));
    }
}
