// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using static Multimodal.Backends.OnnxRuntime.LlavaTinyFixture;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>The ONNX Runtime vision encoder of models/llava-tiny against itself (batched and one view at a time) and the managed encoder.</summary>
public sealed class OnnxVisionEncoderTests(LlavaTinyFixture fixture) : IClassFixture<LlavaTinyFixture>
{
    private const float SelfTolerance = 1e-5f;
    private const float ManagedTolerance = 1e-4f;

    private IVisionEncoder Encoder => fixture.OnnxEncoder;

    [Fact]
    public async Task BatchOfThree_MatchesOneAtATimeAndTheManagedEncoder()
    {
        // Arrange
        var views = fixture.Views.Take(3).ToArray();

        // Act
        var batched = await Encoder.EncodeAsync(views);
        var single = new List<DenseTensor<float>>();
        foreach (var view in views)
        {
            single.Add(Assert.Single(await Encoder.EncodeAsync([view])));
        }

        // Assert
        Assert.Equal(3, batched.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal([64, 128], batched[i].Shape.ToArray());
            AssertClose(single[i].Span, batched[i].Span, SelfTolerance, $"view {i} batched vs alone");
            AssertClose(fixture.ManagedRows[i].Span, batched[i].Span, ManagedTolerance, $"view {i} vs managed");
        }
    }

    [Fact]
    public async Task BatchSizeTwo_FiveViews_RunsInThreeBatchesInOrder()
    {
        // Arrange
        using var model = CreateModel(CreateOnnxBackend(o => o.VisionBatchSize = 2));
        await model.LoadAsync();
        var views = fixture.Views.Take(5).ToArray();

        // Act
        var rows = await model.Components.VisionEncoder!.EncodeAsync(views);

        // Assert: every view in its place (the batches 2 + 2 + 1 keep input order).
        Assert.Equal(5, rows.Count);
        for (var i = 0; i < 5; i++)
        {
            AssertClose(fixture.ManagedRows[i].Span, rows[i].Span, ManagedTolerance, $"view {i}");
        }
    }

    [Fact]
    public async Task EmptyList_ReturnsNoRows()
    {
        var rows = await Encoder.EncodeAsync([]);

        Assert.Empty(rows);
    }

    [Fact]
    public async Task ViewWithFourChannels_ThrowsArgumentException()
    {
        // Arrange: a valid view, then an RGBA-shaped one.
        var rgba = new DenseTensor<float>(4, SceneSize, SceneSize);

        // Act
        var error = await Assert.ThrowsAsync<ArgumentException>("views", async () => await Encoder.EncodeAsync([fixture.Views[0], rgba]));

        // Assert: the message names the view and what it should be.
        Assert.StartsWith("View 1:", error.Message, StringComparison.Ordinal);
        Assert.Contains("[3, height, width]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 112, 112]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ViewOfTheWrongSize_ThrowsArgumentException()
    {
        // Arrange: the graph takes 112x112 views (Metadata.ImageSize), as the managed tower does.
        var small = new DenseTensor<float>(3, 56, 56);

        // Act
        var error = await Assert.ThrowsAsync<ArgumentException>("views", async () => await Encoder.EncodeAsync([small]));

        // Assert
        Assert.Contains("takes 112x112 views; got 56x56", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LayerMerger_ThrowsUnsupportedRequestExceptionThatSaysWhy()
    {
        // Arrange
        var options = new VisionEncodeOptions { LayerMerger = new BipartiteTokenMerger(4) };

        // Act
        var error = await Assert.ThrowsAsync<UnsupportedRequestException>(async () => await Encoder.EncodeAsync([fixture.Views[0]], options));

        // Assert
        Assert.Contains("merge tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("managed backend", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadVisionEncoderFalse_LoadsNoEncoderAndTextStillMatchesManaged()
    {
        // Arrange
        using var model = CreateModel(CreateOnnxBackend(o => o.LoadVisionEncoder = false));
        var options = new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 16, NumBeams = 1 };
        ChatMessage[] messages = [new(ChatRole.User, "Describe the image.")];

        // Act
        await model.LoadAsync();
        var reply = await model.GenerateAsync(messages, options);
        var expected = await fixture.Managed.GenerateAsync(messages, options);

        // Assert
        Assert.Null(model.Components.VisionEncoder);
        Assert.NotEmpty(reply.TokenIds);
        Assert.Equal(expected.TokenIds, reply.TokenIds);
    }

    [Fact]
    public void Metadata_NamesTheProviderAndMatchesTheManagedEncoder()
    {
        // Arrange
        var managed = fixture.ManagedEncoder.Metadata;

        // Act
        var metadata = Encoder.Metadata;

        // Assert
        Assert.Equal("onnxruntime:cpu", metadata.ProviderName);
        Assert.Equal(managed.ImageSize, metadata.ImageSize);
        Assert.Equal(managed.PatchSize, metadata.PatchSize);
        Assert.Equal(managed.OutputHiddenSize, metadata.OutputHiddenSize);
        Assert.Equal(managed.TokensPerView, metadata.TokensPerView);
        Assert.Same(metadata, Encoder.GetService(typeof(VisionEncoderMetadata)));
    }
}
