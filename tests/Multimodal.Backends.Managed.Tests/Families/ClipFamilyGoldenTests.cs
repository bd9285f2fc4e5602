// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.Families;

/// <summary>LongVA (Qwen2, bf16, sharded), LLaVA-MPT (ALiBi, separate CLIP folder) and AuroraCap (xtuner layout, ToMe)
/// against the PyTorch reference.</summary>
public sealed class ClipFamilyGoldenTests
{
    [Fact]
    public void LongVa_TilesAndFramesArePooledAsTheReference()
    {
        var golden = Goldens.For("longva");
        using var model = ManagedModel.Load(golden.ModelFolder);
        var longva = (LongVaModel)model.Family;
        var pooled = new Dictionary<int, float[]>();
        foreach (var view in golden.Manifest.GetProperty("views").EnumerateArray())
        {
            var i = view.GetProperty("index").GetInt32();
            var pixels = golden.Tensor($"vision.{i}.pixels.npy");
            var normed = longva.Tower.Embed(pixels, out _);
            golden.AssertClose($"vision.{i}.pre_layrnorm.npy", normed);
            longva.Tower.Encoder.Forward(normed, longva.FeatureLayers, null, null, 1, (layer, hidden, _) => golden.AssertClose($"vision.{i}.layer{layer}.npy", hidden));
            golden.AssertClose($"projector.{i}.npy", longva.EncodeUnpooled(pixels));
            pooled[i] = longva.Encode(pixels, i, null);
            golden.AssertClose($"projector.{i}.pooled.npy", pooled[i]);
        }

        // UniRes: the base view (0) is dropped, tiles concatenated; video frames concatenated.
        golden.AssertClose("image.image.embeddings.npy", pooled[1].Concat(pooled[2]).Concat(pooled[3]).Concat(pooled[4]).ToArray());
        golden.AssertClose("image.video.embeddings.npy", pooled[5].Concat(pooled[6]).Concat(pooled[7]).ToArray());
        Assert.Equal(4, model.VisionEncoder.Metadata.TokensPerView);
    }

    [Fact]
    public void LongVa_DecoderMatches() => FamilyGoldens.CheckPrompts(Goldens.For("longva"), ManagedModel.Load(Goldens.For("longva").ModelFolder));

    [Fact]
    public void LlavaMpt_VisionFromTheSeparateClipFolder()
    {
        var golden = Goldens.For("llava-mpt");
        using var model = ManagedModel.Load(golden.ModelFolder);
        Assert.Equal("llava-mpt", model.FamilyName);
        var mpt = (LlavaMptModel)model.Family;
        var pixels = golden.Tensor("vision.0.pixels.npy");
        var normed = mpt.Tower.Embed(pixels, out var raw);
        golden.AssertClose("vision.0.embeddings.npy", raw);
        golden.AssertClose("vision.0.features.npy", mpt.Tower.Forward(pixels, mpt.FeatureLayers, keepClassToken: false));
        golden.AssertClose("projector.0.npy", mpt.Encode(pixels, 0, null));
        Assert.Equal(golden.Manifest.GetProperty("text").GetProperty("alibi_slopes").EnumerateArray().Select(e => e.GetSingle()), Decoder.TransformerDecoder.AlibiSlopes(6, 8));
    }

    [Fact]
    public void LlavaMpt_DecoderMatches() => FamilyGoldens.CheckPrompts(Goldens.For("llava-mpt"), ManagedModel.Load(Goldens.For("llava-mpt").ModelFolder));

    [Theory]
    [InlineData("r1.0", 1.0)]
    [InlineData("r0.5", 0.5)]
    [InlineData("r0.2", 0.2)]
    [InlineData("r0.0", 0.0)]
    public void AuroraCap_ToMeMatchesEveryLayer(string key, double ratio)
    {
        var golden = Goldens.For("auroracap");
        using var model = ManagedModel.Load(golden.ModelFolder);
        Assert.Equal("auroracap", model.FamilyName);
        var aurora = (AuroraCapModel)model.Family;
        foreach (var view in golden.Manifest.GetProperty("views").EnumerateArray())
        {
            var i = view.GetProperty("index").GetInt32();
            var files = view.GetProperty("files");
            if (!files.TryGetProperty(key, out var run))
            {
                continue;
            }

            Assert.Equal(run.GetProperty("r").GetInt32(), aurora.TokensPerLayer(ratio));
            var pixels = golden.Tensor($"vision.{i}.pixels.npy");
            var normed = aurora.Tower.Embed(pixels, out _);
            golden.AssertClose($"vision.{i}.pre_layrnorm.npy", normed);
            var options = new VisionEncodeOptions { AdditionalProperties = new Dictionary<string, object?> { [AuroraCapModel.TokenKeptRatioKey] = ratio } };
            var counts = new List<int>();
            aurora.Tower.Encoder.Forward(normed, aurora.Tower.Encoder.Layers.Length, null, aurora.MergerFor(options), 1, (layer, hidden, sizes) =>
            {
                golden.AssertClose($"vision.{i}.layer{layer}.{key}.npy", hidden);
                golden.AssertClose($"vision.{i}.layer{layer}.sizes.{key}.npy", sizes);
                counts.Add(hidden.Length / aurora.Tower.Config.HiddenSize);
            });

            // The last layer is never loaded: the feature is hidden_states[-2].
            Assert.Equal(run.GetProperty("tokens_after_layer").EnumerateArray().Select(e => e.GetInt32()).Take(aurora.FeatureLayers), counts);
            var features = aurora.Tower.Forward(pixels, aurora.FeatureLayers, keepClassToken: false, aurora.MergerFor(options));
            golden.AssertClose($"vision.{i}.features.{key}.npy", features);
            golden.AssertClose($"projector.{i}.{key}.npy", aurora.Encode(pixels, i, options));
        }
    }

    [Fact]
    public void AuroraCap_DecoderMatches() => FamilyGoldens.CheckPrompts(Goldens.For("auroracap"), ManagedModel.Load(Goldens.For("auroracap").ModelFolder));
}
