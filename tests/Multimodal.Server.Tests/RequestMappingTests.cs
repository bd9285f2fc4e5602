// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Server.Internal;

namespace Multimodal.Server.Tests;

/// <summary>How a request reaches the chat client: parts as Microsoft.Extensions.AI content, parameters as ChatOptions.</summary>
public sealed class RequestMappingTests : IAsyncLifetime
{
    private readonly FakeChatClient _fake = FakeChatClient.Answering(["ok"]);
    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("fake", _fake));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<IList<ChatMessage>> SendAsync(string json)
    {
        var (status, body, _) = await Http.PostAsync(_http, json);
        Assert.True(status == HttpStatusCode.OK, body.RootElement.ToString());
        return _fake.LastMessages!;
    }

    [Fact]
    public async Task Parts_BecomeTextImageVideoAndPdfContent()
    {
        var png = TestModels.SampleBytes("red-circle.png");
        var mp4 = TestModels.SampleBytes("moving-star.mp4");
        var pdf = TestModels.SampleBytes("shapes.pdf");
        var content = "[" + string.Join(", ", [
            Http.TextPart("Look:"),
            Http.ImagePart(TestModels.DataUrl("red-circle.png", "image/png")),
            "{\"type\": \"video_url\", \"video_url\": {\"url\": \"data:video/mp4;base64," + Convert.ToBase64String(mp4) + "\", \"num_frames\": 4}}",
            "{\"type\": \"file\", \"file\": {\"filename\": \"shapes.pdf\", \"file_data\": \"data:application/pdf;base64," + Convert.ToBase64String(pdf) + "\"}, \"pages\": \"1-2\"}",
            "{\"type\": \"file\", \"file\": {\"file_data\": \"" + Convert.ToBase64String(pdf) + "\"}}",
        ]) + "]";
        var messages = await SendAsync(Http.UserMessage("fake", content));

        var parts = Assert.Single(messages).Contents;
        Assert.Equal(ChatRole.User, messages[0].Role);
        Assert.Equal("Look:", Assert.IsType<TextContent>(parts[0]).Text);
        var image = Assert.IsType<ImageContent>(parts[1]);
        Assert.Equal(png, image.Source!.Bytes.ToArray());
        Assert.Equal("image/png", image.Source.MediaType);
        var video = Assert.IsType<VideoContent>(parts[2]);
        Assert.Equal(mp4, video.Source.Bytes.ToArray());
        Assert.Equal("video/mp4", video.Source.MediaType);
        Assert.Equal(4, Assert.IsType<UniformFrameSampling>(video.Sampling).Count);
        var document = Assert.IsType<PdfContent>(parts[3]);
        Assert.Equal(pdf, document.Source.Bytes.ToArray());
        Assert.Equal(MediaTypes.Pdf, document.Source.MediaType);
        Assert.Equal("1-2", document.Pages.Text);
        Assert.Equal([1, 2], document.Pages.Resolve(3));
        var raw = Assert.IsType<PdfContent>(parts[4]);
        Assert.Equal(pdf, raw.Source.Bytes.ToArray());
        Assert.Same(PageSelection.All, raw.Pages);
    }

    [Fact]
    public async Task VideoWithoutNumFrames_LeavesTheSamplingToTheModel()
    {
        var messages = await SendAsync(Http.UserMessage("fake", "[{\"type\": \"video_url\", \"video_url\": {\"url\": \"" + TestModels.DataUrl("moving-star.mp4", "video/mp4") + "\"}}]"));
        Assert.Null(Assert.IsType<VideoContent>(messages[0].Contents[0]).Sampling);
    }

    [Fact]
    public async Task Base64_WithEscapedSlashesOrLineBreaks_OrNoMediaType_Decodes()
    {
        // Bytes whose base64 has '/' and '+': some JSON writers escape '/' as "\/"; MIME writers break lines.
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var base64 = Convert.ToBase64String(bytes);
        Assert.Contains('/', base64);
        var escaped = base64.Replace("/", "\\/", StringComparison.Ordinal);
        var wrapped = Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", "\\r\\n", StringComparison.Ordinal);
        var content = "[" + string.Join(", ", [
            "{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64," + escaped + "\"}}",
            "{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/jpeg;base64," + wrapped + "\"}}",
            "{\"type\": \"image_url\", \"image_url\": \"data:;base64," + base64 + "\"}",
            "{\"type\": \"image_url\", \"image_url\": {\"url\": \"DATA:IMAGE/PNG;BASE64," + base64 + "\"}}",
        ]) + "]";
        var messages = await SendAsync(Http.UserMessage("fake", content));

        var images = messages[0].Contents.Cast<ImageContent>().ToList();
        Assert.All(images, i => Assert.Equal(bytes, i.Source!.Bytes.ToArray()));
        Assert.Equal(["image/png", "image/jpeg", null, "image/png"], images.Select(i => i.Source!.MediaType));
    }

    [Fact]
    public async Task Roles_AndStringContent_AreKept()
    {
        var json = """
            {"model": "fake", "messages": [
              {"role": "system", "content": "Be brief."},
              {"role": "developer", "content": "Answer in English."},
              {"role": "user", "content": "Hi", "name": "ann"},
              {"role": "assistant", "content": "Hello."},
              {"role": "assistant", "content": null},
              {"role": "user", "content": [{"type": "text", "text": "Again?"}]}
            ]}
            """;
        var messages = await SendAsync(json);
        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Assistant, ChatRole.User], messages.Select(m => m.Role));
        Assert.Equal(["Be brief.", "Answer in English.", "Hi", "Hello.", string.Empty, "Again?"], messages.Select(m => m.Text));
        Assert.Equal("ann", messages[2].AuthorName);
    }

    [Fact]
    public async Task Parameters_BecomeChatOptions_AsMultimodalModelReadsThem()
    {
        await SendAsync(Http.UserMessage("fake", "\"Hi\"", """
            , "max_tokens": 10, "max_completion_tokens": 20, "temperature": 0, "top_p": 0.9, "top_k": 40, "seed": 1234,
            "stop": ["END", "", "STOP"], "frequency_penalty": 0.5, "presence_penalty": -0.5, "n": 1,
            "repetition_penalty": 1.1, "min_p": 0.05, "token_kept_ratio": 0.8, "unknown": {"x": [1]}
            """));
        var o = _fake.LastOptions!;
        Assert.Equal("fake", o.ModelId);
        Assert.Equal(20, o.MaxOutputTokens);
        Assert.Equal(0f, o.Temperature);
        Assert.Equal(0.9f, o.TopP);
        Assert.Equal(40, o.TopK);
        Assert.Equal(1234, o.Seed);
        Assert.Equal(["END", "STOP"], o.StopSequences!);
        Assert.Equal(0.5f, o.FrequencyPenalty);
        Assert.Equal(-0.5f, o.PresencePenalty);
        Assert.Equal(1.1f, o.AdditionalProperties!["repetition_penalty"]);
        Assert.Equal(0.05f, o.AdditionalProperties["min_p"]);
        Assert.Equal(0.8, o.AdditionalProperties["token_kept_ratio"]);
        Assert.Equal(3, o.AdditionalProperties.Count);
    }

    [Fact]
    public async Task Parameters_Absent_StayNull_SoTheModelsDefaultsApply()
    {
        await SendAsync(Http.UserMessage("fake", "\"Hi\"", """, "stop": "END", "top_k": -1, "max_tokens": 5"""));
        var o = _fake.LastOptions!;
        Assert.Equal(5, o.MaxOutputTokens);
        Assert.Null(o.Temperature);
        Assert.Null(o.TopP);
        Assert.Equal(0, o.TopK);
        Assert.Null(o.Seed);
        Assert.Equal(["END"], o.StopSequences!);
        Assert.Null(o.AdditionalProperties);
    }

    [Fact]
    public async Task NonStreamed_Response_HasTheOpenAILayout()
    {
        var (_, body, response) = await Http.PostAsync(_http, Http.UserMessage("fake", "\"Hi\""));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var root = body.RootElement;
        Assert.Equal("chatcmpl-fake", root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.Equal(1_700_000_000, root.GetProperty("created").GetInt64());
        Assert.Equal("fake", root.GetProperty("model").GetString());
        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("ok", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = root.GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(10, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task NonAsciiText_RoundTrips()
    {
        var messages = await SendAsync(Http.UserMessage("fake", JsonSerializer.Serialize("Größe? 形状は？ 🙂")));
        Assert.Equal("Größe? 形状は？ 🙂", messages[0].Text);
    }

    [Theory]
    [InlineData("1-3", 3L)]
    [InlineData("2,4,10-12", 5L)]
    [InlineData("1-5,3-7", 7L)]
    [InlineData("4,4,4", 1L)]
    [InlineData("5-", null)]
    [InlineData("all", null)]
    public void PageCounts_OfBoundedSelections(string pages, long? expected) =>
        Assert.Equal(expected, MessageReader.CountPages(PageSelection.Parse(pages)));

    [Fact]
    public async Task MediaLimits_CountOverTheWholeConversation()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", _fake)
            .Configure(o =>
            {
                o.MaxVideoFramesPerRequest = 6;
                o.MaxPdfPagesPerRequest = 3;
            }));
        using var http = Http.Client(server);
        string Video(int frames) => "{\"type\": \"video_url\", \"video_url\": {\"url\": \"data:video/mp4;base64,AAAA\", \"num_frames\": " + frames + "}}";
        string Pdf(string pages) => "{\"type\": \"file\", \"file\": {\"file_data\": \"JVBERi0=\", \"pages\": \"" + pages + "\"}}";

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(http, Http.UserMessage("fake", $"[{Video(3)}, {Video(3)}, {Pdf("1-2")}, {Pdf("5")}]"))).Status);
        var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("fake", $"[{Video(3)}, {Video(4)}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("MaxVideoFramesPerRequest", Http.AssertError(body, "messages", "too_many_video_frames").GetProperty("message").GetString(), StringComparison.Ordinal);
        (status, body, _) = await Http.PostAsync(http, Http.UserMessage("fake", $"[{Pdf("1-2")}, {Pdf("7,8")}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("MaxPdfPagesPerRequest", Http.AssertError(body, "messages", "too_many_pdf_pages").GetProperty("message").GetString(), StringComparison.Ordinal);

        // An open-ended selection is left to the model, which counts pages as it renders them.
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(http, Http.UserMessage("fake", $"[{Pdf("1-")}]"))).Status);
    }

    [Fact]
    public async Task RequestBody_IsReadWhole_WhenSentInSmallChunks()
    {
        var json = Encoding.UTF8.GetBytes(Http.UserMessage("fake", "[" + Http.ImagePart(TestModels.DataUrl("three-shapes.png", "image/png")) + "]"));
        using var content = new StreamContent(new TrickleStream(json));
        content.Headers.ContentType = Http.Json;
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestModels.SampleBytes("three-shapes.png"), Assert.IsType<ImageContent>(_fake.LastMessages![0].Contents[0]).Source!.Bytes.ToArray());
    }

    /// <summary>Hands out at most 7 bytes per read.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}
