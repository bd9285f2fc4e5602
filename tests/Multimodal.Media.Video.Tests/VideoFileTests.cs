// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Xunit.Abstractions;
using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

public sealed class VideoFileTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("gop250_bframes.mp4")]
    [InlineData("long_64x48.mp4")]
    [InlineData("rotated90.mp4")]
    [InlineData("small.mkv")]
    public async Task Info_MatchesFfprobe(string name)
    {
        // Arrange
        var probe = Goldens.GetProperty("ffprobe").GetProperty(name);

        // Act
        using var video = VideoFile.Open(PathOf(name));
        var info = video.Info;
        var counted = await video.CountFramesAsync();

        // Assert
        var nbFrames = probe.GetProperty("nb_frames");
        if (nbFrames.ValueKind == System.Text.Json.JsonValueKind.String)
        {
            Assert.True(info.FrameCountIsExact);
            Assert.Equal(int.Parse(nbFrames.GetString()!, CultureInfo.InvariantCulture), info.FrameCount);
        }
        else
        {
            Assert.False(info.FrameCountIsExact);
            Assert.Equal(probe.GetProperty("packets").GetInt32(), info.FrameCount);
        }

        Assert.Equal(probe.GetProperty("pyav_decoded_frames").GetInt32(), counted);
        AssertSeconds(probe.GetProperty("stream_duration"), info.StreamDuration);
        AssertSeconds(probe.GetProperty("format_duration"), info.ContainerDuration);
        Assert.Equal(probe.GetProperty("width").GetInt32(), info.Width);
        Assert.Equal(probe.GetProperty("height").GetInt32(), info.Height);
        Assert.Equal(probe.GetProperty("codec_name").GetString(), info.Codec);
        Assert.Equal(Rate(probe.GetProperty("avg_frame_rate").GetString()!), info.FramesPerSecond, 9);
        Assert.Equal("yuv420p", info.PixelFormat);
        Assert.Equal(((probe.GetProperty("rotation").GetInt32() % 360) + 360) % 360, info.RotationDegrees);
        Assert.Equal(name == "rotated90.mp4" ? 90 : 0, info.RotationDegrees);
        output.WriteLine($"{name}: {info}");
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    public async Task UniformFrames_EqualPyAv_WithinOneLevel(bool skipNonReference, int parallelism)
    {
        // Arrange
        var indices = Ints(Clip.GetProperty("uniform64"));
        var rawIndices = Ints(Clip.GetProperty("raw_indices"));
        var hashes = Strings(Clip.GetProperty("hashes"));
        var times = Clip.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var raw = ReadFrames(Clip.GetProperty("raw_file").GetString()!, rawIndices.Length, 320, 240);
        using var video = VideoFile.Open(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = skipNonReference });

        // Act
        var frames = await ToListAsync(video.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = parallelism }));

        // Assert
        Assert.Equal(indices, frames.Select(f => f.Index));
        var maxDelta = 0;
        var exact = 0;
        foreach (var frame in frames)
        {
            Assert.Equal(320, frame.Image.Width);
            Assert.Equal(240, frame.Image.Height);
            Assert.Equal(times[frame.Index], frame.Timestamp.TotalSeconds, 6);
            var r = Array.IndexOf(rawIndices, frame.Index);
            if (r >= 0)
            {
                var delta = MaxDelta(Packed(frame.Image), raw[r]);
                maxDelta = Math.Max(maxDelta, delta);
                Assert.True(delta <= 1, $"frame {frame.Index}: max |delta| {delta} > 1");
            }

            if (Hash(frame.Image) == hashes[frame.Index])
            {
                exact++;
            }
            else
            {
                Assert.True(r >= 0, $"frame {frame.Index} differs from PyAV's (hash) and has no raw golden to measure by how much");
            }
        }

        output.WriteLine($"skip={skipNonReference} P={parallelism}: max |delta| vs PyAV over {rawIndices.Length} raw frames: {maxDelta}; {exact}/{frames.Count} frames byte-identical to PyAV (hash)");
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryFrame_InOneRun_MatchesPyAvHashAndPts(bool skipNonReference)
    {
        // Arrange: all 600 frames in one request exercises decoding on without seeking, GOP after GOP.
        var hashes = Strings(Clip.GetProperty("hashes"));
        var times = Clip.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        using var video = VideoFile.Open(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = skipNonReference });

        // Act
        var frames = await ToListAsync(video.ReadFramesAsync(Enumerable.Range(0, hashes.Length).ToArray()));

        // Assert
        Assert.Equal(hashes.Length, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(i, frames[i].Index);
            Assert.Equal(times[i], frames[i].Timestamp.TotalSeconds, 6);
            Assert.True(hashes[i] == Hash(frames[i].Image), $"frame {i} differs from PyAV's");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task ReversedAndRepeatedIndices_AreReadOnceInAscendingOrder()
    {
        var hashes = Strings(Clip.GetProperty("hashes"));
        using var video = VideoFile.Open(ClipPath);

        var frames = await ToListAsync(video.ReadFramesAsync([599, 250, 249, 251, 0, 250, 1, 498, 499, 500]));

        Assert.Equal([0, 1, 249, 250, 251, 498, 499, 500, 599], frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.Equal(hashes[f.Index], Hash(f.Image)));
    }

    [Theory(Timeout = 180_000)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ReadsAfterADrainedRun_OnTheSameFile_MatchPyAv(int parallelism)
    {
        // A run drains its decoder once its last wanted packet is in; the next read on the same file must start cleanly,
        // whether its frames lie before, between or after the ones the drained run showed in the same group of pictures.
        var hashes = Strings(Clip.GetProperty("hashes"));
        using var video = VideoFile.Open(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = true });
        var options = new VideoDecodeOptions { MaxDegreeOfParallelism = parallelism };
        int[][] reads = [[100, 200], [150, 240, 260], [201, 202], [0, 249, 250, 599], [598]];

        foreach (var indices in reads)
        {
            var frames = await ToListAsync(video.ReadFramesAsync(indices, options));

            Assert.Equal(indices, frames.Select(f => f.Index));
            Assert.Equal(indices.Select(i => hashes[i]), frames.Select(f => Hash(f.Image)));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Resize_EqualsPyAvReformat_WithinOneLevel()
    {
        // Arrange
        var resize = Goldens.GetProperty("resize");
        var indices = Ints(resize.GetProperty("indices"));
        int w = resize.GetProperty("width").GetInt32(), h = resize.GetProperty("height").GetInt32();
        var golden = ReadFrames(resize.GetProperty("file").GetString()!, indices.Length, w, h);
        using var video = VideoFile.Open(ClipPath);

        // Act
        var frames = await ToListAsync(video.ReadFramesAsync(indices, new VideoDecodeOptions { Width = w, Height = h }));

        // Assert
        var max = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            Assert.Equal(w, frames[i].Image.Width);
            Assert.Equal(h, frames[i].Image.Height);
            max = Math.Max(max, MaxDelta(Packed(frames[i].Image), golden[i]));
        }

        output.WriteLine($"resize {w}x{h}: max |delta| vs PyAV reformat = {max}");
        Assert.True(max <= 1, $"max |delta| {max}");
    }

    [Fact(Timeout = 180_000)]
    public async Task Parallel_StreamAndSkipNonReference_GiveTheSameFramesAsSequential()
    {
        // Arrange
        int[] indices = [0, 5, 100, 200, 249, 250, 251, 300, 420, 499, 500, 501, 560, 599];
        var hashes = Strings(Clip.GetProperty("hashes"));

        // Act
        using var sequential = VideoFile.Open(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = false });
        var a = await ToListAsync(sequential.ReadFramesAsync(indices));
        var b = await ToListAsync(sequential.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = 3 }));
        await using var stream = File.OpenRead(ClipPath);
        using var fromStream = VideoFile.Open(stream);
        var c = await ToListAsync(fromStream.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = 3 }));
        using var skipping = VideoFile.Open(ClipPath, new VideoOpenOptions { SkipNonReferenceFrames = true });
        var d = await ToListAsync(skipping.ReadFramesAsync(indices));
        using var fromMemory = VideoFile.Open(MediaSource.FromBytes(await File.ReadAllBytesAsync(ClipPath)).OpenRead, new VideoOpenOptions());
        var e = await ToListAsync(fromMemory.ReadFramesAsync(indices, new VideoDecodeOptions { MaxDegreeOfParallelism = 2 }));

        // Assert
        foreach (var list in new[] { a, b, c, d, e })
        {
            Assert.Equal(indices, list.Select(f => f.Index));
            Assert.Equal(a.Select(f => f.Timestamp), list.Select(f => f.Timestamp));
            Assert.Equal(indices.Select(i => hashes[i]), list.Select(f => Hash(f.Image)));
        }

        Assert.Equal(fromStream.Info, sequential.Info);
    }

    [Fact(Timeout = 120_000)]
    public async Task Matroska_PacketScanCount_AndEveryFrameMatchesPyAv()
    {
        var small = Goldens.GetProperty("small");
        var hashes = Strings(small.GetProperty("hashes"));
        var pts = Longs(small.GetProperty("pts"));
        using var video = VideoFile.Open(PathOf("small.mkv"));

        var frames = await ToListAsync(video.ReadFramesAsync([.. Enumerable.Range(0, hashes.Length).Reverse()], new VideoDecodeOptions { MaxDegreeOfParallelism = 2 }));

        Assert.False(video.Info.FrameCountIsExact);
        Assert.Equal(hashes.Length, video.Info.FrameCount);
        Assert.Equal(hashes, frames.Select(f => Hash(f.Image)));
        Assert.Equal(pts.Select(p => p / 1000.0), frames.Select(f => f.Timestamp.TotalSeconds));
    }

    [Fact]
    public void Dispose_IsIdempotent_AndReadsAfterwardThrow()
    {
        var video = VideoFile.Open(ClipPath);
        video.Dispose();
        video.Dispose();
        Assert.Throws<ObjectDisposedException>(() => video.ReadFramesAsync([0]));
    }

    private static double Rate(string fraction)
    {
        var parts = fraction.Split('/');
        return double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    private static void AssertSeconds(System.Text.Json.JsonElement expected, TimeSpan? actual)
    {
        if (expected.ValueKind != System.Text.Json.JsonValueKind.String)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(double.Parse(expected.GetString()!, CultureInfo.InvariantCulture), actual.Value.TotalSeconds, 6);
    }
}
