// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using Xunit.Abstractions;

namespace Multimodal.Media.Images;

/// <summary>The <see cref="IImageDecoder"/> contract: sources, cancellation, thread-safety and speed.</summary>
public sealed class ImageDecoderTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DecodeAsync_ReadsMemoryFileAndStreamSources()
    {
        IImageDecoder decoder = new ImageDecoder();
        var path = Path.Combine(TestData.Folder, "jpeg_420.jpg");
        var expected = TestData.Get("jpeg_420.jpg").RgbSha256;

        var fromFile = await decoder.DecodeAsync(MediaSource.FromFile(path));
        var fromBytes = await decoder.DecodeAsync(MediaSource.FromBytes(await File.ReadAllBytesAsync(path)));
        await using var stream = File.OpenRead(path);
        var fromStream = await decoder.DecodeAsync(MediaSource.FromStream(stream));

        Assert.All([fromFile, fromBytes, fromStream], f => Assert.Equal(expected, TestData.Sha256(TestData.Packed(f))));
        Assert.Same(decoder, decoder.GetService(typeof(ImageDecoder)));
    }

    [Fact]
    public async Task DecodeAsync_MissingFile_IsInvalidMedia()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(async () => await ImageDecoder.Shared.DecodeAsync(MediaSource.FromFile("/nonexistent/x.png")));
        Assert.Equal("image/png", ex.MediaType);
    }

    [Fact]
    public async Task DecodeAsync_HonoursCancellation()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ImageDecoder.Shared.DecodeAsync(MediaSource.FromBytes(TestData.Read("png_rgb.png")), cancellationToken: cts.Token));
    }

    [Fact]
    public async Task DecodeAsync_NullSource_Throws()
    {
        await Assert.ThrowsAsync<ArgumentNullException>("source", async () => await ImageDecoder.Shared.DecodeAsync(null!));
    }

    [Fact]
    public void ConcurrentDecodes_AreThreadSafe()
    {
        var files = TestData.Goldens.Where(g => !g.File.StartsWith("perf_", StringComparison.Ordinal)).ToArray();
        var data = files.Select(g => TestData.Read(g.File)).ToArray();
        var decoder = new ImageDecoder();

        Parallel.For(0, files.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var k = i % files.Length;
            var frame = decoder.Decode(data[k]);
            Assert.Equal(files[k].RgbSha256, TestData.Sha256(TestData.Packed(frame)));
        });
    }

    [Fact]
    public void FullHdJpeg_DecodesQuickly()
    {
        // Arrange
        var data = TestData.Read("perf_1920x1080.jpg");
        var decoder = new ImageDecoder();
        var golden = TestData.Get("perf_1920x1080.jpg");
        Assert.Equal(golden.RgbSha256, TestData.Sha256(TestData.Packed(decoder.Decode(data))));

        // Act: the best of several runs, so that a busy CI machine does not make it flaky.
        var best = TimeSpan.MaxValue;
        for (var i = 0; i < 10; i++)
        {
            var sw = Stopwatch.StartNew();
            decoder.Decode(data);
            best = sw.Elapsed < best ? sw.Elapsed : best;
        }

        // Assert: libjpeg-turbo with SIMD needs ~10-20 ms; a managed fallback would need far longer.
        output.WriteLine($"1920x1080 JPEG ({data.Length:N0} bytes) -> RGB24: best of 10 = {best.TotalMilliseconds:F1} ms");
        Assert.True(best < TimeSpan.FromMilliseconds(500), $"{best.TotalMilliseconds} ms");
    }
}
