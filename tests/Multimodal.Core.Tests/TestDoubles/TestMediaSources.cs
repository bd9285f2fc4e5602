// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

namespace Multimodal.TestDoubles;

/// <summary>A PDF "rasteriser" for tests: the document has <see cref="PageCount"/> pages; page n is a 2×2 image of grey level n.</summary>
public sealed class TestPdfRasterizer(int pageCount) : IPdfRasterizer
{
    public int PageCount { get; } = pageCount;

    public double? ZoomUsed { get; private set; }

    public async IAsyncEnumerable<RenderedPage> RenderPagesAsync(PdfContent document, double defaultZoom, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ZoomUsed = document.Zoom ?? defaultZoom;
        foreach (var page in document.Pages.Resolve(PageCount))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new RenderedPage(page, new ImageFrame(2, 2, ImagePixelFormat.Rgb24, Enumerable.Repeat((byte)page, 12).ToArray()), $"text of page {page}");
        }
    }
}

/// <summary>A video for tests: <see cref="FrameCount"/> frames at 10 fps; frame i is a 2×2 image of grey level i.</summary>
public sealed class TestVideoFrameSource(int frameCount) : IVideoFrameSource
{
    public int FrameCount { get; } = frameCount;

    public async IAsyncEnumerable<VideoFrame> ReadFramesAsync(VideoContent video, FrameSampling sampling, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var index in sampling.SelectFrames(FrameCount, 10))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new VideoFrame(index, TimeSpan.FromSeconds(index / 10.0), new ImageFrame(2, 2, ImagePixelFormat.Rgb24, Enumerable.Repeat((byte)index, 12).ToArray()));
        }
    }
}
