// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Multimodal.Models.MiniCpmV;
using Multimodal.Preprocessing;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

public sealed class MiniCpmVPromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("minicpmv");

    protected override string Family => "minicpmv";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => MiniCpmVPromptTemplate.Instance;
}

public sealed class MiniCpmVTemplateTests
{
    private static readonly MiniCpmVPromptTemplate Template = MiniCpmVPromptTemplate.Instance;

    [Fact]
    public void Format_SlicedImage_MakesOneSegmentPerViewInRowMajorOrder()
    {
        var input = Sliced(index: 0, rows: 2, columns: 3, tokens: 4);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(input), new PromptTextPart("Q?"))));

        var segments = prompt.Segments.OfType<VisualSegment>().ToList();
        Assert.Equal(7, segments.Count);
        Assert.Equal(Enumerable.Range(0, 7), segments.Select(s => s.FirstView));
        Assert.All(segments, s => Assert.Equal((0, 1, 4), (s.InputIndex, s.ViewCount, s.TokenCount)));
        var one = "<image>" + string.Concat(Enumerable.Repeat("<unk>", 4)) + "</image>";
        var row = one + one + one;
        Assert.Equal($"<用户>{one}<slice>{row}\n{row}</slice>\nQ?<AI>", prompt.Text);
        Assert.Equal(["</s>"], prompt.StopStrings);
    }

    [Fact]
    public void Format_WithoutGenerationPrompt_EndsWithTheLastMessage()
    {
        var conversation = new PromptConversation([User(new PromptTextPart("Hi")), Assistant("Hello.")], AddGenerationPrompt: false);

        var prompt = Template.Format(conversation);

        Assert.Equal("<用户>Hi<AI>Hello.", prompt.Text);
    }

    [Fact]
    public void Format_TwoImages_IsRefusedWithTheCount()
    {
        var conversation = Conversation(User(new PromptVisualPart(Single(0)), new PromptVisualPart(Single(1)), new PromptTextPart("Same?")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("one image per conversation", ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal("messages", ex.ParameterName);
    }

    [Fact]
    public void Format_ImagesInTwoTurns_AreCountedAcrossTheConversation()
    {
        var conversation = Conversation(
            User(new PromptVisualPart(Single(0)), new PromptTextPart("What is it?")),
            Assistant("A circle."),
            User(new PromptVisualPart(Single(1)), new PromptTextPart("And this?")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("has 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_Video_IsRefused()
    {
        var video = new VisualInput(0, VisualInputKind.Video, [new VisualView(ImageViewKind.Global, 0, 0, 4), new VisualView(ImageViewKind.Global, 0, 0, 4) { FrameIndex = 1 }]);

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptVisualPart(video), new PromptTextPart("What happens?")))));

        Assert.Contains("video", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Format_SystemMessage_IsRefused()
    {
        var conversation = Conversation(new PromptMessage(ChatRole.System, [new PromptTextPart("Be brief.")]), User(new PromptTextPart("Hi")));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("system", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Format_ImageInAnAssistantMessage_IsRefused()
    {
        var conversation = Conversation(User(new PromptTextPart("Draw.")), new PromptMessage(ChatRole.Assistant, [new PromptVisualPart(Single(0))]));

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(conversation));

        Assert.Contains("user message", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<image>")]
    [InlineData("</image>")]
    [InlineData("<unk>")]
    public void Format_PlaceholderMarkupInText_IsRefused(string marker)
    {
        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptTextPart($"what is {marker}?")))));

        Assert.Contains(marker, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ViewsThatDoNotMatchTheGrid_AreRefused()
    {
        var input = Sliced(0, rows: 2, columns: 2, tokens: 4) with { GridColumns = 3 };

        var ex = Assert.Throws<UnsupportedRequestException>(() => Template.Format(Conversation(User(new PromptVisualPart(input)))));

        Assert.Contains("2x3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenize_PutsEachViewsSpanOnItsUnkRun()
    {
        var tokenizer = Tokenizer.Load(RepositoryPaths.Combine("models", "minicpmv-tiny"));
        var prompt = Template.Format(Conversation(User(new PromptVisualPart(Sliced(0, rows: 1, columns: 2, tokens: 3)), new PromptTextPart("Q?"))));

        var tokens = Template.Tokenize(prompt, tokenizer);

        var unk = tokenizer.TokenToId("<unk>");
        Assert.Equal(unk, tokens.PlaceholderId);
        Assert.Equal(tokenizer.SpecialTokens.BosTokenId, tokens.Ids[0]);
        Assert.Equal(3, tokens.VisualSpans.Count);
        Assert.Equal([0, 1, 2], tokens.VisualSpans.Select(s => s.Segment.FirstView));
        Assert.All(tokens.VisualSpans, s => Assert.All(tokens.Ids.AsSpan(s.Offset, 3).ToArray(), id => Assert.Equal(unk, id)));
        Assert.Equal(9, tokens.Ids.Count(id => id == unk));
    }

    [Fact]
    public void SplitterAndTemplate_LayOutARealImagesGrid()
    {
        // 112×56 at scale_resolution 56: twice the pixel budget, so slice_image picks a 2×1 grid (columns × rows).
        var preprocessor = new MiniCpmVImagePreprocessor(new MiniCpmVSliceGeometry(9, 56, 14, 16));
        var split = preprocessor.Split(TestImages.Rgb(112, 56));
        var counts = preprocessor.GetViewTokenCounts(split);
        var input = new VisualInput(0, VisualInputKind.Image, [.. split.Views.Select((v, i) => new VisualView(v.Kind, v.Row, v.Column, counts[i]))], split.GridRows, split.GridColumns);

        var prompt = Template.Format(Conversation(User(new PromptVisualPart(input), new PromptTextPart("Q?"))));

        Assert.Equal((1, 2), (split.GridRows, split.GridColumns));
        var one = "<image>" + string.Concat(Enumerable.Repeat("<unk>", 16)) + "</image>";
        Assert.Equal($"<用户>{one}<slice>{one}{one}</slice>\nQ?<AI>", prompt.Text);
    }

    internal static PromptConversation Conversation(params PromptMessage[] messages) => new(messages);

    internal static PromptMessage User(params PromptPart[] parts) => new(ChatRole.User, parts);

    internal static PromptMessage Assistant(string text) => new(ChatRole.Assistant, [new PromptTextPart(text)]);

    private static VisualInput Single(int index) => new(index, VisualInputKind.Image, [new VisualView(ImageViewKind.Global, 0, 0, 4)]);

    private static VisualInput Sliced(int index, int rows, int columns, int tokens)
    {
        var views = new List<VisualView> { new(ImageViewKind.Global, 0, 0, tokens) };
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                views.Add(new VisualView(ImageViewKind.Tile, r, c, tokens));
            }
        }

        return new VisualInput(index, VisualInputKind.Image, views, rows, columns);
    }
}

public sealed class MiniCpmVFamilyTests
{
    [Theory]
    [InlineData("""{"model_type": "minicpmv"}""", true)]
    [InlineData("""{"architectures": ["MiniCPMV"]}""", true)]
    [InlineData("""{"model_type": "minicpm", "architectures": ["MiniCPMForCausalLM"]}""", false)]
    [InlineData("""{"model_type": "llava"}""", false)]
    [InlineData("{}", false)]
    public void CanLoad_ReadsModelTypeOrArchitecture(string config, bool expected)
    {
        using var folder = new TempModelFolder(config);

        Assert.Equal(expected, MiniCpmVFamily.Instance.CanLoad(folder.Open()));
    }

    [Fact]
    public void CanLoad_TinyCheckpoints()
    {
        Assert.True(MiniCpmVFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-minicpm-v-2"))));
        Assert.False(MiniCpmVFamily.Instance.CanLoad(ModelFolder.Open(RepositoryPaths.Combine("tests", "data", "models", "tiny-aria"))));
    }

    [Fact]
    public async Task ConfigureAsync_WiresTokenizerTemplateSlicingAndChatDefaultsAsync()
    {
        using var folder = new TempModelFolder(
            """{"model_type": "minicpmv", "max_slice_nums": 4, "scale_resolution": 56, "patch_size": 14, "query_num": 16}""",
            tokenizerFrom: "minicpmv-tiny");

        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV());

        Assert.NotNull(context.Tokenizer);
        Assert.Equal(0, context.Tokenizer.TokenToId("<unk>"));
        Assert.Same(MiniCpmVPromptTemplate.Instance, context.PromptTemplate);
        var preprocessor = Assert.IsType<MiniCpmVImagePreprocessor>(context.ImageSplitter);
        Assert.Same(preprocessor, context.ImageProcessor);
        var g = preprocessor.Geometry;
        Assert.Equal((4, 56, 14, 16), (g.MaxSliceNums, g.ScaleResolution, g.PatchSize, g.QueryNum));
        var d = context.GenerationDefaults;
        Assert.True(d.DoSample);
        Assert.Equal(0.8f, d.TopP);
        Assert.Equal(100, d.TopK);
        Assert.Equal(0.7f, d.Temperature);
        Assert.Equal(1.05f, d.RepetitionPenalty);
        Assert.Equal(1024, d.MaxNewTokens);
        Assert.Equal("minicpmv", context.Properties["family"]);
    }

    [Fact]
    public async Task ChatDefaults_GreedyRequest_KeepsTheRepetitionPenaltyUnlessItIsOverriddenAsync()
    {
        // Regression: the held-out parity harness asked for greedy decoding with only DoSample/Temperature/NumBeams,
        // so MiniCPM-V's chat(sampling=True) repetition penalty (1.05) still applied and 14 of 477 long "Describe the
        // image." answers diverged from train.py's reference_greedy (plain argmax). The family default is right (the
        // penalty is not tied to sampling in the reference); a plain-greedy request has to set it to 1 explicitly.
        using var folder = new TempModelFolder("""{"model_type": "minicpmv"}""", tokenizerFrom: "minicpmv-tiny");
        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV());

        var samplingOff = GenerationSettings.Resolve(new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 64, NumBeams = 1 }, context.GenerationDefaults);
        Assert.False(samplingOff.DoSample);
        Assert.Equal(1.05f, samplingOff.RepetitionPenalty);

        var plain = GenerationSettings.Resolve(HeldOutEvaluationBase.PlainGreedy(), context.GenerationDefaults);
        Assert.False(plain.DoSample);
        Assert.Equal(1, plain.NumBeams);
        Assert.Equal(1f, plain.RepetitionPenalty);
        Assert.Equal(0f, plain.FrequencyPenalty);
        Assert.Equal(0f, plain.PresencePenalty);
        Assert.Equal(64, plain.MaxNewTokens);
    }

    [Fact]
    public async Task ConfigureAsync_WithoutSlicingKeys_UsesMiniCpmV2ValuesAsync()
    {
        using var folder = new TempModelFolder("""{"architectures": ["MiniCPMV"]}""", tokenizerFrom: "minicpmv-tiny");

        var context = await CapturingBackend.ConfigureAsync(new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV());

        var g = Assert.IsType<MiniCpmVImagePreprocessor>(context.ImageSplitter).Geometry;
        Assert.Equal((9, 448, 14, 64), (g.MaxSliceNums, g.ScaleResolution, g.PatchSize, g.QueryNum));
    }

    [Fact]
    public async Task ConfigureAsync_OnAnotherFamilysFolder_FailsWithTheModelTypeAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "llava"}""", tokenizerFrom: "minicpmv-tiny");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("'llava'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureAsync_SliceModeOff_IsRefusedAsync()
    {
        using var folder = new TempModelFolder("""{"model_type": "minicpmv", "slice_mode": false}""", tokenizerFrom: "minicpmv-tiny");
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV().UseBackend(new CapturingBackend()).Build();

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => model.LoadAsync());

        Assert.Contains("slice_mode", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMiniCpmVFamily_RegistersTheFamilyOnce()
    {
        var services = new ServiceCollection().AddMiniCpmVFamily().AddMiniCpmVFamily();

        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IModelFamily));
        Assert.Same(MiniCpmVFamily.Instance, descriptor.ImplementationInstance);
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
    }
}

public sealed class MiniCpmVPipelineTests
{
    private const string Config = """{"model_type": "minicpmv", "scale_resolution": 56, "patch_size": 14, "query_num": 16}""";

    [Fact]
    public async Task AnImage_IsSlicedAndEachViewFillsItsUnkRunAsync()
    {
        using var folder = new TempModelFolder(Config, tokenizerFrom: "minicpmv-tiny");
        var backend = new FakeBackend(tokensPerView: 16);
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV().UseBackend(backend).Build();

        await model.GenerateAsync([new ChatMessage(ChatRole.User, [ImageContent.FromPixels(TestImages.Rgb(112, 56)), new TextContent("What shape?")])]);

        // 112×56 at scale_resolution 56: the source view and a 2×1 grid of slices, each view its own run of 16 <unk>.
        var call = Assert.Single(backend.Encoder.Calls);
        Assert.Equal(3, call.Views.Count);
        var prefill = backend.Decoder!.Inputs[0];
        var ids = prefill.TokenIds.ToArray();
        Assert.Equal(1, ids[0]);
        Assert.Equal(48, ids.Count(id => id == 0));
        Assert.Equal(3, prefill.VisualEmbeddings.Count);
        Assert.All(prefill.VisualEmbeddings, v => Assert.All(ids.AsSpan(v.Offset, 16).ToArray(), id => Assert.Equal(0, id)));
    }

    [Fact]
    public async Task TwoImages_AreRefusedBeforeDecodingAsync()
    {
        using var folder = new TempModelFolder(Config, tokenizerFrom: "minicpmv-tiny");
        var backend = new FakeBackend(tokensPerView: 16);
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseMiniCpmV().UseBackend(backend).Build();
        var message = new ChatMessage(ChatRole.User, [ImageContent.FromPixels(TestImages.Rgb(56, 56)), ImageContent.FromPixels(TestImages.Rgb(56, 56)), new TextContent("Same?")]);

        var ex = await Assert.ThrowsAsync<UnsupportedRequestException>(() => model.GenerateAsync([message]));

        Assert.Contains("one image per conversation; the request has 2", ex.Message, StringComparison.Ordinal);
        Assert.Empty(backend.Decoder!.Inputs);
    }
}
