// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Xunit.Abstractions;

namespace Multimodal.Preprocessing;

public sealed class MiniCpmVSliceGeometryTests(ITestOutputHelper output)
{
    [Fact]
    public void MiniCpmV2_MatchesReferenceOnEveryGoldenSize()
    {
        var (header, _) = GeometryGoldens.Load("minicpmv2");
        var geometry = MiniCpmVSliceGeometry.MiniCpmV2;
        Assert.Equal(header.GetProperty("scale_resolution").GetInt32(), geometry.ScaleResolution);
        Assert.Equal(header.GetProperty("patch_size").GetInt32(), geometry.PatchSize);
        Assert.Equal(header.GetProperty("max_slice_nums").GetInt32(), geometry.MaxSliceNums);
        Assert.Equal(header.GetProperty("query_num").GetInt32(), geometry.QueryNum);
        var tokens = header.GetProperty("tokens");
        var shortQuery = new MiniCpmVSliceGeometry(queryNum: 1);
        var max4 = new MiniCpmVSliceGeometry(maxSliceNums: 4);

        var summary = GeometryGoldens.RunAll("minicpmv2", "slice_image (9), never_split, max_slice_nums 4, placeholder", (row, check) =>
        {
            var layout = geometry.SliceImage(check.Size);
            check.Equal(GeometryGoldens.Size(row.GetProperty("src")), layout.SourceSize, "source size");
            check.Equal(GeometryGoldens.Grid(row.GetProperty("grid")), layout.Grid, "best_grid");
            var rf = row.GetProperty("rf");
            check.Equal(rf.ValueKind == JsonValueKind.Null ? null : GeometryGoldens.Size(rf), layout.RefineSize, "refine size");
            check.SequenceEqual(row.GetProperty("p").EnumerateArray().Select(GeometryGoldens.Box), layout.Slices.Select(s => s.Box), "slice boxes");
            check.Equal(row.GetProperty("tok").GetInt32(), layout.TokenCount, "tokens");
            if (layout.Grid is { } grid)
            {
                check.Equal(grid.Count, layout.Slices.Count, "slices = grid");
                check.Equal(grid.Rows, layout.GridRows, "grid rows");
                check.Equal(grid.Columns, layout.GridColumns, "grid columns");
                check.SequenceEqual(
                    Enumerable.Range(0, grid.Count).Select(i => (i / grid.Columns, i % grid.Columns)),
                    layout.Slices.Select(s => (s.Row, s.Column)),
                    "slice row/column");
            }

            var placeholder = shortQuery.GetSliceImagePlaceholder(
                shortQuery.SliceImage(check.Size),
                tokens.GetProperty("im_start").GetString()!,
                tokens.GetProperty("unk").GetString()!,
                tokens.GetProperty("im_end").GetString()!,
                tokens.GetProperty("slice_start").GetString()!,
                tokens.GetProperty("slice_end").GetString()!);
            check.Equal(row.GetProperty("ph").GetString(), placeholder, "placeholder");

            var neverSplit = geometry.SliceImage(check.Size, neverSplit: true);
            check.Equal(GeometryGoldens.Size(row.GetProperty("ns")), neverSplit.SourceSize, "never_split source");
            check.Equal(0, neverSplit.Slices.Count, "never_split slices");

            var m4 = row.GetProperty("m4");
            var l4 = max4.SliceImage(check.Size);
            check.Equal(GeometryGoldens.Size(m4[0]), l4.SourceSize, "max4 source");
            check.Equal(GeometryGoldens.Grid(m4[1]), l4.Grid, "max4 grid");
            check.Equal(m4[2].ValueKind == JsonValueKind.Null ? null : GeometryGoldens.Size(m4[2]), l4.RefineSize, "max4 refine");
            check.Equal(m4[3].GetInt32(), l4.Slices.Count, "max4 slices");
        });
        output.WriteLine(summary);
    }

    [Fact]
    public void SliceImage_1344x896_MatchesTheWorkedExample()
    {
        // Arrange / Act (FAMILIES.md §E.2)
        var layout = MiniCpmVSliceGeometry.MiniCpmV2.SliceImage(new PixelSize(1344, 896));

        // Assert
        Assert.Equal(new PixelSize(546, 364), layout.SourceSize);
        Assert.Equal(new GridShape(3, 2), layout.Grid);
        Assert.Equal(new PixelSize(1344, 896), layout.RefineSize);
        Assert.Equal(6, layout.Slices.Count);
        Assert.Equal(new GridTile(1, 0, new PixelBox(0, 448, 448, 896)), layout.Slices[3]);
        Assert.Equal(7, layout.ImageCount);
        Assert.Equal(448, layout.TokenCount);
        Assert.Equal(new SplitView(ImageViewKind.Global, 0, 0, null, new PixelSize(546, 364)), layout.Views[0]);
        Assert.Equal(new SplitView(ImageViewKind.Tile, 0, 1, new PixelBox(448, 0, 896, 448), new PixelSize(448, 448)), layout.Views[2]);
        Assert.Equal(7, layout.Views.Count);
        var placeholder = MiniCpmVSliceGeometry.MiniCpmV2.GetSliceImagePlaceholder(layout);
        var image = "<image>" + string.Concat(Enumerable.Repeat("<unk>", 64)) + "</image>";
        Assert.Equal(image + "<slice>" + image + image + image + "\n" + image + image + image + "</slice>", placeholder);
    }

    [Fact]
    public void SliceImage_448x448_IsOneSourceView()
    {
        var layout = MiniCpmVSliceGeometry.MiniCpmV2.SliceImage(new PixelSize(448, 448));
        Assert.Equal(new PixelSize(448, 448), layout.SourceSize);
        Assert.Null(layout.Grid);
        Assert.Empty(layout.Slices);
        Assert.Equal(64, layout.TokenCount);
        Assert.Equal("<image>" + string.Concat(Enumerable.Repeat("<unk>", 64)) + "</image>", MiniCpmVSliceGeometry.MiniCpmV2.GetSliceImagePlaceholder(layout));
    }

    [Theory]
    [InlineData(7.0, 14, 14)] // round(0.5) = 0 (half to even) -> floored to p
    [InlineData(21.0, 14, 28)] // round(1.5) = 2
    [InlineData(35.0, 14, 28)] // round(2.5) = 2 (half to even, not 3)
    [InlineData(49.0, 14, 56)] // round(3.5) = 4
    [InlineData(5.0, 2, 4)] // round(2.5) = 2
    [InlineData(7.0, 2, 8)] // round(3.5) = 4
    public void EnsureDivide_RoundsHalfToEven(double length, int patch, int expected) =>
        Assert.Equal(expected, MiniCpmVSliceGeometry.EnsureDivide(length, patch));

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        Assert.Equal("maxSliceNums", Assert.Throws<ArgumentOutOfRangeException>(() => new MiniCpmVSliceGeometry(maxSliceNums: 0)).ParamName);
        Assert.Equal("original", Assert.Throws<ArgumentOutOfRangeException>(() => MiniCpmVSliceGeometry.MiniCpmV2.SliceImage(new PixelSize(3, 0))).ParamName);
    }
}
