// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.Backends.OnnxRuntime.Native;
using Xunit.Abstractions;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Loading models/llava-tiny through <see cref="OnnxRuntimeBackend"/> and <see cref="MultimodalModel"/>, answering an
/// image request and disposing returns every live ONNX Runtime handle count to its baseline.</summary>
[Collection(OrtIsolatedCollection.Name)]
public sealed class OnnxRuntimeBackendHandleCountTests
{
    private const int Loads = 3;
    private readonly ITestOutputHelper _output;

    public OnnxRuntimeBackendHandleCountTests(ITestOutputHelper output)
    {
        _output = output;
        OrtTestEnvironment.EnsureConfigured();
    }

    [Fact]
    public async Task LoadRequestDispose_ReturnsEveryCountToTheBaseline()
    {
        // Arrange: a first round creates the process-wide environment and CPU memory info.
        await LoadRequestDisposeAsync(null);
        var baseline = OrtHandleSnapshot.Settled();

        // Act
        for (var i = 0; i < Loads; i++)
        {
            await LoadRequestDisposeAsync(baseline);
        }

        // Assert: disposing the model released everything, with no help from the finalizers.
        baseline.AssertSameAs($"after {Loads} loads, requests and disposals");
        baseline.AssertSameAs("after a full collection", OrtHandleSnapshot.Settled());
        Assert.Equal(1, OrtHandleCounts.Live<SafeOrtEnvHandle>());
        Assert.Equal(1, OrtHandleCounts.Live<SafeOrtMemoryInfoHandle>());
    }

    private async Task LoadRequestDisposeAsync(OrtHandleSnapshot? baseline)
    {
        using var model = LlavaTinyFixture.CreateModel(LlavaTinyFixture.CreateOnnxBackend());
        await model.LoadAsync();
        if (baseline is not null)
        {
            // The backend holds three sessions (vision encoder, token embedding, decoder) while the model is loaded.
            Assert.Equal(baseline.Of<SafeOrtSessionHandle>() + 3, OrtHandleCounts.Live<SafeOrtSessionHandle>());
        }

        using (var chat = model.CreateChatSession())
        {
            var message = new ChatMessage(ChatRole.User, [ImageContent.FromFile(LlavaTinyFixture.ScenePath(0)), new TextContent("How many shapes are there?")]);
            var reply = await chat.SendAsync(message, new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 8, NumBeams = 1 });
            Assert.NotEmpty(reply.TokenIds);
            _output.WriteLine($"reply '{reply.Text}'; live handles while the chat is open: {OrtHandleCounts.Total}");
        }
    }
}
