// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Modules;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// Aria (<c>model_type</c> <c>aria</c>) in the rhymes-ai layout, original or transformers-converted tensor names:
/// an Idefics-style SigLIP tower (<c>vision_tower.*</c>, NaViT positions, padded patches masked as keys, no
/// post-LayerNorm), the cross-attention projector (<c>multi_modal_projector.*</c>) and a Llama decoder with MoE MLPs
/// (<c>language_model.model.*</c> + <c>language_model.lm_head</c>).
/// </summary>
/// <remarks>Each view is a padded M×M crop; its pixel mask (<c>[M, M]</c>, true = valid) comes through
/// <see cref="VisionEncodeOptions.AdditionalProperties"/>["pixel_mask"] as an
/// <see cref="IReadOnlyList{T}"/> of <see cref="DenseTensor{T}"/> of <see cref="bool"/>, one per view; absent means
/// all valid.</remarks>
internal sealed class AriaModel : FamilyModel, IViewEncoder
{
    /// <summary>The <see cref="VisionEncodeOptions.AdditionalProperties"/> key of the per-view pixel masks.</summary>
    public const string PixelMaskKey = "pixel_mask";

    private readonly int _layers;

    public AriaModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var visionSection = config.Section("vision_config") ?? throw config.Fail("vision_config", "is missing");
        var textSection = config.Section("text_config") ?? throw config.Fail("text_config", "is missing");
        var vision = ReadVision(visionSection);
        var text = DecoderConfig.FromLlama(textSection, DecoderArchitecture.AriaMoe);
        var patchToQuery = ReadPatchToQuery(config);
        _layers = ClipVisionTower.LayersFor(config.Int("vision_feature_layer", -1), vision.Layers);

        var loader = Open(folder);
        var visionPrefix = loader.Contains("vision_tower.vision_model.embeddings.patch_embedding.weight") ? "vision_tower.vision_model."
            : loader.Contains("vision_tower.embeddings.patch_embedding.weight") ? "vision_tower."
            : throw new ModelLoadException($"'{folder}' has neither 'vision_tower.vision_model.embeddings.patch_embedding.weight' (rhymes-ai naming) nor 'vision_tower.embeddings.patch_embedding.weight' (transformers naming).", folder);
        const string ProjectorPrefix = "multi_modal_projector.";
        var names = new AriaProjectorNames(
            Pick(loader, ProjectorPrefix, AriaProjectorNames.Original.KvNorm, AriaProjectorNames.Converted.KvNorm, ".weight"),
            Pick(loader, ProjectorPrefix, AriaProjectorNames.Original.FfnNorm, AriaProjectorNames.Converted.FfnNorm, ".weight"),
            Pick(loader, ProjectorPrefix, AriaProjectorNames.Original.Ffn, AriaProjectorNames.Converted.Ffn, ".linear_in.weight"));

        Tower = IdeficsSiglipTower.Load(loader, vision, visionPrefix, _layers, Context);
        Projector = AriaProjector.Load(loader, ProjectorPrefix, names, vision.HiddenSize, vision.Heads, text.HiddenSize, patchToQuery, Context);
        Decoder = CreateDecoder(loader, text, "language_model.model.", "language_model.lm_head.weight");
        ImageTokenId = config.Int("image_token_index", 9);
        TokensPerView = patchToQuery.TryGetValue(vision.GridSide * vision.GridSide, out var full) ? full : 0;
    }

    public override string Name => "aria";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    /// <summary>Gets the <c>&lt;|img|&gt;</c> id (<c>image_token_index</c>).</summary>
    public int ImageTokenId { get; }

    public int OutputWidth => Projector.OutFeatures;

    /// <summary>Gets the full crop side M (<c>image_size</c>, 980); the half-size mode (490) is accepted as well.</summary>
    public int ImageSize => Tower.Config.ImageSize;

    public int PatchSize => Tower.Config.PatchSize;

    public int TokensPerView { get; }

    internal IdeficsSiglipTower Tower { get; }

    internal AriaProjector Projector { get; }

    internal int FeatureLayers => _layers;

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options)
    {
        ArgumentNullException.ThrowIfNull(view);
        var (h, w) = PatchEmbedding.CheckView(view, Tower.Config.PatchSize, side: null);
        var patchValid = IdeficsSiglipTower.PatchMask(PixelMaskFor(options, index), h, w, Tower.Config.PatchSize);
        var features = Tower.Forward(view, patchValid, _layers);
        return Projector.Forward(features, patchValid, out _);
    }

    /// <summary>Reads view <paramref name="index"/>'s pixel mask from the options, or <see langword="null"/>.</summary>
    internal static DenseTensor<bool>? PixelMaskFor(VisionEncodeOptions? options, int index)
    {
        if (options?.AdditionalProperties is not { } properties || !properties.TryGetValue(PixelMaskKey, out var value) || value is null)
        {
            return null;
        }

        if (value is not IReadOnlyList<DenseTensor<bool>> masks)
        {
            throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"] must be an IReadOnlyList<DenseTensor<bool>> (one [H, W] mask per view); got {value.GetType().Name}.", nameof(options));
        }

        if (index >= masks.Count)
        {
            throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"] has {masks.Count} masks; view {index} has none.", nameof(options));
        }

        return masks[index] ?? throw new ArgumentException($"AdditionalProperties[\"{PixelMaskKey}\"][{index}] is null.", nameof(options));
    }

    /// <summary>The tower's dimensions; Aria's config leaves out <c>layer_norm_eps</c> and <c>hidden_act</c> (the
    /// Idefics3 defaults 1e-6 and tanh GELU apply), names the heads <c>attention_heads</c> and may omit
    /// <c>hidden_size</c>; so400m values fill what is missing.</summary>
    private static VisionConfig ReadVision(ConfigSection section)
    {
        var activation = section.String("hidden_act") switch
        {
            null or "gelu_pytorch_tanh" or "gelu_new" => VitActivation.GeluTanh,
            "gelu" => VitActivation.Gelu,
            var other => throw section.Fail("hidden_act", $"is \"{other}\"; gelu_pytorch_tanh or gelu was expected"),
        };

        var config = new VisionConfig
        {
            HiddenSize = section.Int("hidden_size", 1152),
            IntermediateSize = section.Int("intermediate_size", 4304),
            Heads = section.Has("num_attention_heads") ? section.Int("num_attention_heads") : section.Int("attention_heads", 16),
            Layers = section.Int("num_hidden_layers", 27),
            ImageSize = section.Int("image_size", 980),
            PatchSize = section.Int("patch_size", 14),
            LayerNormEpsilon = (float)section.Number("layer_norm_eps", 1e-6),
            Activation = activation,
        };

        if (config.Heads < 1 || config.HiddenSize % config.Heads != 0)
        {
            throw section.Fail("attention_heads", $"is {config.Heads}, which does not divide hidden_size {config.HiddenSize}");
        }

        if (config.PatchSize <= 0 || config.ImageSize % config.PatchSize != 0)
        {
            throw section.Fail("image_size", $"is {config.ImageSize}, not a multiple of patch_size {config.PatchSize}");
        }

        return config;
    }

    private static Dictionary<int, int> ReadPatchToQuery(ConfigSection config)
    {
        var result = new Dictionary<int, int>();
        if (config.Raw("projector_patch_to_query_dict") is not { ValueKind: JsonValueKind.Object } raw)
        {
            // The rhymes-ai default.
            result[1225] = 128;
            result[4900] = 256;
            return result;
        }

        foreach (var entry in raw.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var patches) || entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var queries) || queries < 1)
            {
                throw config.Fail("projector_patch_to_query_dict", $"has the entry \"{entry.Name}\": {entry.Value.GetRawText()}; patch count → positive query count was expected");
            }

            result[patches] = queries;
        }

        return result.Count > 0 ? result : throw config.Fail("projector_patch_to_query_dict", "is empty");
    }

    private static string Pick(WeightLoader loader, string prefix, string original, string converted, string suffix) =>
        loader.Contains(prefix + original + suffix) ? original
        : loader.Contains(prefix + converted + suffix) ? converted
        : throw new ModelLoadException($"Neither '{prefix}{original}{suffix}' nor '{prefix}{converted}{suffix}' is in the checkpoint.");
}
