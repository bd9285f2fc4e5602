// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Xunit.Abstractions;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>A three-turn chat (image, text, a second image) through the whole pipeline on GenAI gives the managed backend's
/// replies: turn 2 extends the live generator or re-prefills after a truncation, turn 3 rebuilds it with both images.</summary>
[Collection(GenAiCollection.Name)]
public sealed class OnnxRuntimeGenAIChatTests(LlavaTinyGenAIFixture fixture, ITestOutputHelper output) : IClassFixture<LlavaTinyGenAIFixture>
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 5)]
    public async Task ThreeTurnChat_RepliesMatchTheManagedBackend(int firstScene, int secondScene)
    {
        // Arrange
        var options = new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 64, NumBeams = 1 };
        ChatMessage[] turns =
        [
            new(ChatRole.User, [ImageContent.FromFile(LlavaTinyGenAIFixture.ScenePath(firstScene)), new TextContent("How many shapes are there?")]),
            new(ChatRole.User, "Describe the image."),
            new(ChatRole.User, [ImageContent.FromFile(LlavaTinyGenAIFixture.ScenePath(secondScene)), new TextContent("What colour is the square?")]),
        ];
        using var expected = fixture.Managed.CreateChatSession();
        using var actual = fixture.GenAI.CreateChatSession();

        for (var t = 0; t < turns.Length; t++)
        {
            // Act
            var reference = await expected.SendAsync(turns[t], options);
            var reply = await actual.SendAsync(turns[t], options);

            // Assert
            output.WriteLine($"turn {t + 1}: '{reply.Text}' (reused {actual.LastTurn!.ReusedTokens}, prefilled {actual.LastTurn.PrefilledTokens})");
            Assert.NotEmpty(reply.TokenIds);
            Assert.Equal(reference.TokenIds, reply.TokenIds);
            Assert.Equal(expected.LastTurn, actual.LastTurn);
            Assert.Equal(expected.CachedTokens, actual.CachedTokens);
        }
    }
}
