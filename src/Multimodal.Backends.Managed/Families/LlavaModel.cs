// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// LLaVA-1.5 in the llava-hf layout (<c>LlavaForConditionalGeneration</c>): <c>vision_tower.vision_model.*</c> (CLIP),
/// <c>multi_modal_projector.linear_1/linear_2</c> (mlp2x_gelu), <c>language_model.model.*</c> + <c>language_model.lm_head</c>
/// (Llama); feature <c>vision_feature_layer</c> (−2) without the class token (<c>"default"</c> strategy).
/// </summary>
internal sealed class LlavaModel : FamilyModel, IViewEncoder
{
    private readonly ClipVisionTower _tower;
    private readonly MlpProjector _projector;
    private readonly int _layers;
    private readonly bool _keepClass;

    public LlavaModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var visionSection = config.Section("vision_config") ?? throw config.Fail("vision_config", "is missing");
        var textSection = config.Section("text_config") ?? throw config.Fail("text_config", "is missing");
        var vision = VisionConfig.Read(visionSection, VitActivation.QuickGelu, 1e-5f);
        var text = DecoderConfig.FromLlama(textSection, DecoderArchitecture.Llama);
        if (config.String("projector_hidden_act", "gelu") != "gelu")
        {
            throw config.Fail("projector_hidden_act", "is not \"gelu\"; only LLaVA's mlp2x_gelu projector is supported");
        }

        _keepClass = config.String("vision_feature_select_strategy", "default") switch
        {
            "default" => false,
            "full" => true,
            var other => throw config.Fail("vision_feature_select_strategy", $"is \"{other}\"; \"default\" or \"full\" was expected"),
        };

        _layers = ClipVisionTower.LayersFor(config.Int("vision_feature_layer", -2), vision.Layers);
        var loader = Open(folder);
        _tower = ClipVisionTower.Load(loader, vision, "vision_tower.vision_model.", _layers, Context);
        _projector = MlpProjector.Load(loader, "multi_modal_projector.linear_1", "multi_modal_projector.linear_2", vision.HiddenSize, text.HiddenSize);
        Decoder = CreateDecoder(loader, text, "language_model.model.", "language_model.lm_head.weight");
        ImageTokenId = config.Int("image_token_index", -1);
    }

    public override string Name => "llava-1.5";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    /// <summary>Gets llava-hf's image token id (<c>image_token_index</c>).</summary>
    public int ImageTokenId { get; }

    public int OutputWidth => _projector.OutFeatures;

    public int ImageSize => _tower.Config.ImageSize;

    public int PatchSize => _tower.Config.PatchSize;

    public int TokensPerView => (_tower.Config.GridSide * _tower.Config.GridSide) + (_keepClass ? 1 : 0);

    internal ClipVisionTower Tower => _tower;

    internal int FeatureLayers => _layers;

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options) =>
        _projector.Forward(_tower.Forward(view, _layers, _keepClass), Context);

    internal float[] Project(float[] features) => _projector.Forward(features, Context);
}
