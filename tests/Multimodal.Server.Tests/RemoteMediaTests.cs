// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Multimodal.Server.Tests;

/// <summary><c>http(s)</c> media URLs with <see cref="MultimodalServerOptions.AllowRemoteMediaUrls"/>: downloaded within a size and a time limit, from a second local server.</summary>
public sealed class RemoteMediaTests : IAsyncLifetime
{
    private readonly FakeChatClient _fake = FakeChatClient.Answering(["ok"]);
    private WebApplication _files = null!;
    private Uri _filesAddress = null!;
    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _files = builder.Build();
        var png = TestModels.SampleBytes("blue-star.png");
        _files.MapGet("/star.png", () => Results.Bytes(png, "image/png"));
        _files.MapGet("/clip.mp4", () => Results.Bytes(TestModels.SampleBytes("moving-star.mp4"), "video/mp4"));
        _files.MapGet("/big.png", () => Results.Bytes(new byte[64 * 1024], "image/png"));
        _files.MapGet("/big-chunked.png", async (HttpContext context) =>
        {
            context.Response.ContentType = "image/png";
            for (var i = 0; i < 64; i++)
            {
                await context.Response.Body.WriteAsync(new byte[1024]);
                await context.Response.Body.FlushAsync();
            }
        });
        _files.MapGet("/slow.png", async (CancellationToken token) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), token);
            return Results.Bytes(png, "image/png");
        });
        _files.MapGet("/text.txt", () => Results.Text("hello"));
        _files.MapGet("/truncated.png", async (HttpContext context) =>
        {
            // Promises 8 KiB, sends 100 bytes, and drops the connection.
            context.Response.ContentType = "image/png";
            context.Response.ContentLength = 8 * 1024;
            await context.Response.Body.WriteAsync(png.AsMemory(0, 100));
            await context.Response.Body.FlushAsync();
            await Task.Delay(50);
            context.Abort();
        });
        _files.MapGet("/to-file.png", () => Results.Redirect("file:///etc/passwd"));
        _files.MapGet("/to-ftp.png", () => Results.Redirect("ftp://127.0.0.1/star.png"));
        _files.MapGet("/moved.png", () => Results.Redirect("/star.png"));
        _files.MapGet("/loop.png", () => Results.Redirect("/loop.png"));
        await _files.StartAsync();
        _filesAddress = new Uri(_files.Urls.First() + "/");

        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", _fake)
            .Configure(o =>
            {
                o.AllowRemoteMediaUrls = true;
                o.MaxRemoteMediaBytes = 16 * 1024;
                // Long enough for a download on a loaded CI machine (1 s was not: a redirect timed out), short next to
                // slow.png's 30 s stall, which must still hit it.
                o.RemoteMediaTimeout = TimeSpan.FromSeconds(5);
            }));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _files.DisposeAsync();
    }

    private string Url(string path) => new Uri(_filesAddress, path).ToString();

    [Fact]
    public async Task HttpImageUrl_IsDownloaded_WithItsMediaType()
    {
        var (status, _, _) = await Http.PostAsync(_http, Http.UserMessage("fake", $"[{Http.ImagePart(Url("star.png"))}]"));
        Assert.Equal(HttpStatusCode.OK, status);
        var image = Assert.IsType<ImageContent>(_fake.LastMessages![0].Contents[0]);
        Assert.Equal(TestModels.SampleBytes("blue-star.png"), image.Source!.Bytes.ToArray());
        Assert.Equal("image/png", image.Source.MediaType);
    }

    [Fact]
    public async Task HttpVideoUrl_IsDownloaded()
    {
        var (status, _, _) = await Http.PostAsync(_http, Http.UserMessage("fake", "[{\"type\": \"video_url\", \"video_url\": {\"url\": \"" + Url("clip.mp4") + "\", \"num_frames\": 2}}]"));
        Assert.Equal(HttpStatusCode.OK, status);
        var video = Assert.IsType<VideoContent>(_fake.LastMessages![0].Contents[0]);
        Assert.Equal(TestModels.SampleBytes("moving-star.mp4"), video.Source.Bytes.ToArray());
    }

    [Theory]
    [InlineData("big.png", "remote_media_too_large")]
    [InlineData("big-chunked.png", "remote_media_too_large")]
    [InlineData("slow.png", "remote_media_timeout")]
    [InlineData("missing.png", "remote_media_failed")]
    [InlineData("text.txt", "invalid_media_type")]
    [InlineData("truncated.png", "remote_media_failed")]
    [InlineData("to-file.png", "invalid_url")]
    [InlineData("to-ftp.png", "invalid_url")]
    [InlineData("loop.png", "remote_media_failed")]
    public async Task FailedDownload_Is400(string path, string code)
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("fake", $"[{Http.ImagePart(Url(path))}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertError(body, "messages[0].content[0].image_url.url", code);
    }

    [Fact]
    public async Task RedirectToAnotherHttpUrl_IsFollowed()
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("fake", $"[{Http.ImagePart(Url("moved.png"))}]"));
        Assert.True(status == HttpStatusCode.OK, body.RootElement.ToString());
        var image = Assert.IsType<ImageContent>(_fake.LastMessages![0].Contents[0]);
        Assert.Equal(TestModels.SampleBytes("blue-star.png"), image.Source!.Bytes.ToArray());
    }

    [Fact]
    public async Task UnreachableHost_Is400()
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("fake", $"[{Http.ImagePart("http://127.0.0.1:1/x.png")}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertError(body, code: "remote_media_failed");
    }

    [Fact]
    public async Task FileUrls_StayRefused_WhenRemoteUrlsAreAllowed()
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("fake", $"[{Http.ImagePart("file://" + TestModels.Sample("red-circle.png"))}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertError(body, code: "invalid_url");
    }
}
