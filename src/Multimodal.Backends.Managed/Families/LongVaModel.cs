// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// LongVA (<c>llava_qwen</c>): the fine-tuned CLIP tower inside the checkpoint
/// (<c>model.vision_tower.vision_tower.vision_model.*</c>), the <c>model.mm_projector.{0,2}</c> MLP, and a Qwen2
/// decoder (<c>model.*</c>, <c>lm_head</c>). Each view's projected 24×24 map is 2×2 average-pooled
/// (<c>mm_spatial_pool_stride</c>, <c>mm_spatial_pool_mode</c> "average"), as UniRes does for image tiles and
/// <c>get_2dPool</c> for video frames; dropping the base view of an image is the pipeline's job.
/// </summary>
/// <remarks>The real config names its tower (<c>mm_vision_tower</c>, CLIP ViT-L/14-336) instead of storing its
/// dimensions; they are taken from <c>mm_vision_tower_config</c> when present (the tiny test checkpoints) and
/// otherwise from the known CLIP ViT-L/14-336 shape.</remarks>
internal sealed class LongVaModel : FamilyModel, IViewEncoder
{
    private const string ClipL336 = """{"hidden_size":1024,"intermediate_size":4096,"num_attention_heads":16,"num_hidden_layers":24,"image_size":336,"patch_size":14,"hidden_act":"quick_gelu","layer_norm_eps":1e-5}""";

    private readonly ClipVisionTower _tower;
    private readonly MlpProjector _projector;
    private readonly AveragePoolingTokenMerger _pool;
    private readonly int _layers;

    public LongVaModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var towerName = config.String("mm_vision_tower", "openai/clip-vit-large-patch14-336")!;
        var visionSection = config.Section("mm_vision_tower_config")
            ?? (towerName.Contains("clip-vit-large-patch14-336", StringComparison.Ordinal)
                ? ConfigSection.Parse(ClipL336, "CLIP ViT-L/14-336 (known shape)")
                : throw config.Fail("mm_vision_tower", $"is \"{towerName}\"; only the CLIP ViT-L/14-336 tower LongVA ships with is known"));
        var vision = VisionConfig.Read(visionSection, VitActivation.QuickGelu, 1e-5f);
        var text = DecoderConfig.FromLlama(config, DecoderArchitecture.Qwen2);
        if (config.String("mm_vision_select_feature", "patch") != "patch")
        {
            throw config.Fail("mm_vision_select_feature", "is not \"patch\"; LongVA drops the class token");
        }

        var mode = config.String("mm_spatial_pool_mode", "average");
        if (mode != "average")
        {
            throw config.Fail("mm_spatial_pool_mode", $"is \"{mode}\"; only \"average\" pooling is supported");
        }

        _pool = new AveragePoolingTokenMerger(config.Int("mm_spatial_pool_stride", 2));
        _layers = ClipVisionTower.LayersFor(config.Int("mm_vision_select_layer", -2), vision.Layers);
        var loader = Open(folder);
        _tower = ClipVisionTower.Load(loader, vision, "model.vision_tower.vision_tower.vision_model.", _layers, Context);
        _projector = config.String("mm_projector_type", "mlp2x_gelu") switch
        {
            "mlp2x_gelu" => MlpProjector.Load(loader, "model.mm_projector.0", "model.mm_projector.2", vision.HiddenSize, text.HiddenSize),
            "linear" => MlpProjector.Load(loader, "model.mm_projector", null, vision.HiddenSize, text.HiddenSize),
            var other => throw config.Fail("mm_projector_type", $"is \"{other}\"; mlp2x_gelu and linear are supported"),
        };
        Decoder = CreateDecoder(loader, text, "model.", "lm_head.weight");
    }

    public override string Name => "longva";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    public int OutputWidth => _projector.OutFeatures;

    public int ImageSize => _tower.Config.ImageSize;

    public int PatchSize => _tower.Config.PatchSize;

    public int TokensPerView => (_tower.Config.GridSide / _pool.Window) * (_tower.Config.GridSide / _pool.Window);

    internal ClipVisionTower Tower => _tower;

    internal int FeatureLayers => _layers;

    /// <summary>Projects without pooling (the per-tile map before UniRes' 2×2 average).</summary>
    internal float[] EncodeUnpooled(DenseTensor<float> view) => _projector.Forward(_tower.Forward(view, _layers, keepClassToken: false), Context);

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options)
    {
        var projected = EncodeUnpooled(view);
        var side = _tower.Config.GridSide;
        var plan = _pool.Plan(new TokenMergeRequest(side * side, side, side));
        return plan.Apply(new DenseTensor<float>(projected, side * side, OutputWidth)).Span.ToArray();
    }
}
