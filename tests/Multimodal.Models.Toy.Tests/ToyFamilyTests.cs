// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Multimodal.Models.Toy.Tests;

/// <summary>A family written outside the repository's packages runs through every public extension point: family
/// detection, builder, DI, IChatClient, streaming and the chat session's KV-cache reuse.</summary>
public sealed class ToyFamilyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mm-toy-").FullName;

    public ToyFamilyTests() => File.WriteAllText(Path.Combine(_folder, "config.json"), $$"""{"model_type": "{{ToyFamily.ModelType}}"}""");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static ImageContent Solid(byte r, byte g, byte b)
    {
        var pixels = new byte[8 * 8 * 3];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        }

        return ImageContent.FromPixels(new ImageFrame(8, 8, ImagePixelFormat.Rgb24, pixels));
    }

    private MultimodalModel Build() => new MultimodalModelBuilder()
        .UseModelPath(_folder)
        .UseFamily(new DetectingModelFamily([new ToyFamily()]))
        .UseBackend(new ToyBackend())
        .Build();

    [Fact]
    public async Task Builder_GeneratesTheAnswer_AndReportsVisualTokens()
    {
        using var model = Build();
        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, [Solid(200, 10, 10), new TextContent("What colour?")])]);
        Assert.Equal("red", result.Text.Trim());
        Assert.Equal(4, result.Usage.VisualTokens);
        Assert.Equal(GenerationFinishReason.StopString, result.FinishReason);
    }

    [Fact]
    public async Task DependencyInjection_ResolvesAnIChatClient_ThatStreams()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddMultimodalModel()
            .UseModelPath(_folder)
            .UseFamily(new ToyFamily())
            .UseBackend(new ToyBackend());
        using var host = builder.Build();
        var chat = host.Services.GetRequiredService<IChatClient>();
        var text = string.Empty;
        await foreach (var update in chat.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, [Solid(5, 5, 230), new TextContent("Colour?")])]))
        {
            text += update.Text;
        }

        Assert.Equal("blue", text.Trim());
    }

    [Fact]
    public async Task ChatSession_SecondTurnReusesTheCache_AndMatchesAFreshPrefill()
    {
        using var model = Build();
        using var session = model.CreateChatSession();
        var question1 = new ChatMessage(ChatRole.User, [Solid(10, 220, 10), new TextContent("Colour?")]);
        var question2 = new ChatMessage(ChatRole.User, [Solid(230, 0, 0), new TextContent("And this one?")]);
        var first = await session.SendAsync(question1);
        Assert.Equal("green", first.Text.Trim());
        var cachedAfterFirst = session.CachedTokens;

        var second = await session.SendAsync(question2);
        Assert.Equal("red", second.Text.Trim());
        Assert.Equal(cachedAfterFirst, session.LastTurn!.ReusedTokens);
        Assert.Equal(session.LastTurn.PromptTokens - session.LastTurn.ReusedTokens, session.LastTurn.PrefilledTokens);

        // The same conversation sent whole gives the same tokens.
        Assert.Equal(4, session.History.Count);
        var fresh = await model.GenerateAsync([question1, session.History[1], question2]);
        Assert.Equal(second.TokenIds, fresh.TokenIds);

        session.Reset();
        Assert.Equal(0, session.CachedTokens);
        Assert.Empty(session.History);
    }

    [Fact]
    public async Task DetectingFamily_RefusesAFolderNoFamilyKnows()
    {
        File.WriteAllText(Path.Combine(_folder, "config.json"), """{"model_type": "unknown-thing"}""");
        using var model = Build();
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());
        Assert.Contains("unknown-thing", ex.Message, StringComparison.Ordinal);
        Assert.Contains("toy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_RefusesWhatTheFamilyCannotExpress()
    {
        using var model = Build();
        await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.System, "Be nice."), new ChatMessage(ChatRole.User, "Colour?")]));
    }
}
