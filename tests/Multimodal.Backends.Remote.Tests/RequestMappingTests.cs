// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Multimodal.Backends.Remote;

/// <summary>How messages and <see cref="ChatOptions"/> become the request body the engine receives.</summary>
public sealed class RequestMappingTests : IAsyncLifetime
{
    private FakeEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await FakeEngine.StartAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task EveryChatOption_MapsToItsOpenAIField()
    {
        // Arrange
        using var client = _engine.CreateClient();
        var options = new ChatOptions
        {
            MaxOutputTokens = 128,
            Temperature = 0.7f,
            TopP = 0.8f,
            TopK = 100,
            Seed = 1234,
            StopSequences = ["</s>", "<|im_end|>"],
            FrequencyPenalty = 0.25f,
            PresencePenalty = 0.5f,
            ModelId = "override-model",
            AdditionalProperties = new()
            {
                ["repetition_penalty"] = 1.05,
                ["min_p"] = 0.1f,
                ["token_kept_ratio"] = 0.2,
                ["mm_processor_kwargs"] = new Dictionary<string, object?> { ["max_slice_nums"] = 9, ["never_split"] = false },
                ["skip_special_tokens"] = JsonDocument.Parse("false").RootElement,
            },
        };

        // Act
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], options);

        // Assert
        var body = _engine.Single.Body;
        Assert.Equal("override-model", body.GetProperty("model").GetString());
        Assert.Equal(128, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.7, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.8, body.GetProperty("top_p").GetDouble());
        Assert.Equal(100, body.GetProperty("top_k").GetInt32());
        Assert.Equal(1234, body.GetProperty("seed").GetInt64());
        Assert.Equal(["</s>", "<|im_end|>"], body.GetProperty("stop").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0.25, body.GetProperty("frequency_penalty").GetDouble());
        Assert.Equal(0.5, body.GetProperty("presence_penalty").GetDouble());
        Assert.Equal(1.05, body.GetProperty("repetition_penalty").GetDouble());
        Assert.Equal(0.1, body.GetProperty("min_p").GetDouble());
        Assert.Equal(0.2, body.GetProperty("token_kept_ratio").GetDouble());
        Assert.Equal(9, body.GetProperty("mm_processor_kwargs").GetProperty("max_slice_nums").GetInt32());
        Assert.False(body.GetProperty("mm_processor_kwargs").GetProperty("never_split").GetBoolean());
        Assert.False(body.GetProperty("skip_special_tokens").GetBoolean());
        Assert.False(body.GetProperty("stream").GetBoolean());
        Assert.False(body.TryGetProperty("stream_options", out _));
    }

    [Fact]
    public async Task UnsetOptions_AreLeftOut_AndTheModelIsTheClients()
    {
        using var client = _engine.CreateClient();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")]);

        var body = _engine.Single.Body;
        Assert.Equal(["model", "messages", "stream"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("test-model", body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Instructions_BecomeALeadingSystemMessage_AndTextOnlyContentIsAString()
    {
        using var client = _engine.CreateClient();

        await client.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, "Be brief."),
                new ChatMessage(ChatRole.User, "What is 2+2?") { AuthorName = "ana" },
                new ChatMessage(ChatRole.Assistant, "4"),
                new ChatMessage(ChatRole.User, [new TextContent("And 3+3"), new TextContent("?")]),
            ],
            new ChatOptions { Instructions = "You are a calculator." });

        var messages = _engine.Single.Body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["system", "system", "user", "assistant", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(["You are a calculator.", "Be brief.", "What is 2+2?", "4", "And 3+3?"], messages.Select(m => m.GetProperty("content").GetString()));
        Assert.Equal("ana", messages[2].GetProperty("name").GetString());
    }

    [Fact]
    public async Task ExtraBody_IsSent_AndAdditionalPropertiesWinOverIt_AndOverDerivedFields()
    {
        using var client = _engine.CreateClient(o =>
        {
            o.ExtraBody["repetition_penalty"] = 1.1;
            o.ExtraBody["chat_template_kwargs"] = JsonNode.Parse("""{"enable_thinking": false}""");
            o.ExtraBody["max_tokens"] = 10;
        });

        await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Hi")],
            new ChatOptions { MaxOutputTokens = 99, AdditionalProperties = new() { ["repetition_penalty"] = 1.3 } });

        var body = _engine.Single.Body;
        Assert.Equal(1.3, body.GetProperty("repetition_penalty").GetDouble());
        Assert.False(body.GetProperty("chat_template_kwargs").GetProperty("enable_thinking").GetBoolean());
        Assert.Equal(10, body.GetProperty("max_tokens").GetInt32());
        Assert.Single(body.EnumerateObject(), p => p.Name == "max_tokens");
    }

    [Fact]
    public async Task Streaming_AsksForAStream_WithUsage()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteStreamAsync(context, FakeEngine.Events(FakeEngine.Chunk("ok", "stop", "assistant")));
        using var client = _engine.CreateClient();

        await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")]).ToChatResponseAsync();

        var request = _engine.Single;
        Assert.True(request.Body.GetProperty("stream").GetBoolean());
        Assert.True(request.Body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("text/event-stream", request.Accept);
    }

    [Fact]
    public async Task ApiKey_IsSentAsABearerToken()
    {
        using var client = _engine.CreateClient(o => o.ApiKey = "sk-local");

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")]);

        Assert.Equal("Bearer sk-local", _engine.Single.Authorization);
    }

    [Fact]
    public async Task JsonResponseFormats_MapToResponseFormat()
    {
        using var client = _engine.CreateClient();
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"shape":{"type":"string"}}}""").RootElement;

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.Json });
        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "scene") });

        var bodies = _engine.Requests.Select(r => r.Body).ToList();
        Assert.Equal("json_object", bodies[0].GetProperty("response_format").GetProperty("type").GetString());
        var format = bodies[1].GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("scene", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("string", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("shape").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ReservedFields_InAdditionalProperties_AreRefused_BeforeSending()
    {
        using var client = _engine.CreateClient();

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { AdditionalProperties = new() { ["messages"] = "x" } }));

        Assert.Contains("'messages'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_engine.Requests);
    }

    [Fact]
    public async Task NonStreamingResponse_CarriesTextIdsModelFinishReasonAndUsage()
    {
        _engine.Handler = (context, _) => FakeEngine.WriteCompletionAsync(context, "A red circle.", "length", promptTokens: 600, completionTokens: 4);
        using var client = _engine.CreateClient();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")]);

        Assert.Equal("A red circle.", response.Text);
        Assert.Equal("chatcmpl-42", response.ResponseId);
        Assert.Equal("served-model", response.ModelId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), response.CreatedAt);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, Assert.Single(response.Messages).Role);
        Assert.Equal(600, response.Usage!.InputTokenCount);
        Assert.Equal(4, response.Usage.OutputTokenCount);
        Assert.Equal(604, response.Usage.TotalTokenCount);
    }
}
