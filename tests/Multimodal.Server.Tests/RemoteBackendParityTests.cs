// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Backends.Remote;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Server.Tests;

/// <summary>The acceptance for the remote backend: <see cref="RemoteChatClient"/> against our own server gives the
/// in-process model's greedy output, on the held-out prompts of the bundled tiny LLaVA (tests/data/eval/llava).</summary>
[Collection("llava")]
public sealed class RemoteBackendParityTests(LlavaFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task RemoteClientAgainstOurServerMatchesTheInProcessModelOnHeldOutPrompts()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(fixture.Model));
        using var remote = new RemoteChatClient(new RemoteChatClientOptions { Endpoint = new Uri(server.BaseAddress, "v1"), Model = fixture.Model.ModelId });

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(RepositoryPaths.Combine("tests", "data", "eval", "llava", "goldens.json")));
        var scene = doc.RootElement.GetProperty("scene_size").GetInt32();
        var items = doc.RootElement.GetProperty("items").EnumerateArray().Take(48).ToList();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 64 };
        var compared = 0;
        foreach (var item in items)
        {
            var index = item.GetProperty("index").GetInt32();
            var path = RepositoryPaths.Combine("tests", "data", "eval", $"scenes-{scene}", $"scene-{index:000}.png");
            var question = item.GetProperty("question").GetString()!;
            ChatMessage[] messages = [new(ChatRole.User, [new DataContent(await File.ReadAllBytesAsync(path), "image/png"), new TextContent(question)])];

            var local = await fixture.Model.GenerateAsync(messages, new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 64 });

            // Streamed through the remote client: the text pieces, the finish reason and the usage all come over SSE.
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in remote.GetStreamingResponseAsync(messages, options))
            {
                updates.Add(update);
            }

            var streamed = updates.ToChatResponse();
            Assert.Equal(local.Text, streamed.Text);
            Assert.Equal(local.Usage.CompletionTokens, (int)streamed.Usage!.OutputTokenCount!.Value);
            Assert.Equal(local.Usage.PromptTokens, (int)streamed.Usage.InputTokenCount!.Value);
            Assert.Equal(local.FinishReason is GenerationFinishReason.MaxTokens ? ChatFinishReason.Length : ChatFinishReason.Stop, streamed.FinishReason);

            // And once without streaming.
            var whole = await remote.GetResponseAsync(messages, options);
            Assert.Equal(local.Text, whole.Text);
            compared++;
        }

        output.WriteLine($"remote client vs in-process: identical text, completion and prompt token counts on {compared} of {items.Count} held-out prompts");
        Assert.Equal(48, compared);
    }

    [Fact]
    public async Task ApplicationCodeSwitchesFromInProcessToRemoteWithOneRegistration()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(fixture.Model));
        var image = new DataContent(TestModels.SampleBytes("red-circle.png"), "image/png");

        // The application code: it only knows IChatClient.
        static async Task<string> AskAsync(IServiceProvider services, DataContent image)
        {
            var chat = services.GetRequiredService<IChatClient>();
            var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, [image, new TextContent("What shape is in the image?")])], new ChatOptions { Temperature = 0 });
            return response.Text;
        }

        var inProcess = new ServiceCollection();
        inProcess.AddSingleton<IChatClient>(fixture.Model);
        await using var local = inProcess.BuildServiceProvider();

        var remote = new ServiceCollection();
        remote.AddRemoteChatClient(new Uri(server.BaseAddress, "v1"), fixture.Model.ModelId);
        await using var far = remote.BuildServiceProvider();

        Assert.Equal("A circle.", await AskAsync(local, image));
        Assert.Equal("A circle.", await AskAsync(far, image));
    }
}
