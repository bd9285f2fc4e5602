// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Pipeline;

public class BuiltInComponentsTests
{
    [Fact]
    public void AveragePooling_Pools2x2Windows_KeepingTheProtectedPrefix()
    {
        // A CLS row, then a 4x4 grid whose value at (y, x) is 10y + x, width 2 (second column = negated).
        var tokens = new DenseTensor<float>(17, 2);
        tokens.Row(0)[0] = 99;
        for (var y = 0; y < 4; y++)
        {
            for (var x = 0; x < 4; x++)
            {
                tokens.Row(1 + (y * 4) + x)[0] = (10 * y) + x;
                tokens.Row(1 + (y * 4) + x)[1] = -((10 * y) + x);
            }
        }

        var plan = new AveragePoolingTokenMerger(2).Plan(new TokenMergeRequest(17, 4, 4) { ProtectedPrefix = 1 });
        var pooled = plan.Apply(tokens);

        Assert.Equal(5, plan.OutputCount);
        Assert.Equal((2, 2), (plan.OutputGridHeight, plan.OutputGridWidth));
        Assert.Equal(99, pooled.Row(0)[0]);

        // Window (0,0): values 0, 1, 10, 11 -> 5.5; (0,1): 2, 3, 12, 13 -> 7.5; (1,0): 25.5; (1,1): 27.5.
        Assert.Equal([5.5f, 7.5f, 25.5f, 27.5f], Enumerable.Range(1, 4).Select(i => pooled.Row(i)[0]));
        Assert.Equal(-27.5f, pooled.Row(4)[1]);
    }

    [Fact]
    public void AveragePooling_WithoutAGrid_ThrowsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new AveragePoolingTokenMerger().Plan(new TokenMergeRequest(10)));
        Assert.Contains("prefix + grid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_KeepsEveryRow()
    {
        var tokens = new DenseTensor<float>(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        var merged = IdentityTokenMerger.Instance.Plan(new TokenMergeRequest(3)).Apply(tokens);
        Assert.Equal(tokens.Span.ToArray(), merged.Span.ToArray());
    }

    [Fact]
    public void APlan_RejectsATensorOfTheWrongLength()
    {
        var plan = IdentityTokenMerger.Instance.Plan(new TokenMergeRequest(3));
        Assert.Throws<ArgumentException>(() => plan.Apply(new DenseTensor<float>(4, 2)));
    }

    [Fact]
    public void NormalizingProcessor_FollowsTheReferenceOperationOrder_InFloat32()
    {
        // HF: rescale in float64 then cast to float32, then (v - mean) / std in float32, planar CHW.
        var pixels = new byte[] { 0, 128, 255, 10, 20, 30 };
        var frame = new ImageFrame(2, 1, ImagePixelFormat.Rgb24, pixels);
        var processor = new NormalizingImageProcessor(NormalizingImageProcessor.ClipMean, NormalizingImageProcessor.ClipStd);

        var tensor = processor.Process(new ImageView(frame, ImageViewKind.Global));

        Assert.Equal([3, 1, 2], tensor.Shape.ToArray());
        float Expected(byte v, int c) => ((float)(v * (1.0 / 255.0)) - NormalizingImageProcessor.ClipMean[c]) / NormalizingImageProcessor.ClipStd[c];
        Assert.Equal(Expected(0, 0), tensor.Span[0]);
        Assert.Equal(Expected(10, 0), tensor.Span[1]);
        Assert.Equal(Expected(128, 1), tensor.Span[2]);
        Assert.Equal(Expected(30, 2), tensor.Span[5]);

        // A known value: black in the red channel is -mean/std = -1.7922625.
        Assert.Equal(-1.7922625f, tensor.Span[0], 6);
    }
}
