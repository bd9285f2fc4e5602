// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

public sealed class BadMediaTests
{
    [Fact(Timeout = 30_000)]
    public async Task TruncatedWithoutIndex_ThrowsInvalidMedia()
    {
        await Task.Yield();
        var ex = Assert.Throws<InvalidMediaException>(() => VideoFile.Open(PathOf("truncated_no_moov.mp4")));
        Assert.Contains("not a readable video", ex.Message, StringComparison.Ordinal);
        Assert.Equal("video/mp4", ex.MediaType);
    }

    [Fact(Timeout = 30_000)]
    public async Task TruncatedWithIndex_OpensButFramesPastTheDataThrow()
    {
        // The header promises 60 frames; the data holds fewer.
        using var video = VideoFile.Open(PathOf("truncated_faststart.mp4"));
        Assert.Equal(60, video.Info.FrameCount);
        var available = await video.CountFramesAsync();
        Assert.InRange(available, 1, 59);

        var first = await ToListAsync(video.ReadFramesAsync([0, 5]));
        Assert.Equal(2, first.Count);
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => ToListAsync(video.ReadFramesAsync([0, 59])));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(1)]
    [InlineData(0)]
    public async Task TruncatedWithIndex_EveryFrameBeforeTheCutDecodes(int threads)
    {
        using var video = VideoFile.Open(PathOf("truncated_faststart.mp4"), new VideoOpenOptions { DecoderThreads = threads });
        var count = await video.CountFramesAsync();
        var frames = await ToListAsync(video.ReadFramesAsync([.. Enumerable.Range(0, count)]));
        Assert.Equal(count, frames.Count);
    }

    [Fact(Timeout = 30_000)]
    public async Task TruncatedWithIndex_FromTheFrameSource_SamplesTheFramesThatExist()
    {
        var frames = await ToListAsync(new FfmpegVideoFrameSource().ReadFramesAsync(new VideoContent(MediaSource.FromFile(PathOf("truncated_faststart.mp4"))), FrameSampling.Uniform(4)));
        Assert.Equal(4, frames.Count);
    }

    [Fact(Timeout = 30_000)]
    public async Task AudioOnly_ThrowsHasNoVideoStream()
    {
        await Task.Yield();
        var ex = Assert.Throws<InvalidMediaException>(() => VideoFile.Open(PathOf("audio_only.mp4")));
        Assert.Contains("has no video stream", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task ZeroFrames_ThrowsHasNoFrames()
    {
        await Task.Yield();
        var ex = Assert.Throws<InvalidMediaException>(() => VideoFile.Open(PathOf("zero_frames.avi")));
        Assert.Contains("has no frames", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task TextNamedMp4_ThrowsInvalidMedia_FromFileStreamAndSource()
    {
        Assert.Throws<InvalidMediaException>(() => VideoFile.Open(PathOf("not_a_video.mp4")));
        await using var stream = File.OpenRead(PathOf("not_a_video.mp4"));
        Assert.Throws<InvalidMediaException>(() => VideoFile.Open(stream));
        await Assert.ThrowsAsync<InvalidMediaException>(() => ToListAsync(FfmpegVideoFrameSource.Shared.ReadFramesAsync(new VideoContent(MediaSource.FromFile(PathOf("not_a_video.mp4"))), FrameSampling.Uniform(2))));
    }

    [Fact(Timeout = 30_000)]
    public async Task MissingFile_ThrowsInvalidMedia()
    {
        await Task.Yield();
        var ex = Assert.Throws<InvalidMediaException>(() => VideoFile.Open(PathOf("no_such_file.mp4")));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task IndexOutOfRange_ThrowsArgumentOutOfRange()
    {
        await Task.Yield();
        using var video = VideoFile.Open(ClipPath);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => video.ReadFramesAsync([0, 600]));
        Assert.Equal("indices", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => video.ReadFramesAsync([-1]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ToListAsync(FfmpegVideoFrameSource.Shared.ReadFramesAsync(new VideoContent(MediaSource.FromFile(ClipPath)), FrameSampling.AtIndices([600]))));
    }

    [Fact(Timeout = 30_000)]
    public async Task StreamThatThrows_SurfacesAsInvalidMedia()
    {
        await Task.Yield();
        var bytes = await File.ReadAllBytesAsync(ClipPath);
        using var stream = new FailingStream(bytes, failAfter: 4096);
        var ex = Assert.Throws<InvalidMediaException>(() => VideoFile.Open(stream));
        Assert.IsType<IOException>(ex.InnerException);
    }

    [Fact]
    public void NonSeekableStream_IsRejectedByOpen()
    {
        using var stream = new FailingStream([1, 2, 3], failAfter: int.MaxValue, seekable: false);
        Assert.Throws<ArgumentException>(() => VideoFile.Open(stream));
    }

    [Fact(Timeout = 60_000)]
    public async Task NonSeekableStream_IsBufferedByTheFrameSource()
    {
        var bytes = await File.ReadAllBytesAsync(PathOf("rotated90.mp4"));
        using var stream = new FailingStream(bytes, failAfter: int.MaxValue, seekable: false);
        var frames = await ToListAsync(FfmpegVideoFrameSource.Shared.ReadFramesAsync(new VideoContent(MediaSource.FromStream(stream)), FrameSampling.Uniform(3)));
        Assert.Equal([0, 14, 29], frames.Select(f => f.Index));
    }

    private sealed class FailingStream(byte[] data, int failAfter, bool seekable = true) : MemoryStream(data)
    {
        public override bool CanSeek => seekable && base.CanSeek;

        // MemoryStream.Read(Span) of a derived type goes through this overload.
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= failAfter)
            {
                throw new IOException("simulated network failure");
            }

            return base.Read(buffer, offset, count);
        }
    }
}
