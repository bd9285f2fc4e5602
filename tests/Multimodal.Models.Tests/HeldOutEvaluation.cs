// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Backends.Managed;
using Multimodal.Media.Images;
using Multimodal.Models.Aria;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.Llava;
using Multimodal.Models.LongVA;
using Multimodal.Models.MiniCpmV;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Models.Tests;

/// <summary>Runs a bundled tiny model through the whole C# pipeline (family package, image decoder, preprocessing,
/// managed backend, template, greedy generation) on the held-out set eng/train/train.py evaluated in PyTorch, and
/// compares: accuracy ≥ 95% and within one point of PyTorch's, greedy tokens identical on ≥ 99% of prompts.</summary>
public abstract class HeldOutEvaluationBase(ITestOutputHelper output)
{
    /// <summary>Gets the family name of the goldens (tests/data/eval/&lt;family&gt;/goldens.json).</summary>
    protected abstract string Family { get; }

    /// <summary>Runs the evaluation and checks every acceptance figure: accuracy ≥ 95%, within one point of PyTorch, tokens identical on ≥ 99%.</summary>
    protected async Task EvaluateAsync()
    {
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(RepositoryPaths.Combine("tests", "data", "eval", Family, "goldens.json")));
        var root = doc.RootElement;
        var folder = RepositoryPaths.Combine(root.GetProperty("model").GetString()!.Split('/'));
        var scene = root.GetProperty("scene_size").GetInt32();
        using var model = CreateModel(folder);
        var options = PlainGreedy();
        if (root.TryGetProperty("eval_token_kept_ratio", out var ratio) && ratio.ValueKind == JsonValueKind.Number)
        {
            options.AdditionalProperties = new Dictionary<string, object?> { ["token_kept_ratio"] = ratio.GetDouble() };
        }

        int total = 0, correct = 0, identical = 0;
        var mismatches = new List<string>();
        foreach (var item in root.GetProperty("items").EnumerateArray())
        {
            var index = item.GetProperty("index").GetInt32();
            var message = Message(item, scene);
            var result = await model.GenerateAsync([message], options);
            var golden = item.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToList();
            if (golden.Count > 0 && result.FinishReason == GenerationFinishReason.StopToken)
            {
                golden.RemoveAt(golden.Count - 1); // the stop token ends generation and is not part of the result
            }

            total++;
            var answer = item.GetProperty("answer").GetString()!;
            if (result.Text.Trim() == answer)
            {
                correct++;
            }

            if (golden.SequenceEqual(result.TokenIds))
            {
                identical++;
            }
            else if (mismatches.Count < 5)
            {
                mismatches.Add($"{item.GetProperty("question").GetString()} [{index}]: C# '{result.Text}' vs PyTorch '{item.GetProperty("output").GetString()}'");
            }
        }

        var accuracy = (double)correct / total;
        var pytorch = root.GetProperty("accuracy").GetDouble();
        var tokenIdentity = (double)identical / total;
        output.WriteLine($"{Family}: C# accuracy {accuracy:P2}, PyTorch {pytorch:P2}, greedy tokens identical on {tokenIdentity:P2} of {total} prompts");
        foreach (var m in mismatches)
        {
            output.WriteLine("  differs: " + m);
        }

        Assert.True(accuracy >= 0.95, $"C# held-out accuracy {accuracy:P2} is below 95%.");
        Assert.True(Math.Abs(accuracy - pytorch) <= 0.01, $"C# accuracy {accuracy:P2} is more than one point from PyTorch's {pytorch:P2}.");
        Assert.True(tokenIdentity >= 0.99, $"Greedy tokens match PyTorch on only {tokenIdentity:P2} of prompts. {string.Join(" | ", mismatches)}");
    }

    /// <summary>A chat session's second turn (which reuses the cache) gives the same tokens as a fresh prefill of the whole conversation.</summary>
    protected async Task SecondTurnMatchesFreshPrefillAsync()
    {
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(RepositoryPaths.Combine("tests", "data", "eval", Family, "goldens.json")));
        var root = doc.RootElement;
        var folder = RepositoryPaths.Combine(root.GetProperty("model").GetString()!.Split('/'));
        var scene = root.GetProperty("scene_size").GetInt32();
        using var model = CreateModel(folder);
        var options = new GenerationOptions { DoSample = false, Temperature = 0, MaxNewTokens = 64, NumBeams = 1 };
        for (var index = 0; index < 3; index++)
        {
            var image = ImageContent.FromFile(RepositoryPaths.Combine("tests", "data", "eval", $"scenes-{scene}", $"scene-{index:000}.png"));
            var first = new ChatMessage(ChatRole.User, [image, new TextContent("How many shapes are there?")]);
            var second = new ChatMessage(ChatRole.User, "Describe the image.");
            using var session = model.CreateChatSession();
            var reply1 = await session.SendAsync(first, options);
            var cached = session.CachedTokens;
            var reply2 = await session.SendAsync(second, options);
            Assert.True(session.LastTurn!.ReusedTokens > 0 && session.LastTurn.ReusedTokens <= cached, $"turn 2 reused {session.LastTurn.ReusedTokens} of {cached} cached positions");
            Assert.True(session.LastTurn.PrefilledTokens < session.LastTurn.PromptTokens / 2, $"turn 2 prefilled {session.LastTurn.PrefilledTokens} of {session.LastTurn.PromptTokens} positions");

            var fresh = await model.GenerateAsync([first, new ChatMessage(ChatRole.Assistant, reply1.Text), second], options);
            Assert.Equal(fresh.TokenIds, reply2.TokenIds);
            output.WriteLine($"{Family} scene {index}: '{reply1.Text}' / '{reply2.Text}' (turn 2 reused {session.LastTurn.ReusedTokens}, prefilled {session.LastTurn.PrefilledTokens})");
        }
    }

    /// <summary>Builds a held-out item's user message: its image, video (a folder of frames) or PDF (a folder of pages), then its question.</summary>
    internal static ChatMessage Message(JsonElement item, int scene)
    {
        var index = item.GetProperty("index").GetInt32();
        AIContent media = item.GetProperty("kind").GetString() switch
        {
            "video" => new VideoContent(MediaSource.FromFile(RepositoryPaths.Combine("tests", "data", "eval", VideoFolder(item, scene), $"video-{index:000}"))),
            "pdf" => new PdfContent(MediaSource.FromFile(RepositoryPaths.Combine("tests", "data", "eval", $"pdfs-{scene}", $"pdf-{index:000}"))),
            _ => ImageContent.FromFile(RepositoryPaths.Combine("tests", "data", "eval", $"scenes-{scene}", $"scene-{index:000}.png")),
        };
        return new ChatMessage(ChatRole.User, [media, new TextContent(item.GetProperty("question").GetString()!)]);
    }

    /// <summary>The folder of a video item's frames: the item's <c>video_dir</c> (a family that samples another frame
    /// count than 8 has its own), else the shared <c>videos-&lt;scene&gt;</c>.</summary>
    private static string VideoFolder(JsonElement item, int scene) =>
        item.TryGetProperty("video_dir", out var dir) && dir.GetString() is { Length: > 0 } name ? name : $"videos-{scene}";

    /// <summary>The decoding eng/train/train.py <c>reference_greedy</c> does: argmax of the raw logits, one beam, 64 new
    /// tokens, and no logit processing. Every knob a family's defaults may set is overridden explicitly: MiniCPM-V's
    /// defaults (the reference <c>chat(sampling=True)</c>) carry a repetition penalty of 1.05 and beam search, which a
    /// request that only turns sampling off would still inherit.</summary>
    internal static GenerationOptions PlainGreedy() => new()
    {
        DoSample = false,
        Temperature = 0,
        MaxNewTokens = 64,
        NumBeams = 1,
        RepetitionPenalty = 1f,
        FrequencyPenalty = 0f,
        PresencePenalty = 0f,
    };

    /// <summary>Creates the model the way an application does: the installed families, a backend (managed by default), the image decoder, and test sources that read folders of PNG frames and pages as videos and PDFs.</summary>
    internal static MultimodalModel CreateModel(string folder, IModelBackend? backend = null) =>
        new MultimodalModelBuilder()
            .UseModelPath(folder)
            .UseFamily(new DetectingModelFamily([LlavaFamily.Instance, LongVaFamily.Instance, AuroraCapFamily.Instance, MiniCpmVFamily.Instance, AriaFamily.Instance]))
            .UseBackend(backend ?? new ManagedBackend())
            .UseImageDecoder(new ImageDecoder())
            .UseVideoFrameSource(new PngFolderFrameSource())
            .UsePdfRasterizer(new PngFolderPdfRasterizer())
            .Build();
}

/// <summary>A PDF as a folder of <c>page-N.png</c> files (the held-out documents; real PDF rendering is issue 7's).</summary>
internal sealed class PngFolderPdfRasterizer : IPdfRasterizer
{
    public async IAsyncEnumerable<RenderedPage> RenderPagesAsync(PdfContent document, double defaultZoom, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var folder = document.Source.Path ?? throw new InvalidMediaException("The test rasteriser reads a folder path.", "application/pdf");
        var decoder = new ImageDecoder();
        var files = Directory.GetFiles(folder, "page-*.png").OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)["page-".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        for (var i = 0; i < files.Length; i++)
        {
            yield return new RenderedPage(i + 1, await decoder.DecodeAsync(MediaSource.FromFile(files[i]), null, cancellationToken));
        }
    }
}

/// <summary>A video as a folder of <c>frame-N.png</c> files (the held-out videos; real video decoding is issue 7's).</summary>
internal sealed class PngFolderFrameSource : IVideoFrameSource
{
    public async IAsyncEnumerable<VideoFrame> ReadFramesAsync(VideoContent video, FrameSampling sampling, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var folder = video.Source.Path ?? throw new InvalidMediaException("The test frame source reads a folder path.", "video/x-png-folder");
        var decoder = new ImageDecoder();
        var files = Directory.GetFiles(folder, "frame-*.png").OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)["frame-".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        for (var i = 0; i < files.Length; i++)
        {
            var image = await decoder.DecodeAsync(MediaSource.FromFile(files[i]), null, cancellationToken);
            yield return new VideoFrame(i, TimeSpan.FromSeconds(i / 8.0), image);
        }
    }
}
