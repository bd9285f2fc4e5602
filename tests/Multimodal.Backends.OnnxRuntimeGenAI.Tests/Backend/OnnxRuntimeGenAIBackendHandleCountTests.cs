// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Xunit.Abstractions;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Loading models/llava-tiny through <see cref="OnnxRuntimeGenAIBackend"/> and <see cref="MultimodalModel"/>, answering
/// an image request and disposing returns every live GenAI and ONNX Runtime handle count to its baseline.</summary>
[Collection(GenAiCollection.Name)]
public sealed class OnnxRuntimeGenAIBackendHandleCountTests
{
    private const int Loads = 3;
    private readonly ITestOutputHelper _output;

    public OnnxRuntimeGenAIBackendHandleCountTests(ITestOutputHelper output)
    {
        _output = output;
        GenAiTestEnvironment.EnsureConfigured();
    }

    [Fact]
    public async Task LoadRequestDispose_ReturnsEveryCountToTheBaseline()
    {
        // Arrange: a first round loads both libraries and creates ONNX Runtime's process-wide environment and CPU memory info.
        await LoadRequestDisposeAsync(null, null);
        var (genai, ort) = Settled();

        // Act
        for (var i = 0; i < Loads; i++)
        {
            await LoadRequestDisposeAsync(genai, ort);
        }

        // Assert: disposing the model released everything, with no help from the finalizers.
        genai.AssertSameAs($"after {Loads} loads, requests and disposals");
        AssertSame(ort, OrtHandleCounts.Snapshot(), $"after {Loads} loads, requests and disposals");
        var (genaiAfter, ortAfter) = Settled();
        genai.AssertSameAs("after a full collection", genaiAfter);
        AssertSame(ort, ortAfter, "after a full collection");
    }

    private async Task LoadRequestDisposeAsync(GenAiHandleSnapshot? genai, IReadOnlyDictionary<Type, long>? ort)
    {
        using var model = LlavaTinyGenAIFixture.CreateModel(LlavaTinyGenAIFixture.CreateGenAIBackend());
        await model.LoadAsync();
        if (genai is not null && ort is not null)
        {
            // Loaded: one GenAI model for the decoder, one ONNX Runtime session for the vision encoder.
            Assert.Equal(genai.Of<SafeGenAiModelHandle>() + 1, GenAiHandleCounts.Live<SafeGenAiModelHandle>());
            Assert.Equal(ort.GetValueOrDefault(typeof(SafeOrtSessionHandle)) + 1, OrtHandleCounts.Live<SafeOrtSessionHandle>());
        }

        using (var chat = model.CreateChatSession())
        {
            var message = new ChatMessage(ChatRole.User, [ImageContent.FromFile(LlavaTinyGenAIFixture.ScenePath(0)), new TextContent("How many shapes are there?")]);
            var reply = await chat.SendAsync(message, new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 8, NumBeams = 1 });
            Assert.NotEmpty(reply.TokenIds);
            _output.WriteLine($"reply '{reply.Text}'; live GenAI handles while the chat is open: {GenAiHandleCounts.Total}, ONNX Runtime: {OrtHandleCounts.Total}");
        }
    }

    private static (GenAiHandleSnapshot GenAI, IReadOnlyDictionary<Type, long> Ort) Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (GenAiHandleSnapshot.Now(), OrtHandleCounts.Snapshot());
    }

    private static void AssertSame(IReadOnlyDictionary<Type, long> baseline, IReadOnlyDictionary<Type, long> now, string when)
    {
        var changed = baseline.Keys.Union(now.Keys)
            .Where(type => baseline.GetValueOrDefault(type) != now.GetValueOrDefault(type))
            .Select(type => $"{type.Name}: {baseline.GetValueOrDefault(type)} -> {now.GetValueOrDefault(type)}")
            .ToArray();
        Assert.True(changed.Length == 0, $"Live ONNX Runtime handle counts {when} differ from the baseline: {string.Join("; ", changed)}.");
    }
}
