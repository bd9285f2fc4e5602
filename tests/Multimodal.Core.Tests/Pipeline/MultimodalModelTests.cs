// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.TestDoubles;

namespace Multimodal.Pipeline;

public class MultimodalModelTests
{
    private static readonly byte[] RedPpm = TestImageDecoder.EncodePpm(4, 2, (x, y) => (255, 0, 0));

    [Fact]
    public async Task GetStreamingResponseAsync_WithAnImageDataContent_ReachesTheEncoder_AndPlacesItsEmbeddings()
    {
        // Arrange
        var t = new TestModel("a red box");
        using var model = t.Build();
        IChatClient client = model;
        var message = new ChatMessage(ChatRole.User, [new DataContent(RedPpm, "image/x-portable-pixmap"), new TextContent("What is this?")]);

        // Act
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([message]))
        {
            updates.Add(u);
        }

        // Assert: the encoder got one view of the decoded image, normalised ((255/255 - 0.5)/0.5 = 1 for red, -1 for green and blue).
        var call = Assert.Single(t.Encoder.Calls);
        var view = Assert.Single(call);
        Assert.Equal([3, 2, 4], view.Shape.ToArray());
        Assert.All(view.Span[..8].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(view.Span[8..].ToArray(), v => Assert.Equal(-1f, v));

        // The decoder's prompt holds the encoder's 4 rows at the template's visual span.
        var prompt = t.Decoder.Inputs[0];
        var placed = Assert.Single(prompt.VisualEmbeddings);
        Assert.Equal(t.Encoder.TokensPerView, placed.Embeddings.Dimension(0));
        Assert.Equal(TestPromptTemplate.Placeholder, prompt.TokenIds.Span[placed.Offset]);
        Assert.Equal(1f, placed.Embeddings.Row(0)[0]);

        // The response streams the answer and ends with usage.
        Assert.Equal("a red box", string.Concat(updates.Select(u => u.Text)));
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Stop, last.FinishReason);
        var usage = Assert.Single(last.Contents.OfType<UsageContent>()).Details;
        Assert.Equal(prompt.Length, usage.InputTokenCount);
        Assert.Equal(4, usage.AdditionalCounts!["visual_tokens"]);
        Assert.Equal("test-model", last.ModelId);
        Assert.True(updates.All(u => u.ResponseId == updates[0].ResponseId));
        Assert.IsType<GenerationTimings>(last.AdditionalProperties!["timings"]);
    }

    [Fact]
    public async Task ImageContentFromPixels_SkipsTheDecoder_AndTheTemplateSeesTheTokenCount()
    {
        var t = new TestModel();
        using var model = t.Build();
        var pixels = new ImageFrame(2, 2, ImagePixelFormat.Rgb24, new byte[12]);
        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, [ImageContent.FromPixels(pixels), new TextContent("hi")])]);

        Assert.Equal(0, t.ImageDecoder.Calls);
        var visual = t.Template.Conversations[0].Messages[0].Parts.OfType<PromptVisualPart>().Single().Input;
        Assert.Equal(VisualInputKind.Image, visual.Kind);
        Assert.Equal(4, visual.TokenCount);
        Assert.Equal(4, result.Usage.VisualTokens);
        Assert.Equal("ok", result.Text);
    }

    [Fact]
    public async Task GetResponseAsync_MapsInstructionsAndOptions()
    {
        var t = new TestModel("hello world");
        using var model = t.Build();
        var response = await ((IChatClient)model).GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Say hi")],
            new ChatOptions { Instructions = "Be brief.", MaxOutputTokens = 5 });

        Assert.Equal("hello", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        var conversation = t.Template.Conversations[0];
        Assert.Equal(ChatRole.System, conversation.Messages[0].Role);
        Assert.Equal("Be brief.", conversation.Messages[0].Text);
    }

    [Fact]
    public async Task StopSequencesFromChatOptions_EndTheAnswer()
    {
        var t = new TestModel("one. two. three.");
        using var model = t.Build();
        var response = await ((IChatClient)model).GetResponseAsync([new ChatMessage(ChatRole.User, "count")], new ChatOptions { StopSequences = [" two"] });
        Assert.Equal("one.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task AdditionalProperties_MapToGenerationSettings()
    {
        // num_beams = 2 takes the beam-search path, which returns the whole answer in one update.
        var t = new TestModel("abc");
        using var model = t.Build();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in ((IChatClient)model).GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "x")], new ChatOptions { AdditionalProperties = new() { ["num_beams"] = 2L, ["repetition_penalty"] = 1.0 } }))
        {
            updates.Add(u);
        }

        Assert.Equal("abc", Assert.Single(updates).Text);
    }

    [Fact]
    public async Task InvalidAdditionalProperty_ThrowsArgumentException_NamingTheKey()
    {
        var t = new TestModel();
        using var model = t.Build();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => ((IChatClient)model).GetResponseAsync([new ChatMessage(ChatRole.User, "x")], new ChatOptions { AdditionalProperties = new() { ["num_beams"] = "many" } }));
        Assert.Contains("num_beams", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooManyImages_AreRejected_WithTheLimitInTheMessage()
    {
        var t = new TestModel();
        using var model = t.Builder().ConfigureOptions(o => o.MaxImagesPerRequest = 1).Build();
        var message = new ChatMessage(ChatRole.User, [new DataContent(RedPpm, "image/x-portable-pixmap"), new DataContent(RedPpm, "image/x-portable-pixmap")]);
        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([message]));
        Assert.Contains("more than 1 images", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, t.Decoder.ForwardCalls);
    }

    [Fact]
    public async Task ATextOnlyModel_RejectsImages_Clearly()
    {
        var t = new TestModel();
        using var model = new MultimodalModelBuilder().UseTokenizer(t.Tokenizer).UseLanguageDecoder(t.Decoder).UsePromptTemplate(t.Template).Build();
        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new DataContent(RedPpm, "image/png")])]));
        Assert.Contains("no vision encoder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PdfWithoutARasterizer_IsRejectedClearly()
    {
        var t = new TestModel();
        using var model = t.Build();
        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "application/pdf")])]));
        Assert.Contains("no PDF rasteriser", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoteUris_AreNotFetched()
    {
        var t = new TestModel();
        using var model = t.Build();
        await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new UriContent(new Uri("https://example.com/a.png"), "image/png")])]));
    }

    [Fact]
    public async Task CorruptImage_SurfacesInvalidMediaException()
    {
        var t = new TestModel();
        using var model = t.Build();
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "image/x-portable-pixmap")])]));
        Assert.Equal("image/x-portable-pixmap", ex.MediaType);
    }

    [Fact]
    public async Task PromptOverTheContext_ThrowsContextLengthExceeded_CountingVisualTokens()
    {
        var t = new TestModel(contextLength: 20);
        using var model = t.Build();
        var message = new ChatMessage(ChatRole.User, [new DataContent(RedPpm, "image/x-portable-pixmap"), new TextContent("describe this picture in detail")]);
        var ex = await Assert.ThrowsAsync<ContextLengthExceededException>(() => model.GenerateAsync([message]));
        Assert.Equal(20, ex.MaxTokens);
        Assert.Equal(4, ex.VisualTokenCount);
    }

    [Fact]
    public async Task MissingComponents_FailTheLoad_NamingWhatIsMissing()
    {
        using var model = new MultimodalModelBuilder().UseTokenizer(new TestTokenizer()).Build();
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());
        Assert.Contains("no prompt template", ex.Message, StringComparison.Ordinal);
        Assert.Contains("UsePromptTemplate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncoderAndDecoderWidthsThatDisagree_FailTheLoad()
    {
        var t = new TestModel();
        using var model = t.Builder().UseVisionEncoder(new TestVisionEncoder(hiddenSize: 16)).Build();
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());
        Assert.Contains("16-wide", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FamilyAndBackend_RunInOrder_AndBuilderComponentsOverrideThem()
    {
        var t = new TestModel();
        var calls = new List<string>();
        var family = new TestFamily(calls, t);
        var backend = new TestBackend(calls, t);
        var overridingTemplate = new TestPromptTemplate();
        var progress = new List<ProgressReport>();
        using var model = new MultimodalModelBuilder().UseFamily(family).UseBackend(backend).UsePromptTemplate(overridingTemplate).Build();

        await model.LoadAsync(new SynchronousProgress(progress));
        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, "hi")]);

        Assert.Equal(["family", "backend"], calls);
        Assert.Same(overridingTemplate, model.Components.PromptTemplate);
        Assert.Equal(3, model.Components.GenerationDefaults.MaxNewTokens);
        Assert.Equal("test-family", model.ModelId);
        Assert.Equal("ok", result.Text);
        Assert.Contains(progress, p => p.Stage.Contains("Loading weights", StringComparison.Ordinal));
        Assert.Equal(1.0, progress[^1].Fraction);
    }

    [Fact]
    public void GetService_ReturnsMetadataTheModelAndComponents()
    {
        var t = new TestModel();
        using var model = t.Build();
        var metadata = (ChatClientMetadata)((IChatClient)model).GetService(typeof(ChatClientMetadata))!;
        Assert.Equal("multimodal", metadata.ProviderName);
        Assert.Equal("test-model", metadata.DefaultModelId);
        Assert.Same(model, model.GetService(typeof(MultimodalModel)));
        Assert.Null(model.GetService(typeof(ILanguageDecoder)));
        Assert.Null(model.GetService(typeof(MultimodalModel), "key"));
    }

    [Fact]
    public async Task Dispose_DisposesEncoderAndDecoder_AndIsIdempotent()
    {
        var t = new TestModel();
        var model = t.Build();
        await model.LoadAsync();
        Assert.Same(t.Decoder, model.GetService(typeof(ILanguageDecoder)));
        model.Dispose();
        model.Dispose();
        Assert.True(t.Decoder.Disposed);
        Assert.True(t.Encoder.Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, "x")]));
    }

    [Fact]
    public async Task ConcurrentRequests_AreSerialised_ByDefault()
    {
        var t = new TestModel("abcdef");
        using var model = t.Build();
        var inFlight = 0;
        var maxInFlight = 0;
        t.Decoder.OnForward = _ =>
        {
            var n = Interlocked.Increment(ref inFlight);
            maxInFlight = Math.Max(maxInFlight, n);
            Thread.Sleep(1);
            Interlocked.Decrement(ref inFlight);
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => model.GenerateAsync([new ChatMessage(ChatRole.User, "x")])));

        Assert.All(results, r => Assert.Equal("abcdef", r.Text));
        Assert.Equal(1, maxInFlight);
    }

    private sealed class SynchronousProgress(List<ProgressReport> reports) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => reports.Add(value);
    }

    private sealed class TestFamily(List<string> calls, TestModel t) : IModelFamily
    {
        public string Name => "test-family";

        public bool CanLoad(ModelFolder folder) => folder.ModelType == "test";

        public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
        {
            calls.Add("family");
            context.Tokenizer = t.Tokenizer;
            context.PromptTemplate = t.Template;
            context.GenerationDefaults.MaxNewTokens = 3;
            context.Properties["architecture"] = "tiny";
            return ValueTask.CompletedTask;
        }
    }

    private sealed class TestBackend(List<string> calls, TestModel t) : IModelBackend
    {
        public string Name => "test-backend";

        public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
        {
            Assert.Equal("tiny", context.Properties["architecture"]);
            calls.Add("backend");
            context.Report("Loading weights", 0.5);
            context.LanguageDecoder = t.Decoder;
            return ValueTask.CompletedTask;
        }
    }
}
