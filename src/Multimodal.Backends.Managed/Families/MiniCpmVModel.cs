// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Backends.Managed.Families;

/// <summary>
/// MiniCPM-V 2 in the openbmb layout (<c>model_type</c> <c>minicpmv</c>): <c>vpm.*</c> (timm SigLIP so400m, last block
/// dropped), <c>resampler.*</c> (one cross-attention to <c>query_num</c> queries) and <c>llm.model.*</c> +
/// <c>llm.lm_head</c> (MiniCPM). Views have any size that is a multiple of 14; each gives <c>query_num</c> rows,
/// which are not scaled by <c>scale_emb</c>.
/// </summary>
internal sealed class MiniCpmVModel : FamilyModel, IViewEncoder
{
    private const string So400m = "vit_so400m_patch14_siglip_384";

    public MiniCpmVModel(string folder, ConfigSection config, ManagedModelOptions options)
        : base(folder, options)
    {
        var vision = ReadVision(config);
        var text = DecoderConfig.FromLlama(config, DecoderArchitecture.MiniCpm);
        var queries = config.Int("query_num", 64);
        if (queries < 1)
        {
            throw config.Fail("query_num", $"is {queries}; at least 1 query is needed");
        }

        var loader = Open(folder);
        Tower = SiglipTimmTower.Load(loader, vision, "vpm.", Context);
        Resampler = PerceiverResampler.Load(loader, "resampler.", queries, text.HiddenSize, vision.HiddenSize, Context);
        Decoder = CreateDecoder(loader, text, "llm.model.", "llm.lm_head.weight");
    }

    public override string Name => "minicpm-v-2";

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    public int OutputWidth => Resampler.EmbedDim;

    public int ImageSize => 0;

    public int PatchSize => Tower.Config.PatchSize;

    public int TokensPerView => Resampler.Queries;

    internal SiglipTimmTower Tower { get; }

    internal PerceiverResampler Resampler { get; }

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options)
    {
        var features = Tower.Forward(view, out var rows, out var columns);
        return Resampler.Forward(features, rows, columns);
    }

    /// <summary>The tower's dimensions: <c>vision_config</c> when present (<c>num_hidden_layers</c> = the timm depth
    /// before <c>drop_vision_last_layer</c>), else the so400m model <c>vision_encoder</c> names.</summary>
    private static VisionConfig ReadVision(ConfigSection config)
    {
        VisionConfig vision;
        if (config.Section("vision_config") is { } section)
        {
            vision = VisionConfig.Read(section, VitActivation.Gelu, 1e-6f);
        }
        else
        {
            var encoder = config.String("vision_encoder", So400m + ".webli")!;
            if (!encoder.StartsWith(So400m, StringComparison.Ordinal))
            {
                throw config.Fail("vision_encoder", $"is \"{encoder}\"; only {So400m} is known without a vision_config");
            }

            vision = new VisionConfig
            {
                HiddenSize = 1152,
                IntermediateSize = 4304,
                Heads = 16,
                Layers = 27,
                ImageSize = 384,
                PatchSize = 14,
                LayerNormEpsilon = 1e-6f,
                Activation = VitActivation.Gelu,
            };
        }

        var patch = config.Int("patch_size", vision.PatchSize);
        if (patch != vision.PatchSize)
        {
            throw config.Fail("patch_size", $"is {patch}, but the vision tower's patch is {vision.PatchSize}");
        }

        if (config.Bool("drop_vision_last_layer", true))
        {
            if (vision.Layers < 2)
            {
                throw config.Fail("drop_vision_last_layer", $"is true, but the vision tower has only {vision.Layers} block(s)");
            }

            vision = vision with { Layers = vision.Layers - 1 };
        }

        return vision;
    }
}
