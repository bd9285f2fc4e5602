// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Media.Video.Decoding;
using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

/// <summary>
/// The H.264 reference analysis: which reference pictures no wanted frame depends on (decoded without the deblocking
/// filter), checked on the B-pyramid clip, whose B reference pictures carry memory-management operations.
/// </summary>
public sealed class H264ReferenceTests
{
    [Fact]
    public void Scan_WorksOutTheReferences_OfTheBPyramidClip()
    {
        // Arrange
        using var session = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions());

        // Act
        var index = session.Scan(CancellationToken.None);

        // Assert: every picture's references lie before it in decode order, within its group of pictures (closed GOPs).
        var references = Assert.IsType<H264References>(index.References);
        var keyPositions = Enumerable.Range(0, index.KeyframeCount).Select(index.KeyPosition).ToArray();
        for (var position = 0; position < index.PacketCount; position++)
        {
            var needed = new HashSet<int>();
            references.Close([position], needed);
            var key = keyPositions.Last(k => k <= position);
            Assert.All(needed, p => Assert.InRange(p, key, position));
            Assert.Contains(key, needed);
        }
    }

    [Fact]
    public void SparseFrames_LeaveReferencePicturesNoWantedFrameNeeds()
    {
        // Arrange: every 37th frame of the first group of pictures.
        using var session = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions());
        var index = session.Scan(CancellationToken.None);
        var references = index.References!;
        var wanted = Enumerable.Range(0, 7).Select(i => i * 37).Select(i => index.TryGetPosition(index.PtsByIndex[i], out var p) ? p : -1).ToArray();

        // Act
        var needed = new HashSet<int>();
        references.Close(wanted, needed);
        var last = wanted.Max();
        var unneeded = Enumerable.Range(0, last).Count(p => references.IsReference(p) && !needed.Contains(p));

        // Assert: B reference pictures of the mini-GOPs without a wanted frame are not needed; P pictures are.
        Assert.True(unneeded > 20, $"only {unneeded} reference pictures before position {last} are unneeded");
        Assert.True(needed.Count < last / 2, $"{needed.Count} of {last} pictures needed");
    }

    [Theory(Timeout = 120_000)]
    [InlineData(37, 1)]
    [InlineData(23, 2)]
    [InlineData(101, 1)]
    public async Task SparseFrames_WithUndeblockedReferences_AreExactlyPyAvs(int step, int parallelism)
    {
        // Arrange
        var hashes = Strings(Clip.GetProperty("hashes"));
        var indices = Enumerable.Range(0, hashes.Length).Where(i => i % step == step - 1).ToArray();
        using var video = VideoFile.Open(ClipPath);

        // Act
        var frames = await ToListAsync(video.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = parallelism }));

        // Assert
        Assert.Equal(indices, frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.True(hashes[f.Index] == Hash(f.Image), $"frame {f.Index} differs from PyAV's"));
    }

    [Fact]
    public void Parser_RejectsWhatIsNotAnAvcCRecord()
    {
        Assert.Null(H264HeaderParser.FromAvcC([]));
        Assert.Null(H264HeaderParser.FromAvcC([0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f])); // Annex B start code
        Assert.Null(H264HeaderParser.FromAvcC([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 40, 0x67])); // SPS cut short
    }

    [Fact]
    public void Matroska_GetsReferencesToo_AndNonH264StreamsNone()
    {
        using var mkv = VideoDecoderSession.OpenFile(PathOf("small.mkv"), new VideoOpenOptions());
        Assert.NotNull(mkv.Scan(CancellationToken.None).References);

        using var withoutSkipping = VideoDecoderSession.OpenFile(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = false });
        Assert.Null(withoutSkipping.Scan(CancellationToken.None).References);
    }

    private static async Task<List<VideoFrame>> ToListAsync(IAsyncEnumerable<VideoFrame> frames)
    {
        var list = new List<VideoFrame>();
        await foreach (var frame in frames)
        {
            list.Add(frame);
        }

        return list;
    }
}
