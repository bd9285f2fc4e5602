// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Multimodal.Backends.Remote.Internal;

namespace Multimodal.Backends.Remote;

/// <summary>Retries, backoff, Retry-After, timeouts, cancellation and error reporting.</summary>
public sealed class ReliabilityTests : IAsyncLifetime
{
    private static readonly ChatMessage[] Question = [new ChatMessage(ChatRole.User, "Hello?")];
    private FakeEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await FakeEngine.StartAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task Http429WithRetryAfter_IsRetried_AfterTheServersDelay()
    {
        // Arrange: the first attempt is rate limited for one second.
        _engine.Handler = (context, request) => request.Attempt == 1
            ? FakeEngine.WriteErrorAsync(context, 429, "Too many requests", retryAfter: "1")
            : FakeEngine.WriteCompletionAsync(context, "ok");
        using var client = _engine.CreateClient();

        // Act
        var response = await client.GetResponseAsync(Question);

        // Assert
        Assert.Equal("ok", response.Text);
        var attempts = _engine.Requests.ToList();
        Assert.Equal(2, attempts.Count);
        var gap = attempts[1].ReceivedAt - attempts[0].ReceivedAt;
        Assert.InRange(gap.TotalSeconds, 0.9, 4.5);
    }

    [Fact]
    public async Task Http503_IsRetried_WithBackoff_ThenSucceeds_EvenWhenStreaming()
    {
        _engine.Handler = (context, request) => request.Attempt <= 2
            ? FakeEngine.WriteErrorAsync(context, 503, "Loading model")
            : FakeEngine.WriteStreamAsync(context, FakeEngine.Events(FakeEngine.Chunk("ready", "stop", "assistant")));
        using var client = _engine.CreateClient(o => o.InitialBackoff = TimeSpan.FromMilliseconds(100));

        var response = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();

        Assert.Equal("ready", response.Text);
        var attempts = _engine.Requests.ToList();
        Assert.Equal(3, attempts.Count);

        // Equal jitter: at least half the step, so ≥ 50 ms and then ≥ 100 ms.
        Assert.True((attempts[1].ReceivedAt - attempts[0].ReceivedAt).TotalMilliseconds >= 45);
        Assert.True((attempts[2].ReceivedAt - attempts[1].ReceivedAt).TotalMilliseconds >= 95);
    }

    [Theory]
    [InlineData(502)]
    [InlineData(504)]
    public async Task GatewayErrors_AreRetried(int status)
    {
        _engine.Handler = (context, request) => request.Attempt == 1
            ? FakeEngine.WriteErrorAsync(context, status, "upstream")
            : FakeEngine.WriteCompletionAsync(context, "ok");
        using var client = _engine.CreateClient();

        Assert.Equal("ok", (await client.GetResponseAsync(Question)).Text);
        Assert.Equal(2, _engine.Requests.Count);
    }

    [Fact]
    public async Task Http400_IsNotRetried_AndCarriesTheOpenAIErrorFields()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteErrorAsync(context, 400, "temperature must be non-negative", "invalid_request_error", "invalid_value", "temperature");
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));

        Assert.Single(_engine.Requests);
        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Equal("temperature must be non-negative", ex.ServerMessage);
        Assert.Equal("invalid_request_error", ex.ErrorType);
        Assert.Equal("invalid_value", ex.ErrorCode);
        Assert.Equal("temperature", ex.ErrorParam);
        Assert.Contains("HTTP 400", ex.Message, StringComparison.Ordinal);
        Assert.Contains("temperature must be non-negative", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsContextLengthExceeded);
        Assert.IsAssignableFrom<MultimodalException>(ex);
    }

    [Fact]
    public async Task ContextLengthExceeded_KeepsItsCode_AndSaysWhatToDo()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteErrorAsync(
            context, 400, "This model's maximum context length is 4096 tokens. However, you requested 5210 tokens.", "invalid_request_error", "context_length_exceeded", "messages");
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetStreamingResponseAsync(Question).ToChatResponseAsync());

        Assert.Equal("context_length_exceeded", ex.ErrorCode);
        Assert.True(ex.IsContextLengthExceeded);
        Assert.Contains("--max-model-len", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OldVllmErrorBodies_AndPlainTextBodies_AreReadToo()
    {
        _engine.Handler = async (context, request) =>
        {
            context.Response.StatusCode = request.Attempt == 1 ? 400 : 401;
            await context.Response.WriteAsync(request.Attempt == 1
                ? """{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"""
                : "Unauthorized");
        };
        using var client = _engine.CreateClient();

        var first = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));
        var second = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));

        Assert.Equal(("The model `x` does not exist.", "NotFoundError", "404"), (first.ServerMessage, first.ErrorType, first.ErrorCode));
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Equal("Unauthorized", second.ServerMessage);
        Assert.Contains("ApiKey", second.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivesUp_AfterMaxRetries_WithTheLastStatus()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteErrorAsync(context, 503, "Server overloaded");
        using var client = _engine.CreateClient(o => o.MaxRetries = 2);

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));

        Assert.Equal(3, _engine.Requests.Count);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRetries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetryAfter_IsCappedByMaxBackoff()
    {
        _engine.Handler = (context, request) => request.Attempt == 1
            ? FakeEngine.WriteErrorAsync(context, 429, "slow down", retryAfter: "120")
            : FakeEngine.WriteCompletionAsync(context, "ok");
        using var client = _engine.CreateClient(o => o.MaxBackoff = TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();

        await client.GetResponseAsync(Question);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Equal(2, _engine.Requests.Count);
    }

    [Fact]
    public void RetryAfterDates_AndBackoff_AreComputedAsDocumented()
    {
        var now = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var cap = TimeSpan.FromSeconds(30);
        var initial = TimeSpan.FromMilliseconds(500);

        Assert.Equal(TimeSpan.FromSeconds(7), RetryTiming.Delay(0, initial, cap, new RetryConditionHeaderValue(now.AddSeconds(7)), now, 0.5));
        Assert.Equal(TimeSpan.Zero, RetryTiming.Delay(0, initial, cap, new RetryConditionHeaderValue(now.AddSeconds(-7)), now, 0.5));
        Assert.Equal(cap, RetryTiming.Delay(0, initial, cap, new RetryConditionHeaderValue(TimeSpan.FromHours(1)), now, 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(250), RetryTiming.Delay(0, initial, cap, null, now, 0.0));
        Assert.Equal(TimeSpan.FromMilliseconds(1000), RetryTiming.Delay(2, initial, cap, null, now, 0.0));
        Assert.Equal(TimeSpan.FromMilliseconds(3000), RetryTiming.Delay(3, initial, cap, null, now, 0.5));
        Assert.Equal(cap, RetryTiming.Delay(20, initial, cap, null, now, 1.0));
    }

    [Fact]
    public async Task ASlowEngine_EndsInTimeoutException_NotCancellation()
    {
        _engine.Handler = async (context, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
            await FakeEngine.WriteCompletionAsync(context, "late");
        };
        using var client = _engine.CreateClient(o => o.Timeout = TimeSpan.FromMilliseconds(300));

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.GetResponseAsync(Question));

        Assert.Contains("RemoteChatClientOptions.Timeout", ex.Message, StringComparison.Ordinal);

        // Timeouts are not retried: give a retry time to arrive, then count. (On a loaded machine the one request may
        // time out before the engine has recorded it, so the count is at most one rather than exactly one.)
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        Assert.True(_engine.Requests.Count <= 1, $"the engine saw {_engine.Requests.Count} requests; a timeout was retried");
    }

    [Fact]
    public async Task AStalledStream_EndsInTimeoutException_WhileASlowButSteadyStreamDoesNot()
    {
        // Steady: eight pieces 200 ms apart (1.6 s in all) under a 1.2 s idle timeout, so only a timeout that counts
        // from the last piece (not from the request) lets it finish. Request 1 warms the engine and the connection
        // with a generous timeout, so that start-up on a loaded machine does not count; request 2 is the steady
        // stream; request 3 stalls after its pieces.
        _engine.Handler = async (context, request) =>
        {
            context.Response.ContentType = "text/event-stream";
            for (var i = 0; i < 8; i++)
            {
                await context.Response.WriteAsync("data: " + FakeEngine.Chunk("x", role: "assistant") + "\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(request.Attempt == 1 ? 0 : 200);
            }

            if (request.Attempt <= 2)
            {
                await context.Response.WriteAsync("data: " + FakeEngine.Chunk(null, "stop") + "\n\ndata: [DONE]\n\n");
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
        };
        using (var warm = _engine.CreateClient(o => o.Timeout = TimeSpan.FromSeconds(30)))
        {
            Assert.Equal("xxxxxxxx", (await warm.GetStreamingResponseAsync(Question).ToChatResponseAsync()).Text);
        }

        using var client = _engine.CreateClient(o => o.Timeout = TimeSpan.FromMilliseconds(1200));

        var steady = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.GetStreamingResponseAsync(Question).ToChatResponseAsync());

        Assert.Equal("xxxxxxxx", steady.Text);
        Assert.Contains("stream", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerCancellation_IsOperationCanceled_AndAbortsTheRequest()
    {
        _engine.Handler = (context, _) => _engine.WaitUntilAbortedAsync(context);
        using var client = _engine.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Question, cancellationToken: cts.Token));

        await _engine.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task CancellingAStream_AbortsTheRequest()
    {
        _engine.Handler = async (context, _) =>
        {
            await FakeEngine.WriteStreamAsync(context, "data: " + FakeEngine.Chunk("first", role: "assistant") + "\n\n");
            await _engine.WaitUntilAbortedAsync(context);
        };
        using var client = _engine.CreateClient();
        using var cts = new CancellationTokenSource();
        var texts = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Question, cancellationToken: cts.Token))
            {
                texts.Add(update.Text);
                await cts.CancelAsync();
            }
        });

        Assert.Equal(["first"], texts);
        await _engine.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AnUnreachableEngine_IsRetried_ThenReported()
    {
        // A port that was free a moment ago: connections are refused.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new RemoteChatClient(new RemoteChatClientOptions
        {
            Endpoint = new Uri($"http://127.0.0.1:{port}/v1"),
            Model = "m",
            MaxRetries = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
        });

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));

        Assert.Null(ex.StatusCode);
        Assert.Contains("Cannot reach the engine", ex.Message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task ACallerThatHoldsAnUpdate_LongerThanTheTimeout_IsNotTimedOut_TheTimeoutIsTheEngines()
    {
        // The engine sends the first chunk at once and the rest soon after; the caller then spends longer on each update
        // than the timeout allows the engine between two pieces (a slow consumer, a UI, a server writing to a slow client).
        _engine.Handler = async (context, _) =>
        {
            await FakeEngine.WriteStreamAsync(context, "data: " + FakeEngine.Chunk("one ", role: "assistant") + "\n\n");
            await Task.Delay(100);
            await context.Response.WriteAsync(FakeEngine.Events(FakeEngine.Chunk("two"), FakeEngine.Chunk(null, "stop")), context.RequestAborted);
        };
        using var client = _engine.CreateClient(o => o.Timeout = TimeSpan.FromSeconds(1));

        var text = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(Question))
        {
            text.Append(update.Text);
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        Assert.Equal("one two", text.ToString());
    }

    [Fact]
    public async Task AnOversizedReply_IsRefused_NotBufferedWithoutEnd()
    {
        // A valid completion followed by more whitespace than any reply needs: JSON allows it, memory should not.
        _engine.Handler = async (context, _) =>
        {
            await FakeEngine.WriteCompletionAsync(context, "ok");
            var padding = new byte[1024 * 1024];
            padding.AsSpan().Fill((byte)' ');
            for (var written = 0L; written <= RemoteChatClient.MaxReplyBytes; written += padding.Length)
            {
                await context.Response.Body.WriteAsync(padding, context.RequestAborted);
            }
        };
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetResponseAsync(Question));

        Assert.Contains("larger than", ex.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ex.StatusCode);
    }

    [Fact]
    public async Task ADisposedClient_RefusesRequests()
    {
        var client = _engine.CreateClient();
        client.Dispose();
        client.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(Question));
    }
}
