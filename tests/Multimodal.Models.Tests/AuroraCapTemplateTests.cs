// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Models.AuroraCap;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

public sealed class AuroraCapPromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("auroracap");

    protected override string Family => "auroracap";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => AuroraCapPromptTemplate.Instance;
}

public sealed class AuroraCapPromptTemplateTests
{
    private static readonly AuroraCapPromptTemplate Template = AuroraCapPromptTemplate.Instance;

    [Fact]
    public void Format_Video_IsOneSegmentPerFrameJoinedBySpaces()
    {
        // Arrange
        var video = new VisualInput(0, VisualInputKind.Video, [Frame(0, 20), Frame(1, 21), Frame(2, 22)]);

        // Act
        var prompt = Template.Format(Conversation(User(new PromptVisualPart(video), new PromptTextPart("Describe the video."))));

        // Assert
        Assert.Equal("USER: <image> <image> <image>\nDescribe the video. ASSISTANT:", prompt.Text);
        Assert.Equal(
            [
                new TextSegment("USER: "),
                new VisualSegment(0, 0, 1, 20),
                new TextSegment(" "),
                new VisualSegment(0, 1, 1, 21),
                new TextSegment(" "),
                new VisualSegment(0, 2, 1, 22),
                new TextSegment("\nDescribe the video. ASSISTANT:"),
            ],
            prompt.Segments);
        Assert.Equal(["</s>"], prompt.StopStrings);
    }

    [Fact]
    public void Format_Answer_KeepsTheAnswerAndItsEosAsSeparatePieces()
    {
        var conversation = Conversation(
            User(new PromptTextPart("Hello.")),
            new PromptMessage(ChatRole.Assistant, [new PromptTextPart("Hi.")]),
            User(new PromptTextPart("Bye.")));

        var prompt = Template.Format(conversation);

        Assert.Equal("USER: Hello. ASSISTANT: Hi.</s>\nUSER: Bye. ASSISTANT:", prompt.Text);
        Assert.Equal(
            [new TextSegment("USER: Hello. ASSISTANT:"), new TextSegment(" Hi."), new TextSegment("</s>"), new TextSegment("\nUSER: Bye. ASSISTANT:")],
            prompt.Segments);
    }

    [Fact]
    public void Tokenize_Answer_EndsWithTheEosIdAndTokenizesEachPieceAlone()
    {
        // Arrange
        var tokenizer = Tokenizer.Load(RepositoryPaths.Combine("models", "auroracap-tiny"));
        var conversation = Conversation(
            User(new PromptTextPart("Hello.")),
            new PromptMessage(ChatRole.Assistant, [new PromptTextPart("Hi.")]),
            User(new PromptTextPart("Bye.")));

        // Act
        var tokens = Template.Tokenize(Template.Format(conversation), tokenizer);

        // Assert: BOS only on the first piece; the EOS is the </s> id, never encoded text.
        int[] expected =
        [
            .. tokenizer.Encode("USER: Hello. ASSISTANT:", addSpecialTokens: true),
            .. tokenizer.Encode(" Hi.", addSpecialTokens: false),
            tokenizer.TokenToId("</s>")!.Value,
            .. tokenizer.Encode("\nUSER: Bye. ASSISTANT:", addSpecialTokens: false),
        ];
        Assert.Equal(expected, tokens.Ids);
        Assert.Equal(1, tokens.Ids[0]);
        Assert.Equal(1, tokens.Ids.Count(id => id == tokenizer.SpecialTokens.BosTokenId));
        Assert.Empty(tokens.VisualSpans);
    }

    [Fact]
    public void Format_WithoutGenerationPrompt_StillEndsWithTheAssistantCue()
    {
        // The cue is part of xtuner's instruction template, which wraps every user turn.
        var withCue = Template.Format(new PromptConversation([User(new PromptTextPart("Hi."))], AddGenerationPrompt: true));
        var withoutFlag = Template.Format(new PromptConversation([User(new PromptTextPart("Hi."))], AddGenerationPrompt: false));

        Assert.Equal("USER: Hi. ASSISTANT:", withoutFlag.Text);
        Assert.Equal(withCue.Segments, withoutFlag.Segments);
    }

    [Fact]
    public void Format_PdfPage_IsWrittenLikeAnImage()
    {
        var page = new VisualInput(0, VisualInputKind.PdfPage, [Frame(0, 15)]) { PageNumber = 2 };

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(page), new PromptTextPart("Read it."))));

        Assert.Equal("USER: <image>\nRead it. ASSISTANT:", prompt.Text);
        Assert.Equal(new VisualSegment(0, 0, 1, 15), Assert.Single(prompt.Segments.OfType<VisualSegment>()));
    }

    [Fact]
    public void Format_SystemMessage_IsRefused()
    {
        var conversation = Conversation(new PromptMessage(ChatRole.System, [new PromptTextPart("Be brief.")]), User(new PromptTextPart("Hi.")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("AuroraCap takes no system message", ex.Message, StringComparison.Ordinal);
        Assert.Equal("messages", ex.ParameterName);
    }

    [Fact]
    public void Format_TwoUserMessagesInARow_IsRefused()
    {
        var conversation = Conversation(User(new PromptTextPart("One.")), User(new PromptTextPart("Two.")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("Message 2 has role 'user'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("alternate user and assistant", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_VideoInAssistantMessage_IsRefused()
    {
        var video = new VisualInput(0, VisualInputKind.Video, [Frame(0, 15), Frame(1, 15)]);
        var conversation = Conversation(User(new PromptTextPart("Show me.")), new PromptMessage(ChatRole.Assistant, [new PromptVisualPart(video)]));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("assistant messages cannot carry images or videos", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ImageMarkerInText_IsRefused()
    {
        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptTextPart("<image> is a tag")))));

        Assert.Contains("'<image>'", ex.Message, StringComparison.Ordinal);
    }

    private static PromptConversation Conversation(params PromptMessage[] messages) => new(messages);

    private static PromptMessage User(params PromptPart[] parts) => new(ChatRole.User, parts);

    private static VisualView Frame(int index, int tokens) => new(ImageViewKind.Global, 0, 0, tokens) { FrameIndex = index };
}

public sealed class AuroraCapFamilyTests
{
    private static readonly string TinyCheckpoint = RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap");

    [Theory]
    [InlineData("llama", true, true, true)]
    [InlineData("llama", true, false, false)]
    [InlineData("llama", false, true, false)]
    [InlineData("mistral", true, true, false)]
    [InlineData(null, true, true, false)]
    public void CanLoad_NeedsTheXtunerLayoutAndALlamaRoot(string? modelType, bool encoder, bool projector, bool expected)
    {
        using var folder = new TempModelFolder(modelType is null ? "{}" : $$"""{"model_type": "{{modelType}}"}""");
        if (encoder)
        {
            folder.Write("visual_encoder/config.json", """{"model_type": "clip_vision_model"}""");
        }

        if (projector)
        {
            folder.Write("projector/config.json", """{"model_type": "projector"}""");
        }

        Assert.Equal(expected, AuroraCapFamily.Instance.CanLoad(folder.Open()));
    }

    [Fact]
    public void CanLoad_TheTinyCheckpoints()
    {
        Assert.True(AuroraCapFamily.Instance.CanLoad(ModelFolder.Open(TinyCheckpoint)));
        Assert.False(AuroraCapFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-longva"))));
        Assert.False(AuroraCapFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-llava-1.5"))));
    }

    [Fact]
    public async Task ConfigureAsync_TinyCheckpointConfigs_WireEveryComponentAsync()
    {
        // Arrange: the tiny checkpoint's configs (84 px, patch 14, 4 layers) with the tiny tokenizer.
        using var folder = TinyFolder();

        // Act
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAuroraCap());

        // Assert
        var tokenizer = Assert.IsType<Tokenizer>(context.Tokenizer);
        Assert.Equal(1, tokenizer.SpecialTokens.BosTokenId);
        Assert.Equal(2, tokenizer.TokenToId("</s>"));
        Assert.Same(AuroraCapPromptTemplate.Instance, context.PromptTemplate);
        var processor = Assert.IsType<ClipImagePreprocessor>(context.ImageSplitter);
        Assert.Same(processor, context.ImageProcessor);
        Assert.Equal((84, 84, 14), (processor.Geometry.ShortestEdge, processor.Geometry.CropSize, processor.Geometry.PatchSize));
        Assert.Equal([0.48145466f, 0.4578275f, 0.40821073f], processor.ImageMean);

        // r = int(36 · 0.8 / 4) = 7 in each of the 3 layers before hidden_states[-2]: 37 → 30 → 23 → 16, minus CLS.
        Assert.Equal(15, processor.TokensPerView);

        var g = context.GenerationDefaults;
        Assert.False(g.DoSample);
        Assert.Equal(0f, g.Temperature);
        Assert.Equal(1f, g.TopP);
        Assert.Equal(1, g.NumBeams);
        Assert.Equal(2048, g.MaxNewTokens);
        Assert.Equal(0.2, Assert.IsType<double>(g.AdditionalProperties![AuroraCapFamily.TokenKeptRatioKey]));
        Assert.Equal("auroracap", context.Properties["family"]);
    }

    [Fact]
    public async Task ConfigureAsync_RatioGivenToUseAuroraCap_IsTheModelDefaultAsync()
    {
        using var folder = TinyFolder();
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAuroraCap(tokenKeptRatio: 0.8));

        Assert.Equal(0.8, context.GenerationDefaults.AdditionalProperties![AuroraCapFamily.TokenKeptRatioKey]);

        // 1 − 0.8 is 0.19999999999999996 in doubles, so r = int(7.199… / 4) = 1: 37 − 3 − CLS.
        Assert.Equal(33, Assert.IsType<ClipImagePreprocessor>(context.ImageProcessor).TokensPerView);
    }

    [Fact]
    public async Task ConfigureAsync_NoPreprocessorConfig_FallsBackToTheTowerThenTo378Async()
    {
        // Arrange: one folder whose tower names its size, one whose tower names nothing.
        using var sized = TinyFolder();
        File.Delete(Path.Combine(sized.Path, "visual_encoder", "preprocessor_config.json"));
        using var bare = TinyFolder();
        File.Delete(Path.Combine(bare.Path, "visual_encoder", "preprocessor_config.json"));
        bare.Write("visual_encoder/config.json", """{"model_type": "clip_vision_model", "num_hidden_layers": 32}""");

        // Act
        var fromTower = Assert.IsType<ClipImagePreprocessor>((await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(sized.Path).UseAuroraCap())).ImageProcessor);
        var fromDefault = Assert.IsType<ClipImagePreprocessor>((await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(bare.Path).UseAuroraCap())).ImageProcessor);

        // Assert: 378 px, 729 patches, r = 18 over 31 layers → the README's 171 tokens at ratio 0.2.
        Assert.Equal((84, 84), (fromTower.Geometry.ShortestEdge, fromTower.Geometry.CropSize));
        Assert.Equal((378, 378, 14), (fromDefault.Geometry.ShortestEdge, fromDefault.Geometry.CropSize, fromDefault.Geometry.PatchSize));
        Assert.Equal(171, fromDefault.TokensPerView);
    }

    [Fact]
    public async Task ConfigureAsync_PreprocessorMeanAndStd_AreUsedAsync()
    {
        using var folder = TinyFolder();
        folder.Write("visual_encoder/preprocessor_config.json", """{"size": {"shortest_edge": 98}, "crop_size": {"height": 84, "width": 84}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]}""");

        var processor = Assert.IsType<ClipImagePreprocessor>((await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAuroraCap())).ImageProcessor);

        Assert.Equal((98, 84), (processor.Geometry.ShortestEdge, processor.Geometry.CropSize));
        Assert.Equal([0.5f, 0.5f, 0.5f], processor.ImageMean);
        Assert.Equal([0.25f, 0.25f, 0.25f], processor.ImageStd);
    }

    [Fact]
    public async Task ConfigureAsync_RatioAlreadyOnTheDefaults_IsKeptAndValidatedAsync()
    {
        // Arrange: a family in front of AuroraCap's puts a ratio (as text) on the defaults first.
        using var folder = TinyFolder();
        var preset = new PresettingFamily(AuroraCapFamily.Instance, c => c.GenerationDefaults.AdditionalProperties = new Dictionary<string, object?> { [AuroraCapFamily.TokenKeptRatioKey] = "0.5" });

        // Act
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseFamily(preset));

        // Assert: normalised to a number the encoder reads; r = int(36 · 0.5 / 4) = 4 → 37 − 12 − CLS.
        Assert.Equal(0.5, Assert.IsType<double>(context.GenerationDefaults.AdditionalProperties![AuroraCapFamily.TokenKeptRatioKey]));
        Assert.Equal(24, Assert.IsType<ClipImagePreprocessor>(context.ImageProcessor).TokensPerView);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(0.0)]
    [InlineData(-0.2)]
    public async Task ConfigureAsync_InvalidRatioOnTheDefaults_IsRefusedAsync(double ratio)
    {
        using var folder = TinyFolder();
        var preset = new PresettingFamily(AuroraCapFamily.Instance, c => c.GenerationDefaults.AdditionalProperties = new Dictionary<string, object?> { [AuroraCapFamily.TokenKeptRatioKey] = ratio });
        var backend = new CapturingBackend();
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseFamily(preset).UseBackend(backend).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("token_kept_ratio must be in (0, 1]", ex.Message, StringComparison.Ordinal);
        Assert.IsType<ArgumentOutOfRangeException>(ex.InnerException);
        Assert.Null(backend.Context);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0000001)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void UseAuroraCap_RatioOutsideZeroToOne_Throws(double ratio)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new MultimodalModelBuilder().UseAuroraCap(ratio));

        Assert.Equal("tokenKeptRatio", ex.ParamName);
        Assert.Contains("(0, 1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RatioOfOne_KeepsEveryToken()
    {
        var family = new AuroraCapFamily(1.0);

        Assert.Equal(1.0, family.TokenKeptRatio);
        Assert.Equal(AuroraCapFamily.DefaultTokenKeptRatio, AuroraCapFamily.Instance.TokenKeptRatio);
        Assert.Equal(0.2, AuroraCapFamily.DefaultTokenKeptRatio);
    }

    [Fact]
    public void GetTokenKeptRatio_ReadsNumbersTextAndJson()
    {
        using var json = JsonDocument.Parse("0.35");

        Assert.Equal(0.4, AuroraCapFamily.GetTokenKeptRatio(Options(0.4)));
        Assert.Equal(0.5f, AuroraCapFamily.GetTokenKeptRatio(Options(0.5f)));
        Assert.Equal(1.0, AuroraCapFamily.GetTokenKeptRatio(Options(1)));
        Assert.Equal(0.25, AuroraCapFamily.GetTokenKeptRatio(Options("0.25")));
        Assert.Equal(0.35, AuroraCapFamily.GetTokenKeptRatio(Options(json.RootElement)));
        Assert.Equal(0.7, AuroraCapFamily.GetTokenKeptRatio(new Dictionary<string, object?>(), fallback: 0.7));
        Assert.Equal(0.2, AuroraCapFamily.GetTokenKeptRatio(null));
    }

    [Fact]
    public void GetTokenKeptRatio_InvalidValues_Throw()
    {
        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => AuroraCapFamily.GetTokenKeptRatio(Options(2.0)));
        var notANumber = Assert.Throws<ArgumentException>(() => AuroraCapFamily.GetTokenKeptRatio(Options("most")));

        Assert.Equal(AuroraCapFamily.TokenKeptRatioKey, outOfRange.ParamName);
        Assert.Contains("must be a number in (0, 1]", notANumber.Message, StringComparison.Ordinal);
        Assert.Equal("properties", notANumber.ParamName);
    }

    [Fact]
    public async Task ConfigureAsync_NotAnAuroraCapFolder_IsRefusedAsync()
    {
        using var folder = TinyFolder();
        Directory.Delete(Path.Combine(folder.Path, "projector"), recursive: true);
        var backend = new CapturingBackend();
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAuroraCap().UseBackend(backend).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("projector/config.json", ex.Message, StringComparison.Ordinal);
        Assert.Null(backend.Context);
    }

    [Fact]
    public void AddAuroraCapFamily_RegistersTheFamilyOnce()
    {
        var services = new ServiceCollection();

        services.AddAuroraCapFamily().AddAuroraCapFamily();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IModelFamily));
        Assert.Same(AuroraCapFamily.Instance, descriptor.ImplementationInstance);
        Assert.Equal("auroracap", AuroraCapFamily.Instance.Name);
    }

    private static Dictionary<string, object?> Options(object value) => new() { [AuroraCapFamily.TokenKeptRatioKey] = value };

    /// <summary>A temporary folder with the tiny checkpoint's configs (no weights) and the tiny AuroraCap tokenizer.</summary>
    private static TempModelFolder TinyFolder()
    {
        var folder = new TempModelFolder(File.ReadAllText(Path.Combine(TinyCheckpoint, "config.json")), tokenizerFrom: "auroracap-tiny");
        folder.CopyFrom(TinyCheckpoint, "visual_encoder/config.json", "visual_encoder/preprocessor_config.json", "projector/config.json");
        return folder;
    }
}
