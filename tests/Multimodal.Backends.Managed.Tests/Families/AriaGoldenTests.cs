// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Multimodal.Backends.Managed.Vision;
using Xunit.Abstractions;

namespace Multimodal.Backends.Managed.Families;

/// <summary>Aria (rhymes-ai layout, bf16 weights) against the PyTorch reference: per view the patch mask, the NaViT
/// position ids, the embeddings, every layer with padded patches masked as keys, the projector's cross-attention and
/// output, the image rows through the public encoder with pixel masks, and the MoE decoder on the golden prompt.</summary>
public sealed class AriaGoldenTests(ITestOutputHelper output)
{
    private static readonly Goldens Golden = Goldens.For("aria");

    [Fact]
    public void Load_ReadsTheFamilyAndItsDimensions()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        Assert.Equal("aria", model.FamilyName);
        var family = Assert.IsType<AriaModel>(model.Family);
        Assert.Equal(9, family.ImageTokenId);
        Assert.Equal(1e-6f, family.Tower.Config.LayerNormEpsilon);
        Assert.Equal(VitActivation.GeluTanh, family.Tower.Config.Activation);
        Assert.Equal(4, family.Tower.Config.Heads);
        Assert.Equal(3, family.FeatureLayers);
        var metadata = model.VisionEncoder.GetService(typeof(VisionEncoderMetadata)) as VisionEncoderMetadata;
        Assert.NotNull(metadata);
        Assert.Equal(56, metadata.ImageSize);
        Assert.Equal(8, metadata.TokensPerView);
        Assert.Equal(64, metadata.OutputHiddenSize);
    }

    [Fact]
    public void VisionTowerAndProjector_MatchEveryView()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var family = (AriaModel)model.Family;
        var patch = family.Tower.Config.PatchSize;
        foreach (var view in Golden.Manifest.GetProperty("views").EnumerateArray())
        {
            var i = view.GetProperty("index").GetInt32();
            var pixels = Golden.Tensor($"vision.{i}.pixels.npy");
            var mask = PixelMask(i);
            var patchValid = IdeficsSiglipTower.PatchMask(mask, mask.Dimension(0), mask.Dimension(1), patch);
            Assert.Equal(Golden.Longs($"vision.{i}.patch_mask.npy").Select(v => v != 0), patchValid);
            var embeddings = family.Tower.Embed(pixels, patchValid, out var positionIds);
            Assert.Equal(Golden.Longs($"vision.{i}.position_ids.npy").Select(v => (int)v), positionIds);
            Assert.Equal(view.GetProperty("position_ids").EnumerateArray().Select(v => v.GetInt32()), positionIds);
            Check($"vision.{i}.embeddings.npy", embeddings);
            var keyValid = patchValid.All(v => v) ? null : patchValid;
            family.Tower.Encoder.Forward(embeddings, family.Tower.Encoder.Layers.Length, keyValid, null, 0, (layer, hidden, _) => Check($"vision.{i}.layer{layer}.npy", hidden));
            var features = family.Tower.Forward(pixels, patchValid, family.FeatureLayers);
            Check($"vision.{i}.features.npy", features);
            var projected = family.Projector.Forward(features, patchValid, out var crossAttention);
            Assert.Equal(view.GetProperty("queries").GetInt32(), projected.Length / family.Projector.OutFeatures);
            Check($"projector.{i}.cross_attn.npy", crossAttention);
            Check($"projector.{i}.npy", projected);
        }
    }

    [Fact]
    public async Task VisionEncoder_ProducesEachImagesRowsWithPixelMasks()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        foreach (var image in Golden.Manifest.GetProperty("images").EnumerateObject())
        {
            var indices = image.Value.GetProperty("views").EnumerateArray().Select(v => v.GetInt32()).ToList();
            var views = indices.Select(i => Golden.Tensor($"vision.{i}.pixels.npy")).ToList();
            var options = new VisionEncodeOptions
            {
                AdditionalProperties = new Dictionary<string, object?> { [AriaModel.PixelMaskKey] = indices.Select(PixelMask).ToList() },
            };
            var encoded = await model.VisionEncoder.EncodeAsync(views, options);
            Assert.Equal(image.Value.GetProperty("rows").GetInt32(), encoded.Sum(t => t.Dimension(0)));
            Check(image.Value.GetProperty("embeddings").GetString()!, encoded.SelectMany(t => t.Span.ToArray()).ToArray());
        }
    }

    [Fact]
    public void Decoder_MatchesLogitsAndGreedyTokens() => FamilyGoldens.CheckPrompts(Golden, ManagedModel.Load(Golden.ModelFolder));

    [Fact]
    public void PositionBuckets_MatchTorchForTheReal70x70Table()
    {
        // Row n−1 of the table: the bucket of each fractional coordinate for n valid patches along an axis.
        var table = Golden.Longs("navit.buckets.p70.npy");
        for (var n = 1; n <= 70; n++)
        {
            var valid = Enumerable.Repeat(true, n).ToArray();
            var ids = IdeficsSiglipTower.PositionIds(valid, 1, n, 70);
            Assert.Equal(table.AsSpan((n - 1) * 70, n).ToArray().Select(v => (int)v), ids);
        }

        // The 490-pixel mode (35 patches per side) lands exactly on 2j.
        var half = IdeficsSiglipTower.PositionIds(Enumerable.Repeat(true, 35).ToArray(), 1, 35, 70);
        Assert.Equal(Enumerable.Range(0, 35).Select(j => 2 * j), half);
    }

    [Fact]
    public async Task PixelMask_OfTheWrongShape_Throws()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var view = Golden.Tensor("vision.1.pixels.npy");
        foreach (var mask in new[] { new DenseTensor<bool>(56, 42), new DenseTensor<bool>(1, 56, 56), new DenseTensor<bool>(28, 28) })
        {
            var options = new VisionEncodeOptions
            {
                AdditionalProperties = new Dictionary<string, object?> { [AriaModel.PixelMaskKey] = new[] { mask } },
            };
            var error = await Assert.ThrowsAsync<ArgumentException>(async () => await model.VisionEncoder.EncodeAsync([view], options));
            Assert.Contains("[56, 56]", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PixelMask_MissingForAView_Throws()
    {
        using var model = ManagedModel.Load(Golden.ModelFolder);
        var views = new[] { Golden.Tensor("vision.0.pixels.npy"), Golden.Tensor("vision.1.pixels.npy") };
        var options = new VisionEncodeOptions
        {
            AdditionalProperties = new Dictionary<string, object?> { [AriaModel.PixelMaskKey] = new[] { PixelMask(0) } },
        };
        await Assert.ThrowsAsync<ArgumentException>(async () => await model.VisionEncoder.EncodeAsync(views, options));
    }

    [Fact]
    public async Task TransformersConvertedNaming_GivesTheSameRows()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mm-aria-tf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            WriteConvertedCopy(Golden.ModelFolder, folder);
            using var model = ManagedModel.Load(folder);
            var views = new[] { Golden.Tensor("vision.0.pixels.npy"), Golden.Tensor("vision.1.pixels.npy") };
            var options = new VisionEncodeOptions
            {
                AdditionalProperties = new Dictionary<string, object?> { [AriaModel.PixelMaskKey] = new[] { PixelMask(0), PixelMask(1) } },
            };
            var encoded = await model.VisionEncoder.EncodeAsync(views, options);
            Check("image.0.embeddings.npy", encoded.SelectMany(t => t.Span.ToArray()).ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static DenseTensor<bool> PixelMask(int view)
    {
        var file = $"vision.{view}.pixel_mask.npy";
        var shape = Golden.Manifest.GetProperty("files").GetProperty(file).GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return new DenseTensor<bool>(Golden.Longs(file).Select(v => v != 0).ToArray(), shape);
    }

    /// <summary>Copies a checkpoint with the tensor names transformers' <c>convert_aria_weights_to_hf.py</c> writes
    /// (the data bytes are untouched; only the headers and the index change).</summary>
    private static void WriteConvertedCopy(string source, string destination)
    {
        static string Rename(string name)
        {
            name = name.Replace("vision_tower.vision_model.", "vision_tower.", StringComparison.Ordinal);
            if (name.StartsWith("multi_modal_projector.", StringComparison.Ordinal))
            {
                name = name.Replace("ln_ffn", "layer_norm", StringComparison.Ordinal)
                    .Replace(".ffn.", ".feed_forward.", StringComparison.Ordinal)
                    .Replace("ln_kv", "layer_norm_kv", StringComparison.Ordinal);
            }

            return name;
        }

        foreach (var file in Directory.GetFiles(source))
        {
            var target = Path.Combine(destination, Path.GetFileName(file));
            if (file.EndsWith(".safetensors", StringComparison.Ordinal))
            {
                var bytes = File.ReadAllBytes(file);
                var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                var header = JsonNode.Parse(bytes.AsSpan(8, length))!.AsObject();
                var renamed = new JsonObject();
                foreach (var (key, value) in header)
                {
                    renamed[Rename(key)] = value?.DeepClone();
                }

                var json = Encoding.UTF8.GetBytes(renamed.ToJsonString());
                var padded = (json.Length + 7) / 8 * 8;
                using var stream = File.Create(target);
                var prefix = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
                stream.Write(prefix);
                stream.Write(json);
                stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
                stream.Write(bytes.AsSpan(8 + length));
            }
            else if (Path.GetFileName(file) == "model.safetensors.index.json")
            {
                var index = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
                var map = new JsonObject();
                foreach (var (key, value) in index["weight_map"]!.AsObject())
                {
                    map[Rename(key)] = value?.DeepClone();
                }

                index["weight_map"] = map;
                File.WriteAllText(target, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                File.Copy(file, target);
            }
        }
    }

    private void Check(string file, ReadOnlySpan<float> actual)
    {
        var max = Golden.AssertClose(file, actual);
        output.WriteLine($"{file}: max |Δ| = {max:G3}");
    }
}
