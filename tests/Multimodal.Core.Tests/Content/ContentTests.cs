// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Content;

public class ContentTests
{
    [Theory]
    [InlineData("1-9", 20, new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData("2,4,10-12", 12, new[] { 2, 4, 10, 11, 12 })]
    [InlineData("5-", 7, new[] { 5, 6, 7 })]
    [InlineData("3, 1-2, 3", 5, new[] { 1, 2, 3 })]
    [InlineData("all", 3, new[] { 1, 2, 3 })]
    [InlineData("1-100", 3, new[] { 1, 2, 3 })]
    public void PageSelection_ParsesAndResolves(string text, int pageCount, int[] expected) =>
        Assert.Equal(expected, PageSelection.Parse(text).Resolve(pageCount));

    [Theory]
    [InlineData("0")]
    [InlineData("a-b")]
    [InlineData("5-3")]
    [InlineData("1,,2")]
    public void PageSelection_RejectsBadText_NamingThePart(string text)
    {
        var ex = Assert.Throws<FormatException>(() => PageSelection.Parse(text));
        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PageSelection_PastTheEnd_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => PageSelection.Parse("9").Resolve(3));
        Assert.Contains("has 3 pages", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Values of np.linspace(0, total - 1, n, dtype=int), computed by hand from start + i * (stop - start) / (n - 1), truncated.
    [InlineData(100, 8, new[] { 0, 14, 28, 42, 56, 70, 84, 99 })]
    [InlineData(10, 4, new[] { 0, 3, 6, 9 })]
    [InlineData(5, 1, new[] { 0 })]
    [InlineData(3, 5, new[] { 0, 0, 1, 1, 2 })]
    public void UniformSampling_MatchesNumpyLinspaceWithIntDtype(int total, int count, int[] expected) =>
        Assert.Equal(expected, FrameSampling.Uniform(count).SelectFrames(total, 30));

    [Fact]
    public void OtherSamplingPolicies_SelectTheExpectedFrames()
    {
        Assert.Equal([0, 3, 6, 9], FrameSampling.EveryNth(3).SelectFrames(10, 30));
        Assert.Equal([0, 3], FrameSampling.EveryNth(3, maxFrames: 2).SelectFrames(10, 30));
        Assert.Equal([0, 15, 30, 45], FrameSampling.PerSecond(2).SelectFrames(60, 30));
        Assert.Equal([0, 30, 59], FrameSampling.AtTimestamps([TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(99)]).SelectFrames(60, 30));
    }

    [Fact]
    public void IndexSampling_SortsAndDeduplicates_AndRejectsIndicesPastTheEnd()
    {
        Assert.Equal([0, 5, 9], FrameSampling.AtIndices([9, 0, 5, 5]).SelectFrames(10, 30));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => FrameSampling.AtIndices([3, 10]).SelectFrames(10, 30));
        Assert.Contains("Frame index 10 is out of range: the video has 10 frames", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameSampling.AtIndices([-1]));
        Assert.Throws<ArgumentException>(() => FrameSampling.AtIndices([]));
    }

    [Fact]
    public async Task MediaSource_ReadsMemoryFilesAndStreams()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, [1, 2, 3]);
            Assert.Equal([1, 2, 3], (await MediaSource.FromFile(path).ReadAllBytesAsync()).ToArray());
            Assert.Equal([4, 5], (await MediaSource.FromBytes(new byte[] { 4, 5 }).ReadAllBytesAsync()).ToArray());
            using var stream = new MemoryStream([6, 7]);
            Assert.Equal([6, 7], (await MediaSource.FromStream(stream).ReadAllBytesAsync()).ToArray());
            Assert.True(stream.CanRead, "leaveOpen defaults to true: the caller keeps the stream.");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task MediaSource_MissingFile_IsInvalidMedia()
    {
        var source = MediaSource.FromFile("/nonexistent/picture.png");
        Assert.Equal("image/png", source.MediaType);
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(async () => await source.ReadAllBytesAsync());
        Assert.Contains("picture.png", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageFrame_ValidatesItsBuffer()
    {
        Assert.Throws<ArgumentException>(() => new ImageFrame(4, 4, ImagePixelFormat.Rgb24, new byte[47]));
        var frame = new ImageFrame(2, 2, ImagePixelFormat.Rgba32, new byte[20], rowStride: 10);
        Assert.Equal(8, frame.GetRow(1).Length);
    }
}
