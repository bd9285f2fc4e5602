// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.TestDoubles;

namespace Multimodal.Pipeline;

public class MediaPipelineTests
{
    private sealed class ListProgress : IProgress<ProgressReport>
    {
        public List<string> Stages { get; } = [];

        public void Report(ProgressReport value)
        {
            lock (Stages)
            {
                Stages.Add(value.Stage);
            }
        }
    }

    [Fact]
    public async Task APdf_BecomesOneVisualInputPerSelectedPage_InOrder_WithPageNumbers()
    {
        // Arrange
        var t = new TestModel();
        var rasterizer = new TestPdfRasterizer(pageCount: 5);
        using var model = t.Builder().UsePdfRasterizer(rasterizer).Build();
        var pdf = new PdfContent(MediaSource.FromBytes(new byte[] { 1 }, MediaTypes.Pdf), PageSelection.Parse("2-4"));
        var progress = new ListProgress();

        // Act
        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, [pdf, new TextContent("Summarise.")])], new GenerationOptions { Progress = progress });

        // Assert
        var visuals = t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Select(p => p.Input).ToList();
        Assert.Equal([2, 3, 4], visuals.Select(v => v.PageNumber));
        Assert.All(visuals, v => Assert.Equal(VisualInputKind.PdfPage, v.Kind));
        Assert.Equal(2.0, rasterizer.ZoomUsed);
        Assert.Equal(3 * t.Encoder.TokensPerView, result.Usage.VisualTokens);
        Assert.Equal(["PDF page 2 encoded", "PDF page 3 encoded", "PDF page 4 encoded"], progress.Stages);

        // Each page's pixels reached the encoder: grey level n normalised with mean 0.5, std 0.5.
        Assert.Equal(((2 / 255f) - 0.5f) / 0.5f, t.Encoder.Calls[0][0].Span[0], 5);
    }

    [Fact]
    public async Task PdfPagesOverTheLimit_AreRejected_NamingTheLimit()
    {
        var t = new TestModel();
        using var model = t.Builder().UsePdfRasterizer(new TestPdfRasterizer(10)).ConfigureOptions(o => o.MaxPdfPagesPerRequest = 4).Build();
        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "application/pdf")])]));
        Assert.Contains("MaxPdfPagesPerRequest", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, t.Encoder.Calls.Count);
    }

    [Fact]
    public async Task AVideo_IsSampledUniformlyByDefault_AndASmallOneIsEncodedInOneBatch()
    {
        var t = new TestModel();
        using var model = t.Builder().UseVideoFrameSource(new TestVideoFrameSource(100)).ConfigureOptions(o => o.DefaultVideoFrames = 8).Build();
        var progress = new ListProgress();

        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "video/mp4"), new TextContent("Caption.")])], new GenerationOptions { Progress = progress });

        var video = t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Single().Input;
        Assert.Equal(VisualInputKind.Video, video.Kind);
        Assert.Equal([0, 14, 28, 42, 56, 70, 84, 99], video.Views.Select(v => v.FrameIndex));
        Assert.Equal(TimeSpan.FromSeconds(9.9), video.Views[^1].Timestamp);
        Assert.Equal(8, Assert.Single(t.Encoder.Calls).Count);
        Assert.Equal(8 * t.Encoder.TokensPerView, result.Usage.VisualTokens);
        Assert.Contains("Video: 8 frames encoded", progress.Stages);
    }

    [Fact]
    public async Task ALongVideo_StreamsThroughTheEncoderInBatches_WithoutHoldingItsDecodedFrames()
    {
        // 2,000 sampled frames (as from an hour of video): frames are encoded 16 at a time as they are decoded, and
        // frames already encoded can be collected while decoding goes on.
        var t = new TestModel();
        var source = new TrackingVideoFrameSource(2000);
        using var model = t.Builder().UseVideoFrameSource(source).ConfigureOptions(o => o.MaxVideoFramesPerRequest = 2000).Build();

        // The test decoder's 4,096 positions cannot take 8,000 visual tokens: the request fails after every frame went
        // through the encoder, which is what this test is about.
        var ex = await Assert.ThrowsAsync<ContextLengthExceededException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromBytes(new byte[] { 1 }, "video/mp4"), FrameSampling.EveryNth(1)), new TextContent("Caption.")])]));

        var video = t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Single().Input;
        Assert.Equal(Enumerable.Range(0, 2000), video.Views.Select(v => v.FrameIndex));
        Assert.Equal(2000 * t.Encoder.TokensPerView, ex.VisualTokenCount);
        Assert.Equal(125, t.Encoder.Calls.Count);
        Assert.All(t.Encoder.Calls, c => Assert.Equal(16, c.Count));
        Assert.True(source.MaxAlive <= 64, $"{source.MaxAlive} decoded frames were still alive while later frames were decoded");
    }

    [Fact]
    public async Task AVideoContentsOwnSampling_WinsOverTheDefault()
    {
        var t = new TestModel();
        using var model = t.Builder().UseVideoFrameSource(new TestVideoFrameSource(30)).Build();
        var video = new VideoContent(MediaSource.FromBytes(new byte[] { 1 }, "video/mp4"), FrameSampling.EveryNth(10));
        await model.GenerateAsync([new ChatMessage(ChatRole.User, [video])]);
        Assert.Equal([0, 10, 20], t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Single().Input.Views.Select(v => v.FrameIndex));
    }

    [Fact]
    public async Task VideoFramesOverTheLimit_AreRejected()
    {
        var t = new TestModel();
        using var model = t.Builder().UseVideoFrameSource(new TestVideoFrameSource(100)).ConfigureOptions(o => o.MaxVideoFramesPerRequest = 5).Build();
        var video = new VideoContent(MediaSource.FromBytes(new byte[] { 1 }, "video/mp4"), FrameSampling.Uniform(6));
        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [video])]));
        Assert.Contains("MaxVideoFramesPerRequest", ex.Message, StringComparison.Ordinal);
        Assert.Empty(t.Encoder.Calls);
    }

    [Fact]
    public async Task AfterEncoderMerger_ReducesEveryView_AndTheTemplateSeesTheMergedCounts()
    {
        // The test encoder emits 4 tokens per view (a 2x2 grid); 2x2 pooling leaves 1.
        var t = new TestModel();
        using var model = t.Builder().UseTokenMerger(new AveragePoolingTokenMerger(2)).Build();
        var pixels = new ImageFrame(2, 2, ImagePixelFormat.Rgb24, new byte[12]);
        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, [ImageContent.FromPixels(pixels)])]);
        Assert.Equal(1, result.Usage.VisualTokens);
        Assert.Equal(1, t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Single().Input.TokenCount);
    }

    [Fact]
    public async Task InLayerMerger_TravelsToTheEncoder()
    {
        var t = new TestModel();
        var merger = new AveragePoolingTokenMerger(2);
        using var model = t.Builder().UseTokenMerger(merger, TokenMergerPlacement.InEncoderLayers).Build();
        await model.GenerateAsync([new ChatMessage(ChatRole.User, [ImageContent.FromPixels(new ImageFrame(2, 2, ImagePixelFormat.Rgb24, new byte[12]))])]);
        Assert.Same(merger, Assert.Single(t.Encoder.Options)!.LayerMerger);
    }

    /// <summary>Yields frames of 32×32 pixels and, every 100 frames, counts how many earlier frames are still reachable after a full collection.</summary>
    private sealed class TrackingVideoFrameSource(int frameCount) : IVideoFrameSource
    {
        private readonly List<WeakReference<ImageFrame>> _yielded = [];

        public int MaxAlive { get; private set; }

        public async IAsyncEnumerable<VideoFrame> ReadFramesAsync(VideoContent video, FrameSampling sampling, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var index in sampling.SelectFrames(frameCount, 30))
            {
                await Task.Yield();
                if (index % 100 == 99)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    MaxAlive = Math.Max(MaxAlive, _yielded.Count(w => w.TryGetTarget(out _)));
                }

                var image = new ImageFrame(32, 32, ImagePixelFormat.Rgb24, new byte[32 * 32 * 3]);
                _yielded.Add(new WeakReference<ImageFrame>(image));
                yield return new VideoFrame(index, TimeSpan.FromSeconds(index / 30.0), image);
            }
        }
    }
}
