// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Multimodal.Media.Images;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>models/llava-tiny loaded through ONNX Runtime GenAI, and as references through plain ONNX Runtime and the
/// managed backend (one intra-op thread each), with held-out prompts and the managed encoder's rows for a few scenes.</summary>
public sealed class LlavaTinyGenAIFixture : IAsyncLifetime
{
    /// <summary>The placeholder the goldens put at visual positions.</summary>
    public const int ImagePlaceholder = -200;

    public LlavaTinyGenAIFixture() => GenAiTestEnvironment.EnsureConfigured();

    public static string ModelFolder { get; } = RepositoryPaths.Combine("models", "llava-tiny");

    public static int SceneSize { get; } = ReadSceneSize();

    public MultimodalModel GenAI { get; private set; } = null!;

    public MultimodalModel Onnx { get; private set; } = null!;

    public MultimodalModel Managed { get; private set; } = null!;

    public ILanguageDecoder Decoder => GenAI.Components.LanguageDecoder;

    /// <summary>Gets the ONNX Runtime decoder over the same decoder graph: the reference for logits.</summary>
    public ILanguageDecoder Reference => Onnx.Components.LanguageDecoder;

    /// <summary>Gets the first held-out prompts: ids with <see cref="ImagePlaceholder"/> over the image's 64 rows.</summary>
    public IReadOnlyList<int[]> Prompts { get; private set; } = [];

    /// <summary>Gets the managed encoder's rows [64, 128] of scenes 0 to 5.</summary>
    public IReadOnlyList<DenseTensor<float>> Rows { get; private set; } = [];

    public static MultimodalModel CreateModel(IModelBackend backend) =>
        new MultimodalModelBuilder()
            .UseModelPath(ModelFolder)
            .UseLlava()
            .UseBackend(backend)
            .UseImageDecoder(new ImageDecoder())
            .Build();

    public static OnnxRuntimeGenAIBackend CreateGenAIBackend(string? onnxFolder = null) =>
        new(new OnnxRuntimeGenAIBackendOptions { IntraOpThreads = 1, OnnxFolder = onnxFolder ?? "onnx", VisionSession = { IntraOpThreads = 1 } });

    public static string ScenePath(int scene) => RepositoryPaths.Combine("tests", "data", "eval", $"scenes-{SceneSize}", $"scene-{scene:000}.png");

    /// <summary>Builds a decoder input: the ids, with one image's rows over each run of placeholders, in order.</summary>
    public static DecoderInput Input(int[] ids, params DenseTensor<float>[] images)
    {
        var placed = new List<PlacedEmbeddings>();
        var p = 0;
        foreach (var rows in images)
        {
            p = Array.IndexOf(ids, ImagePlaceholder, p);
            Assert.True(p >= 0, "fewer placeholder runs than images");
            placed.Add(new PlacedEmbeddings(p, rows));
            p += rows.Dimension(0);
        }

        return new DecoderInput(ids, placed);
    }

    public static float[] Forward(ILanguageDecoder decoder, IDecoderState state, DecoderInput input)
    {
        var logits = new float[decoder.Metadata.VocabularySize];
        decoder.Forward(state, input, logits);
        return logits;
    }

    /// <summary>Runs a fresh state over the whole input and returns the last position's logits.</summary>
    public static float[] Prefill(ILanguageDecoder decoder, DecoderInput input)
    {
        using var state = decoder.CreateState();
        return Forward(decoder, state, input);
    }

    public static int Argmax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    public async Task InitializeAsync()
    {
        GenAI = CreateModel(CreateGenAIBackend());
        Onnx = CreateModel(new OnnxRuntimeBackend(new OnnxRuntimeBackendOptions { Session = { IntraOpThreads = 1 } }));
        Managed = CreateModel(new ManagedBackend());
        await GenAI.LoadAsync();
        await Onnx.LoadAsync();
        await Managed.LoadAsync();
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(RepositoryPaths.Combine("tests", "data", "eval", "llava", "goldens.json")));
        Prompts = [.. doc.RootElement.GetProperty("items").EnumerateArray().Take(8).Select(item => item.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray())];
        var decoder = new ImageDecoder();
        var processor = Managed.Components.ImageProcessor!;
        var views = Enumerable.Range(0, 6).Select(i => processor.Process(new ImageView(decoder.Decode(File.ReadAllBytes(ScenePath(i))), ImageViewKind.Global))).ToArray();
        Rows = await Managed.Components.VisionEncoder!.EncodeAsync(views);
    }

    public Task DisposeAsync()
    {
        GenAI?.Dispose();
        Onnx?.Dispose();
        Managed?.Dispose();
        return Task.CompletedTask;
    }

    private static int ReadSceneSize()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(RepositoryPaths.Combine("tests", "data", "eval", "llava", "goldens.json")));
        return doc.RootElement.GetProperty("scene_size").GetInt32();
    }
}
