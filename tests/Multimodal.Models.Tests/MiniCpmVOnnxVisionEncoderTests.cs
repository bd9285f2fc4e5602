// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Models.MiniCpmV;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Models.Tests;

/// <summary>tests/data/models/tiny-minicpm-v-2's vision encoder in ONNX Runtime (tests/data/onnx/tiny-minicpm-v-2/vision_encoder.onnx,
/// written by eng/onnx/make_minicpmv_vision_test_model.py: one graph for every view size, the tower's position table
/// resampled and the resampler's sin-cos keys computed inside it) and in the managed engine.</summary>
public sealed class MiniCpmVTinyVisionFixture : IDisposable
{
    /// <summary>Gets the checkpoint folder.</summary>
    public static string ModelFolder { get; } = RepositoryPaths.Combine("tests", "data", "models", "tiny-minicpm-v-2");

    /// <summary>Gets the exported graph.</summary>
    public static string GraphPath { get; } = RepositoryPaths.Combine("tests", "data", "onnx", "tiny-minicpm-v-2", "vision_encoder.onnx");

    private readonly ManagedModel _managed = ManagedModel.Load(ModelFolder);

    /// <summary>Initializes both encoders and the family's slicer for the checkpoint (scale_resolution 56, 4 x 4 table).</summary>
    public MiniCpmVTinyVisionFixture()
    {
        Onnx = new OnnxVisionEncoder(OnnxModelFiles.CreateSession(GraphPath, new OnnxRuntimeSessionOptions { IntraOpThreads = 1 }, ModelFolder), 14, 8, "onnxruntime:cpu");
        Preprocessor = new MiniCpmVImagePreprocessor(MiniCpmVFamily.ReadGeometry(Multimodal.ModelFolder.Open(ModelFolder)));
    }

    /// <summary>Gets the ONNX Runtime encoder.</summary>
    public IVisionEncoder Onnx { get; }

    /// <summary>Gets the managed encoder.</summary>
    public IVisionEncoder Managed => _managed.VisionEncoder;

    /// <summary>Gets the slicer and processor the family uses for this checkpoint.</summary>
    public MiniCpmVImagePreprocessor Preprocessor { get; }

    /// <summary>Slices and processes an image as the pipeline does.</summary>
    public IReadOnlyList<DenseTensor<float>> Preprocess(ImageFrame image)
    {
        var split = Preprocessor.Split(image);
        return [.. split.Views.Select(Preprocessor.Process)];
    }

    public void Dispose()
    {
        Onnx.Dispose();
        _managed.Dispose();
    }
}

/// <summary>MiniCPM-V's ONNX vision graph takes views of any size, as the slicer makes them, and gives the managed
/// engine's features for each.</summary>
public sealed class MiniCpmVOnnxVisionEncoderTests(MiniCpmVTinyVisionFixture fixture, ITestOutputHelper output) : IClassFixture<MiniCpmVTinyVisionFixture>
{
    private const float Tolerance = 1e-4f;

    /// <summary>Image sizes whose slicing gives views on grids other than the table's 4 x 4 (and, for the square, on
    /// it).</summary>
    public static TheoryData<int, int> Images => new()
    {
        { 300, 300 },
        { 300, 150 },
        { 100, 300 },
        { 500, 120 },
        { 40, 30 },
        { 200, 160 },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public async Task SlicedImage_OnnxFeaturesEqualTheManagedEngines(int width, int height)
    {
        // Arrange: the family's slicer makes views of several sizes; the encoder runs each size as its own batch.
        var views = fixture.Preprocess(TestImages.Rgb(width, height));

        // Act
        var expected = await fixture.Managed.EncodeAsync(views);
        var actual = await fixture.Onnx.EncodeAsync(views);

        // Assert
        Assert.Equal(expected.Count, actual.Count);
        var worst = 0f;
        for (var i = 0; i < views.Count; i++)
        {
            Assert.Equal(expected[i].Shape.ToArray(), actual[i].Shape.ToArray());
            worst = MathF.Max(worst, AssertClose(expected[i].Span, actual[i].Span, $"view {i} ({views[i].Dimension(2)}x{views[i].Dimension(1)})"));
        }

        output.WriteLine($"{width}x{height}: {views.Count} views [{string.Join(", ", views.Select(v => $"{v.Dimension(2)}x{v.Dimension(1)}"))}]; max |ORT - managed| = {worst:G3}");
    }

    [Fact]
    public async Task Slices_IncludeSizesOffTheTable_AndTheGraphResamplesForThem()
    {
        // Arrange: a 2:1 image's views are not all 56x56, so the graph's resampled positions are what is tested, alone
        // and in a batch of two.
        var views = fixture.Preprocess(TestImages.Rgb(300, 150));
        var odd = views.First(v => v.Dimension(1) != 56 || v.Dimension(2) != 56);
        var (h, w) = (odd.Dimension(1), odd.Dimension(2));
        Assert.True(h % 14 == 0 && w % 14 == 0, $"{w}x{h} is not on the patch grid");

        // Act
        var alone = await fixture.Onnx.EncodeAsync([odd]);
        var batched = await fixture.Onnx.EncodeAsync([odd, odd]);
        var managed = await fixture.Managed.EncodeAsync([odd]);

        // Assert
        AssertClose(managed[0].Span, alone[0].Span, $"{w}x{h} alone");
        AssertClose(alone[0].Span, batched[1].Span, $"{w}x{h} batched", 1e-5f);
    }

    [Fact]
    public async Task LargerThanTheTable_UpsamplesThePositions()
    {
        // Arrange: a 98x84 view is a 6 x 7 grid, larger than the 4 x 4 table on both sides (bicubic upsampling).
        var view = new DenseTensor<float>(3, 84, 98);
        var random = new Random(7);
        for (var i = 0; i < view.Length; i++)
        {
            view.Span[i] = (float)((random.NextDouble() * 2) - 1);
        }

        // Act
        var actual = await fixture.Onnx.EncodeAsync([view]);
        var expected = await fixture.Managed.EncodeAsync([view]);

        // Assert
        AssertClose(expected[0].Span, actual[0].Span, "98x84");
    }

    [Fact]
    public void Metadata_HasTheResamplersQueriesAndNoFixedSize()
    {
        var metadata = fixture.Onnx.Metadata;

        Assert.Equal(0, metadata.ImageSize);
        Assert.Equal(14, metadata.PatchSize);
        Assert.Equal(fixture.Managed.Metadata.OutputHiddenSize, metadata.OutputHiddenSize);
        Assert.Equal(fixture.Managed.Metadata.TokensPerView, metadata.TokensPerView);
    }

    private float AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float tolerance = Tolerance) =>
        FeatureAssert.Close(expected, actual, what, tolerance, output);
}
