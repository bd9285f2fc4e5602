// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Backends.Managed;
using Multimodal.Media.Images;
using Multimodal.Testing;

namespace Multimodal.Server.Tests;

/// <summary>The bundled tiny LLaVA model, built as the issue describes, and the sample files.</summary>
internal static class TestModels
{
    public static MultimodalModel CreateLlavaTiny() =>
        new MultimodalModelBuilder()
            .UseModelPath(RepositoryPaths.Combine("models", "llava-tiny"))
            .UseLlava()
            .UseBackend(new ManagedBackend())
            .UseImageDecoder(new ImageDecoder())
            .UsePdf()
            .UseVideo()
            .Build();

    public static string Sample(string name) => RepositoryPaths.Combine("samples", name);

    public static byte[] SampleBytes(string name) => File.ReadAllBytes(Sample(name));

    public static string DataUrl(string sample, string mediaType) => $"data:{mediaType};base64,{Convert.ToBase64String(SampleBytes(sample))}";
}

/// <summary>One loaded llava-tiny for every test class in the "llava" collection (loading is the slow part).</summary>
public sealed class LlavaFixture : IAsyncLifetime
{
    public MultimodalModel Model { get; } = TestModels.CreateLlavaTiny();

    public Task InitializeAsync() => Model.LoadAsync();

    public Task DisposeAsync()
    {
        Model.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The model's greedy answer in-process, through its IChatClient face (temperature 0).</summary>
    public async Task<ChatResponse> AskInProcessAsync(string prompt, params AIContent[] media)
    {
        var message = new ChatMessage(ChatRole.User, [.. media, new TextContent(prompt)]);
        return await Model.GetResponseAsync([message], new ChatOptions { Temperature = 0 });
    }
}

[CollectionDefinition("llava")]
public sealed class LlavaCollection : ICollectionFixture<LlavaFixture>
{
}

/// <summary>A chat client whose behaviour each test writes; it records what it was asked.</summary>
internal sealed class FakeChatClient : IChatClient
{
    private readonly Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> _respond;
    private int _calls;

    public FakeChatClient(Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> respond) => _respond = respond;

    public IList<ChatMessage>? LastMessages { get; private set; }

    public ChatOptions? LastOptions { get; private set; }

    public int Calls => Volatile.Read(ref _calls);

    public bool Disposed { get; private set; }

    /// <summary>Answers with fixed text pieces, a finish reason and usage.</summary>
    public static FakeChatClient Answering(string[] pieces, long promptTokens = 7, long completionTokens = 3, ChatFinishReason? finish = null) =>
        new((_, _, token) => Updates(pieces, promptTokens, completionTokens, finish ?? ChatFinishReason.Stop, token));

    public static async IAsyncEnumerable<ChatResponseUpdate> Updates(string[] pieces, long promptTokens, long completionTokens, ChatFinishReason finish, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        for (var i = 0; i < pieces.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var update = new ChatResponseUpdate(ChatRole.Assistant, pieces[i]) { ResponseId = "chatcmpl-fake", CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000) };
            if (i == pieces.Length - 1)
            {
                update.FinishReason = finish;
                update.Contents.Add(new UsageContent(new UsageDetails { InputTokenCount = promptTokens, OutputTokenCount = completionTokens, TotalTokenCount = promptTokens + completionTokens }));
            }

            yield return update;
        }
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        LastMessages = [.. messages];
        LastOptions = options;
        return _respond(LastMessages, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;
}

/// <summary>Raw HTTP helpers: the error tests need status codes and bodies exactly as sent.</summary>
internal static class Http
{
    public static HttpClient Client(MultimodalServer server) => new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    public static async Task<(HttpStatusCode Status, JsonDocument Body, HttpResponseMessage Response)> PostAsync(HttpClient client, string json, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await client.PostAsync("v1/chat/completions", content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument body;
        try
        {
            body = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"Status {(int)response.StatusCode}, body is not JSON: {text}\n{ex.Message}");
        }

        return (response.StatusCode, body, response);
    }

    /// <summary>Reads a server-sent event stream to its end: the data payloads, in order.</summary>
    public static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    events.Add(data.ToString());
                    data.Clear();
                }

                continue;
            }

            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            data.Append(line["data: ".Length..]);
        }

        Assert.True(data.Length == 0, "The stream ended inside an event.");
        return events;
    }

    public static async Task<HttpResponseMessage> PostStreamAsync(HttpClient client, string json, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>Asserts an OpenAI error body: {"error": {"message", "type", "param", "code"}}, with no stack trace.</summary>
    public static JsonElement AssertError(JsonDocument body, string? param = null, string? code = null)
    {
        var error = body.RootElement.GetProperty("error");
        var message = error.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p));
        Assert.True(error.TryGetProperty("code", out var c));
        if (param is not null)
        {
            Assert.Equal(param, p.GetString());
        }

        if (code is not null)
        {
            Assert.Equal(code, c.GetString());
        }

        return error;
    }

    public static string UserMessage(string model, string contentJson, string extra = "") =>
        $$"""{"model": "{{model}}", "messages": [{"role": "user", "content": {{contentJson}}}]{{extra}}}""";

    public static string ImagePart(string url) => """{"type": "image_url", "image_url": {"url": """ + JsonSerializer.Serialize(url) + "}}";

    public static string TextPart(string text) => $$"""{"type": "text", "text": {{JsonSerializer.Serialize(text)}}}""";

    public static MediaTypeHeaderValue Json { get; } = new("application/json");
}
