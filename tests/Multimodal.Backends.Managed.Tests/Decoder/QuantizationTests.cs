// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Families;
using Xunit.Abstractions;

namespace Multimodal.Backends.Managed.Decoder;

/// <summary>Weight-only quantization at load: the logits of a quantized decoder stay within a stated bound of the
/// float model on the golden prompts, the bound shrinking with more bits; memory shrinks accordingly.</summary>
public sealed class QuantizationTests(ITestOutputHelper output)
{
    /// <summary>Bounds on max |Δlogit| / max |logit| over every position of the golden prompts (tiny random
    /// checkpoints, where weights are noise-like and quantization errors are at their worst).</summary>
    public static TheoryData<string, WeightFormat, int, double, double> Cases => new()
    {
        { "llava-1.5", WeightFormat.Int8, 0, 1.0, 0.02 },
        { "llava-1.5", WeightFormat.Int4Symmetric, 64, 1.0, 0.25 },
        { "llava-1.5", WeightFormat.Int4Symmetric, 32, 0.6, 0.20 },
        { "longva", WeightFormat.Int8, 0, 1.0, 0.02 },
        { "longva", WeightFormat.Int4Asymmetric, 64, 1.0, 0.25 },
        { "llava-mpt", WeightFormat.Int8, 0, 1.0, 0.02 },
        { "auroracap", WeightFormat.Int4Symmetric, 64, 0.8, 0.25 },
        { "minicpm-v-2", WeightFormat.Int8, 0, 1.0, 0.02 },
        { "minicpm-v-2", WeightFormat.Int4Asymmetric, 128, 1.0, 0.25 },

        // MoE: a perturbed hidden state can flip the router's top-k, a discrete change the dense models do not have.
        { "aria", WeightFormat.Int8, 0, 1.0, 0.05 },
        { "aria", WeightFormat.Int4Symmetric, 32, 0.6, 0.5 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void QuantizedLogits_StayWithinTheBound(string family, WeightFormat format, int groupSize, double ratio, double bound)
    {
        var golden = Goldens.For(family);
        using var reference = ManagedModel.Load(golden.ModelFolder);
        using var quantized = ManagedModel.Load(golden.ModelFolder, new ManagedModelOptions { Quantization = format, GroupSize = groupSize == 0 ? 64 : groupSize, Int4Ratio = ratio });

        var worst = 0.0;
        foreach (var prompt in golden.Manifest.GetProperty("prompts").EnumerateObject())
        {
            var input = FamilyGoldens.BuildInput(golden, prompt.Value, reference.Family.Decoder.Config.HiddenSize);
            using var s1 = reference.Family.Decoder.CreateState();
            using var s2 = quantized.Family.Decoder.CreateState();
            var expected = reference.Family.Decoder.ForwardAll(s1, input);
            var actual = quantized.Family.Decoder.ForwardAll(s2, input);
            var scale = expected.Max(MathF.Abs);
            var error = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
            worst = Math.Max(worst, error / scale);
        }

        var formats = quantized.Family.Decoder.Weights.Layers.SelectMany(l => l.Linears()).GroupBy(l => l.Layer.Weight.Format).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{family} {format} g{groupSize} ratio {ratio}: max |Δlogit| / max |logit| = {worst:F4}; layers: {string.Join(", ", formats.Select(f => $"{f.Key}={f.Value}"))}");
        Assert.True(worst > 0, "quantization changed nothing");
        Assert.True(worst <= bound, $"{family} {format}: relative logit error {worst:F4} exceeds {bound}");
        Assert.True(quantized.Family.Decoder.Weights.BytesPerToken(2) < reference.Family.Decoder.Weights.BytesPerToken(2));
        if (format != WeightFormat.Int8 && ratio < 1)
        {
            Assert.True(formats.ContainsKey(WeightFormat.Int8) && formats.ContainsKey(format), "a ratio below 1 mixes int4 and int8 layers");
        }
    }

    [Fact]
    public void Int8_IsCloserThanInt4()
    {
        var folder = Goldens.For("llava-1.5").ModelFolder;
        var ids = Enumerable.Range(0, 24).Select(i => ((i * 29) + 3) % 300).ToArray();
        double Error(WeightFormat? format)
        {
            using var reference = ManagedModel.Load(folder);
            using var model = ManagedModel.Load(folder, new ManagedModelOptions { Quantization = format });
            using var a = reference.Family.Decoder.CreateState();
            using var b = model.Family.Decoder.CreateState();
            var x = reference.Family.Decoder.ForwardAll(a, new DecoderInput(ids));
            var y = model.Family.Decoder.ForwardAll(b, new DecoderInput(ids));
            return x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
        }

        Assert.True(Error(WeightFormat.Int8) < Error(WeightFormat.Int4Symmetric));
    }

    [Fact]
    public void InvalidOptions_AreRejected()
    {
        var folder = Goldens.For("llava-1.5").ModelFolder;
        Assert.Throws<ArgumentOutOfRangeException>(() => ManagedModel.Load(folder, new ManagedModelOptions { GroupSize = 48 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ManagedModel.Load(folder, new ManagedModelOptions { Int4Ratio = 1.5 }));
    }
}
