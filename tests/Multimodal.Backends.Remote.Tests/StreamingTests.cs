// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Multimodal.Backends.Remote;

/// <summary>Streams: text deltas, ids, finish reasons and usage, read correctly however the bytes arrive.</summary>
public sealed class StreamingTests : IAsyncLifetime
{
    private static readonly ChatMessage[] Question = [new ChatMessage(ChatRole.User, "What shape is in the image?")];
    private FakeEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await FakeEngine.StartAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task AStreamFlushedByteByByte_GivesTheTextUsageAndIds()
    {
        // Arrange: CRLF line endings, a keep-alive comment and multi-byte characters, every byte its own flush.
        var raw = ": ping\r\n\r\n" + FakeEngine.Events(
            FakeEngine.Chunk(string.Empty, role: "assistant"),
            FakeEngine.Chunk("A red "),
            FakeEngine.Chunk("circle ✓."),
            FakeEngine.Chunk(null, "stop"),
            FakeEngine.UsageChunk(612, 5)).Replace("\n", "\r\n", StringComparison.Ordinal);
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, raw, bytesPerFlush: 1);
        using var client = _engine.CreateClient();

        // Act
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Question))
        {
            updates.Add(update);
        }

        // Assert
        Assert.Equal("A red circle ✓.", string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates, u => Assert.Equal("chatcmpl-7", u.ResponseId));
        Assert.All(updates, u => Assert.Equal("served-model", u.ModelId));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.All(updates, u => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), u.CreatedAt));
        Assert.Equal(ChatFinishReason.Stop, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates.SelectMany(u => u.Contents), c => c is UsageContent));
        Assert.Equal((612L, 5L, 617L), (usage.Details.InputTokenCount, usage.Details.OutputTokenCount, usage.Details.TotalTokenCount));
        Assert.Same(usage, updates[^1].Contents.Single());
    }

    [Fact]
    public async Task Updates_AggregateIntoAChatResponse()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, FakeEngine.Events(
            FakeEngine.Chunk("Three", role: "assistant"), FakeEngine.Chunk(" shapes."), FakeEngine.Chunk(null, "length"), FakeEngine.UsageChunk(40, 2)), bytesPerFlush: 7);
        using var client = _engine.CreateClient();

        var response = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();

        Assert.Equal("Three shapes.", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(42, response.Usage!.TotalTokenCount);
        Assert.Equal("chatcmpl-7", response.ResponseId);
    }

    [Theory]
    [InlineData("stop", "stop")]
    [InlineData("length", "length")]
    [InlineData("content_filter", "content_filter")]
    [InlineData("tool_calls", "tool_calls")]
    [InlineData("abort", "abort")]
    public async Task FinishReasons_MapToChatFinishReason(string wire, string expected)
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, FakeEngine.Events(FakeEngine.Chunk("x", wire)));
        using var client = _engine.CreateClient();

        var response = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();

        Assert.Equal(new ChatFinishReason(expected), response.FinishReason);
    }

    [Fact]
    public async Task UsageSentBesideTheLastChoice_IsReportedOnce()
    {
        // llama-server's shape: usage on the chunk with the finish reason, no usage-only chunk.
        var last = FakeEngine.Chunk(null, "stop").TrimEnd('}') + ""","usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}""";
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, FakeEngine.Events(FakeEngine.Chunk("hi", role: "assistant"), last));
        using var client = _engine.CreateClient();

        var response = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();

        Assert.Equal(9, response.Usage!.TotalTokenCount);
        Assert.Equal("hi", response.Text);
    }

    [Fact]
    public async Task AnErrorEventMidStream_Throws_WithTheEnginesDetails()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(
            context,
            "data: " + FakeEngine.Chunk("Partial", role: "assistant") + "\n\n" +
            "data: {\"error\": {\"message\": \"CUDA out of memory\", \"type\": \"InternalServerError\", \"code\": 500}}\n\n");
        using var client = _engine.CreateClient();
        var texts = new List<string>();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Question))
            {
                texts.Add(update.Text);
            }
        });

        Assert.Equal(["Partial"], texts);
        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Equal("CUDA out of memory", ex.ServerMessage);
        Assert.Equal("InternalServerError", ex.ErrorType);
        Assert.Equal("500", ex.ErrorCode);
        Assert.Contains("middle of the stream", ex.Message, StringComparison.Ordinal);
        Assert.Single(_engine.Requests);   // a started stream is never retried
    }

    [Fact]
    public async Task AStreamThatStopsWithoutFinishing_Throws()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, "data: " + FakeEngine.Chunk("Half a sen", role: "assistant") + "\n\n");
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetStreamingResponseAsync(Question).ToChatResponseAsync());

        Assert.Contains("ended before the reply was complete", ex.Message, StringComparison.Ordinal);
        Assert.Single(_engine.Requests);
    }

    [Fact]
    public async Task AConnectionCutMidStream_IsARemoteEngineException_AndIsNotRetried()
    {
        _engine.Handler = async (context, _) =>
        {
            await FakeEngine.WriteStreamAsync(context, "data: " + FakeEngine.Chunk("Hel", role: "assistant") + "\n\n");
            await Task.Delay(300);
            context.Abort();
        };
        using var client = _engine.CreateClient();

        await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetStreamingResponseAsync(Question).ToChatResponseAsync());

        Assert.Single(_engine.Requests);
    }

    [Fact]
    public async Task ANonJsonEvent_IsARemoteEngineException()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, "data: <html>oops</html>\n\n");
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<RemoteEngineException>(() => client.GetStreamingResponseAsync(Question).ToChatResponseAsync());

        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReasoningDeltas_BecomeTextReasoningContent()
    {
        var thinking = """{"id":"r","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"Count them."},"finish_reason":null}]}""";
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, FakeEngine.Events(thinking, FakeEngine.Chunk("3", "stop")));
        using var client = _engine.CreateClient();

        var response = await client.GetStreamingResponseAsync(Question).ToChatResponseAsync();

        Assert.Equal("3", response.Text);
        Assert.Equal("Count them.", Assert.IsType<TextReasoningContent>(response.Messages.SelectMany(m => m.Contents).First()).Text);
    }

    [Fact]
    public async Task GetService_ReturnsMetadataAndTheClient()
    {
        using var client = _engine.CreateClient();

        var metadata = client.GetService<ChatClientMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal("openai-compatible", metadata.ProviderName);
        Assert.Equal(new Uri(_engine.Endpoint + "/"), metadata.ProviderUri);
        Assert.Equal("test-model", metadata.DefaultModelId);
        Assert.Same(client, client.GetService<RemoteChatClient>());
        Assert.Same(client, client.GetService<IChatClient>());
        Assert.Null(client.GetService<RemoteChatClient>("key"));
        Assert.Null(client.GetService(typeof(HttpContext)));
    }
}
