// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Models.Aria;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Models.Tests;

/// <summary>tests/data/models/tiny-aria's vision encoder in ONNX Runtime (tests/data/onnx/tiny-aria/vision_encoder.onnx,
/// written by eng/onnx/make_aria_vision_test_model.py, with the pixel_mask input) and in the managed engine.</summary>
public sealed class AriaTinyVisionFixture : IDisposable
{
    /// <summary>Gets the checkpoint folder.</summary>
    public static string ModelFolder { get; } = RepositoryPaths.Combine("tests", "data", "models", "tiny-aria");

    /// <summary>Gets the exported graph.</summary>
    public static string GraphPath { get; } = RepositoryPaths.Combine("tests", "data", "onnx", "tiny-aria", "vision_encoder.onnx");

    private readonly ManagedModel _managed = ManagedModel.Load(ModelFolder);

    /// <summary>Initializes both encoders and the family's splitter for the checkpoint (56 and 28 crops).</summary>
    public AriaTinyVisionFixture()
    {
        Onnx = new OnnxVisionEncoder(OnnxModelFiles.CreateSession(GraphPath, new OnnxRuntimeSessionOptions { IntraOpThreads = 1 }, ModelFolder), 14, 8, "onnxruntime:cpu");
        Splitter = new AriaImageSplitter(AriaFamily.CreatePreprocessor(Multimodal.ModelFolder.Open(ModelFolder)));
        OnnxWithMasks = new AriaPixelMaskVisionEncoder(Onnx, Splitter);
        ManagedWithMasks = new AriaPixelMaskVisionEncoder(Managed, Splitter);
    }

    /// <summary>Gets the ONNX Runtime encoder.</summary>
    public IVisionEncoder Onnx { get; }

    /// <summary>Gets the managed encoder.</summary>
    public IVisionEncoder Managed => _managed.VisionEncoder;

    /// <summary>Gets the splitter and processor the family uses for this checkpoint.</summary>
    public AriaImageSplitter Splitter { get; }

    /// <summary>Gets <see cref="Onnx"/> behind the wrapper the family installs after loading, which hands the
    /// <see cref="Splitter"/>'s masks to it.</summary>
    public IVisionEncoder OnnxWithMasks { get; }

    /// <summary>Gets <see cref="Managed"/> behind the same wrapper.</summary>
    public IVisionEncoder ManagedWithMasks { get; }

    /// <summary>Splits and processes an image as the pipeline does: the views' tensors and their pixel masks.</summary>
    public (IReadOnlyList<DenseTensor<float>> Views, IReadOnlyList<DenseTensor<bool>> Masks) Preprocess(ImageFrame image, IReadOnlyDictionary<string, object?>? options = null)
    {
        var split = Splitter.Split(image, options);
        return ([.. split.Views.Select(Splitter.Process)], [.. split.Views.Select(Splitter.GetPixelMask)]);
    }

    public void Dispose()
    {
        OnnxWithMasks.Dispose(); // and Onnx
        _managed.Dispose();
    }
}

/// <summary>Aria's ONNX vision graph takes the pixel mask and gives the managed engine's features for padded crops.</summary>
public sealed class AriaOnnxVisionEncoderTests(AriaTinyVisionFixture fixture, ITestOutputHelper output) : IClassFixture<AriaTinyVisionFixture>
{
    private const float Tolerance = 1e-4f;

    /// <summary>Width, height, max_image_size (0: the checkpoint's default, 56), split_image, and whether a view is padded.</summary>
    /// <remarks>The checkpoint's min_image_size is 28, so a 1:3 image keeps a 28-pixel short side at 56 and gets no
    /// padding at 28 (<see cref="HalfSizeCrop_WithPadding_OnnxFeaturesEqualTheManagedEngines"/> covers that size padded).</remarks>
    public static TheoryData<int, int, int, bool, bool> Images => new()
    {
        { 300, 300, 0, false, false },  // square: one full crop, an all-true mask
        { 300, 150, 0, false, true },   // 2:1: 56x28 on the 56 crop, the bottom half padding
        { 100, 300, 0, false, true },   // 1:3: 28x56, the right half padding
        { 300, 200, 0, false, true },   // 3:2: 56x37, the mask ends inside the third patch row
        { 300, 150, 0, true, true },    // 2:1 split: the padded whole image, then eight full tiles (batches of 8 and 1)
        { 100, 300, 28, false, false }, // 1:3 at the half size: the 28 graph shape
    };

    [Theory]
    [MemberData(nameof(Images))]
    public async Task PreprocessedImage_OnnxFeaturesEqualTheManagedEngines(int width, int height, int maxImageSize, bool split, bool padded)
    {
        // Arrange: the family's splitter and processor make the views and remember their masks; the wrapper the family
        // installs after loading hands them to either encoder.
        var options = new Dictionary<string, object?> { [ImageSplitOptionKeys.SplitImage] = split };
        if (maxImageSize > 0)
        {
            options[ImageSplitOptionKeys.MaxImageSize] = maxImageSize;
        }

        var (views, masks) = fixture.Preprocess(TestImages.Rgb(width, height), options);

        // Act
        var expected = await fixture.ManagedWithMasks.EncodeAsync(views);
        var actual = await fixture.OnnxWithMasks.EncodeAsync(views);
        var unmasked = await fixture.Onnx.EncodeAsync(views);

        // Assert
        Assert.Equal(padded, masks.Any(m => m.Span.Contains(false)));
        Assert.Equal(expected.Count, actual.Count);
        var worst = 0f;
        for (var i = 0; i < views.Count; i++)
        {
            Assert.Equal(expected[i].Shape.ToArray(), actual[i].Shape.ToArray());
            worst = MathF.Max(worst, AssertClose(expected[i].Span, actual[i].Span, $"view {i}"));
            var maskMatters = masks[i].Span.Contains(false);
            var change = MaxDiff(unmasked[i].Span, actual[i].Span);
            Assert.True(maskMatters ? change > 1e-3f : change <= 1e-6f, $"view {i}: the mask changed the features by {change} (padding: {maskMatters}).");
        }

        output.WriteLine($"{width}x{height} (max_image_size {(maxImageSize > 0 ? maxImageSize : 56)}, split {split}): {views.Count} views [{string.Join(", ", views.Select(v => $"{v.Dimension(2)}x{v.Dimension(1)}"))}], padding {padded}; max |ORT - managed| = {worst:G3}");
    }

    [Fact]
    public async Task ExplicitMasks_GiveTheSameFeaturesAsTheFamilysWrapper()
    {
        // Arrange: a 1:3 image and a square one, so one batch mixes a padded and a full mask.
        var (tall, tallMasks) = fixture.Preprocess(TestImages.Rgb(100, 300));
        var (square, squareMasks) = fixture.Preprocess(TestImages.Rgb(300, 300));
        DenseTensor<float>[] views = [tall[0], square[0]];
        var options = MaskOptions(tallMasks[0], squareMasks[0]);

        // Act
        var actual = await fixture.Onnx.EncodeAsync(views, options);
        var expected = await fixture.Managed.EncodeAsync(views, options);
        var alone = await fixture.Onnx.EncodeAsync([views[0]], MaskOptions(tallMasks[0]));

        // Assert
        AssertClose(expected[0].Span, actual[0].Span, "padded view");
        AssertClose(expected[1].Span, actual[1].Span, "full view");
        AssertClose(alone[0].Span, actual[0].Span, "padded view alone vs batched", 1e-5f);
    }

    [Fact]
    public async Task HalfSizeCrop_WithPadding_OnnxFeaturesEqualTheManagedEngines()
    {
        // Arrange: a 28x28 crop whose top 10 rows are the image (the shape of the goldens' view 3), and a full one.
        var (views, _) = fixture.Preprocess(TestImages.Rgb(90, 300), new Dictionary<string, object?> { [ImageSplitOptionKeys.MaxImageSize] = 28 });
        var view = views[0];
        Assert.Equal([3, 28, 28], view.Shape.ToArray());
        var mask = new DenseTensor<bool>(28, 28);
        mask.Span[..(10 * 28)].Fill(true);
        var full = new DenseTensor<bool>(28, 28);
        full.Span.Fill(true);
        var options = MaskOptions(mask, full);

        // Act
        var actual = await fixture.Onnx.EncodeAsync([view, view], options);
        var expected = await fixture.Managed.EncodeAsync([view, view], options);

        // Assert: 4 queries per 28 crop.
        Assert.Equal([4, fixture.Onnx.Metadata.OutputHiddenSize], actual[0].Shape.ToArray());
        AssertClose(expected[0].Span, actual[0].Span, "padded 28 crop");
        AssertClose(expected[1].Span, actual[1].Span, "full 28 crop");
        Assert.True(MaxDiff(actual[0].Span, actual[1].Span) > 1e-3f, "the mask did not change the features");
    }

    [Fact]
    public async Task NoMasks_AreAllValid()
    {
        // Arrange: without masks both engines treat every pixel as valid, padding or not.
        var (views, _) = fixture.Preprocess(TestImages.Rgb(300, 150));

        // Act
        var actual = await fixture.Onnx.EncodeAsync(views);
        var expected = await fixture.Managed.EncodeAsync(views);

        // Assert
        AssertClose(expected[0].Span, actual[0].Span, "unmasked view");
    }

    [Fact]
    public async Task MaskCountMismatch_ThrowsArgumentExceptionThatSaysHowMany()
    {
        // Arrange: a split image's views (the whole image and its tiles), one mask.
        var (views, masks) = fixture.Preprocess(TestImages.Rgb(300, 150), new Dictionary<string, object?> { [ImageSplitOptionKeys.SplitImage] = true });
        Assert.True(views.Count > 1);

        // Act
        var error = await Assert.ThrowsAsync<ArgumentException>("options", async () => await fixture.Onnx.EncodeAsync(views, MaskOptions(masks[0])));

        // Assert
        Assert.Contains($"1 masks for {views.Count} views", error.Message, StringComparison.Ordinal);
        Assert.Contains("one [H, W] mask per view", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(56, 42)]
    [InlineData(28, 28)]
    public async Task MaskShapeMismatch_ThrowsArgumentExceptionThatNamesTheView(int rows, int columns)
    {
        // Arrange: a 56x56 view with a mask of another shape.
        var (views, masks) = fixture.Preprocess(TestImages.Rgb(300, 150));
        var wrong = new DenseTensor<bool>(rows, columns);

        // Act
        var error = await Assert.ThrowsAsync<ArgumentException>("options", async () => await fixture.Onnx.EncodeAsync([views[0], views[0]], MaskOptions(masks[0], wrong)));

        // Assert
        Assert.Contains("[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains($"[{rows}, {columns}]", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be [56, 56]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MasksOfTheWrongType_ThrowArgumentException()
    {
        var (views, _) = fixture.Preprocess(TestImages.Rgb(300, 300));
        var options = new VisionEncodeOptions { AdditionalProperties = new Dictionary<string, object?> { [AriaFamily.PixelMaskKey] = new bool[56 * 56] } };

        var error = await Assert.ThrowsAsync<ArgumentException>("options", async () => await fixture.Onnx.EncodeAsync(views, options));

        Assert.Contains("IReadOnlyList<DenseTensor<bool>>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ViewWithAPatchCountTheProjectorLacks_FailsInsteadOfReturningNoRows()
    {
        // Arrange: 42x42 is 9 patches; projector_patch_to_query_dict has 16 and 4.
        var view = new DenseTensor<float>(3, 42, 42);

        // Act + Assert: the graph's query-count lookup fails, as the managed projector does.
        await Assert.ThrowsAsync<OnnxRuntimeException>(async () => await fixture.Onnx.EncodeAsync([view]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await fixture.Managed.EncodeAsync([view]));
    }

    [Fact]
    public void Metadata_HasTheProjectorsWidthAndNoFixedSize()
    {
        var metadata = fixture.Onnx.Metadata;

        Assert.Equal(fixture.Managed.Metadata.OutputHiddenSize, metadata.OutputHiddenSize);
        Assert.Equal(14, metadata.PatchSize);
        Assert.Equal(0, metadata.ImageSize); // one graph for 56 and 28 crops
    }

    private static VisionEncodeOptions MaskOptions(params DenseTensor<bool>[] masks) =>
        new() { AdditionalProperties = new Dictionary<string, object?> { [AriaFamily.PixelMaskKey] = masks } };

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => FeatureAssert.MaxDiff(a, b);

    private float AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float tolerance = Tolerance) =>
        FeatureAssert.Close(expected, actual, what, tolerance, output);
}
