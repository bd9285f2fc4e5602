// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.LongVA;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

public sealed class LongVaPromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("longva");

    protected override string Family => "longva";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => LongVaPromptTemplate.Instance;
}

public sealed class LongVaPromptTemplateTests
{
    private static readonly LongVaPromptTemplate Template = LongVaPromptTemplate.Instance;

    [Fact]
    public void Format_TiledImage_UsesTheTilesOnly()
    {
        // Arrange: a base view (its tokens must not reach the model) and a 1 × 2 grid of tiles.
        var image = new VisualInput(0, VisualInputKind.Image, [Global(7), Tile(0, 0, 144), Tile(0, 1, 144)], GridRows: 1, GridColumns: 2);

        // Act
        var prompt = Template.Format(Conversation(User(new PromptVisualPart(image), new PromptTextPart("Describe."))));

        // Assert
        var segment = Assert.Single(prompt.Segments.OfType<VisualSegment>());
        Assert.Equal(new VisualSegment(0, 1, 2, 288), segment);
        Assert.Contains("<|im_start|>user\n<image>\nDescribe.<|im_end|>\n", prompt.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_TiledPdfPage_DropsTheBaseViewLikeAnImage()
    {
        var page = new VisualInput(0, VisualInputKind.PdfPage, [Global(5), Tile(0, 0, 144), Tile(1, 0, 144)], GridRows: 2, GridColumns: 1) { PageNumber = 3 };

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(page))));

        Assert.Equal(new VisualSegment(0, 1, 2, 288), Assert.Single(prompt.Segments.OfType<VisualSegment>()));
    }

    [Fact]
    public void Format_UntiledImage_UsesEveryView()
    {
        // An image from another splitter (no grid) is one view that is not a base view.
        var image = new VisualInput(0, VisualInputKind.Image, [Global(576)]);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(image))));

        Assert.Equal(new VisualSegment(0, 0, 1, 576), Assert.Single(prompt.Segments.OfType<VisualSegment>()));
    }

    [Fact]
    public void Format_Video_IsOneMarkerOverAllFrames()
    {
        var video = new VisualInput(0, VisualInputKind.Video, [.. Enumerable.Range(0, 6).Select(i => Global(144) with { FrameIndex = i })]);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(video), new PromptTextPart("What happens?"))));

        Assert.Equal(new VisualSegment(0, 0, 6, 864), Assert.Single(prompt.Segments.OfType<VisualSegment>()));
        Assert.Equal(1, CountOf(prompt.Text, "<image>"));
    }

    [Fact]
    public void Format_WithoutGenerationPrompt_EndsAfterTheLastMessage()
    {
        var conversation = new PromptConversation([User(new PromptTextPart("Hi."))], AddGenerationPrompt: false);

        var prompt = Template.Format(conversation);

        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi.<|im_end|>\n", prompt.Text);
        Assert.Equal(["<|im_end|>"], prompt.StopStrings);
    }

    [Fact]
    public void Tokenize_TextOnly_HasNoBosAndNoVisualSpans()
    {
        var tokenizer = Tokenizer.Load(RepositoryPaths.Combine("models", "longva-tiny"));
        var prompt = Template.Format(Conversation(User(new PromptTextPart("Hi."))));

        var tokens = Template.Tokenize(prompt, tokenizer);

        // Qwen2's tokenizer adds nothing: the ids are exactly the whole text's ids.
        Assert.Equal(tokenizer.Encode(prompt.Text, addSpecialTokens: false), tokens.Ids);
        Assert.Empty(tokens.VisualSpans);
        Assert.Equal(PromptTokenization.LlavaSentinel, tokens.PlaceholderId);
    }

    [Fact]
    public void Format_TwoUserMessagesInARow_IsRefused()
    {
        var conversation = Conversation(User(new PromptTextPart("One.")), User(new PromptTextPart("Two.")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("alternate user and assistant", ex.Message, StringComparison.Ordinal);
        Assert.Equal("messages", ex.ParameterName);
    }

    [Fact]
    public void Format_AssistantFirst_IsRefused()
    {
        var conversation = Conversation(new PromptMessage(ChatRole.Assistant, [new PromptTextPart("Hello.")]));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("Message 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("starting with the user", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_SecondSystemMessage_IsRefused()
    {
        var conversation = Conversation(
            new PromptMessage(ChatRole.System, [new PromptTextPart("Be brief.")]),
            User(new PromptTextPart("Hi.")),
            new PromptMessage(ChatRole.System, [new PromptTextPart("Be long.")]));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("only the first message may be a system message", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ImageInAssistantMessage_IsRefused()
    {
        var image = new VisualInput(0, VisualInputKind.Image, [Global(576)]);
        var conversation = Conversation(
            User(new PromptTextPart("Draw.")),
            new PromptMessage(ChatRole.Assistant, [new PromptVisualPart(image)]));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("assistant messages cannot carry images", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_VideoInSystemMessage_IsRefused()
    {
        var video = new VisualInput(0, VisualInputKind.Video, [Global(144), Global(144)]);
        var conversation = Conversation(new PromptMessage(ChatRole.System, [new PromptVisualPart(video)]), User(new PromptTextPart("Hi.")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("system message cannot carry images", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ImageMarkerInText_IsRefused()
    {
        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptTextPart("What is <image>?")))));

        Assert.Contains("'<image>'", ex.Message, StringComparison.Ordinal);
    }

    internal static PromptConversation Conversation(params PromptMessage[] messages) => new(messages);

    internal static PromptMessage User(params PromptPart[] parts) => new(ChatRole.User, parts);

    internal static VisualView Global(int tokens) => new(ImageViewKind.Global, 0, 0, tokens);

    private static VisualView Tile(int row, int column, int tokens) => new(ImageViewKind.Tile, row, column, tokens);

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

public sealed class LongVaFamilyTests
{
    [Theory]
    [InlineData("""{"model_type": "llava_qwen"}""", true)]
    [InlineData("""{"model_type": "qwen2", "mm_vision_tower": "openai/clip-vit-large-patch14-336"}""", true)]
    [InlineData("""{"model_type": "qwen2"}""", false)]
    [InlineData("""{"model_type": "qwen2", "mm_vision_tower": null}""", false)]
    [InlineData("""{"model_type": "llava", "mm_vision_tower": "openai/clip-vit-large-patch14-336"}""", false)]
    [InlineData("""{"architectures": ["LlavaQwenForCausalLM"]}""", false)]
    public void CanLoad_DecidesFromConfigJson(string config, bool expected)
    {
        using var folder = new TempModelFolder(config);

        Assert.Equal(expected, LongVaFamily.Instance.CanLoad(folder.Open()));
    }

    [Fact]
    public void CanLoad_TheTinyCheckpoints()
    {
        Assert.True(LongVaFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-longva"))));
        Assert.False(LongVaFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap"))));
        Assert.False(LongVaFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-llava-1.5"))));
    }

    [Fact]
    public async Task ConfigureAsync_TinyCheckpointConfig_WiresEveryComponentAsync()
    {
        // Arrange: the real tiny config (tower config inside, five pinpoints, no preprocessor_config.json) and the tiny tokenizer.
        using var folder = TokenizerFolder(File.ReadAllText(RepositoryPaths.Combine("tests", "data", "models", "tiny-longva", "config.json")));

        // Act
        var context = await CaptureAsync(folder);

        // Assert
        Assert.IsType<Tokenizer>(context.Tokenizer);
        Assert.Equal(
            Tokenizer.Load(RepositoryPaths.Combine("models", "longva-tiny")).Encode("<|im_start|>user\nHi"),
            context.Tokenizer!.Encode("<|im_start|>user\nHi"));
        Assert.Same(LongVaPromptTemplate.Instance, context.PromptTemplate);
        var processor = Assert.IsType<LongVaImagePreprocessor>(context.ImageSplitter);
        Assert.Same(processor, context.ImageProcessor);
        var geometry = processor.Geometry;
        Assert.Equal([new PixelSize(56, 112), new PixelSize(56, 168), new PixelSize(112, 56), new PixelSize(112, 112), new PixelSize(168, 56)], geometry.GridPinpoints);
        Assert.Equal(56, geometry.TileSize);
        Assert.Equal(56, geometry.BaseSize);
        Assert.Equal(14, geometry.PatchSize);
        Assert.Equal(2, geometry.PoolStride);
        Assert.Equal(4, geometry.PooledTokensPerTile);

        var g = context.GenerationDefaults;
        Assert.True(g.DoSample);
        Assert.Equal(0.5f, g.Temperature);
        Assert.Equal(1f, g.TopP);
        Assert.Equal(1, g.NumBeams);
        Assert.Equal(1024, g.MaxNewTokens);
    }

    [Fact]
    public async Task ConfigureAsync_TinyConfig_SplitsImagesIntoTheConfiguredGridAsync()
    {
        using var folder = TokenizerFolder(File.ReadAllText(RepositoryPaths.Combine("tests", "data", "models", "tiny-longva", "config.json")));
        var context = await CaptureAsync(folder);
        var image = new ImageFrame(112, 56, ImagePixelFormat.Rgb24, new byte[112 * 56 * 3]);

        var split = context.ImageSplitter!.Split(image);

        // 112 × 56 fits the (112, 56) pinpoint exactly: a base view and a 1 × 2 grid of 56 px tiles.
        Assert.Equal(3, split.Views.Count);
        Assert.Equal((1, 2), (split.GridRows, split.GridColumns));
        Assert.Equal(ImageViewKind.Global, split.Views[0].Kind);
        Assert.All(split.Views, v => Assert.Equal((56, 56), (v.Image.Width, v.Image.Height)));
        Assert.Equal([3, 56, 56], context.ImageProcessor!.Process(split.Views[1]).Shape.ToArray());
    }

    [Fact]
    public async Task ConfigureAsync_PreprocessorConfigAndPoolStride_OverrideTheTowerAsync()
    {
        var config = new JsonObject
        {
            ["model_type"] = "llava_qwen",
            ["mm_vision_tower"] = "openai/clip-vit-large-patch14-336",
            ["mm_spatial_pool_stride"] = 4,
            ["image_grid_pinpoints"] = new JsonArray(new JsonArray(672, 336), new JsonArray(336, 672)),
        };
        using var folder = TokenizerFolder(config.ToJsonString());
        folder.Write("preprocessor_config.json", """{"crop_size": {"height": 336, "width": 336}, "size": {"shortest_edge": 336}}""");

        var geometry = Assert.IsType<LongVaImagePreprocessor>((await CaptureAsync(folder)).ImageSplitter).Geometry;

        Assert.Equal([new PixelSize(672, 336), new PixelSize(336, 672)], geometry.GridPinpoints);
        Assert.Equal((336, 336, 14, 4), (geometry.TileSize, geometry.BaseSize, geometry.PatchSize, geometry.PoolStride));
        Assert.Equal(36, geometry.PooledTokensPerTile);
    }

    [Fact]
    public async Task ConfigureAsync_NoSizesAnywhere_FallsBackToLongVa7BAsync()
    {
        using var folder = TokenizerFolder("""{"model_type": "qwen2", "mm_vision_tower": "openai/clip-vit-large-patch14-336"}""");

        var geometry = Assert.IsType<LongVaImagePreprocessor>((await CaptureAsync(folder)).ImageSplitter).Geometry;

        Assert.Equal(AnyResGeometry.LongVaGridPinpoints, geometry.GridPinpoints);
        Assert.Equal(new PixelSize(336, 672), geometry.GridPinpoints[0]);
        Assert.Equal((336, 336, 14, 2), (geometry.TileSize, geometry.BaseSize, geometry.PatchSize, geometry.PoolStride));
        Assert.Equal(144, geometry.PooledTokensPerTile);
    }

    [Fact]
    public async Task ConfigureAsync_ComponentsAlreadySet_AreKeptAsync()
    {
        // Arrange: a family in front of LongVA's sets a tokenizer, template and splitter first; LongVA fills only what is unset.
        using var folder = TokenizerFolder("""{"model_type": "llava_qwen"}""");
        var tokenizer = Tokenizer.Load(RepositoryPaths.Combine("models", "longva-tiny"));
        var splitter = new ClipImagePreprocessor(ClipImageGeometry.LongVaFrame);
        var preset = new PresettingFamily(LongVaFamily.Instance, c =>
        {
            c.Tokenizer = tokenizer;
            c.PromptTemplate = AuroraCapPromptTemplate.Instance;
            c.ImageSplitter = splitter;
        });

        // Act
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseFamily(preset));

        // Assert
        Assert.Same(tokenizer, context.Tokenizer);
        Assert.Same(AuroraCapPromptTemplate.Instance, context.PromptTemplate);
        Assert.Same(splitter, context.ImageSplitter);
        Assert.IsType<LongVaImagePreprocessor>(context.ImageProcessor);
        Assert.Equal("longva", context.Properties["family"]);
    }

    [Theory]
    [InlineData("""{"model_type": "llava_qwen", "mm_patch_merge_type": "spatial_unpad"}""", "mm_patch_merge_type")]
    [InlineData("""{"model_type": "llava_qwen", "image_aspect_ratio": "anyres_max_9"}""", "image_aspect_ratio")]
    [InlineData("""{"model_type": "llava_qwen", "image_grid_pinpoints": "(1x1),...,(6x6)"}""", "image_grid_pinpoints")]
    [InlineData("""{"model_type": "llava_qwen", "image_grid_pinpoints": [[336, 672], [336]]}""", "[336]")]
    [InlineData("""{"model_type": "llava_qwen", "image_grid_pinpoints": [[336, "672"]]}""", "positive integers")]
    [InlineData("""{"model_type": "llava_qwen", "mm_spatial_pool_stride": 0}""", "mm_spatial_pool_stride")]
    public async Task ConfigureAsync_UnsupportedConfig_IsRefusedAsync(string config, string expected)
    {
        using var folder = TokenizerFolder(config);
        var backend = new CapturingBackend();
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseLongVA().UseBackend(backend).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Null(backend.Context);
    }

    [Fact]
    public async Task ConfigureAsync_NotALongVaFolder_IsRefusedAsync()
    {
        using var folder = TokenizerFolder("""{"model_type": "llama"}""");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseLongVA().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("is not a LongVA model", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(folder.Path), ex.ModelPath);
    }

    [Fact]
    public void AddLongVAFamily_RegistersTheFamilyOnce()
    {
        var services = new ServiceCollection();

        services.AddLongVAFamily().AddLongVAFamily();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IModelFamily));
        Assert.Same(LongVaFamily.Instance, descriptor.ImplementationInstance);
        Assert.Equal("longva", LongVaFamily.Instance.Name);
    }

    /// <summary>Loads through the builder with <c>UseLongVA</c> and returns the context the family configured.</summary>
    private static Task<ModelLoadContext> CaptureAsync(TempModelFolder folder) =>
        CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseLongVA());

    /// <summary>A temporary model folder with the tiny LongVA tokenizer and the given config.json.</summary>
    private static TempModelFolder TokenizerFolder(string config) => new(config, tokenizerFrom: "longva-tiny");
}
