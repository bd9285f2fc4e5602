// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Multimodal.Backends.Remote;

/// <summary>One request the fake engine received.</summary>
/// <param name="Attempt">1 for the first request the engine saw, 2 for the next, …</param>
/// <param name="Body">The JSON body.</param>
/// <param name="Authorization">The Authorization header, if any.</param>
/// <param name="Accept">The Accept header.</param>
/// <param name="ReceivedAt">When the request arrived.</param>
internal sealed record RecordedRequest(int Attempt, JsonElement Body, string? Authorization, string? Accept, DateTimeOffset ReceivedAt);

/// <summary>An OpenAI-compatible engine on Kestrel (127.0.0.1, a free port) that records every request and answers as the test scripts it.</summary>
internal sealed class FakeEngine : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _attempts;

    private FakeEngine(WebApplication app) => _app = app;

    /// <summary>Gets the requests received, in order.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Gets or sets how the engine answers; the default is a non-streaming completion saying "ok".</summary>
    public Func<HttpContext, RecordedRequest, Task> Handler { get; set; } = (context, _) => WriteCompletionAsync(context, "ok");

    /// <summary>Completes when a handler that waits with <see cref="WaitUntilAbortedAsync"/> sees the client abort the request.</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets the OpenAI base address, ending in /v1.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Gets the only request, failing when there is not exactly one.</summary>
    public RecordedRequest Single => Assert.Single(Requests);

    public static async Task<FakeEngine> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Limits.MaxRequestBodySize = 256 * 1024 * 1024;
        });
        var app = builder.Build();
        var engine = new FakeEngine(app);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var recorded = new RecordedRequest(
                Interlocked.Increment(ref engine._attempts),
                document.RootElement.Clone(),
                context.Request.Headers.Authorization.FirstOrDefault(),
                context.Request.Headers.Accept.FirstOrDefault(),
                DateTimeOffset.UtcNow);
            engine.Requests.Enqueue(recorded);
            await engine.Handler(context, recorded);
        });
        await app.StartAsync();
        engine.Endpoint = new Uri(app.Urls.Single() + "/v1");
        return engine;
    }

    public RemoteChatClient CreateClient(Action<RemoteChatClientOptions>? configure = null, IPdfRasterizer? pdf = null, IVideoFrameSource? video = null, IImageDecoder? decoder = null)
    {
        var options = new RemoteChatClientOptions { Endpoint = Endpoint, Model = "test-model", InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        return new RemoteChatClient(options, pdfRasterizer: pdf, videoFrameSource: video, imageDecoder: decoder);
    }

    public async Task WaitUntilAbortedAsync(HttpContext context)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Aborted.TrySetResult();
        }
    }

    public static Task WriteCompletionAsync(HttpContext context, string text, string finishReason = "stop", int promptTokens = 11, int completionTokens = 3)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-42",
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = "served-model",
            ["choices"] = new object[]
            {
                new Dictionary<string, object?>
                {
                    ["index"] = 0,
                    ["message"] = new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = text },
                    ["finish_reason"] = finishReason,
                },
            },
            ["usage"] = new Dictionary<string, object?> { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
        }));
    }

    public static Task WriteErrorAsync(HttpContext context, int status, string message, string? type = null, object? code = null, string? param = null, string? retryAfter = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        return context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["error"] = new Dictionary<string, object?> { ["message"] = message, ["type"] = type, ["code"] = code, ["param"] = param },
        }));
    }

    /// <summary>A stream chunk in OpenAI's shape.</summary>
    public static string Chunk(string? content, string? finishReason = null, string? role = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-7",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = "served-model",
            ["choices"] = new object[]
            {
                new Dictionary<string, object?>
                {
                    ["index"] = 0,
                    ["delta"] = role is null ? new Dictionary<string, object?> { ["content"] = content } : new Dictionary<string, object?> { ["role"] = role, ["content"] = content },
                    ["finish_reason"] = finishReason,
                },
            },
        });

    /// <summary>The final usage-only chunk OpenAI-compatible servers send when asked for <c>include_usage</c>.</summary>
    public static string UsageChunk(int prompt, int completion) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-7",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = "served-model",
            ["choices"] = Array.Empty<object>(),
            ["usage"] = new Dictionary<string, object?> { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion },
        });

    /// <summary>Writes a raw event-stream body, flushing after every <paramref name="bytesPerFlush"/> bytes.</summary>
    public static async Task WriteStreamAsync(HttpContext context, string raw, int bytesPerFlush = int.MaxValue)
    {
        context.Response.ContentType = "text/event-stream";
        var bytes = Encoding.UTF8.GetBytes(raw);
        for (var i = 0; i < bytes.Length; i += bytesPerFlush)
        {
            await context.Response.Body.WriteAsync(bytes.AsMemory(i, Math.Min(bytesPerFlush, bytes.Length - i)), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    /// <summary>Joins data payloads into an event stream ending with <c>data: [DONE]</c>.</summary>
    public static string Events(params string[] data) => string.Concat(data.Select(d => "data: " + d + "\n\n")) + "data: [DONE]\n\n";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
