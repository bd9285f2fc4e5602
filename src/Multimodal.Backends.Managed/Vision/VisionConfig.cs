// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Configuration;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>A vision transformer's dimensions (CLIP / SigLIP config keys).</summary>
internal sealed record VisionConfig
{
    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int Heads { get; init; }

    public required int Layers { get; init; }

    public required int ImageSize { get; init; }

    public required int PatchSize { get; init; }

    public required float LayerNormEpsilon { get; init; }

    public required VitActivation Activation { get; init; }

    /// <summary>Gets the patches per side at <see cref="ImageSize"/>.</summary>
    public int GridSide => ImageSize / PatchSize;

    /// <summary>Reads a CLIP / SigLIP vision config section (<c>hidden_size</c>, <c>num_attention_heads</c> or Aria's
    /// <c>attention_heads</c>, ...).</summary>
    /// <param name="section">The section.</param>
    /// <param name="defaultActivation">The activation when <c>hidden_act</c> is absent.</param>
    /// <param name="defaultEpsilon">The LayerNorm epsilon when <c>layer_norm_eps</c> is absent.</param>
    /// <param name="defaultHidden">The hidden size when absent (Aria's config omits it).</param>
    /// <returns>The config.</returns>
    public static VisionConfig Read(ConfigSection section, VitActivation defaultActivation, float defaultEpsilon, int? defaultHidden = null)
    {
        var hidden = defaultHidden is { } h ? section.Int("hidden_size", h) : section.Int("hidden_size");
        var heads = section.Has("num_attention_heads") ? section.Int("num_attention_heads") : section.Int("attention_heads");
        var activation = section.String("hidden_act") switch
        {
            null => defaultActivation,
            "quick_gelu" => VitActivation.QuickGelu,
            "gelu" => VitActivation.Gelu,
            "gelu_pytorch_tanh" or "gelu_new" => VitActivation.GeluTanh,
            var other => throw section.Fail("hidden_act", $"is \"{other}\"; quick_gelu, gelu and gelu_pytorch_tanh are supported"),
        };

        var config = new VisionConfig
        {
            HiddenSize = hidden,
            IntermediateSize = section.Int("intermediate_size"),
            Heads = heads,
            Layers = section.Int("num_hidden_layers"),
            ImageSize = section.Int("image_size"),
            PatchSize = section.Int("patch_size"),
            LayerNormEpsilon = (float)section.Number("layer_norm_eps", defaultEpsilon),
            Activation = activation,
        };

        if (config.HiddenSize % config.Heads != 0)
        {
            throw section.Fail("num_attention_heads", $"is {config.Heads}, which does not divide hidden_size {config.HiddenSize}");
        }

        if (config.PatchSize <= 0 || config.ImageSize % config.PatchSize != 0)
        {
            throw section.Fail("image_size", $"is {config.ImageSize}, not a multiple of patch_size {config.PatchSize}");
        }

        return config;
    }
}
