// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using static Multimodal.Media.Video.VideoFixtures;

namespace Multimodal.Media.Video;

public sealed class FrameSourceTests
{
    public static TheoryData<string> Policies => ["uniform", "everynth", "persecond", "timestamps", "indices"];

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Policies))]
    public async Task SamplingPolicy_SelectsTheSameFramesAsPyAvEnumeration(string policy)
    {
        // Arrange
        var sampling = policy switch
        {
            "uniform" => FrameSampling.Uniform(16),
            "everynth" => FrameSampling.EveryNth(45, maxFrames: 10),
            "persecond" => FrameSampling.PerSecond(0.5),
            "timestamps" => FrameSampling.AtTimestamps([TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(8.34), TimeSpan.FromSeconds(19.99)]),
            _ => FrameSampling.AtIndices([598, 3, 251]),
        };
        var expected = sampling.SelectFrames(600, 30);
        var hashes = Strings(Clip.GetProperty("hashes"));
        var source = new FfmpegVideoFrameSource(new FfmpegVideoFrameSourceOptions { MaxDegreeOfParallelism = 2 });

        // Act
        var frames = await ToListAsync(source.ReadFramesAsync(new VideoContent(MediaSource.FromFile(ClipPath)), sampling));

        // Assert
        Assert.Equal(expected, frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.Equal(hashes[f.Index], Hash(f.Image)));
    }

    [Fact(Timeout = 60_000)]
    public async Task MemoryStreamAndFileSources_GiveTheSameFrames()
    {
        var bytes = await File.ReadAllBytesAsync(ClipPath);
        var source = new FfmpegVideoFrameSource(new FfmpegVideoFrameSourceOptions { MaxDegreeOfParallelism = 2, Width = 64, Height = 48 });
        var sampling = FrameSampling.Uniform(8);

        var fromFile = await ToListAsync(source.ReadFramesAsync(new VideoContent(MediaSource.FromFile(ClipPath)), sampling));
        var fromMemory = await ToListAsync(source.ReadFramesAsync(new VideoContent(MediaSource.FromBytes(bytes)), sampling));
        var fromStream = await ToListAsync(source.ReadFramesAsync(new VideoContent(MediaSource.FromStream(new MemoryStream(bytes), leaveOpen: false)), sampling));

        Assert.All(fromFile, f => Assert.Equal((64, 48), (f.Image.Width, f.Image.Height)));
        Assert.Equal(fromFile.Select(f => Hash(f.Image)), fromMemory.Select(f => Hash(f.Image)));
        Assert.Equal(fromFile.Select(f => Hash(f.Image)), fromStream.Select(f => Hash(f.Image)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancellation_StopsEnumeration()
    {
        using var cts = new CancellationTokenSource();
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var frame in FfmpegVideoFrameSource.Shared.ReadFramesAsync(new VideoContent(MediaSource.FromFile(ClipPath)), FrameSampling.EveryNth(1), cts.Token))
            {
                if (++count == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(3, count);
    }

    [Fact]
    public void AddMultimodalVideo_RegistersLazily_AndUseVideoSetsTheSource()
    {
        var services = new ServiceCollection().AddMultimodalVideo(o => o.MaxDegreeOfParallelism = 2);
        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IVideoFrameSource));
        Assert.NotNull(descriptor.ImplementationFactory);
        using var provider = services.BuildServiceProvider();
        var source = Assert.IsType<FfmpegVideoFrameSource>(provider.GetRequiredService<IVideoFrameSource>());
        Assert.Equal(2, source.Options.MaxDegreeOfParallelism);
        Assert.Same(FfmpegVideoFrameSource.Shared, new ServiceCollection().AddMultimodalVideo().BuildServiceProvider().GetRequiredService<IVideoFrameSource>());
    }

    [Fact]
    public void Options_RejectInvalidValues()
    {
        var options = new FfmpegVideoFrameSourceOptions();
        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxDegreeOfParallelism = 0).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Width = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.DecoderThreads = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new VideoDecodeOptions { Height = -2 });
    }
}
