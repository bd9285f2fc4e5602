// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.Models.Aria;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.LongVA;
using Multimodal.Testing;
using Multimodal.Tokenizers;

namespace Multimodal.Models.Tests;

/// <summary>
/// The seeds' media recipes through the family packages with the real media packages: a PDF rendered by poppler at 2x,
/// split by Aria's splitter and laid out as "Page i: " (seed 000); a video decoded by FFmpeg and sampled uniformly,
/// one &lt;image&gt; for the whole video in LongVA (seed 001) and one per frame in AuroraCap (seed 002).
/// </summary>
public sealed class MediaRecipeTests
{
    private static string Pdf => RepositoryPaths.Combine("tests", "data", "media", "pdf", "text-shapes.pdf");

    private static string Video => RepositoryPaths.Combine("samples", "moving-star.mp4");

    [Fact]
    public async Task Aria_PdfPagesAreRenderedSplitAndLaidOutAsPages()
    {
        using var folder = new TempModelFolder("""{"model_type": "aria"}""", tokenizerFrom: "aria-tiny");
        var backend = new FakeBackend(tokensPerView: 2);
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAria().UseBackend(backend).UsePdf().Build();

        await model.GenerateAsync([new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(Pdf)), new TextContent("What is on page 3?")])]);

        // Three pages, one encoder call each; A4 portrait pages (1190x1684 at 2x) and the landscape Letter page
        // (1584x1224) are each split into the whole page plus tiles.
        var calls = backend.Encoder.Calls;
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c => Assert.True(c.Views.Count > 1, "a PDF page is split by default"));

        var tokenizer = Tokenizer.Load(folder.Path);
        var prefill = backend.Decoder!.Inputs[0];
        var text = tokenizer.Decode(prefill.TokenIds.ToArray().Where(id => id >= 0).ToArray(), skipSpecialTokens: false);
        var p1 = text.IndexOf("Page 1: ", StringComparison.Ordinal);
        var p2 = text.IndexOf("Page 2: ", StringComparison.Ordinal);
        var p3 = text.IndexOf("Page 3: ", StringComparison.Ordinal);
        Assert.True(p1 >= 0 && p1 < p2 && p2 < p3 && p3 < text.IndexOf("What is on page 3?", StringComparison.Ordinal), text);
        Assert.Equal(calls.Sum(c => c.Views.Count), prefill.VisualEmbeddings.Count);
    }

    [Fact]
    public async Task LongVA_AVideoIsSampledUniformlyAndIsOneImageMarker()
    {
        using var folder = TinyFolder("tiny-longva", "longva-tiny");
        var backend = new FakeBackend(tokensPerView: 4);
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseLongVA().UseBackend(backend).UseVideo().Build();

        await model.GenerateAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(Video), FrameSampling.Uniform(4)), new TextContent("Describe the video.")])]);

        var frames = Assert.Single(backend.Encoder.Calls).Views;
        Assert.Equal(4, frames.Count);
        var tokenizer = Tokenizer.Load(folder.Path);
        var text = tokenizer.Decode(backend.Decoder!.Inputs[0].TokenIds.ToArray().Where(id => id >= 0).ToArray(), skipSpecialTokens: false);
        Assert.DoesNotContain("<image>", text, StringComparison.Ordinal);
        Assert.Equal(4, backend.Decoder.Inputs[0].VisualEmbeddings.Count);
    }

    [Fact]
    public async Task AuroraCap_EveryFrameIsItsOwnImage()
    {
        using var folder = TinyFolder("tiny-auroracap", "auroracap-tiny", "visual_encoder/config.json", "visual_encoder/preprocessor_config.json", "projector/config.json");
        var backend = new FakeBackend(tokensPerView: 4);
        await using var model = new MultimodalModelBuilder().UseModelPath(folder.Path).UseAuroraCap().UseBackend(backend).UseVideo().Build();

        await model.GenerateAsync([new ChatMessage(ChatRole.User, [new VideoContent(MediaSource.FromFile(Video), FrameSampling.Uniform(3)), new TextContent("Describe the video.")])]);

        var views = backend.Encoder.Calls.SelectMany(c => c.Views).ToList();
        Assert.Equal(3, views.Count);
        Assert.Equal(3, backend.Decoder!.Inputs[0].VisualEmbeddings.Count);
    }

    private static TempModelFolder TinyFolder(string checkpoint, string tokenizer, params string[] extra)
    {
        var source = RepositoryPaths.Combine("tests", "data", "models", checkpoint);
        var folder = new TempModelFolder(File.ReadAllText(Path.Combine(source, "config.json")), tokenizerFrom: tokenizer);
        folder.CopyFrom(source, extra);
        return folder;
    }
}
