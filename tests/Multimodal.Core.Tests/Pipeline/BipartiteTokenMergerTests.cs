// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Pipeline;

public class BipartiteTokenMergerTests
{
    [Fact]
    public void Plan_ScoresWithinAFloat32Ulp_RanksByTheDoublePrecisionCosine()
    {
        // Arrange: [CLS, B0, A1, B1, A2]. A1 and A2 both point almost along B0: cos(A1, B0) = 1/sqrt(1 + 4e-8) and
        // cos(A2, B0) = 1/sqrt(1 + 1e-8), both 1.0f in float32 (a tie that the lower index, A1, would win), but A2 is
        // the closer match, so with r = 1 A2 merges into B0 and A1 stays. ONNX Runtime's AuroraCap graph scores in
        // double too, so both backends merge the same tokens however they round.
        var metric = new DenseTensor<float>(5, 2);
        metric.Row(0)[1] = 1;                                   // CLS (protected)
        metric.Row(1)[0] = 1;                                   // B0
        (metric.Row(2)[0], metric.Row(2)[1]) = (1, 2e-4f);      // A1
        metric.Row(3)[0] = -1;                                  // B1
        (metric.Row(4)[0], metric.Row(4)[1]) = (1, 1e-4f);      // A2
        var tokens = new DenseTensor<float>(5, 1);
        for (var i = 0; i < 5; i++)
        {
            tokens.Row(i)[0] = 10 * i;
        }

        // Act
        var plan = new BipartiteTokenMerger(1).Plan(new TokenMergeRequest(5) { Metric = metric, ProtectedPrefix = 1 });
        var merged = plan.Apply(tokens);

        // Assert: the unmerged A tokens (CLS, A1) in order, then B0 averaged with A2, then B1.
        Assert.Equal(4, plan.OutputCount);
        Assert.Equal([0f, 20f, 25f, 30f], merged.Span.ToArray());
        Assert.Equal([1f, 1f, 2f, 1f], plan.OutputSizes!);
    }

    [Theory]
    [InlineData(729, 0.2, 32, 18)]
    [InlineData(64, 0.8, 4, 3)]
    [InlineData(36, 0.2, 4, 7)]
    [InlineData(36, 1.0, 4, 0)]
    public void TokensPerLayer_IsAuroraCapsFormula(int patches, double ratio, int layers, int expected) =>
        Assert.Equal(expected, BipartiteTokenMerger.TokensPerLayer(patches, ratio, layers));
}
