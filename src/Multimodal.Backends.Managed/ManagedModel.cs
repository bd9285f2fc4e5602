// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Families;

namespace Multimodal.Backends.Managed;

/// <summary>
/// A vision-language model loaded by the managed backend from a Hugging Face checkpoint folder in its family's real
/// layout: the vision tower and projector as an <see cref="IVisionEncoder"/>, the language model as an
/// <see cref="ILanguageDecoder"/>.
/// </summary>
/// <remarks>
/// <para>Supported folders (detected from <c>config.json</c>): llava-hf LLaVA-1.5 (<c>model_type</c> <c>llava</c>),
/// LLaVA-MPT (<c>llava_mpt</c>, with the CLIP folder named by <c>mm_vision_tower</c>), LongVA (<c>llava_qwen</c>),
/// AuroraCap in xtuner layout (a Llama root with <c>visual_encoder/</c> and <c>projector/</c>), MiniCPM-V 2
/// (<c>minicpmv</c>) and Aria (<c>aria</c>); plain Llama, Qwen2, MiniCPM and MPT folders load as text-only models
/// (their vision encoder refuses images). Weights are memory-mapped; the model keeps its files open until disposed.</para>
/// <para>Thread-safety: encoding and decoding may run concurrently on different states.</para>
/// </remarks>
public sealed class ManagedModel : IDisposable
{
    private readonly ManagedVisionEncoder _vision;

    private ManagedModel(FamilyModel family)
    {
        Family = family;
        _vision = new ManagedVisionEncoder(family.Vision, family.Name);

        // The encoder and the decoder share the memory-mapped weights: the last one disposed releases them, so
        // a pipeline that owns (and disposes) both components separately releases everything.
        var lifetime = new SharedLifetime(family, 2);
        _vision.Owner = lifetime;
        family.Decoder.Owner = lifetime;
    }

    /// <summary>Gets the family name: <c>llava-1.5</c>, <c>llava-mpt</c>, <c>longva</c>, <c>auroracap</c>, <c>minicpm-v-2</c> or <c>aria</c>.</summary>
    public string FamilyName => Family.Name;

    /// <summary>Gets the vision tower and projector.</summary>
    public IVisionEncoder VisionEncoder => _vision;

    /// <summary>Gets the language model.</summary>
    public ILanguageDecoder LanguageDecoder => Family.Decoder;

    internal FamilyModel Family { get; }

    /// <summary>Loads a model folder.</summary>
    /// <param name="folder">The checkpoint folder (config.json and safetensors).</param>
    /// <param name="options">Quantization and threading options.</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="ModelLoadException">The folder is not a supported family, or its config or weights are invalid.</exception>
    public static ManagedModel Load(string folder, ManagedModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new ManagedModelOptions();
        options.Validate();
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException($"The model folder '{folder}' does not exist.", folder);
        }

        var config = ConfigSection.Load(Path.Combine(folder, "config.json"));
        var name = DetectFamily(folder, config);
        FamilyModel family = name switch
        {
            "llava-1.5" => new LlavaModel(folder, config, options),
            "longva" => new LongVaModel(folder, config, options),
            "llava-mpt" => new LlavaMptModel(folder, config, options),
            "auroracap" => new AuroraCapModel(folder, config, options),
            "minicpm-v-2" => new MiniCpmVModel(folder, config, options),
            "aria" => new AriaModel(folder, config, options),
            "llama" or "qwen2" or "minicpm" or "mpt" => new TextOnlyModel(folder, config, name, options),
            _ => throw new ModelLoadException($"'{folder}' holds a \"{config.String("model_type")}\" model; the managed backend runs llava (llava-hf LLaVA-1.5), llava_mpt, llava_qwen (LongVA), AuroraCap (xtuner layout), minicpmv and aria, and text-only llama, qwen2, minicpm and mpt.", folder),
        };

        return new ManagedModel(family);
    }

    /// <summary>Tells which family a folder holds, from its config.json and layout, without loading weights.</summary>
    /// <param name="folder">The model folder.</param>
    /// <returns>The family name (as <see cref="FamilyName"/>), or <see langword="null"/> when the managed backend does
    /// not run it.</returns>
    /// <exception cref="ModelLoadException">config.json is missing or is not a JSON object.</exception>
    public static string? DetectFamily(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        return DetectFamily(folder, ConfigSection.Load(Path.Combine(folder, "config.json")));
    }

    private static string? DetectFamily(string folder, ConfigSection config) => config.String("model_type") switch
    {
        "llava" => "llava-1.5",
        "llava_qwen" => "longva",
        "llava_mpt" => "llava-mpt",
        "mpt" when config.Has("mm_vision_tower") => "llava-mpt",
        "llama" when AuroraCapModel.IsXtunerLayout(folder) => "auroracap",
        "minicpmv" => "minicpm-v-2",
        "aria" => "aria",
        "llama" or "qwen2" or "minicpm" or "mpt" => config.String("model_type"),
        _ => null,
    };

    /// <summary>Disposes the encoder and the decoder, which releases the weights.</summary>
    public void Dispose()
    {
        _vision.Dispose();
        Family.Decoder.Dispose();
    }

    /// <summary>Disposes a resource when every holder has let go of it (each holder releases once).</summary>
    private sealed class SharedLifetime(IDisposable resource, int holders) : IDisposable
    {
        private int _holders = holders;

        public void Dispose()
        {
            if (Interlocked.Decrement(ref _holders) == 0)
            {
                resource.Dispose();
            }
        }
    }
}
