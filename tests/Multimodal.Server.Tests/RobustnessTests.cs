// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Server.Internal;

namespace Multimodal.Server.Tests;

/// <summary>Requests that break at the transport level, and a server that stops while requests wait for a slot.</summary>
public sealed class RobustnessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MalformedChunkedBody_Is400InTheOpenAIFormat_NotA500()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("ok", FakeChatClient.Answering(["ok"])));

        // "zz" is not a chunk size: Kestrel fails the body read with a BadHttpRequestException (400).
        var (status, body) = await RawPostAsync(server, "Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n");

        Assert.Equal(400, status);
        using var document = JsonDocument.Parse(body);
        var error = Http.AssertError(document, code: "invalid_body");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public void BodyBuffer_IsNotSizedByADeclaredContentLengthAlone()
    {
        // A client that declares a large body and sends nothing must not make the server reserve that much memory at once.
        Assert.True(RequestBody.InitialBufferLength(64L * 1024 * 1024, 64L * 1024 * 1024) <= RequestBody.MaxInitialBufferBytes);
        Assert.True(RequestBody.InitialBufferLength(1L << 30, 1L << 30) <= RequestBody.MaxInitialBufferBytes);

        // Small declared bodies still get one exact buffer (plus the byte that detects a body longer than declared).
        Assert.Equal(1001, RequestBody.InitialBufferLength(1000, 64L * 1024 * 1024));
        Assert.Equal(16 * 1024, RequestBody.InitialBufferLength(null, 64L * 1024 * 1024));
    }

    [Fact]
    public async Task LargeBody_LargerThanTheFirstBuffer_IsReadWhole()
    {
        var fake = FakeChatClient.Answering(["ok"]);
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("fake", fake));
        using var http = Http.Client(server);
        var text = new string('a', (int)RequestBody.MaxInitialBufferBytes * 3) + "z";

        var (status, _, _) = await Http.PostAsync(http, Http.UserMessage("fake", JsonSerializer.Serialize(text)));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(text, fake.LastMessages![0].Text);
    }

    [Fact]
    public async Task StoppingTheServer_AnswersQueuedRequestsWith503_WithoutWaitingForASlot()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A client that does not react to cancellation: its slot stays taken until the test releases it.
        async IAsyncEnumerable<ChatResponseUpdate> Stubborn()
        {
            started.TrySetResult();
            await release.Task;
            yield return new ChatResponseUpdate(ChatRole.Assistant, "late") { FinishReason = ChatFinishReason.Stop };
        }

        var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("stubborn", new FakeChatClient((_, _, _) => Stubborn()))
            .Configure(o =>
            {
                o.MaxConcurrentRequestsPerModel = 1;
                o.MaxQueuedRequestsPerModel = 4;
            }));
        Task? stopping = null;
        try
        {
            using var http = Http.Client(server);
            var running = Http.PostAsync(http, Http.UserMessage("stubborn", "\"Hi\""));
            await started.Task.WaitAsync(Patience);
            var queued = Http.PostAsync(http, Http.UserMessage("stubborn", "\"Hi\""));
            await WaitForQueuedAsync(http, 1);

            stopping = server.StopAsync();

            var (status, body, _) = await queued.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Http.AssertError(body, code: "server_shutting_down");

            // The generation that ignored the stop still finishes, and its complete answer is sent as it is.
            release.TrySetResult();
            var (runningStatus, runningBody, _) = await running.WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.OK, runningStatus);
            Assert.Equal("late", runningBody.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }
        finally
        {
            release.TrySetResult();
            if (stopping is not null)
            {
                await stopping.WaitAsync(Patience);
            }

            await server.DisposeAsync();
        }
    }

    private static async Task WaitForQueuedAsync(HttpClient http, int queued)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var health = JsonDocument.Parse(await http.GetStringAsync("health"));
            if (health.RootElement.GetProperty("models")[0].GetProperty("queued").GetInt32() == queued)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The request never joined the queue.");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends a hand-written HTTP/1.1 request and reads the response until the server closes the connection.</summary>
    private static async Task<(int Status, string Body)> RawPostAsync(MultimodalServer server, string headers, string body)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}\r\n{body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(Patience);
        var statusLine = response[..response.IndexOf('\r', StringComparison.Ordinal)];
        var status = int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var content = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        if (response.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            content = Dechunk(content);
        }

        return (status, content);
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
