// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Media.Images;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>models/llava-tiny loaded twice, through the managed backend and through ONNX Runtime (one intra-op thread, so
/// runs are deterministic), with a few held-out prompts and preprocessed scenes.</summary>
public sealed class LlavaTinyFixture : IAsyncLifetime
{
    /// <summary>The placeholder the goldens put at visual positions.</summary>
    public const int ImagePlaceholder = -200;

    public LlavaTinyFixture() => OrtTestEnvironment.EnsureConfigured();

    /// <summary>Gets the model folder.</summary>
    public static string ModelFolder { get; } = RepositoryPaths.Combine("models", "llava-tiny");

    /// <summary>Gets the side of the held-out scenes (goldens.json's scene_size).</summary>
    public static int SceneSize { get; } = ReadSceneSize();

    public MultimodalModel Managed { get; private set; } = null!;

    public MultimodalModel Onnx { get; private set; } = null!;

    public ILanguageDecoder ManagedDecoder => Managed.Components.LanguageDecoder;

    public ILanguageDecoder OnnxDecoder => Onnx.Components.LanguageDecoder;

    public IVisionEncoder ManagedEncoder => Managed.Components.VisionEncoder!;

    public IVisionEncoder OnnxEncoder => Onnx.Components.VisionEncoder!;

    /// <summary>Gets the first held-out prompts: ids with <see cref="ImagePlaceholder"/> over the image's rows.</summary>
    public IReadOnlyList<int[]> Prompts { get; private set; } = [];

    /// <summary>Gets the preprocessed views [3, 112, 112] of scenes 0 to 5.</summary>
    public IReadOnlyList<DenseTensor<float>> Views { get; private set; } = [];

    /// <summary>Gets the managed encoder's rows for <see cref="Views"/>.</summary>
    public IReadOnlyList<DenseTensor<float>> ManagedRows { get; private set; } = [];

    public static MultimodalModel CreateModel(IModelBackend backend) =>
        new MultimodalModelBuilder()
            .UseModelPath(ModelFolder)
            .UseLlava()
            .UseBackend(backend)
            .UseImageDecoder(new ImageDecoder())
            .Build();

    public static OnnxRuntimeBackend CreateOnnxBackend(Action<OnnxRuntimeBackendOptions>? configure = null)
    {
        var options = new OnnxRuntimeBackendOptions { Session = { IntraOpThreads = 1 } };
        configure?.Invoke(options);
        return new OnnxRuntimeBackend(options);
    }

    /// <summary>Builds a decoder input: the ids, with <paramref name="rows"/> placed over the run of placeholders.</summary>
    public static DecoderInput Input(int[] ids, DenseTensor<float>? rows)
    {
        var offset = Array.IndexOf(ids, ImagePlaceholder);
        return rows is null || offset < 0 ? new DecoderInput(ids) : new DecoderInput(ids, [new PlacedEmbeddings(offset, rows)]);
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

    /// <summary>Decodes a scene PNG and preprocesses it with the family's processor.</summary>
    public DenseTensor<float> View(int scene)
    {
        var frame = new ImageDecoder().Decode(File.ReadAllBytes(ScenePath(scene)));
        return Managed.Components.ImageProcessor!.Process(new ImageView(frame, ImageViewKind.Global));
    }

    public static string ScenePath(int scene) => RepositoryPaths.Combine("tests", "data", "eval", $"scenes-{SceneSize}", $"scene-{scene:000}.png");

    public async Task InitializeAsync()
    {
        Managed = CreateModel(new ManagedBackend());
        Onnx = CreateModel(CreateOnnxBackend());
        await Managed.LoadAsync();
        await Onnx.LoadAsync();
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(RepositoryPaths.Combine("tests", "data", "eval", "llava", "goldens.json")));
        Prompts = [.. doc.RootElement.GetProperty("items").EnumerateArray().Take(8).Select(item => item.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray())];
        Views = [.. Enumerable.Range(0, 6).Select(View)];
        ManagedRows = await ManagedEncoder.EncodeAsync(Views);
    }

    public Task DisposeAsync()
    {
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
