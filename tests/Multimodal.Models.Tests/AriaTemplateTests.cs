// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Models.Aria;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

public sealed class AriaPromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("aria");

    protected override string Family => "aria";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => AriaPromptTemplate.Instance;
}

public sealed class AriaTemplateTests
{
    private static readonly AriaPromptTemplate Template = AriaPromptTemplate.Instance;

    [Fact]
    public void Format_PdfPagesThenTheQuestion_WritesSeed000sRecipe_AsTheGoldenCase()
    {
        // The golden "pdf" case spells "Page n: " and "\n" out as text parts (aria_pdf_content); the pipeline sends
        // only the pages and the question, and the template writes the recipe itself.
        using var doc = JsonDocument.Parse(File.ReadAllText(PromptGoldenTestBase.GoldenPath("aria")));
        var golden = doc.RootElement.GetProperty("cases").GetProperty("pdf");
        var spelled = PromptGoldenTestBase.ToConversation(golden.GetProperty("messages"));
        var parts = spelled.Messages[0].Parts.Where(p => p is not PromptTextPart { Text: var t } || !IsRecipeText(t)).ToList();
        Assert.Equal(4, parts.Count);

        var prompt = Template.Format(new PromptConversation([new PromptMessage(ChatRole.User, parts)]));
        var tokens = Template.Tokenize(prompt, Tokenizer.Load(RepositoryPaths.Combine("models", "aria-tiny")));

        Assert.Equal(golden.GetProperty("text").GetString(), prompt.Text);
        Assert.Equal(golden.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), tokens.Ids);
        Assert.Equal(Template.Format(spelled).Text, prompt.Text);
    }

    [Fact]
    public void Format_PdfPage_UsesItsPageNumber_AndKeepsTheUsersOtherText()
    {
        var page = Page(index: 0, pageNumber: 7, tokens: 2);

        // "Page 2: " is not this page's prefix, so it stays as the user's text and the recipe is written after it.
        var prompt = Template.Format(Conversation(User(new PromptTextPart("See Page 2: "), new PromptVisualPart(page), new PromptTextPart("Summarise."))));

        Assert.Equal("<|im_start|>user\nSee Page 2: Page 7: <fim_prefix><|img|><|img|><fim_suffix>\nSummarise.<|im_end|>\n<|im_start|>assistant\n", prompt.Text);
    }

    [Fact]
    public void Format_PdfPageFollowedByALineBreak_DoesNotDoubleIt()
    {
        var prompt = Template.Format(Conversation(User(new PromptVisualPart(Page(0, 1, 1)), new PromptTextPart("\nQuestion"))));

        Assert.Equal("<|im_start|>user\nPage 1: <fim_prefix><|img|><fim_suffix>\nQuestion<|im_end|>\n<|im_start|>assistant\n", prompt.Text);
    }

    [Fact]
    public void Format_SplitImage_IsOneSegmentOverAllCrops()
    {
        var views = new List<VisualView> { new(ImageViewKind.Global, 0, 0, 3) };
        views.AddRange(Enumerable.Range(0, 4).Select(i => new VisualView(ImageViewKind.Tile, i / 2, i % 2, 3)));
        var input = new VisualInput(0, VisualInputKind.Image, views, 2, 2);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(input), new PromptTextPart("Q"))));

        var segment = Assert.Single(prompt.Segments.OfType<VisualSegment>());
        Assert.Equal(new VisualSegment(0, 0, 5, 15), segment);
        Assert.Equal("<|im_start|>user\n<fim_prefix>" + string.Concat(Enumerable.Repeat("<|img|>", 15)) + "<fim_suffix>Q<|im_end|>\n<|im_start|>assistant\n", prompt.Text);
        Assert.Equal(["<|im_end|>"], prompt.StopStrings);
    }

    [Fact]
    public void Format_Video_WritesEachFrameWithItsTime()
    {
        var frames = new[]
        {
            new VisualView(ImageViewKind.Global, 0, 0, 1) { Timestamp = TimeSpan.FromSeconds(1.6) },
            new VisualView(ImageViewKind.Global, 0, 0, 1) { FrameIndex = 1, Timestamp = TimeSpan.FromSeconds(75) },
        };
        var video = new VisualInput(0, VisualInputKind.Video, frames);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(video), new PromptTextPart("What happens?"))));

        Assert.Equal("<|im_start|>user\n[00:01]<fim_prefix><|img|><fim_suffix>\n[01:15]<fim_prefix><|img|><fim_suffix>\nWhat happens?<|im_end|>\n<|im_start|>assistant\n", prompt.Text);
        Assert.Equal([new VisualSegment(0, 0, 1, 1), new VisualSegment(0, 1, 1, 1)], prompt.Segments.OfType<VisualSegment>());
    }

    [Fact]
    public void Format_WithoutGenerationPrompt_EndsWithTheLastTurn()
    {
        var conversation = new PromptConversation([User(new PromptTextPart("Hi")), new PromptMessage(ChatRole.Assistant, [new PromptTextPart("Hello.")])], AddGenerationPrompt: false);

        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n", Template.Format(conversation).Text);
    }

    [Fact]
    public void Format_ImageTokenInText_IsRefused()
    {
        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptTextPart("what is <|img|>?")))));

        Assert.Contains("<|img|>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ToolRole_IsRefused()
    {
        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(new PromptMessage(ChatRole.Tool, [new PromptTextPart("{}")]))));

        Assert.Contains("system, user and assistant", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenize_AddsNoBos_AndMarksTheImgRun()
    {
        var tokenizer = Tokenizer.Load(RepositoryPaths.Combine("models", "aria-tiny"));
        var prompt = Template.Format(Conversation(User(new PromptVisualPart(new VisualInput(0, VisualInputKind.Image, [new VisualView(ImageViewKind.Global, 0, 0, 5)])))));

        var tokens = Template.Tokenize(prompt, tokenizer);

        Assert.Equal(tokenizer.TokenToId("<|im_start|>"), tokens.Ids[0]);
        Assert.Equal(tokenizer.TokenToId("<|img|>"), tokens.PlaceholderId);
        var span = Assert.Single(tokens.VisualSpans);
        Assert.Equal(tokenizer.TokenToId("<fim_prefix>"), tokens.Ids[span.Offset - 1]);
        Assert.Equal(tokenizer.TokenToId("<fim_suffix>"), tokens.Ids[span.Offset + 5]);
    }

    private static bool IsRecipeText(string text) => text == "\n" || (text.StartsWith("Page ", StringComparison.Ordinal) && text.EndsWith(": ", StringComparison.Ordinal));

    private static VisualInput Page(int index, int pageNumber, int tokens) =>
        new(index, VisualInputKind.PdfPage, [new VisualView(ImageViewKind.Global, 0, 0, tokens)]) { PageNumber = pageNumber };

    private static PromptConversation Conversation(params PromptMessage[] messages) => new(messages);

    private static PromptMessage User(params PromptPart[] parts) => new(ChatRole.User, parts);
}

public sealed class AriaImageSplitterTests
{
    // 2:1, so a split picks the (2, 1) ratio: the whole image plus two 980×980 tiles.
    private static readonly ImageFrame Wide = TestImages.Rgb(600, 300);

    [Fact]
    public void Split_Photo_IsNotSplitByDefault()
    {
        var split = new AriaImageSplitter().Split(Wide, Options(VisualInputKind.Image));

        var view = Assert.Single(split.Views);
        Assert.Equal(ImageViewKind.Global, view.Kind);
        Assert.Equal((0, 0), (split.GridRows, split.GridColumns));
    }

    [Fact]
    public void Split_PdfPage_IsSplitByDefault()
    {
        var split = new AriaImageSplitter().Split(Wide, Options(VisualInputKind.PdfPage));

        Assert.Equal(3, split.Views.Count);
        Assert.Equal([ImageViewKind.Global, ImageViewKind.Tile, ImageViewKind.Tile], split.Views.Select(v => v.Kind));
        Assert.Equal((1, 2), (split.GridRows, split.GridColumns));
        Assert.All(split.Views, v => Assert.Equal((980, 980), (v.Image.Width, v.Image.Height)));
    }

    [Fact]
    public void Split_PdfPageWithSplitImageFalse_RespectsTheRequest()
    {
        var options = Options(VisualInputKind.PdfPage);
        options[ImageSplitOptionKeys.SplitImage] = false;

        var split = new AriaImageSplitter().Split(Wide, options);

        Assert.Single(split.Views);
    }

    [Fact]
    public void Split_PdfPageWithSplitImageFalseFromJson_RespectsTheRequest()
    {
        using var doc = JsonDocument.Parse("false");
        var options = Options(VisualInputKind.PdfPage);
        options[ImageSplitOptionKeys.SplitImage] = doc.RootElement.Clone();

        Assert.Single(new AriaImageSplitter().Split(Wide, options).Views);
    }

    [Fact]
    public void Split_PhotoWithSplitImageTrue_IsSplit()
    {
        var options = Options(VisualInputKind.Image);
        options[ImageSplitOptionKeys.SplitImage] = true;

        Assert.Equal(3, new AriaImageSplitter().Split(Wide, options).Views.Count);
    }

    [Fact]
    public void Split_PdfPage_WithPageSplittingOff_KeepsThePreprocessorDefault()
    {
        var split = new AriaImageSplitter(splitPdfPages: false).Split(Wide, Options(VisualInputKind.PdfPage));

        Assert.Single(split.Views);
    }

    [Fact]
    public void Process_DelegatesAndRemembersThePixelMask()
    {
        var splitter = new AriaImageSplitter();
        var split = splitter.Split(Wide);
        var view = Assert.Single(split.Views);

        var tensor = splitter.Process(view);

        Assert.Equal([3, 980, 980], tensor.Shape.ToArray());
        Assert.Equal(AriaImagePreprocessor.Aria.Process(view).Span.ToArray(), tensor.Span.ToArray());
        Assert.True(splitter.TryGetPixelMask(tensor, out var mask));
        var expected = splitter.GetPixelMask(view);
        Assert.Equal(expected.Span.ToArray(), mask.Span.ToArray());

        // 600×300 is resized to 980×490 and padded at the bottom: the mask is true on the top 490 rows only.
        Assert.Equal(980 * 490, mask.Span.ToArray().Count(v => v));
        Assert.False(mask.Span[490 * 980]);
        Assert.Equal([256], splitter.GetViewTokenCounts(split));
    }

    [Fact]
    public async Task AttachPixelMasks_HandsEachViewsMaskToTheEncoderAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny");
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria());
        var encoder = new RecordingEncoder();
        context.VisionEncoder = encoder;

        await AriaFamily.AttachPixelMasksAsync(context, CancellationToken.None);
        var wrapped = context.VisionEncoder;
        await AriaFamily.AttachPixelMasksAsync(context, CancellationToken.None);

        Assert.NotSame(encoder, wrapped);
        Assert.Same(wrapped, context.VisionEncoder);
        var splitter = Assert.IsType<AriaImageSplitter>(context.ImageProcessor);
        var views = splitter.Split(Wide, Options(VisualInputKind.PdfPage)).Views;
        var tensors = views.Select(splitter.Process).ToArray();
        var request = new Dictionary<string, object?> { ["max_image_size"] = 980 };
        await wrapped.EncodeAsync(tensors, new VisionEncodeOptions { AdditionalProperties = request });

        var options = Assert.IsType<VisionEncodeOptions>(encoder.LastOptions);
        Assert.Equal(980, options.AdditionalProperties!["max_image_size"]);
        var masks = Assert.IsAssignableFrom<IReadOnlyList<DenseTensor<bool>>>(options.AdditionalProperties[AriaFamily.PixelMaskKey]);
        Assert.Equal(3, masks.Count);
        for (var i = 0; i < views.Count; i++)
        {
            Assert.Equal(splitter.GetPixelMask(views[i]).Span.ToArray(), masks[i].Span.ToArray());
        }

        Assert.Equal(980 * 490, masks[0].Span.ToArray().Count(v => v));
        Assert.All(masks.Skip(1), m => Assert.DoesNotContain(false, m.Span.ToArray()));
        Assert.False(request.ContainsKey(AriaFamily.PixelMaskKey));
    }

    [Fact]
    public async Task AttachPixelMasks_LeavesTensorsItDidNotMakeAloneAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny");
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria());
        var encoder = new RecordingEncoder();
        context.VisionEncoder = encoder;
        await AriaFamily.AttachPixelMasksAsync(context, CancellationToken.None);
        var options = new VisionEncodeOptions();

        await context.VisionEncoder.EncodeAsync([new DenseTensor<float>(3, 14, 14)], options);

        Assert.Same(options, encoder.LastOptions);
    }

    private static Dictionary<string, object?> Options(VisualInputKind kind) => new() { [ImageSplitOptionKeys.MediaKind] = kind };

    /// <summary>An encoder that records its options and returns one row per view.</summary>
    private sealed class RecordingEncoder : IVisionEncoder
    {
        public VisionEncoderMetadata Metadata { get; } = new("test", 980, 14, 4, 256);

        public VisionEncodeOptions? LastOptions { get; private set; }

        public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
        {
            LastOptions = options;
            return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>([.. views.Select(_ => new DenseTensor<float>(1, 4))]);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}

public sealed class AriaFamilyTests
{
    [Theory]
    [InlineData("""{"model_type": "aria"}""", true)]
    [InlineData("""{"model_type": "aria_text"}""", false)]
    [InlineData("""{"model_type": "llava", "architectures": ["AriaForConditionalGeneration"]}""", false)]
    [InlineData("{}", false)]
    public void CanLoad_ReadsModelType(string config, bool expected)
    {
        using var folder = new TempModelFolder(config);

        Assert.Equal(expected, AriaFamily.Instance.CanLoad(folder.Open()));
    }

    [Fact]
    public void CanLoad_TinyCheckpoints()
    {
        Assert.True(AriaFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-aria"))));
        Assert.False(AriaFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-minicpm-v-2"))));
    }

    [Fact]
    public async Task ConfigureAsync_WiresTokenizerTemplateSplitterAndGreedyDefaultsAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny");

        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria());

        Assert.NotNull(context.Tokenizer);
        Assert.Equal(6, context.Tokenizer.TokenToId("<|img|>"));
        Assert.Same(AriaPromptTemplate.Instance, context.PromptTemplate);
        var splitter = Assert.IsType<AriaImageSplitter>(context.ImageSplitter);
        Assert.Same(splitter, context.ImageProcessor);
        Assert.True(splitter.SplitPdfPages);
        var p = splitter.Preprocessor;
        Assert.Equal((980, 336, false), (p.MaxImageSize, p.MinImageSize, p.SplitImage));
        Assert.Equal(AriaImageGeometry.DefaultSplitRatios, p.SplitRatios);
        var g = context.GenerationDefaults;
        Assert.False(g.DoSample);
        Assert.Equal(500, g.MaxNewTokens);
        Assert.Equal("aria", context.Properties["family"]);
    }

    [Fact]
    public async Task ConfigureAsync_ReadsThePreprocessorConfigFirstAsync()
    {
        using var folder = new TempModelFolder(
            """{"model_type": "aria", "max_image_size": 980, "min_image_size": 300}""",
            tokenizerFrom: "aria-tiny",
            preprocessorJson: """{"max_image_size": 490, "split_ratio": [[1, 2], [2, 1]], "split_image": true, "image_mean": [0.5, 0.5, 0.5]}""");

        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria());

        var p = Assert.IsType<AriaImageSplitter>(context.ImageSplitter).Preprocessor;
        Assert.Equal((490, 300, true), (p.MaxImageSize, p.MinImageSize, p.SplitImage));
        Assert.Equal([new GridShape(1, 2), new GridShape(2, 1)], p.SplitRatios);
    }

    [Fact]
    public async Task ConfigureAsync_WithAnUnsupportedImageSize_FailsClearlyAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny", preprocessorJson: """{"max_image_size": 56}""");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("max_image_size 56", ex.Message, StringComparison.Ordinal);
        Assert.Contains("490 or 980", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureAsync_WithATinyProjector_SizesCropsAndTokensFromItAsync()
    {
        // projector_patch_to_query_dict {"64": 16} with 14-pixel patches: 8×8-patch crops of 112 pixels, 16 queries each.
        using var folder = new TempModelFolder(
            """{"model_type": "aria", "projector_patch_to_query_dict": {"64": 16}, "vision_config": {"patch_size": 14}}""",
            tokenizerFrom: "aria-tiny",
            preprocessorJson: """{"max_image_size": 112, "min_image_size": 112}""");

        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria());

        var splitter = Assert.IsType<AriaImageSplitter>(context.ImageSplitter);
        var p = splitter.Preprocessor;
        Assert.Equal((112, 112, 16), (p.MaxImageSize, p.MinImageSize, p.TokensPerCrop));
        Assert.Equal([112], p.SupportedImageSizes);
        var split = splitter.Split(TestImages.Rgb(300, 150));
        var view = Assert.Single(split.Views);
        Assert.Equal((112, 112), (view.Image.Width, view.Image.Height));
        Assert.Equal([16], splitter.GetViewTokenCounts(split));
        Assert.Equal([3, 112, 112], splitter.Process(view).Shape.ToArray());
    }

    [Fact]
    public void CreatePreprocessor_WithoutSizes_TakesTheLargestSupportedSize_AndClampsTheMinimum()
    {
        // {"16": 4, "64": 16} → 56 and 112; "50" is no square grid and gives no size. No 980, so the default is 112;
        // 336 is clamped to the smallest size, 56.
        using var folder = new TempModelFolder("""{"model_type": "aria", "projector_patch_to_query_dict": {"16": 4, "64": 16, "50": 7}}""");

        var p = AriaFamily.CreatePreprocessor(folder.Open());

        Assert.Equal((112, 56), (p.MaxImageSize, p.MinImageSize));
        Assert.Equal(new Dictionary<int, int> { [56] = 4, [112] = 16 }, p.TokensPerCropBySize);
    }

    [Fact]
    public void CreatePreprocessor_ReadsThePatchSizeFromTheVisionConfig()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria", "projector_patch_to_query_dict": {"64": 16}, "vision_config": {"patch_size": 7}}""");

        var p = AriaFamily.CreatePreprocessor(folder.Open());

        Assert.Equal((56, 56, 16), (p.MaxImageSize, p.MinImageSize, p.TokensPerCrop));
    }

    [Fact]
    public void CreatePreprocessor_WithTheReferencesProjector_KeepsTheReferenceDefaults()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria", "projector_patch_to_query_dict": {"1225": 128, "4900": 256}, "vision_config": {"patch_size": 14}}""");

        var p = AriaFamily.CreatePreprocessor(folder.Open());

        Assert.Equal((980, 336, 256), (p.MaxImageSize, p.MinImageSize, p.TokensPerCrop));
        Assert.Equal(AriaImageGeometry.DefaultTokensPerCrop, p.TokensPerCropBySize);
    }

    [Fact]
    public void CreatePreprocessor_TheTinyAriaCheckpoint_GetsItsProjectorsSizes()
    {
        // tests/data/models/tiny-aria: {"16": 8, "4": 4}, patch 14, no preprocessor_config.json.
        var p = AriaFamily.CreatePreprocessor(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-aria")));

        Assert.Equal((56, 28, 8), (p.MaxImageSize, p.MinImageSize, p.TokensPerCrop));
        Assert.Equal([28, 56], p.SupportedImageSizes);
    }

    [Fact]
    public async Task ConfigureAsync_WithASizeTheProjectorLacks_ListsTheSupportedSizesAsync()
    {
        using var folder = new TempModelFolder(
            """{"model_type": "aria", "projector_patch_to_query_dict": {"16": 4, "64": 16}}""",
            tokenizerFrom: "aria-tiny",
            preprocessorJson: """{"max_image_size": 980}""");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("max_image_size 980", ex.Message, StringComparison.Ordinal);
        Assert.Contains("56 or 112", ex.Message, StringComparison.Ordinal);
        Assert.Contains("projector_patch_to_query_dict", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatePreprocessor_WithAMinimumAboveTheSmallestSize_FailsClearly()
    {
        using var folder = new TempModelFolder(
            """{"model_type": "aria", "projector_patch_to_query_dict": {"16": 4, "64": 16}}""",
            preprocessorJson: """{"max_image_size": 112, "min_image_size": 112}""");

        var ex = Assert.Throws<ModelLoadException>(() => AriaFamily.CreatePreprocessor(folder.Open()));

        Assert.Contains("min_image_size 112", ex.Message, StringComparison.Ordinal);
        Assert.Contains("min_image_size up to 56", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[1225, 128]""")]
    [InlineData("""{"sixty-four": 16}""")]
    [InlineData("""{"64": 0}""")]
    [InlineData("""{"64": "16"}""")]
    [InlineData("""{"50": 7}""")]
    public void CreatePreprocessor_WithAMalformedProjectorMap_FailsClearly(string map)
    {
        using var folder = new TempModelFolder($$"""{"model_type": "aria", "projector_patch_to_query_dict": {{map}}}""");

        var ex = Assert.Throws<ModelLoadException>(() => AriaFamily.CreatePreprocessor(folder.Open()));

        Assert.Contains("projector_patch_to_query_dict", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureAsync_WithAMalformedSplitRatio_FailsClearlyAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny", preprocessorJson: """{"split_ratio": [[1, "2"]]}""");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("split_ratio", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureAsync_OnAnotherFamilysFolder_FailsWithTheModelTypeAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "minicpmv"}""", tokenizerFrom: "aria-tiny");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("'minicpmv'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddAriaFamily_RegistersTheFamilyOnce()
    {
        var services = new ServiceCollection().AddAriaFamily().AddAriaFamily();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IModelFamily));
        Assert.Same(AriaFamily.Instance, descriptor.ImplementationInstance);
    }
}

public sealed class AriaPipelineTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PdfPagesAreSplit_PhotosAreNot_AndEveryViewsMaskReachesTheEncoderAsync(bool detected)
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny");
        var backend = new FakeBackend(tokensPerView: 2);
        var page = TestImages.Rgb(600, 300);
        var builder = new MultimodalModelBuilder().UseModelPath(folder.Path);
        builder = detected ? builder.UseFamily(new DetectingModelFamily([Models.Llava.LlavaFamily.Instance, AriaFamily.Instance])) : builder.UseAria();
        await using var model = builder
            .UseBackend(backend)
            .UsePdfRasterizer(new FakePdfRasterizer(page, page))
            .Build();
        var message = new ChatMessage(ChatRole.User,
        [
            ImageContent.FromPixels(TestImages.Rgb(600, 300)),
            new PdfContent(MediaSource.FromBytes(new byte[] { 0x25 }, "application/pdf")),
            new TextContent("What is on page 2?"),
        ]);

        await model.GenerateAsync([message]);

        // The photo is one crop; each 2:1 page is the whole page plus two tiles.
        var calls = backend.Encoder.Calls;
        Assert.Equal([1, 3, 3], calls.Select(c => c.Views.Count));
        foreach (var (views, options) in calls)
        {
            var masks = Assert.IsAssignableFrom<IReadOnlyList<DenseTensor<bool>>>(options?.AdditionalProperties?[AriaFamily.PixelMaskKey]);
            Assert.Equal(views.Count, masks.Count);
            Assert.Equal(980 * 490, masks[0].Span.ToArray().Count(v => v));
        }

        // The decoder sees exactly what the template makes of a photo and two split pages.
        var tokenizer = Tokenizer.Load(folder.Path);
        var expected = AriaPromptTemplate.Instance.Format(new PromptConversation(
        [
            new PromptMessage(ChatRole.User,
            [
                new PromptVisualPart(Input(0, VisualInputKind.Image, 1, 0)),
                new PromptVisualPart(Input(1, VisualInputKind.PdfPage, 3, 1)),
                new PromptVisualPart(Input(2, VisualInputKind.PdfPage, 3, 2)),
                new PromptTextPart("What is on page 2?"),
            ]),
        ]));
        var prefill = backend.Decoder!.Inputs[0];
        Assert.Equal(AriaPromptTemplate.Instance.Tokenize(expected, tokenizer).Ids, prefill.TokenIds.ToArray());
        Assert.Contains("Page 2: ", expected.Text, StringComparison.Ordinal);
        Assert.Equal(7, prefill.VisualEmbeddings.Count);
    }

    private static VisualInput Input(int index, VisualInputKind kind, int views, int pageNumber)
    {
        var list = new List<VisualView> { new(ImageViewKind.Global, 0, 0, 2) };
        list.AddRange(Enumerable.Range(0, views - 1).Select(c => new VisualView(ImageViewKind.Tile, 0, c, 2)));
        return new VisualInput(index, kind, list, views > 1 ? 1 : 0, views > 1 ? 2 : 0) { PageNumber = pageNumber };
    }
}
