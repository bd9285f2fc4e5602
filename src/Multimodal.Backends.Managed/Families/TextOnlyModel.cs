// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;
using Multimodal.Backends.Managed.Decoder;

namespace Multimodal.Backends.Managed.Families;

/// <summary>A plain language model folder (Llama, Qwen2, MiniCPM or MPT without a vision tower): the decoder alone,
/// for text-only use and for benchmarking the decoder.</summary>
internal sealed class TextOnlyModel : FamilyModel, IViewEncoder
{
    public TextOnlyModel(string folder, ConfigSection config, string modelType, ManagedModelOptions options)
        : base(folder, options)
    {
        var loader = Open(folder);
        Decoder = modelType switch
        {
            "mpt" => CreateDecoder(loader, DecoderConfig.FromMpt(config), "transformer.", "lm_head.weight"),
            "qwen2" => CreateDecoder(loader, DecoderConfig.FromLlama(config, DecoderArchitecture.Qwen2), "model.", "lm_head.weight"),
            "minicpm" => CreateDecoder(loader, DecoderConfig.FromLlama(config, DecoderArchitecture.MiniCpm), "model.", "lm_head.weight"),
            _ => CreateDecoder(loader, DecoderConfig.FromLlama(config, DecoderArchitecture.Llama), "model.", "lm_head.weight"),
        };
        Name = modelType;
    }

    public override string Name { get; }

    public override IViewEncoder Vision => this;

    public override TransformerDecoder Decoder { get; }

    public int OutputWidth => Decoder.Config.HiddenSize;

    public int ImageSize => 0;

    public int PatchSize => 0;

    public int TokensPerView => 0;

    public float[] Encode(DenseTensor<float> view, int index, VisionEncodeOptions? options) =>
        throw new UnsupportedRequestException($"'{Folder}' is a text-only {Name} model; it has no vision tower to encode images with.");
}
