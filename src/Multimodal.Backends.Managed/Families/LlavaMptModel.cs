// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// LLaVA-Lightning-MPT in the original LLaVA layout: MPT (<c>transformer.*</c>, ALiBi, LM head tied to
/// <c>transformer.wte</c>), the linear projector <c>transformer.mm_projector</c>, and a CLIP tower from a separate
/// folder named by <c>mm_vision_tower</c> (an absolute path, a path relative to the model folder, or a
/// <c>vision_tower/</c> subfolder), loaded from its <c>vision_model.*</c> tensors.
/// </summary>
internal sealed class LlavaMptModel : FamilyModel, IViewEncoder
{
    private readonly ClipVisionTower _tower;
    private readonly MlpProjector _projector;
    private readonly int _layers;

    public LlavaMptModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var text = DecoderConfig.FromMpt(config);
        var towerFolder = FindTower(folder, config);
        var towerConfig = LoadConfig(towerFolder);
        var visionSection = towerConfig.Section("vision_config") ?? towerConfig;
        var vision = VisionConfig.Read(visionSection, VitActivation.QuickGelu, 1e-5f);
        _layers = ClipVisionTower.LayersFor(config.Int("mm_vision_select_layer", -2), vision.Layers);
        _tower = ClipVisionTower.Load(Open(towerFolder), vision, "vision_model.", _layers, Context);
        var loader = Open(folder);
        _projector = MlpProjector.Load(loader, "transformer.mm_projector", null, vision.HiddenSize, text.HiddenSize);
        Decoder = CreateDecoder(loader, text, "transformer.", "lm_head.weight");
    }

    public override string Name => "llava-mpt";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    public int OutputWidth => _projector.OutFeatures;

    public int ImageSize => _tower.Config.ImageSize;

    public int PatchSize => _tower.Config.PatchSize;

    public int TokensPerView => _tower.Config.GridSide * _tower.Config.GridSide;

    internal ClipVisionTower Tower => _tower;

    internal int FeatureLayers => _layers;

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options) =>
        _projector.Forward(_tower.Forward(view, _layers, keepClassToken: false), Context);

    private static string FindTower(string folder, ConfigSection config)
    {
        var name = config.String("mm_vision_tower") ?? throw config.Fail("mm_vision_tower", "is missing; LLaVA-MPT needs its CLIP tower");
        string[] candidates = [Path.IsPathRooted(name) ? name : Path.GetFullPath(Path.Combine(folder, name)), Path.Combine(folder, "vision_tower")];
        foreach (var candidate in candidates)
        {
            if (File.Exists(Path.Combine(candidate, "config.json")))
            {
                return candidate;
            }
        }

        throw new ModelLoadException($"The CLIP tower \"{name}\" named by mm_vision_tower was not found (tried {string.Join(", ", candidates)}). Download it (for example openai/clip-vit-large-patch14) and set mm_vision_tower to its folder, or place it in '{Path.Combine(folder, "vision_tower")}'.", folder);
    }
}
