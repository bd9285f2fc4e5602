// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Multimodal.Backends.Remote;

namespace Multimodal.Server.Tests;

/// <summary>The server fronting an upstream engine through <see cref="RemoteChatClient"/> (here another of our servers):
/// the engine's client errors keep their status and code, an engine that is unreachable is 502, one that is too slow
/// is 504, and successful answers pass through unchanged.</summary>
public sealed class UpstreamErrorTests : IAsyncLifetime
{
    private MultimodalServer _upstream = null!;
    private MultimodalServer _front = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _upstream = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("ok", FakeChatClient.Answering(["Hel", "lo."]))
            .AddModel("too-long", new FakeChatClient((_, _, token) => Failing(new ContextLengthExceededException(5000, 1024, 64), token)))
            .AddModel("slow", new FakeChatClient((_, _, token) => Slow(token))));

        var upstream = new Uri(_upstream.BaseAddress, "v1");
        int closedPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        _front = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("ok", _ => Remote(upstream, "ok"))
            .AddModel("too-long", _ => Remote(upstream, "too-long"))
            .AddModel("slow", _ => Remote(upstream, "slow", TimeSpan.FromMilliseconds(300)))
            .AddModel("unknown-upstream", _ => Remote(upstream, "no-such-model"))
            .AddModel("down", _ => Remote(new Uri($"http://127.0.0.1:{closedPort}/v1"), "ok")));
        _http = Http.Client(_front);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _front.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static RemoteChatClient Remote(Uri endpoint, string model, TimeSpan? timeout = null) =>
        new(new RemoteChatClientOptions { Endpoint = endpoint, Model = model, MaxRetries = 0, Timeout = timeout ?? TimeSpan.FromSeconds(30) });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnswersPassThrough(bool stream)
    {
        var json = Http.UserMessage("ok", "\"Hi\"", stream ? """, "stream": true""" : string.Empty);
        if (stream)
        {
            using var response = await Http.PostStreamAsync(_http, json);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("\"Hel\"", text, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        }
        else
        {
            var (status, body, response) = await Http.PostAsync(_http, json);
            using (body)
            using (response)
            {
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal("Hello.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }
        }
    }

    [Theory]
    [InlineData("too-long", 400, "context_length_exceeded")]
    [InlineData("unknown-upstream", 404, "model_not_found")]
    [InlineData("down", 502, "upstream_error")]
    [InlineData("slow", 504, "upstream_timeout")]
    public async Task UpstreamFailuresKeepTheirMeaning(string model, int expectedStatus, string expectedCode)
    {
        var (status, body, response) = await Http.PostAsync(_http, Http.UserMessage(model, "\"Hi\""));
        using (body)
        using (response)
        {
            Assert.Equal(expectedStatus, (int)status);
            Http.AssertError(body, code: expectedCode);
        }
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Failing(Exception exception, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        throw exception;
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Slow([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(20), cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, "late");
    }
}
