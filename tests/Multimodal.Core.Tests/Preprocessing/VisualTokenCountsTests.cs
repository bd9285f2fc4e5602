// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Preprocessing;

public sealed class VisualTokenCountsTests
{
    [Fact]
    public void Constants_AgreeWithTheGeometry()
    {
        Assert.Equal(VisualTokenCounts.Llava15PerImage, ClipImageGeometry.Llava15.TokensPerView);
        Assert.Equal(VisualTokenCounts.LlavaMptPreviewPerImage, ClipImageGeometry.LlavaMptPreview.TokensPerView);
        Assert.Equal(VisualTokenCounts.AuroraCapBeforeMerging, ClipImageGeometry.AuroraCap.TokensPerView);
        Assert.Equal(VisualTokenCounts.LongVaPerTile, AnyResGeometry.LongVa.PooledTokensPerTile);
        Assert.Equal(VisualTokenCounts.MiniCpmV2PerView, MiniCpmVSliceGeometry.MiniCpmV2.QueryNum);
        Assert.Equal(VisualTokenCounts.AriaPerCrop490, AriaImageGeometry.Aria490.TokensPerCrop);
        Assert.Equal(VisualTokenCounts.AriaPerCrop980, AriaImageGeometry.Aria980.TokensPerCrop);
        Assert.Equal(729, VisualTokenCounts.PatchTokens(378));
    }

    [Theory]
    [InlineData(1.0, 0, 729)]
    [InlineData(0.8, 4, 605)]
    [InlineData(0.5, 11, 388)]
    [InlineData(0.4, 13, 326)]
    [InlineData(0.3, 15, 264)]
    [InlineData(0.2, 18, 171)]
    [InlineData(0.1, 20, 109)]
    [InlineData(0.0, 22, 47)]
    public void AuroraCap_MatchesTheFamiliesTable(double ratio, int r, int tokens)
    {
        Assert.Equal(r, VisualTokenCounts.AuroraCapMergesPerLayer(ratio));
        Assert.Equal(tokens, VisualTokenCounts.AuroraCapAfterMerging(ratio));
    }

    [Fact]
    public void AuroraCap_RejectsRatiosOutsideZeroOne() =>
        Assert.Equal("tokenKeptRatio", Assert.Throws<ArgumentOutOfRangeException>(() => VisualTokenCounts.AuroraCapMergesPerLayer(1.5)).ParamName);
}
