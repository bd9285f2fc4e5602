// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Server.Tests;

/// <summary>The bounded queue: N generating, M waiting, 429 with Retry-After beyond; a client that leaves cancels its generation and frees its place.</summary>
public sealed class CapacityTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly SlowModel _slow = new();
    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("slow", _slow.Client)
            .Configure(o =>
            {
                o.MaxConcurrentRequestsPerModel = 1;
                o.MaxQueuedRequestsPerModel = 1;
                o.RetryAfter = TimeSpan.FromSeconds(2.5);
            }));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _slow.ReleaseAll();
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static string Request(bool stream = false) => Http.UserMessage("slow", "\"Hi\"", stream ? """, "stream": true""" : string.Empty);

    [Fact]
    public async Task ThirdConcurrentRequest_Gets429WithRetryAfter_AndTheOthersComplete()
    {
        var first = Http.PostAsync(_http, Request());
        await _slow.WaitForRunningAsync(1);
        var second = Http.PostAsync(_http, Request());
        await WaitForHealthAsync(active: 1, queued: 1);

        var (status, body, response) = await Http.PostAsync(_http, Request());
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("3", response.Headers.GetValues("Retry-After").Single());
        var error = Http.AssertError(body, code: "rate_limit_exceeded");
        Assert.Contains("slow", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, _slow.Started);

        _slow.ReleaseAll();
        var results = await Task.WhenAll(first, second);
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(results, r => Assert.Equal("done", r.Body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal(2, _slow.Started);
        await WaitForHealthAsync(active: 0, queued: 0);
    }

    [Fact]
    public async Task ClientDisconnect_WhileGenerating_CancelsTheModelsToken_AndFreesTheSlot()
    {
        using var leave = new CancellationTokenSource();
        var abandoned = Http.PostAsync(_http, Request(), leave.Token);
        await _slow.WaitForRunningAsync(1);

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await _slow.Cancelled.Task.WaitAsync(Patience);
        await WaitForHealthAsync(active: 0, queued: 0);

        // The slot is free again.
        _slow.ReleaseAll();
        var (status, _, _) = await Http.PostAsync(_http, Request());
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task ClientDisconnect_MidStream_CancelsTheModelsToken()
    {
        _slow.FirstChunkBeforeWaiting = true;
        using var response = await Http.PostStreamAsync(_http, Request(stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        Assert.True(await stream.ReadAsync(buffer) > 0);

        // Leaving mid-stream: dispose the response, which closes the connection.
        response.Dispose();
        await _slow.Cancelled.Task.WaitAsync(Patience);
        await WaitForHealthAsync(active: 0, queued: 0);
    }

    [Fact]
    public async Task ClientDisconnect_WhileQueued_FreesItsPlaceInTheQueue()
    {
        var first = Http.PostAsync(_http, Request());
        await _slow.WaitForRunningAsync(1);
        using var leave = new CancellationTokenSource();
        var queued = Http.PostAsync(_http, Request(), leave.Token);
        await WaitForHealthAsync(active: 1, queued: 1);

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await WaitForHealthAsync(active: 1, queued: 0);

        // Its place is free: another request queues instead of getting 429.
        var next = Http.PostAsync(_http, Request());
        await WaitForHealthAsync(active: 1, queued: 1);
        _slow.ReleaseAll();
        Assert.Equal(HttpStatusCode.OK, (await first).Status);
        Assert.Equal(HttpStatusCode.OK, (await next).Status);
        Assert.Equal(2, _slow.Started);
    }

    [Fact]
    public async Task MultimodalModel_NeverGetsMoreSlotsThanItsOwnLimit()
    {
        using var model = TestModels.CreateLlavaTiny();
        Assert.Equal(1, model.Options.MaxConcurrentRequests);
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel(model)
            .AddModel("remote", _slow.Client)
            .Configure(o => o.MaxConcurrentRequestsPerModel = 4));
        using var http = Http.Client(server);
        using var health = JsonDocument.Parse(await http.GetStringAsync("health"));
        var models = health.RootElement.GetProperty("models");
        Assert.Equal("llava-tiny", models[0].GetProperty("id").GetString());
        Assert.Equal(1, models[0].GetProperty("max_concurrent_requests").GetInt32());
        Assert.False(models[0].GetProperty("loaded").GetBoolean());
        Assert.Equal(4, models[1].GetProperty("max_concurrent_requests").GetInt32());
        Assert.False(models[1].TryGetProperty("loaded", out _));

        using var wide = new MultimodalModelBuilder()
            .UseModelPath(Multimodal.Testing.RepositoryPaths.Combine("models", "llava-tiny"))
            .UseModelId("wide")
            .ConfigureOptions(o => o.MaxConcurrentRequests = 8)
            .Build();
        await using var defaults = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(wide).AddModel("remote", _slow.Client));
        using var http2 = Http.Client(defaults);
        using var health2 = JsonDocument.Parse(await http2.GetStringAsync("health"));
        Assert.Equal(8, health2.RootElement.GetProperty("models")[0].GetProperty("max_concurrent_requests").GetInt32());
        Assert.Equal(4, health2.RootElement.GetProperty("models")[1].GetProperty("max_concurrent_requests").GetInt32());
    }

    private async Task WaitForHealthAsync(int active, int queued)
    {
        var deadline = DateTime.UtcNow + Patience;
        string last;
        do
        {
            last = await _http.GetStringAsync("health");
            using var doc = JsonDocument.Parse(last);
            var model = doc.RootElement.GetProperty("models")[0];
            if (model.GetProperty("active").GetInt32() == active && model.GetProperty("queued").GetInt32() == queued)
            {
                return;
            }

            await Task.Delay(20);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"Expected {active} active and {queued} queued; /health says {last}");
    }

    /// <summary>A model that generates until the test releases it, and reports cancellation.</summary>
    private sealed class SlowModel
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public SlowModel() => Client = new FakeChatClient((_, _, token) => RunAsync(token));

        public FakeChatClient Client { get; }

        public bool FirstChunkBeforeWaiting { get; set; }

        public int Started => Volatile.Read(ref _started);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseAll() => _release.TrySetResult();

        public async Task WaitForRunningAsync(int count)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (Started < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{count} generation(s) did not start.");
                await Task.Delay(10);
            }
        }

        private async IAsyncEnumerable<ChatResponseUpdate> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            if (FirstChunkBeforeWaiting)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, "thinking");
            }

            try
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, "done") { FinishReason = ChatFinishReason.Stop };
        }
    }
}
