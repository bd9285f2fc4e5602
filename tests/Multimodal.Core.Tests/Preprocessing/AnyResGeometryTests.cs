// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Xunit.Abstractions;

namespace Multimodal.Preprocessing;

public sealed class AnyResGeometryTests(ITestOutputHelper output)
{
    [Fact]
    public void LongVa_MatchesReferenceOnEveryGoldenSize()
    {
        var (header, _) = GeometryGoldens.Load("longva");
        var pinpoints = header.GetProperty("pinpoints").EnumerateArray().Select(GeometryGoldens.Size).ToArray();
        Assert.Equal(pinpoints, AnyResGeometry.LongVaGridPinpoints);
        var next = header.GetProperty("next_pinpoints").EnumerateArray().Select(GeometryGoldens.Size).ToArray();
        Assert.Equal(next, AnyResGeometry.LlavaNextGridPinpoints);
        Assert.Equal(header.GetProperty("base_tokens").GetInt32(), AnyResGeometry.LongVa.TokensPerView);
        Assert.Equal(header.GetProperty("tile_tokens").GetInt32(), AnyResGeometry.LongVa.PooledTokensPerTile);
        Assert.Equal(VisualTokenCounts.LongVaPerFrame, header.GetProperty("frame_tokens").GetInt32());

        var summary = GeometryGoldens.RunAll("longva", "anyres/unires, llava-next pinpoints, frame clip336", (row, check) =>
        {
            var layout = AnyResGeometry.LongVa.Compute(check.Size);
            check.Equal(GeometryGoldens.Size(row.GetProperty("best")), layout.BestResolution, "select_best_resolution");
            check.Equal(GeometryGoldens.Size(row.GetProperty("rs")), layout.ResizeAndPad.ResizeSize, "resize_and_pad_image size");
            check.Equal(GeometryGoldens.Offset(row.GetProperty("off")), layout.ResizeAndPad.PasteOffset, "resize_and_pad_image paste");
            check.Equal(GeometryGoldens.Grid(row.GetProperty("grid")), layout.Grid, "get_anyres_image_grid_shape");
            check.Equal(GeometryGoldens.Grid(row.GetProperty("grid")), AnyResGeometry.GetAnyResImageGridShape(check.Size, pinpoints, 336), "get_anyres_image_grid_shape (static)");
            var boxes = layout.Tiles.Select(t => t.Box).ToArray();
            check.Equal(row.GetProperty("n").GetInt32(), boxes.Length, "tile count");
            if (boxes.Length > 0)
            {
                check.Equal(GeometryGoldens.Box(row.GetProperty("b0")), boxes[0], "first tile");
                check.Equal(GeometryGoldens.Box(row.GetProperty("bl")), boxes[^1], "last tile");
            }

            check.Equal(row.GetProperty("ck").GetInt64(), GeometryGoldens.Checksum(boxes), "tile box checksum");
            check.Equal(row.GetProperty("tok").GetInt32(), layout.TokenCount, "unires tokens");
            check.Equal(layout.Grid.Count, layout.Tiles.Count, "grid count = tiles");

            var nxt = row.GetProperty("next");
            var best = AnyResGeometry.SelectBestResolution(check.Size, AnyResGeometry.LlavaNextGridPinpoints);
            check.Equal(GeometryGoldens.Size(nxt[0]), best, "llava-next select_best_resolution");
            var pad = AnyResGeometry.ResizeAndPadImage(check.Size, best);
            check.Equal(GeometryGoldens.Size(nxt[1]), pad.ResizeSize, "llava-next resize");
            check.Equal(GeometryGoldens.Offset(nxt[2]), pad.PasteOffset, "llava-next paste");

            var frame = ClipImageGeometry.LongVaFrame.Compute(check.Size);
            var f = row.GetProperty("frame");
            check.Equal(GeometryGoldens.Size(f[0]), frame.ResizeSize, "frame resize");
            check.Equal(GeometryGoldens.Box(f[1]), frame.Crop.CropBox, "frame crop");
        });
        output.WriteLine(summary);
    }

    [Fact]
    public void Compute_1000x750_GivesThreeByThreeAnd1296Tokens()
    {
        // Arrange / Act: the worked example of FAMILIES.md §C.2.
        var layout = AnyResGeometry.LongVa.Compute(new PixelSize(1000, 750));

        // Assert
        Assert.Equal(new PixelSize(1008, 1008), layout.BestResolution);
        Assert.Equal(new PixelSize(1008, 756), layout.ResizeAndPad.ResizeSize);
        Assert.Equal(new PixelOffset(0, 126), layout.ResizeAndPad.PasteOffset);
        Assert.Equal(new GridShape(3, 3), layout.Grid);
        Assert.Equal(10, layout.ViewCount);
        Assert.Equal(new PixelSize(336, 336), layout.BaseViewSize);
        Assert.Equal(new GridTile(1, 2, new PixelBox(672, 336, 1008, 672)), layout.Tiles[5]);
        Assert.Equal(1296, layout.TokenCount);
        Assert.Equal(new SplitView(ImageViewKind.Global, 0, 0, null, new PixelSize(336, 336)), layout.Views[0]);
        Assert.Equal(new SplitView(ImageViewKind.Tile, 2, 2, new PixelBox(672, 672, 1008, 1008), new PixelSize(336, 336)), layout.Views[^1]);
        Assert.Equal(10, layout.Views.Count);
    }

    [Fact]
    public void SelectBestResolution_FirstCandidateWinsTies()
    {
        // Both candidates hold the whole 10x10 image with the same waste.
        var best = AnyResGeometry.SelectBestResolution(new PixelSize(10, 10), [new(20, 10), new(10, 20)]);
        Assert.Equal(new PixelSize(20, 10), best);
    }

    [Fact]
    public void DivideToPatches_OverhangsLikePilCrop()
    {
        var boxes = AnyResGeometry.DivideToPatches(new PixelSize(500, 300), 336);
        Assert.Equal([new PixelBox(0, 0, 336, 336), new PixelBox(336, 0, 672, 336)], boxes);
    }

    [Fact]
    public void Constructor_RejectsEmptyPinpoints()
    {
        Assert.Equal("gridPinpoints", Assert.Throws<ArgumentException>(() => new AnyResGeometry([])).ParamName);
        Assert.Equal("possibleResolutions", Assert.Throws<ArgumentException>(() => AnyResGeometry.SelectBestResolution(new PixelSize(1, 1), [])).ParamName);
    }
}
