// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;

namespace Multimodal.Backends.Managed.Vision;

/// <summary>
/// Hugging Face's <c>CLIPVisionModel</c> (LLaVA, LongVA, AuroraCap): patch convolution without bias, a class token,
/// learned positions, <c>pre_layrnorm</c>, pre-LN encoder layers with quick-GELU; the feature is a chosen entry of
/// <c>hidden_states</c> (index 0 = after <c>pre_layrnorm</c>), with or without the class token.
/// </summary>
internal sealed class ClipVisionTower
{
    private readonly LinearLayer _patch;
    private readonly float[] _classEmbedding;
    private readonly float[] _positions;
    private readonly NormLayer _preNorm;
    private readonly ComputeContext _context;

    private ClipVisionTower(VisionConfig config, LinearLayer patch, float[] classEmbedding, float[] positions, NormLayer preNorm, VitEncoder encoder, ComputeContext context)
    {
        Config = config;
        _patch = patch;
        _classEmbedding = classEmbedding;
        _positions = positions;
        _preNorm = preNorm;
        Encoder = encoder;
        _context = context;
    }

    public VisionConfig Config { get; }

    public VitEncoder Encoder { get; }

    /// <summary>Loads the tower's weights (only the layers a feature at <paramref name="layersNeeded"/> needs).</summary>
    /// <param name="loader">The checkpoint.</param>
    /// <param name="config">The dimensions.</param>
    /// <param name="prefix">The prefix of <c>embeddings.*</c>, for example <c>vision_tower.vision_model.</c>.</param>
    /// <param name="layersNeeded">How many encoder layers to load.</param>
    /// <param name="context">The threading settings.</param>
    /// <returns>The tower.</returns>
    public static ClipVisionTower Load(WeightLoader loader, VisionConfig config, string prefix, int layersNeeded, ComputeContext context)
    {
        var c = config.HiddenSize;
        var tokens = 1 + (config.GridSide * config.GridSide);
        var layers = VitLayer.LoadHuggingFace(loader, config, prefix + "encoder.layers.", layersNeeded);

        return new ClipVisionTower(
            config,
            loader.PatchConvolution(prefix + "embeddings.patch_embedding.weight", null, c, 3, config.PatchSize),
            loader.Tensor(prefix + "embeddings.class_embedding", c),
            loader.Tensor(prefix + "embeddings.position_embedding.weight", tokens, c),
            loader.LayerNorm(prefix + "pre_layrnorm", c, config.LayerNormEpsilon),
            new VitEncoder(layers, c, config.Heads, config.Activation, context),
            context);
    }

    /// <summary>Converts <c>vision_feature_layer</c> / <c>mm_vision_select_layer</c> into a count of layers to run.</summary>
    /// <param name="featureLayer">An index into <c>hidden_states</c> (negative from the end, −2 in LLaVA).</param>
    /// <param name="layers">The tower's layer count.</param>
    /// <returns>How many layers produce that entry.</returns>
    public static int LayersFor(int featureLayer, int layers)
    {
        var index = featureLayer < 0 ? layers + 1 + featureLayer : featureLayer;
        if (index < 0 || index > layers)
        {
            throw new ModelLoadException($"The vision feature layer {featureLayer} does not exist in a {layers}-layer tower.");
        }

        return index;
    }

    /// <summary>The embeddings: class token then patches, plus positions, then <c>pre_layrnorm</c>.</summary>
    /// <param name="view">A <c>[3, S, S]</c> view.</param>
    /// <param name="raw">Receives the embeddings before <c>pre_layrnorm</c>.</param>
    /// <returns><c>[1 + patches, C]</c>.</returns>
    public float[] Embed(DenseTensor<float> view, out float[] raw)
    {
        var (h, w) = PatchEmbedding.CheckView(view, Config.PatchSize, Config.ImageSize);
        var c = Config.HiddenSize;
        var patches = PatchEmbedding.Embed(view.Span, h, w, Config.PatchSize, _patch, _context);
        var tokens = 1 + (patches.Length / c);
        raw = new float[tokens * c];
        _classEmbedding.CopyTo(raw, 0);
        patches.CopyTo(raw, c);
        TensorPrimitives.Add(raw, _positions, raw);
        var normed = new float[raw.Length];
        _preNorm.Forward(raw, normed);
        return normed;
    }

    /// <summary>Runs the tower up to <paramref name="layers"/> layers.</summary>
    /// <param name="view">A <c>[3, S, S]</c> view.</param>
    /// <param name="layers">How many layers to run (<see cref="LayersFor"/>).</param>
    /// <param name="keepClassToken">Whether the class token stays in the output.</param>
    /// <param name="merger">A per-layer token merger (AuroraCap's ToMe), or <see langword="null"/>.</param>
    /// <param name="observer">Receives (layer, rows, sizes) after each layer.</param>
    /// <returns>The feature rows <c>[tokens, C]</c>.</returns>
    public float[] Forward(DenseTensor<float> view, int layers, bool keepClassToken, ITokenMerger? merger = null, Action<int, float[], float[]>? observer = null)
    {
        if (layers > Encoder.Layers.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(layers), layers, $"Only {Encoder.Layers.Length} layers are loaded.");
        }

        var hidden = Embed(view, out _);
        (hidden, _) = Encoder.Forward(hidden, layers, keyValid: null, merger, protectedPrefix: 1, observer);
        return keepClassToken ? hidden : hidden[Config.HiddenSize..];
    }
}
