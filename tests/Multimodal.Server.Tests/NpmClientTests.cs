// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Xunit.Abstractions;

namespace Multimodal.Server.Tests;

/// <summary>The official OpenAI Node.js client (npm <c>openai</c>, tests/browser/openai-client.mjs) against a real server on
/// the bundled llava-tiny, compared with the model in-process.</summary>
[Collection("llava")]
public sealed class NpmClientTests(LlavaFixture llava, ITestOutputHelper output) : IAsyncLifetime
{
    private const string ShapeQuestion = "What shape is in the image?";

    private MultimodalServer _server = null!;

    public async Task InitializeAsync() => _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(llava.Model));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task OpenAINode_StreamedImageQuestion_AnswersAsTheModelDoesInProcess()
    {
        NodeScripts.Require(browserPath: null, "openai");
        var inProcess = await llava.AskInProcessAsync(ShapeQuestion, ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png"));
        Assert.Equal("A circle.", inProcess.Text);

        using var result = await NodeScripts.RunAsync(
            "openai-client.mjs",
            [_server.BaseAddress.ToString(), TestModels.Sample("red-circle.png"), ShapeQuestion],
            TimeSpan.FromMinutes(2),
            output);
        var root = result.RootElement;

        Assert.Equal(inProcess.Text, root.GetProperty("text").GetString());
        Assert.Equal("llava-tiny", root.GetProperty("model").GetString());
        Assert.Equal("stop", root.GetProperty("finishReason").GetString());
        Assert.True(root.GetProperty("contentChunks").GetInt32() >= 1);
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("completion_tokens").GetInt32() > 0, $"No completion tokens in the usage chunk: {usage}");
    }
}
