// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Modules;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// AuroraCap in the xtuner layout: a Llama root (<c>model.*</c>, <c>lm_head</c>), <c>visual_encoder/</c> (a CLIP
/// vision model, <c>vision_model.*</c>) run with ToMe between attention and MLP in every layer, and
/// <c>projector/</c> (xtuner's <c>ProjectorModel</c>: <c>model.0</c>, GELU, <c>model.2</c>, ...). The feature is
/// <c>hidden_states[-2]</c> without the class token, so one fewer merge step than layers.
/// </summary>
/// <remarks>The merge per layer is r = int(patches · (1 − token_kept_ratio) / num_hidden_layers), from the request's
/// <c>token_kept_ratio</c> option (<see cref="TokenKeptRatioKey"/>, default <see cref="DefaultTokenKeptRatio"/> as in the
/// reference's inference script) or an explicit <see cref="VisionEncodeOptions.LayerMerger"/>.</remarks>
internal sealed class AuroraCapModel : FamilyModel, IViewEncoder
{
    /// <summary>The option key of the kept-token ratio.</summary>
    public const string TokenKeptRatioKey = BipartiteTokenMerger.TokenKeptRatioKey;

    /// <summary>The reference inference script's default ratio.</summary>
    public const double DefaultTokenKeptRatio = 0.8;

    private readonly ClipVisionTower _tower;
    private readonly MlpProjector _projector;
    private readonly int _layers;

    public AuroraCapModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var encoderFolder = Path.Combine(folder, "visual_encoder");
        var projectorFolder = Path.Combine(folder, "projector");
        var visionSection = LoadConfig(encoderFolder);
        var vision = VisionConfig.Read(visionSection.Section("vision_config") ?? visionSection, VitActivation.QuickGelu, 1e-5f);
        _layers = ClipVisionTower.LayersFor(-2, vision.Layers);
        _tower = ClipVisionTower.Load(Open(encoderFolder), vision, "vision_model.", _layers, Context);

        var text = DecoderConfig.FromLlama(config, DecoderArchitecture.Llama);
        var projectorConfig = LoadConfig(projectorFolder);
        _projector = LoadProjector(Open(projectorFolder), projectorConfig, vision.HiddenSize, text.HiddenSize);
        Decoder = CreateDecoder(Open(folder), text, "model.", "lm_head.weight");
    }

    public override string Name => "auroracap";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    public int OutputWidth => _projector.OutFeatures;

    public int ImageSize => _tower.Config.ImageSize;

    public int PatchSize => _tower.Config.PatchSize;

    public int TokensPerView => Patches - ((_layers) * TokensPerLayer(DefaultTokenKeptRatio));

    internal ClipVisionTower Tower => _tower;

    internal int FeatureLayers => _layers;

    private int Patches => _tower.Config.GridSide * _tower.Config.GridSide;

    /// <summary>Tells whether a folder is in AuroraCap's xtuner layout.</summary>
    public static bool IsXtunerLayout(string folder) =>
        File.Exists(Path.Combine(folder, "visual_encoder", "config.json")) && File.Exists(Path.Combine(folder, "projector", "config.json"));

    /// <summary>ToMe's r for a ratio.</summary>
    public int TokensPerLayer(double tokenKeptRatio) => BipartiteTokenMerger.TokensPerLayer(Patches, tokenKeptRatio, _tower.Config.Layers);

    /// <summary>The merger a request asks for.</summary>
    public ITokenMerger MergerFor(VisionEncodeOptions? options)
    {
        if (options?.LayerMerger is { } merger)
        {
            return merger;
        }

        return new BipartiteTokenMerger(TokensPerLayer(BipartiteTokenMerger.ReadTokenKeptRatio(options, DefaultTokenKeptRatio)));
    }

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options) =>
        _projector.Forward(_tower.Forward(view, _layers, keepClassToken: false, MergerFor(options)), Context);

    internal float[] Project(float[] features) => _projector.Forward(features, Context);

    private static MlpProjector LoadProjector(WeightLoader loader, ConfigSection config, int visual, int llm)
    {
        var depth = config.Int("depth", 2);
        if (depth is not (1 or 2))
        {
            throw config.Fail("depth", $"is {depth}; projectors of depth 1 or 2 are supported");
        }

        if (config.String("hidden_act", "gelu") != "gelu" || !config.Bool("bias", true))
        {
            throw config.Fail("hidden_act", "must be \"gelu\" with bias true (xtuner's ProjectorModel defaults)");
        }

        var inWidth = config.Int("visual_hidden_size", visual);
        var outWidth = config.Int("llm_hidden_size", llm);
        if (inWidth != visual || outWidth != llm)
        {
            throw config.Fail("visual_hidden_size", $"and llm_hidden_size ({inWidth}, {outWidth}) do not match the tower ({visual}) and the language model ({llm})");
        }

        return MlpProjector.Load(loader, "model.0", depth == 2 ? "model.2" : null, visual, llm);
    }
}
