// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Media.Images;
using Multimodal.Media.Pdf;
using Multimodal.Media.Video;
using Multimodal.Testing;

namespace Multimodal.Backends.Remote;

/// <summary>Media are ingested locally: images as data URLs, PDF pages and video frames as PNG images, or passed through.</summary>
public sealed class MediaTests : IAsyncLifetime
{
    private static readonly string ShapesPdf = RepositoryPaths.Combine("samples", "shapes.pdf");
    private static readonly string MovingStar = RepositoryPaths.Combine("samples", "moving-star.mp4");
    private static readonly string RedCircle = RepositoryPaths.Combine("samples", "red-circle.png");
    private FakeEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await FakeEngine.StartAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task Images_AreSentAsDataUrls_WithTheirOriginalBytesAndMediaType()
    {
        // Arrange
        var png = await File.ReadAllBytesAsync(RedCircle);
        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4 };
        using var client = _engine.CreateClient();

        // Act: an ImageContent from a file, a DataContent, and bytes whose type must be sniffed.
        await client.GetResponseAsync(
        [
            new ChatMessage(ChatRole.User,
            [
                ImageContent.FromFile(RedCircle),
                new DataContent(jpeg, "image/jpeg"),
                ImageContent.FromBytes(png),
                new TextContent("Compare them."),
            ]),
        ]);

        // Assert
        var parts = Parts(_engine.Single.Body, 0);
        Assert.Equal(["image_url", "image_url", "image_url", "text"], parts.Select(p => p.GetProperty("type").GetString()));
        AssertDataUrl("image/png", png, parts[0].GetProperty("image_url").GetProperty("url").GetString()!);
        AssertDataUrl("image/jpeg", jpeg, parts[1].GetProperty("image_url").GetProperty("url").GetString()!);
        AssertDataUrl("image/png", png, parts[2].GetProperty("image_url").GetProperty("url").GetString()!);
        Assert.Equal("Compare them.", parts[3].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a', 1, 0 }, "image/gif")]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 0, 0, 0, 0, (byte)'W', (byte)'E', (byte)'B', (byte)'P', 0 }, "image/webp")]
    [InlineData(new byte[] { (byte)'B', (byte)'M', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "image/bmp")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xDB }, "image/jpeg")]
    public async Task ImageBytesWithoutAMediaType_AreSniffed(byte[] bytes, string expected)
    {
        using var client = _engine.CreateClient();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [ImageContent.FromBytes(bytes)])]);

        var (mediaType, data) = DataUrl(Parts(_engine.Single.Body, 0)[0].GetProperty("image_url").GetProperty("url").GetString()!);
        Assert.Equal(expected, mediaType);
        Assert.Equal(bytes, data);
    }

    [Fact]
    public async Task DecodedPixels_AreSentAsAPng_ThatDecodesToTheSamePixels()
    {
        var pixels = Enumerable.Range(0, 5 * 4 * 3).Select(i => (byte)(i * 7)).ToArray();
        using var client = _engine.CreateClient();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [ImageContent.FromPixels(new ImageFrame(5, 4, ImagePixelFormat.Rgb24, pixels))])]);

        var (mediaType, png) = DataUrl(Parts(_engine.Single.Body, 0)[0].GetProperty("image_url").GetProperty("url").GetString()!);
        Assert.Equal("image/png", mediaType);
        var decoded = ImageDecoder.Shared.Decode(png);
        Assert.Equal(pixels, Enumerable.Range(0, 4).SelectMany(y => decoded.GetRow(y).ToArray()));
    }

    [Fact]
    public async Task ImagesInFormatsEnginesMayNotRead_AreConvertedToPng_WhenADecoderIsGiven()
    {
        var tiff = await File.ReadAllBytesAsync(RepositoryPaths.Combine("tests", "data", "images", "decoding", "tiff_rgb_raw.tif"));
        using var client = _engine.CreateClient(decoder: ImageDecoder.Shared);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new DataContent(tiff, "image/tiff")])]);

        var (mediaType, png) = DataUrl(Parts(_engine.Single.Body, 0)[0].GetProperty("image_url").GetProperty("url").GetString()!);
        Assert.Equal("image/png", mediaType);
        Assert.True(SamePixels(ImageDecoder.Shared.Decode(tiff), ImageDecoder.Shared.Decode(png)));
    }

    [Fact]
    public async Task RemoteImageUris_PassThroughAsUrls()
    {
        using var client = _engine.CreateClient();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new UriContent("https://example.com/cat.jpg", "image/jpeg"), new TextContent("What is it?")])]);

        Assert.Equal("https://example.com/cat.jpg", Parts(_engine.Single.Body, 0)[0].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task Pdf_InImagesMode_BecomesOnePngPerPage_WithAriaPageLabels()
    {
        // Arrange
        using var client = _engine.CreateClient(pdf: PdfRasterizer.Shared);

        // Act
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(ShapesPdf)), new TextContent("How many shapes are there?")])]);

        // Assert: "Page 1: " image "\nPage 2: " image "\nPage 3: " image "\nHow many…" — labels and the following text join up.
        var parts = Parts(_engine.Single.Body, 0);
        Assert.Equal(["text", "image_url", "text", "image_url", "text", "image_url", "text"], parts.Select(p => p.GetProperty("type").GetString()));
        Assert.Equal("Page 1: ", parts[0].GetProperty("text").GetString());
        Assert.Equal("\nPage 2: ", parts[2].GetProperty("text").GetString());
        Assert.Equal("\nPage 3: ", parts[4].GetProperty("text").GetString());
        Assert.Equal("\nHow many shapes are there?", parts[6].GetProperty("text").GetString());

        var expected = await CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(new PdfContent(MediaSource.FromFile(ShapesPdf)), 2.0));
        for (var i = 0; i < 3; i++)
        {
            var (mediaType, png) = DataUrl(parts[(2 * i) + 1].GetProperty("image_url").GetProperty("url").GetString()!);
            Assert.Equal("image/png", mediaType);
            var page = ImageDecoder.Shared.Decode(png);
            Assert.Equal((112, 112), (page.Width, page.Height));   // 56 pt pages at the default zoom of 2
            Assert.True(SamePixels(expected[i].Image, page), $"page {i + 1} differs from the rasterizer's rendering");
        }
    }

    [Fact]
    public async Task Pdf_PageSelection_ZoomAndUnlabelledPages_AreHonoured()
    {
        using var client = _engine.CreateClient(o => o.LabelPdfPages = false, pdf: PdfRasterizer.Shared);
        var bytes = await File.ReadAllBytesAsync(ShapesPdf);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromBytes(bytes), PageSelection.Parse("2-3")) { Zoom = 1 }])]);

        var parts = Parts(_engine.Single.Body, 0);
        Assert.Equal(["image_url", "image_url"], parts.Select(p => p.GetProperty("type").GetString()));
        Assert.All(parts, p => Assert.Equal(56, ImageDecoder.Shared.Decode(DataUrl(p.GetProperty("image_url").GetProperty("url").GetString()!).Data).Width));
    }

    [Fact]
    public async Task Pdf_AsDataContent_IsRenderedToo()
    {
        using var client = _engine.CreateClient(pdf: PdfRasterizer.Shared);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new DataContent(await File.ReadAllBytesAsync(ShapesPdf), "application/pdf")])]);

        Assert.Equal(3, Parts(_engine.Single.Body, 0).Count(p => p.GetProperty("type").GetString() == "image_url"));
    }

    [Fact]
    public async Task Pdf_InPassThroughMode_IsSentAsAFilePart_WithItsPages()
    {
        using var client = _engine.CreateClient(o => o.PdfMode = RemotePdfMode.PassThrough);
        var bytes = await File.ReadAllBytesAsync(ShapesPdf);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(ShapesPdf), PageSelection.Parse("1-2")), new TextContent("Describe.")])]);

        var part = Parts(_engine.Single.Body, 0)[0];
        Assert.Equal("file", part.GetProperty("type").GetString());
        Assert.Equal("shapes.pdf", part.GetProperty("file").GetProperty("filename").GetString());
        AssertDataUrl("application/pdf", bytes, part.GetProperty("file").GetProperty("file_data").GetString()!);
        Assert.Equal("1-2", part.GetProperty("pages").GetString());
    }

    [Fact]
    public async Task Pdf_InImagesMode_WithoutARasterizer_SaysWhichPackageToAdd()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(ShapesPdf))])]));

        Assert.Contains("Multimodal.Media.Pdf", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PassThrough", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task Video_InImagesMode_SamplesFramesIntoPngImages()
    {
        // Arrange
        var source = new FfmpegVideoFrameSource();
        using var client = _engine.CreateClient(o => o.VideoFrames = 4, video: source);

        // Act
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(MovingStar)), new TextContent("Where does the star go?")])]);

        // Assert: 4 frames, uniformly sampled from the 8-frame clip, sent as PNGs identical to the decoder's frames.
        var parts = Parts(_engine.Single.Body, 0);
        Assert.Equal(["image_url", "image_url", "image_url", "image_url", "text"], parts.Select(p => p.GetProperty("type").GetString()));
        var expected = await CollectAsync(source.ReadFramesAsync(new VideoContent(MediaSource.FromFile(MovingStar)), FrameSampling.Uniform(4)));
        Assert.Equal([0, 2, 4, 7], expected.Select(f => f.Index));
        for (var i = 0; i < 4; i++)
        {
            var frame = ImageDecoder.Shared.Decode(DataUrl(parts[i].GetProperty("image_url").GetProperty("url").GetString()!).Data);
            Assert.True(SamePixels(expected[i].Image, frame), $"frame {i} differs from the decoder's");
        }
    }

    [Fact]
    public async Task Video_SamplingOfThePart_WinsOverTheDefault_AndFramesCanBeLabelled()
    {
        using var client = _engine.CreateClient(o => o.LabelVideoFrames = true, video: new FfmpegVideoFrameSource());

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(MovingStar), FrameSampling.AtIndices([1, 6]))])]);

        var parts = Parts(_engine.Single.Body, 0);
        Assert.Equal(["text", "image_url", "text", "image_url", "text"], parts.Select(p => p.GetProperty("type").GetString()));
        Assert.Equal("[00:00]", parts[0].GetProperty("text").GetString());   // frame 1 at 0.25 s
        Assert.Equal("\n[00:01]", parts[2].GetProperty("text").GetString()); // frame 6 at 1.5 s
    }

    [Fact]
    public async Task Video_InPassThroughMode_IsSentAsAVideoUrl_WithNumFrames()
    {
        using var client = _engine.CreateClient(o => o.VideoMode = RemoteVideoMode.PassThrough);
        var bytes = await File.ReadAllBytesAsync(MovingStar);

        await client.GetResponseAsync(
        [
            new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(MovingStar), FrameSampling.Uniform(6))]),
            new ChatMessage(ChatRole.Assistant, "A star."),
            new ChatMessage(ChatRole.User, [new DataContent(bytes, "video/mp4"), new TextContent("Again?")]),
        ]);

        var first = Parts(_engine.Single.Body, 0)[0];
        Assert.Equal("video_url", first.GetProperty("type").GetString());
        AssertDataUrl("video/mp4", bytes, first.GetProperty("video_url").GetProperty("url").GetString()!);
        Assert.Equal(6, first.GetProperty("video_url").GetProperty("num_frames").GetInt32());
        var second = Parts(_engine.Single.Body, 2)[0];
        Assert.Equal(8, second.GetProperty("video_url").GetProperty("num_frames").GetInt32());
    }

    [Fact]
    public async Task Video_InImagesMode_WithoutAFrameSource_SaysWhichPackageToAdd()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(MovingStar))])]));

        Assert.Contains("Multimodal.Media.Video", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task TooManyImages_FailBeforeAnythingIsSent_NamingTheLimit()
    {
        using var client = _engine.CreateClient(o => o.MaxImagesPerRequest = 2, pdf: PdfRasterizer.Shared);

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(ShapesPdf))])]));

        Assert.Contains("MaxImagesPerRequest", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than 2 images", ex.Message, StringComparison.Ordinal);
        Assert.Equal("messages", ex.ParameterName);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task MediaOutsideUserMessages_AreRefused()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.System, [ImageContent.FromFile(RedCircle)])]));

        Assert.Contains("system message", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolCalls_AreRefused_WithAClearMessage()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-1", "lookup")])]));

        Assert.Contains("tools are not supported", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task Video_InPassThroughMode_RefusesSamplingItCannotExpress()
    {
        using var client = _engine.CreateClient(o => o.VideoMode = RemoteVideoMode.PassThrough);

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(MovingStar), FrameSampling.EveryNth(2))])]));

        Assert.Contains("EveryNthFrameSampling", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownImageBytes_WithoutAMediaTypeOrDecoder_AreInvalidMedia()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, [ImageContent.FromBytes(new byte[] { 1, 2, 3, 4 })])]));

        Assert.Contains("IImageDecoder", ex.Message, StringComparison.Ordinal);
    }

    internal static List<JsonElement> Parts(JsonElement body, int message) =>
        [.. body.GetProperty("messages")[message].GetProperty("content").EnumerateArray()];

    internal static void AssertDataUrl(string mediaType, byte[] data, string url)
    {
        var actual = DataUrl(url);
        Assert.Equal(mediaType, actual.MediaType);
        Assert.Equal(data, actual.Data);
    }

    internal static (string MediaType, byte[] Data) DataUrl(string url)
    {
        Assert.StartsWith("data:", url, StringComparison.Ordinal);
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = url[5..comma];
        Assert.EndsWith(";base64", header, StringComparison.Ordinal);
        return (header[..^7], Convert.FromBase64String(url[(comma + 1)..]));
    }

    private static bool SamePixels(ImageFrame a, ImageFrame b) =>
        a.Width == b.Width && a.Height == b.Height && Enumerable.Range(0, a.Height).All(y => a.GetRow(y).SequenceEqual(b.GetRow(y)));

    private static async Task<List<T>> CollectAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
