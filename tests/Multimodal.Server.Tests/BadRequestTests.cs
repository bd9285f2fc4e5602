// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Multimodal.Server.Tests;

/// <summary>Every way a request can be wrong: the right 4xx, an OpenAI error body naming the parameter, and a server that answers the next good request.</summary>
[Collection("llava")]
public sealed class BadRequestTests(LlavaFixture llava) : IAsyncLifetime
{
    private const int BodyLimit = 256 * 1024;

    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel(llava.Model)
            .Configure(o =>
            {
                o.MaxImagesPerRequest = 2;
                o.MaxPdfPagesPerRequest = 2;
                o.MaxVideoFramesPerRequest = 8;
                o.MaxRequestBodyBytes = BodyLimit;
            }));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static string RedCircle => TestModels.DataUrl("red-circle.png", "image/png");

    private static string Image(string url) => Http.ImagePart(url);

    private static string Text(string text) => Http.TextPart(text);

    private static string Pdf(string pages) =>
        "{\"type\": \"file\", \"file\": {\"file_data\": \"" + TestModels.DataUrl("shapes.pdf", "application/pdf") + "\", \"pages\": \"" + pages + "\"}}";

    public static TheoryData<string, string, int, string?, string?> Cases() => new()
    {
        { "malformed JSON", """{"model": "llava-tiny", "messages": [""", 400, null, "invalid_json" },
        { "not an object", """[1, 2]""", 400, null, "invalid_json" },
        { "missing model", """{"messages": [{"role": "user", "content": "Hi"}]}""", 400, "model", "missing_required_parameter" },
        { "model not a string", """{"model": 3, "messages": [{"role": "user", "content": "Hi"}]}""", 400, "model", "invalid_type" },
        { "unknown model", """{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}""", 404, "model", "model_not_found" },
        { "missing messages", """{"model": "llava-tiny"}""", 400, "messages", "missing_required_parameter" },
        { "messages not an array", """{"model": "llava-tiny", "messages": "Hi"}""", 400, "messages", "invalid_type" },
        { "no messages", """{"model": "llava-tiny", "messages": []}""", 400, "messages", "invalid_value" },
        { "message not an object", """{"model": "llava-tiny", "messages": ["Hi"]}""", 400, "messages[0]", "invalid_type" },
        { "unknown role", """{"model": "llava-tiny", "messages": [{"role": "robot", "content": "Hi"}]}""", 400, "messages[0].role", "invalid_value" },
        { "tool role", """{"model": "llava-tiny", "messages": [{"role": "tool", "content": "42"}]}""", 400, "messages[0].role", "unsupported_value" },
        { "user without content", """{"model": "llava-tiny", "messages": [{"role": "user"}]}""", 400, "messages[0].content", "missing_required_parameter" },
        { "content a number", """{"model": "llava-tiny", "messages": [{"role": "user", "content": 5}]}""", 400, "messages[0].content", "invalid_type" },
        { "part without type", Http.UserMessage("llava-tiny", """[{"text": "Hi"}]"""), 400, "messages[0].content[0].type", "missing_required_parameter" },
        { "unsupported part type", Http.UserMessage("llava-tiny", """[{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]"""), 400, "messages[0].content[0].type", "unsupported_content_type" },
        { "text part without text", Http.UserMessage("llava-tiny", """[{"type": "text"}]"""), 400, "messages[0].content[0].text", "invalid_type" },
        { "image_url without url", Http.UserMessage("llava-tiny", """[{"type": "image_url", "image_url": {}}]"""), 400, "messages[0].content[0].image_url.url", "missing_required_parameter" },
        { "file URL", Http.UserMessage("llava-tiny", $"[{Image("file:///etc/passwd")}, {Text("Hi")}]"), 400, "messages[0].content[0].image_url.url", "invalid_url" },
        { "ftp URL", Http.UserMessage("llava-tiny", $"[{Image("ftp://example.com/a.png")}]"), 400, "messages[0].content[0].image_url.url", "invalid_url" },
        { "http URL while disabled", Http.UserMessage("llava-tiny", $"[{Image("http://127.0.0.1:1/a.png")}, {Text("Hi")}]"), 400, "messages[0].content[0].image_url.url", "remote_media_disabled" },
        { "https URL while disabled", Http.UserMessage("llava-tiny", $"[{Image("https://example.com/a.png")}]"), 400, "messages[0].content[0].image_url.url", "remote_media_disabled" },
        { "not a URL", Http.UserMessage("llava-tiny", $"[{Image("red-circle.png")}]"), 400, "messages[0].content[0].image_url.url", "invalid_url" },
        { "data URL not base64", Http.UserMessage("llava-tiny", $"[{Image("data:image/png,hello")}]"), 400, "messages[0].content[0].image_url.url", "invalid_data_url" },
        { "invalid base64", Http.UserMessage("llava-tiny", $"[{Image("data:image/png;base64,@@@@")}]"), 400, "messages[0].content[0].image_url.url", "invalid_base64" },
        { "empty data", Http.UserMessage("llava-tiny", $"[{Image("data:image/png;base64,")}]"), 400, "messages[0].content[0].image_url.url", "invalid_base64" },
        { "image_url with text", Http.UserMessage("llava-tiny", $"[{Image("data:text/plain;base64,aGVsbG8=")}]"), 400, "messages[0].content[0].image_url.url", "invalid_media_type" },
        { "image that is not an image", Http.UserMessage("llava-tiny", $"[{Image("data:image/png;base64," + Convert.ToBase64String(Encoding.UTF8.GetBytes("not a PNG at all")))}, {Text("What is it?")}]"), 400, "messages", "invalid_media" },
        { "too many images", Http.UserMessage("llava-tiny", $"[{Image(RedCircle)}, {Image(RedCircle)}, {Image(RedCircle)}, {Text("Hi")}]"), 400, "messages", "too_many_images" },
        { "too many images over messages", """{"model": "llava-tiny", "messages": [{"role": "user", "content": [""" + Image(RedCircle) + "," + Image(RedCircle) + """]}, {"role": "assistant", "content": "Two."}, {"role": "user", "content": [""" + Image(RedCircle) + "]}]}", 400, "messages", "too_many_images" },
        { "too many PDF pages", Http.UserMessage("llava-tiny", $"[{Pdf("1-3")}, {Text("Hi")}]"), 400, "messages", "too_many_pdf_pages" },
        { "bad page selection", Http.UserMessage("llava-tiny", $"[{Pdf("x-3")}]"), 400, "messages[0].content[0].file.pages", "invalid_value" },
        { "page past the end", Http.UserMessage("llava-tiny", $"[{Pdf("9")}, {Text("Hi")}]"), 400, "messages", "invalid_media" },
        { "file_id", Http.UserMessage("llava-tiny", """[{"type": "file", "file": {"file_id": "file-123"}}]"""), 400, "messages[0].content[0].file.file_data", "unsupported_value" },
        { "file part with an image", Http.UserMessage("llava-tiny", """[{"type": "file", "file": {"file_data": "data:image/png;base64,aGVsbG8="}}]"""), 400, "messages[0].content[0].file.file_data", "invalid_media_type" },
        { "file part with a URL", Http.UserMessage("llava-tiny", """[{"type": "file", "file": {"file_data": "https://example.com/a.pdf"}}]"""), 400, "messages[0].content[0].file.file_data", "invalid_url" },
        { "not a PDF", Http.UserMessage("llava-tiny", """[{"type": "file", "file": {"file_data": "aGVsbG8gd29ybGQ="}}, {"type": "text", "text": "Hi"}]"""), 400, "messages", "invalid_media" },
        { "too many video frames", Http.UserMessage("llava-tiny", """[{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA", "num_frames": 9}}]"""), 400, "messages", "too_many_video_frames" },
        { "zero video frames", Http.UserMessage("llava-tiny", """[{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA", "num_frames": 0}}]"""), 400, "messages[0].content[0].video_url.num_frames", "invalid_value" },
        { "n = 2", Http.UserMessage("llava-tiny", "\"Hi\"", """, "n": 2"""), 400, "n", "unsupported_value" },
        { "negative temperature", Http.UserMessage("llava-tiny", "\"Hi\"", """, "temperature": -1"""), 400, "temperature", "invalid_value" },
        { "temperature a string", Http.UserMessage("llava-tiny", "\"Hi\"", """, "temperature": "hot" """), 400, "temperature", "invalid_type" },
        { "top_p zero", Http.UserMessage("llava-tiny", "\"Hi\"", """, "top_p": 0"""), 400, "top_p", "invalid_value" },
        { "max_tokens zero", Http.UserMessage("llava-tiny", "\"Hi\"", """, "max_tokens": 0"""), 400, "max_tokens", "invalid_value" },
        { "max_completion_tokens fractional", Http.UserMessage("llava-tiny", "\"Hi\"", """, "max_completion_tokens": 1.5"""), 400, "max_completion_tokens", "invalid_type" },
        { "stop a number", Http.UserMessage("llava-tiny", "\"Hi\"", """, "stop": 3"""), 400, "stop", "invalid_type" },
        { "stop array with a number", Http.UserMessage("llava-tiny", "\"Hi\"", """, "stop": ["a", 3]"""), 400, "stop[1]", "invalid_type" },
        { "seed not an integer", Http.UserMessage("llava-tiny", "\"Hi\"", """, "seed": "x" """), 400, "seed", "invalid_type" },
        { "top_k below -1", Http.UserMessage("llava-tiny", "\"Hi\"", """, "top_k": -2"""), 400, "top_k", "invalid_value" },
        { "token_kept_ratio above 1", Http.UserMessage("llava-tiny", "\"Hi\"", """, "token_kept_ratio": 2"""), 400, "token_kept_ratio", "invalid_value" },
        { "stream not a boolean", Http.UserMessage("llava-tiny", "\"Hi\"", """, "stream": "yes" """), 400, "stream", "invalid_type" },
        { "prompt longer than the context", Http.UserMessage("llava-tiny", "[" + Http.TextPart(string.Concat(Enumerable.Repeat("shape ", 3000))) + "]"), 400, "messages", "context_length_exceeded" },
        { "prompt longer than the context, streamed", Http.UserMessage("llava-tiny", "[" + Http.TextPart(string.Concat(Enumerable.Repeat("circle ", 3000))) + "]", """, "stream": true"""), 400, "messages", "context_length_exceeded" },
        { "invalid media, streamed", Http.UserMessage("llava-tiny", $"[{Image("data:image/png;base64,AAAAAAAA")}]", """, "stream": true"""), 400, "messages", "invalid_media" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_GetsItsStatusAndAnOpenAIError_AndTheServerAnswersTheNextRequest(string name, string json, int status, string? param, string? code)
    {
        var (actual, body, response) = await Http.PostAsync(_http, json);
        Assert.True(status == (int)actual, $"{name}: expected {status}, got {(int)actual}: {body.RootElement}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Http.AssertError(body, param, code);
        response.Dispose();

        await AssertAnswersAsync();
    }

    [Fact]
    public async Task TooManyImages_NamesTheLimitAndTheOption()
    {
        var (_, body, _) = await Http.PostAsync(_http, Http.UserMessage("llava-tiny", $"[{Image(RedCircle)}, {Image(RedCircle)}, {Image(RedCircle)}]"));
        var message = Http.AssertError(body).GetProperty("message").GetString();
        Assert.Contains("more than 2 images", message, StringComparison.Ordinal);
        Assert.Contains("MaxImagesPerRequest", message, StringComparison.Ordinal);
        Assert.Contains("--max-images", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedBody_WithContentLength_Is413()
    {
        var json = Http.UserMessage("llava-tiny", JsonSerializer.Serialize(new string('x', BodyLimit)));
        var (status, body, _) = await Http.PostAsync(_http, json);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("MaxRequestBodyBytes", Http.AssertError(body, code: "request_too_large").GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertAnswersAsync();
    }

    [Fact]
    public async Task OversizedBody_Chunked_Is413()
    {
        var json = Encoding.UTF8.GetBytes(Http.UserMessage("llava-tiny", JsonSerializer.Serialize(new string('y', BodyLimit * 2))));
        using var content = new StreamContent(new MemoryStream(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Http.AssertError(System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()), code: "request_too_large");
        await AssertAnswersAsync();
    }

    [Fact]
    public async Task UnknownFields_AreIgnored()
    {
        var json = Http.UserMessage(
            "llava-tiny",
            $"[{Image(RedCircle)}, {Http.TextPart("What shape is in the image?")}]",
            """, "temperature": 0, "user": "me", "logprobs": false, "response_format": {"type": "text"}, "metadata": {"a": [1, {"b": null}]}, "service_tier": "auto" """);
        var (status, body, _) = await Http.PostAsync(_http, json);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("A circle.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    private async Task AssertAnswersAsync()
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("llava-tiny", $"[{Image(RedCircle)}, {Http.TextPart("What shape is in the image?")}]", """, "temperature": 0"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("A circle.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}
