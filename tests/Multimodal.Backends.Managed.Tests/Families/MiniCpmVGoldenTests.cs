// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Vision;
using Xunit.Abstractions;

namespace Multimodal.Backends.Managed.Families;

/// <summary>MiniCPM-V 2 (openbmb layout, bf16 weights) against the PyTorch reference: per view the resampled
/// positions, every timm block, the final norm, the resampler's key positions and output, the image rows through the
/// public encoder, and the MiniCPM decoder on the golden prompt.</summary>
public sealed class MiniCpmVGoldenTests(ITestOutputHelper output)
{
    private static readonly Goldens Golden = Goldens.For("minicpm-v-2");

    [Fact]
    public void Load_ReadsTheFamilyAndItsDimensions()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        Assert.Equal("minicpm-v-2", model.FamilyName);
        var family = Assert.IsType<MiniCpmVModel>(model.Family);
        var vision = Golden.Manifest.GetProperty("vision");
        Assert.Equal(vision.GetProperty("stored_blocks").GetInt32(), family.Tower.Encoder.Layers.Length);
        Assert.Equal(Golden.Manifest.GetProperty("resampler").GetProperty("heads").GetInt32(), family.Resampler.Heads);
        var metadata = model.VisionEncoder.GetService(typeof(VisionEncoderMetadata)) as VisionEncoderMetadata;
        Assert.NotNull(metadata);
        Assert.Equal(0, metadata.ImageSize);
        Assert.Equal(14, metadata.PatchSize);
        Assert.Equal(16, metadata.TokensPerView);
        Assert.Equal(128, metadata.OutputHiddenSize);
    }

    [Fact]
    public void VisionTowerAndResampler_MatchEveryView()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var family = (MiniCpmVModel)model.Family;
        foreach (var view in Golden.Manifest.GetProperty("views").EnumerateArray())
        {
            var i = view.GetProperty("index").GetInt32();
            var grid = view.GetProperty("grid_hw").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var pixels = Golden.Tensor($"vision.{i}.pixels.npy");
            var embeddings = family.Tower.Embed(pixels, out var rows, out var columns, out var positions);
            Assert.Equal(grid, new[] { rows, columns });
            Check($"vision.{i}.pos_embed.npy", positions);
            Check($"vision.{i}.embeddings.npy", embeddings);
            family.Tower.Encoder.Forward(embeddings, family.Tower.Encoder.Layers.Length, null, null, 0, (layer, hidden, _) => Check($"vision.{i}.layer{layer}.npy", hidden));
            var features = family.Tower.Forward(pixels, out _, out _);
            Check($"vision.{i}.features.npy", features);
            Check($"vision.{i}.resampler_pos_key.npy", PerceiverResampler.SinCos2D(family.Resampler.EmbedDim, rows, columns));
            Check($"projector.{i}.npy", family.Resampler.Forward(features, rows, columns));
        }
    }

    [Fact]
    public async Task VisionEncoder_ProducesEachImagesRows()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        foreach (var image in Golden.Manifest.GetProperty("images").EnumerateObject())
        {
            var views = image.Value.GetProperty("views").EnumerateArray().Select(v => Golden.Tensor($"vision.{v.GetInt32()}.pixels.npy")).ToList();
            var encoded = await model.VisionEncoder.EncodeAsync(views);
            var rows = encoded.SelectMany(t => t.Span.ToArray()).ToArray();
            Assert.Equal(image.Value.GetProperty("rows").GetInt32(), encoded.Sum(t => t.Dimension(0)));
            Check(image.Value.GetProperty("embeddings").GetString()!, rows);
        }
    }

    [Fact]
    public void Decoder_MatchesLogitsAndGreedyTokens() => FamilyGoldens.CheckPrompts(Golden, ManagedModel.Load(Golden.ModelFolder));

    [Fact]
    public async Task View_NotAMultipleOfThePatch_Throws()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var view = new DenseTensor<float>(3, 56, 50);
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await model.VisionEncoder.EncodeAsync([view]));
        Assert.Contains("multiples of the 14-pixel patch", error.Message, StringComparison.Ordinal);
        Assert.Contains("50x56", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AntialiasedBicubic_IsTheIdentityOnTheTableGridAndNormalised()
    {
        var same = SiglipTimmTower.AntialiasedBicubicWeights(5, 5);
        for (var i = 0; i < 5; i++)
        {
            for (var j = 0; j < 5; j++)
            {
                Assert.Equal(i == j ? 1.0 : 0.0, same[(i * 5) + j], 12);
            }
        }

        foreach (var (from, to) in new[] { (27, 32), (27, 19), (4, 3), (4, 5), (70, 1) })
        {
            var m = SiglipTimmTower.AntialiasedBicubicWeights(from, to);
            for (var i = 0; i < to; i++)
            {
                Assert.Equal(1.0, m.AsSpan(i * from, from).ToArray().Sum(), 12);
            }
        }
    }

    private void Check(string file, ReadOnlySpan<float> actual)
    {
        var max = Golden.AssertClose(file, actual);
        output.WriteLine($"{file}: max |Δ| = {max:G3}");
    }
}
