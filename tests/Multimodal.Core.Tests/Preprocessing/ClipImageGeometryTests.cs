// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Xunit.Abstractions;

namespace Multimodal.Preprocessing;

public sealed class ClipImageGeometryTests(ITestOutputHelper output)
{
    [Fact]
    public void Llava_MatchesReferenceOnEveryGoldenSize()
    {
        var (header, _) = GeometryGoldens.Load("llava");
        var fill = GeometryGoldens.Ints(header.GetProperty("fill"));
        Assert.Equal((fill[0], fill[1], fill[2]), ((int)LlavaImageGeometry.Llava15.FillColor.R, (int)LlavaImageGeometry.Llava15.FillColor.G, (int)LlavaImageGeometry.Llava15.FillColor.B));
        Assert.Equal(header.GetProperty("clip_mean").EnumerateArray().Select(e => e.GetDouble()), ClipImageGeometry.OpenAiClipMean);
        Assert.Equal(header.GetProperty("tokens").GetProperty("llava15").GetInt32(), LlavaImageGeometry.Llava15.TokenCount);
        Assert.Equal(header.GetProperty("tokens").GetProperty("mpt").GetInt32(), LlavaImageGeometry.LlavaMptPreview.TokenCount);

        var summary = GeometryGoldens.RunAll("llava", "expand2square+clip336, clip224, center_crop", (row, check) =>
        {
            var size = check.Size;
            var l15 = LlavaImageGeometry.Llava15.Compute(size);
            check.Equal(row.GetProperty("sq").GetInt32(), l15.Square!.Side, "expand2square side");
            check.Equal(GeometryGoldens.Offset(row.GetProperty("off")), l15.Square.PasteOffset, "expand2square paste offset");
            CheckClip(check, row.GetProperty("l15"), l15.Clip, "llava-1.5 clip");
            check.Equal(576, l15.TokenCount, "llava-1.5 tokens");

            var mpt = LlavaImageGeometry.LlavaMptPreview.Compute(size);
            check.Equal(null, mpt.Square, "mpt square");
            CheckClip(check, row.GetProperty("mpt"), mpt.Clip, "mpt clip");

            if (row.TryGetProperty("cc", out var cc))
            {
                CheckRawCrop(check, cc, ClipImageGeometry.CenterCrop(size, 336, 336));
            }
        });
        output.WriteLine(summary);
    }

    [Fact]
    public void AuroraCap_MatchesReferenceOnEveryGoldenSize()
    {
        var (header, _) = GeometryGoldens.Load("auroracap");
        Assert.Equal(header.GetProperty("tokens").GetInt32(), ClipImageGeometry.AuroraCap.TokensPerView);
        foreach (var t in header.GetProperty("tome").EnumerateArray())
        {
            var ratio = t[0].GetDouble();
            Assert.Equal(t[1].GetInt32(), VisualTokenCounts.AuroraCapMergesPerLayer(ratio));
            Assert.Equal(t[2].GetInt32(), VisualTokenCounts.AuroraCapAfterMerging(ratio));
        }

        var summary = GeometryGoldens.RunAll("auroracap", "clip378, center_crop", (row, check) =>
        {
            var view = ClipImageGeometry.AuroraCap.Compute(check.Size);
            check.Equal(GeometryGoldens.Size(row.GetProperty("rs")), view.ResizeSize, "resize");
            check.Equal(GeometryGoldens.Box(row.GetProperty("crop")), view.Crop.CropBox, "crop box");
            check.Equal(new PixelSize(378, 378), view.OutputSize, "output");
            if (row.TryGetProperty("cc", out var cc))
            {
                CheckRawCrop(check, cc, ClipImageGeometry.CenterCrop(check.Size, 378, 378));
            }
        });
        output.WriteLine(summary);
    }

    [Theory]
    [InlineData(640, 480, 336, 448, 336)]
    [InlineData(480, 640, 336, 336, 448)]
    [InlineData(336, 336, 336, 336, 336)]
    [InlineData(1, 4000, 336, 336, 1344000)]
    [InlineData(1000, 3, 224, 74666, 224)]
    public void GetResizeOutputImageSize_TruncatesTheLongSide(int w, int h, int edge, int expectedW, int expectedH)
    {
        // Arrange / Act
        var size = ClipImageGeometry.GetResizeOutputImageSize(new PixelSize(w, h), edge);

        // Assert
        Assert.Equal(new PixelSize(expectedW, expectedH), size);
    }

    [Fact]
    public void CenterCrop_SmallerImage_IsPaddedCentredAsHf()
    {
        // Arrange / Act: a 1x2 image under a 336 crop: top_pad = ceil(334/2) = 167, left_pad = ceil(335/2) = 168.
        var crop = ClipImageGeometry.CenterCrop(new PixelSize(1, 2), 336, 336);

        // Assert
        Assert.True(crop.NeedsPadding);
        Assert.Equal(-167, crop.Top);
        Assert.Equal(-168, crop.Left);
        Assert.Equal(167, crop.PadTop);
        Assert.Equal(168, crop.PadLeft);
        Assert.Equal(new PixelBox(0, 0, 336, 336), crop.CropBox);
        Assert.Equal(new PixelBox(0, 0, 1, 2), crop.SourceBox);
        Assert.Equal(new PixelOffset(168, 167), crop.DestinationOffset);
        Assert.Equal(new PixelSize(336, 336), crop.OutputSize);
    }

    [Fact]
    public void ExpandToSquare_PastesAsLlava()
    {
        Assert.Equal(new PixelOffset(0, 80), LlavaImageGeometry.ExpandToSquare(new PixelSize(640, 480)).PasteOffset);
        Assert.Equal(new PixelOffset(80, 0), LlavaImageGeometry.ExpandToSquare(new PixelSize(480, 640)).PasteOffset);
        Assert.Equal(new PixelOffset(0, 1), LlavaImageGeometry.ExpandToSquare(new PixelSize(4, 1)).PasteOffset);
        Assert.True(LlavaImageGeometry.ExpandToSquare(new PixelSize(5, 5)).IsIdentity);
        Assert.Equal(((byte)122, (byte)116, (byte)104), LlavaImageGeometry.GetFillColor(ClipImageGeometry.OpenAiClipMean));
    }

    [Fact]
    public void Constructors_RejectBadArguments()
    {
        Assert.Equal("shortestEdge", Assert.Throws<ArgumentOutOfRangeException>(() => new ClipImageGeometry(0, 336)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentOutOfRangeException>(() => ClipImageGeometry.Llava15.Compute(new PixelSize(0, 3))).ParamName);
        Assert.Equal("imageMean", Assert.Throws<ArgumentException>(() => LlavaImageGeometry.GetFillColor([0.5, 0.5])).ParamName);
        Assert.Equal("processor", Assert.Throws<ArgumentNullException>(() => new LlavaImageGeometry(null!, true)).ParamName);
    }

    private static void CheckClip(GoldenCheck check, JsonElement expected, ClipViewGeometry actual, string what)
    {
        check.Equal(GeometryGoldens.Size(expected[0]), actual.ResizeSize, what + " resize");
        check.Equal(GeometryGoldens.Box(expected[1]), actual.Crop.CropBox, what + " crop box");
        check.Equal(false, actual.Crop.NeedsPadding, what + " needs padding");
    }

    private static void CheckRawCrop(GoldenCheck check, JsonElement cc, CenterCropGeometry crop)
    {
        check.Equal(cc[0].GetInt32(), crop.Top, "center_crop top");
        check.Equal(cc[1].GetInt32(), crop.Left, "center_crop left");
        check.Equal(cc[2].GetInt32(), crop.PadTop, "center_crop top_pad");
        check.Equal(cc[3].GetInt32(), crop.PadLeft, "center_crop left_pad");
        check.Equal(GeometryGoldens.Size(cc[4]), crop.PaddedSize, "center_crop padded size");
        check.Equal(GeometryGoldens.Box(cc[5]), crop.CropBox, "center_crop box");
        check.Equal(GeometryGoldens.Box(cc[6]), crop.SourceBox, "center_crop source box");
        check.Equal(GeometryGoldens.Offset(cc[7]), crop.DestinationOffset, "center_crop destination");
        check.Equal(GeometryGoldens.Size(cc[8]), crop.OutputSize, "center_crop output");
    }
}
