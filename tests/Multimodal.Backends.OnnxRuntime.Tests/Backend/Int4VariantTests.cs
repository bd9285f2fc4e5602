// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using Multimodal.Backends.Managed;
using Xunit.Abstractions;
using static Multimodal.Backends.OnnxRuntime.LlavaTinyFixture;
using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>
/// The int4 weight-only variant of models/llava-tiny's decoder, <c>onnx/decoder_model_merged_q4.onnx</c> (written by
/// eng/onnx/quantize_int4.py, committed), loaded with <c>FileVariants["decoder_model_merged"] = "q4"</c>, against the
/// managed engine loaded with <see cref="WeightFormat.Int4Symmetric"/>, group 64. The file's MatMulNBits weights
/// dequantize to the managed engine's values bit for bit (int4 layers and the int8 LM head); only the float32
/// accumulation order differs, so the two int4 paths agree as closely as the two float paths do.
/// </summary>
public sealed class Int4VariantTests(LlavaTinyFixture fixture, Int4VariantTests.Int4Models int4, ITestOutputHelper output)
    : IClassFixture<LlavaTinyFixture>, IClassFixture<Int4VariantTests.Int4Models>
{
    /// <summary>The int4 paths against each other. Same dequantized weights, different summation order: the managed
    /// kernels sum <c>scale · (Σ u·x − 8·Σ x)</c> per group, MLAS sums the dequantized products. Measured: at most
    /// 7.6e-6 over 6 image prompts × 21 positions (logits up to 25 in magnitude, so ~3e-7 relative), the same size as
    /// the float export against the managed float engine (1.1e-5). The bound is the float parity tests' 1e-4.</summary>
    private const float Int4Tolerance = 1e-4f;

    /// <summary>How far the q4 logits must at least be from the float export's: int4 moves them by 0.5 to 2 on these
    /// prompts (measured), four orders of magnitude above <see cref="Int4Tolerance"/>.</summary>
    private const float QuantizationEffectFloor = 0.05f;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Q4Variant_PrefillAndTwentyGreedySteps_MatchTheManagedInt4Decoder(int prompt)
    {
        // Arrange: the same DecoderInput (64 rows from the managed vision encoder, which int4 does not touch) to both.
        var input = Input(fixture.Prompts[prompt], fixture.ManagedRows[prompt]);
        using var managedState = int4.ManagedDecoder.CreateState();
        using var onnxState = int4.OnnxDecoder.CreateState();

        // Act
        var expected = Forward(int4.ManagedDecoder, managedState, input);
        var actual = Forward(int4.OnnxDecoder, onnxState, input);

        // Assert: each decoder picks its own greedy token; the tokens and the logits stay together for 20 steps.
        var worst = MaxDifference(expected, actual);
        AssertClose(expected, actual, Int4Tolerance, "prefill");
        var tokens = new List<int>();
        for (var step = 0; step < 20; step++)
        {
            var next = Argmax(expected);
            Assert.Equal(next, Argmax(actual));
            tokens.Add(next);
            expected = Forward(int4.ManagedDecoder, managedState, DecoderInput.Token(next));
            actual = Forward(int4.OnnxDecoder, onnxState, DecoderInput.Token(next));
            worst = Math.Max(worst, MaxDifference(expected, actual));
            AssertClose(expected, actual, Int4Tolerance, $"step {step}");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"prompt {prompt}: max |managed int4 - ORT q4| {worst:g3} over 21 positions; greedy {string.Join(' ', tokens)}"));
    }

    [Fact]
    public void Q4Variant_IsTheFileLoaded_ItsLogitsAreFarFromTheFloatExport()
    {
        // Arrange
        var input = Input(fixture.Prompts[1], fixture.ManagedRows[1]);

        // Act
        var q4 = Prefill(int4.OnnxDecoder, input);
        var float32 = Prefill(fixture.OnnxDecoder, input);
        var managedInt4 = Prefill(int4.ManagedDecoder, input);
        var managedFloat = Prefill(fixture.ManagedDecoder, input);

        // Assert: int4 changes the logits by far more than either pair of backends differs.
        var effect = MaxDifference(q4, float32);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"max |ORT q4 - ORT float| {effect:g3}; max |managed int4 - managed float| {MaxDifference(managedInt4, managedFloat):g3}"));
        Assert.True(effect > QuantizationEffectFloor, $"the q4 logits are within {effect:g3} of the float export's: the variant was not loaded");
        AssertClose(managedInt4, q4, Int4Tolerance, "int4 pair");
        AssertClose(managedFloat, float32, Int4Tolerance, "float pair");
    }

    [Theory]
    [InlineData(new[] { 1, 365, 443 })]
    [InlineData(new[] { 13, 252, 491, 90, 329, 568, 167, 406 })] // the backend benchmarks' prompt, first 8 positions
    public void Int4Backends_ShortTextPrompt_KeepTheFloatArgmax(int[] ids)
    {
        // Arrange
        var input = new DecoderInput(ids);

        // Act
        var float32 = Prefill(fixture.OnnxDecoder, input);
        var managedInt4 = Prefill(int4.ManagedDecoder, input);
        var q4 = Prefill(int4.OnnxDecoder, input);

        // Assert
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"argmax float {Argmax(float32)} (margin {Margin(float32):g3}), managed int4 {Argmax(managedInt4)} (margin {Margin(managedInt4):g3}), ORT q4 {Argmax(q4)}"));
        Assert.Equal(Argmax(Prefill(fixture.ManagedDecoder, input)), Argmax(float32));
        Assert.Equal(Argmax(float32), Argmax(managedInt4));
        Assert.Equal(Argmax(float32), Argmax(q4));
    }

    /// <summary>The top logit minus the runner-up.</summary>
    private static float Margin(float[] logits)
    {
        var sorted = logits.OrderDescending().Take(2).ToArray();
        return sorted[0] - sorted[1];
    }

    private static float MaxDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var worst = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            worst = MathF.Max(worst, MathF.Abs(a[i] - b[i]));
        }

        return worst;
    }

    /// <summary>models/llava-tiny's language model through the managed engine in int4 (group 64) and through ONNX Runtime
    /// with the committed <c>decoder_model_merged_q4.onnx</c> (one intra-op thread, as <see cref="LlavaTinyFixture"/>).</summary>
    public sealed class Int4Models : IAsyncLifetime
    {
        public Int4Models() => EnsureConfigured();

        public MultimodalModel Managed { get; private set; } = null!;

        public MultimodalModel Onnx { get; private set; } = null!;

        public ILanguageDecoder ManagedDecoder => Managed.Components.LanguageDecoder;

        public ILanguageDecoder OnnxDecoder => Onnx.Components.LanguageDecoder;

        public async Task InitializeAsync()
        {
            Managed = CreateModel(new ManagedBackend(new ManagedModelOptions { Quantization = WeightFormat.Int4Symmetric, GroupSize = 64 }));
            Onnx = CreateModel(CreateOnnxBackend(o =>
            {
                o.LoadVisionEncoder = false;
                o.FileVariants["decoder_model_merged"] = "q4";
            }));
            await Managed.LoadAsync();
            await Onnx.LoadAsync();
        }

        public Task DisposeAsync()
        {
            Onnx?.Dispose();
            Managed?.Dispose();
            return Task.CompletedTask;
        }
    }
}
