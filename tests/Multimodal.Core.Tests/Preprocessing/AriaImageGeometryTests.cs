// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Xunit.Abstractions;

namespace Multimodal.Preprocessing;

public sealed class AriaImageGeometryTests(ITestOutputHelper output)
{
    [Fact]
    public void Aria_MatchesReferenceOnEveryGoldenSize()
    {
        var (header, _) = GeometryGoldens.Load("aria");
        var ratios = header.GetProperty("split_ratio").EnumerateArray().Select(r => new GridShape(r[0].GetInt32(), r[1].GetInt32())).ToArray();
        Assert.Equal(ratios, AriaImageGeometry.DefaultSplitRatios);
        Assert.Equal(header.GetProperty("min_image_size").GetInt32(), AriaImageGeometry.Aria980.MinImageSize);
        Assert.Equal(header.GetProperty("tokens").GetProperty("490").GetInt32(), AriaImageGeometry.Aria490.TokensPerCrop);
        Assert.Equal(header.GetProperty("tokens").GetProperty("980").GetInt32(), AriaImageGeometry.Aria980.TokensPerCrop);

        var summary = GeometryGoldens.RunAll("aria", "keep-ratio resize and split at 980 and 490", (row, check) =>
        {
            foreach (var geometry in new[] { AriaImageGeometry.Aria980, AriaImageGeometry.Aria490 })
            {
                var m = geometry.MaxImageSize;
                var g = row.GetProperty(m.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var single = geometry.Compute(check.Size);
                check.Equal(1, single.NumCrops, $"{m} single crops");
                check.Equal(GeometryGoldens.Size(g.GetProperty("rs")), single.Crops[0].Resize.ResizeSize, $"{m} resize");
                var pad = GeometryGoldens.Ints(g.GetProperty("pad"));
                check.Equal((pad[0], pad[1]), (single.Crops[0].Resize.PaddingRight, single.Crops[0].Resize.PaddingBottom), $"{m} padding");

                var split = geometry.Compute(check.Size, splitImage: true);
                check.Equal(GeometryGoldens.Grid(g.GetProperty("ratio")), split.SplitRatio, $"{m} split ratio");
                check.Equal(GeometryGoldens.Size(g.GetProperty("split")), split.SplitResizeSize, $"{m} split resize");
                check.Equal(g.GetProperty("n").GetInt32(), split.NumCrops, $"{m} num_crops");
                check.Equal(ImageViewKind.Global, split.Crops[0].Kind, $"{m} first crop kind");
                check.Equal(single.Crops[0], split.Crops[0], $"{m} global crop");
                var tiles = split.Crops.Skip(1).ToArray();
                check.Equal(true, tiles.All(t => t.Kind == ImageViewKind.Tile && t.Resize.ResizeSize == new PixelSize(m, m) && t.Resize.PaddingRight == 0 && t.Resize.PaddingBottom == 0), $"{m} tiles are identity-resized");
                var boxes = tiles.Select(t => t.SourceBox!.Value).ToArray();
                if (g.GetProperty("b").ValueKind != JsonValueKind.Null)
                {
                    check.SequenceEqual(g.GetProperty("b").EnumerateArray().Select(GeometryGoldens.Box), boxes, $"{m} tile boxes");
                }

                check.Equal(g.GetProperty("ck").GetInt64(), GeometryGoldens.Checksum(boxes), $"{m} tile box checksum");
                check.Equal(g.GetProperty("tok").GetInt32(), split.TokenCount, $"{m} split tokens");
                check.Equal(geometry.TokensPerCrop, single.TokenCount, $"{m} single tokens");
            }
        });
        output.WriteLine(summary);
    }

    [Fact]
    public void Compute_2000x1000_At980_TakesTwoByOne()
    {
        // FAMILIES.md §A.2: area 2e6 < 0.5*980^2*8, so the later (4,2) does not replace (2,1).
        var layout = AriaImageGeometry.Aria980.Compute(new PixelSize(2000, 1000), splitImage: true);
        Assert.Equal(new GridShape(2, 1), layout.SplitRatio);
        Assert.Equal(3, layout.NumCrops);
        Assert.Equal(new PixelSize(980, 490), layout.Crops[0].Resize.ResizeSize);
        Assert.Equal(490, layout.Crops[0].Resize.PaddingBottom);
        Assert.Equal(new PixelBox(980, 0, 1960, 980), layout.Crops[2].SourceBox);
        Assert.Equal(768, layout.TokenCount);
    }

    [Fact]
    public void Compute_SquareImage_TakesTwoByTwo()
    {
        var layout = AriaImageGeometry.Aria980.Compute(new PixelSize(1000, 1000), splitImage: true);
        Assert.Equal(new GridShape(2, 2), layout.SplitRatio);
        Assert.Equal(5, layout.NumCrops);
    }

    [Fact]
    public void Compute_RatioListWithOneByOne_InsertsNoGlobalCrop()
    {
        // The reference inserts the whole image only when the split yields more than one tile.
        var geometry = new AriaImageGeometry(980, 336, [new GridShape(1, 1), new GridShape(2, 1)]);
        var layout = geometry.Compute(new PixelSize(500, 490), splitImage: true);
        Assert.Equal(new GridShape(1, 1), layout.SplitRatio);
        Assert.Single(layout.Crops);
        Assert.Equal(ImageViewKind.Tile, layout.Crops[0].Kind);
    }

    [Fact]
    public void SelectBestResolution_AreaWrapsLikeNumpyInt32()
    {
        // 65536 * 32768 = 2^31 wraps to -2^31 in int32, so the tie with (4,2) is not taken.
        Assert.Equal(new GridShape(2, 1), AriaImageGeometry.SelectBestResolution(65536, 32768, AriaImageGeometry.DefaultSplitRatios, 980));
        Assert.Equal(new GridShape(4, 2), AriaImageGeometry.SelectBestResolution(40000, 20000, AriaImageGeometry.DefaultSplitRatios, 980));
    }

    [Fact]
    public void Constructor_RejectsOtherSizes()
    {
        Assert.Equal("maxImageSize", Assert.Throws<ArgumentOutOfRangeException>(() => new AriaImageGeometry(500)).ParamName);
        Assert.Equal("maxImageSize", Assert.Throws<ArgumentOutOfRangeException>(() => AriaImageGeometry.TokensPerCropFor(224)).ParamName);
        Assert.Equal("splitRatios", Assert.Throws<ArgumentException>(() => new AriaImageGeometry(980, 336, [])).ParamName);
    }
}
