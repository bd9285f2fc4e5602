// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Decoder;

namespace Multimodal.Backends.Managed.Families;

/// <summary>LLaVA-1.5 (llava-hf layout, fp16 weights) against the PyTorch reference: every vision layer, the projector,
/// every decoder layer, all logits and 32 greedy tokens.</summary>
public sealed class LlavaGoldenTests
{
    private static readonly Goldens Golden = Goldens.For("llava-1.5");

    [Fact]
    public void VisionTower_MatchesEveryLayer()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var llava = (LlavaModel)model.Family;
        var pixels = Golden.Tensor("vision.0.pixels.npy");
        var normed = llava.Tower.Embed(pixels, out var raw);
        Golden.AssertClose("vision.0.embeddings.npy", raw);
        Golden.AssertClose("vision.0.pre_layrnorm.npy", normed);
        llava.Tower.Encoder.Forward(normed, llava.Tower.Encoder.Layers.Length, null, null, 1, (layer, hidden, _) => Golden.AssertClose($"vision.0.layer{layer}.npy", hidden));
        var features = llava.Tower.Forward(pixels, llava.FeatureLayers, keepClassToken: false);
        Golden.AssertClose("vision.0.features.npy", features);
        Golden.AssertClose("projector.0.npy", llava.Project(features));
    }

    [Fact]
    public void Decoder_MatchesLogitsAndGreedyTokens() => FamilyGoldens.CheckPrompts(Golden, ManagedModel.Load(Golden.ModelFolder));
}
