// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Server.Tests;

/// <summary>Every exception a chat client can throw, before and after a stream starts: the right status, an OpenAI error, no details leaked, and a server that keeps answering.</summary>
public sealed class ErrorPathTests : IAsyncLifetime
{
    private const string Secret = "connection string=secret-password";

    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("ok", FakeChatClient.Answering(["Hel", "lo."]))
            .AddModel("throws-before", new FakeChatClient((_, _, token) => Throwing(new InvalidOperationException(Secret), afterChunks: 0, token)))
            .AddModel("throws-after", new FakeChatClient((_, _, token) => Throwing(new InvalidOperationException(Secret), afterChunks: 2, token)))
            .AddModel("too-long", new FakeChatClient((_, _, token) => Throwing(new ContextLengthExceededException(5000, 1024, 64), afterChunks: 0, token)))
            .AddModel("bad-media", new FakeChatClient((_, _, token) => Throwing(new InvalidMediaException("The image is truncated.", "image/png"), afterChunks: 0, token)))
            .AddModel("unsupported", new FakeChatClient((_, _, token) => Throwing(new UnsupportedRequestException("This model reads no videos.", "messages"), afterChunks: 0, token)))
            .AddModel("bad-setting", new FakeChatClient((_, _, token) => Throwing(new ArgumentOutOfRangeException("TopP", 3f, "TopP must be in (0, 1]."), afterChunks: 0, token)))
            .AddModel("load-fails", new FakeChatClient((_, _, token) => Throwing(new ModelLoadException("Missing /secret/path/model.safetensors", "/secret/path"), afterChunks: 0, token)))
            .AddModel("throws-sync", new FakeChatClient((_, _, _) => throw new NotSupportedException(Secret)))
            .AddModel("cancels-itself", new FakeChatClient((_, _, token) => Throwing(new TaskCanceledException("A timeout inside the client."), afterChunks: 0, token))));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Throwing(Exception exception, int afterChunks, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; i < afterChunks; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, $"part{i} ");
        }

        await Task.Yield();
        throw exception;
    }

    [Theory]
    [InlineData("throws-before", false, 500, "server_error", null)]
    [InlineData("throws-before", true, 500, "server_error", null)]
    [InlineData("throws-sync", false, 500, "server_error", null)]
    [InlineData("throws-sync", true, 500, "server_error", null)]
    [InlineData("cancels-itself", false, 500, "server_error", null)]
    [InlineData("too-long", false, 400, "invalid_request_error", "context_length_exceeded")]
    [InlineData("too-long", true, 400, "invalid_request_error", "context_length_exceeded")]
    [InlineData("bad-media", true, 400, "invalid_request_error", "invalid_media")]
    [InlineData("unsupported", false, 400, "invalid_request_error", "unsupported_request")]
    [InlineData("bad-setting", false, 400, "invalid_request_error", "invalid_value")]
    [InlineData("load-fails", false, 503, "server_error", "model_load_failed")]
    public async Task FailureBeforeTheFirstUpdate_GetsItsStatus_EvenWhenStreaming(string model, bool stream, int status, string type, string? code)
    {
        var (actual, body, _) = await Http.PostAsync(_http, Http.UserMessage(model, "\"Hi\"", stream ? """, "stream": true""" : string.Empty));
        Assert.Equal(status, (int)actual);
        var error = Http.AssertError(body, code: code);
        Assert.Equal(type, error.GetProperty("type").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.DoesNotContain("secret", message, StringComparison.OrdinalIgnoreCase);
        await AssertAnswersAsync();
    }

    [Fact]
    public async Task UnexpectedFailure_IsDescribedWithATraceIdOnly()
    {
        var (_, body, _) = await Http.PostAsync(_http, Http.UserMessage("throws-before", "\"Hi\""));
        var message = body.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("trace id", message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(InvalidOperationException), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailureAfterTheStreamStarted_EndsItWithAnErrorEvent()
    {
        using var response = await Http.PostStreamAsync(_http, Http.UserMessage("throws-after", "\"Hi\"", """, "stream": true"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await Http.ReadEventsAsync(response);

        Assert.DoesNotContain("[DONE]", events);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal("part0 part1 ", string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : null)));
        using var last = JsonDocument.Parse(events[^1]);
        var error = Http.AssertError(last);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("secret", error.GetProperty("message").GetString()!, StringComparison.OrdinalIgnoreCase);
        await AssertAnswersAsync();
    }

    [Fact]
    public async Task Metrics_CountEveryFailureByStatus()
    {
        await Http.PostAsync(_http, Http.UserMessage("throws-before", "\"Hi\""));
        await Http.PostAsync(_http, Http.UserMessage("too-long", "\"Hi\""));
        var metrics = await _http.GetStringAsync("metrics");
        Assert.Contains("multimodal_server_requests_total{model=\"throws-before\",status=\"500\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("multimodal_server_requests_total{model=\"too-long\",status=\"400\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoppingTheServer_EndsARunningStreamWithAnErrorEvent()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async IAsyncEnumerable<ChatResponseUpdate> Endless([EnumeratorCancellation] CancellationToken token)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Once upon a time");
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                cancelled.TrySetResult();
            }

            yield break;
        }

        var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("endless", new FakeChatClient((_, _, token) => Endless(token))));
        try
        {
            using var http = Http.Client(server);
            using var response = await Http.PostStreamAsync(http, Http.UserMessage("endless", "\"Tell a story.\"", """, "stream": true"""));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var reading = Http.ReadEventsAsync(response);

            await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var events = await reading.WaitAsync(TimeSpan.FromSeconds(30));
            using var last = JsonDocument.Parse(events[^1]);
            Http.AssertError(last, code: "server_shutting_down");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private async Task AssertAnswersAsync()
    {
        var (status, body, _) = await Http.PostAsync(_http, Http.UserMessage("ok", "\"Hi\""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Hello.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}
