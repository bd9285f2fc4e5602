// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using static Multimodal.Backends.Managed.Tests.Kernels.KernelReference;

namespace Multimodal.Backends.Managed.Tests.Kernels;

public class VectorMathTests
{
    private const int MaxLength = 256;

    /// <summary>Element-wise tolerance against the double reference: relative, with a floor for values near zero.</summary>
    private const double RelativeTolerance = 2e-6;

    [Fact]
    public void LayerNorm_EveryWidth0To256_MatchesDoubleReference_InPlaceToo()
    {
        var random = new Random(1);
        for (var width = 0; width <= MaxLength; width++)
        {
            const int Rows = 3;
            var x = RandomArray(random, Rows * width, 4);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] += 10; // an offset exercises the two-pass variance
            }

            var weight = RandomArray(random, width, 2);
            var bias = width % 2 == 0 ? RandomArray(random, width) : [];
            var y = new float[x.Length];
            VectorMath.LayerNorm(x, y, width, weight, bias, 1e-5f);
            var inPlace = (float[])x.Clone();
            VectorMath.LayerNorm(inPlace, inPlace, width, weight, bias, 1e-5f);
            Assert.Equal(y, inPlace);
            for (var r = 0; r < Rows; r++)
            {
                double mean = 0, variance = 0;
                for (var i = 0; i < width; i++)
                {
                    mean += x[(r * width) + i];
                }

                mean /= width;
                for (var i = 0; i < width; i++)
                {
                    variance += Math.Pow(x[(r * width) + i] - mean, 2);
                }

                variance /= width;
                for (var i = 0; i < width; i++)
                {
                    var expected = ((x[(r * width) + i] - mean) / Math.Sqrt(variance + 1e-5) * weight[i]) + (bias.Length == 0 ? 0 : bias[i]);
                    AssertClose(expected, y[(r * width) + i], 1e-5 * (Math.Abs(weight[i]) + 1), $"LayerNorm w={width} [{r},{i}]");
                }
            }
        }
    }

    [Fact]
    public void RmsNorm_EveryWidth0To256_MatchesDoubleReference_InPlaceToo()
    {
        var random = new Random(2);
        for (var width = 0; width <= MaxLength; width++)
        {
            const int Rows = 2;
            var x = RandomArray(random, Rows * width, 3);
            var weight = RandomArray(random, width, 2);
            var y = new float[x.Length];
            VectorMath.RmsNorm(x, y, width, weight, 1e-6f);
            var inPlace = (float[])x.Clone();
            VectorMath.RmsNorm(inPlace, inPlace, width, weight, 1e-6f);
            Assert.Equal(y, inPlace);
            for (var r = 0; r < Rows; r++)
            {
                double meanSquare = 0;
                for (var i = 0; i < width; i++)
                {
                    meanSquare += (double)x[(r * width) + i] * x[(r * width) + i];
                }

                meanSquare /= width;
                for (var i = 0; i < width; i++)
                {
                    var expected = x[(r * width) + i] / Math.Sqrt(meanSquare + 1e-6) * weight[i];
                    AssertClose(expected, y[(r * width) + i], RelativeTolerance * 4 * Math.Abs(expected), $"RmsNorm w={width} [{r},{i}]");
                }
            }
        }
    }

    [Fact]
    public void SoftmaxRows_EveryWidth0To256_MatchesDoubleReference()
    {
        var random = new Random(3);
        for (var width = 0; width <= MaxLength; width++)
        {
            const int Rows = 3;
            var x = RandomArray(random, Rows * width, 20);
            if (width > 2)
            {
                x[1] = float.NegativeInfinity; // a masked position
            }

            var y = (float[])x.Clone();
            VectorMath.SoftmaxRows(y, width);
            for (var r = 0; r < Rows; r++)
            {
                var max = double.NegativeInfinity;
                for (var i = 0; i < width; i++)
                {
                    max = Math.Max(max, x[(r * width) + i]);
                }

                double sum = 0;
                for (var i = 0; i < width; i++)
                {
                    sum += Math.Exp(x[(r * width) + i] - max);
                }

                double total = 0;
                for (var i = 0; i < width; i++)
                {
                    var expected = Math.Exp(x[(r * width) + i] - max) / sum;
                    AssertClose(expected, y[(r * width) + i], (4 * RelativeTolerance * expected) + 1e-9, $"Softmax w={width} [{r},{i}]");
                    total += y[(r * width) + i];
                }

                if (width > 0)
                {
                    Assert.Equal(1.0, total, 5);
                }
            }
        }
    }

    [Fact]
    public void SoftmaxRows_FullyMaskedRow_GivesZerosNotNaN()
    {
        var values = new float[3 * 20];
        Array.Fill(values, float.NegativeInfinity);
        values[45] = 0f; // row 2 has one unmasked position
        VectorMath.SoftmaxRows(values, 20);
        Assert.All(values[..40], v => Assert.Equal(0f, v));
        Assert.Equal(1f, values[45]);
        Assert.Equal(1f, values[40..].Sum());
    }

    [Fact]
    public void Erf_IsWithin1e6OfDoublePrecision()
    {
        var worst = 0.0;
        for (var x = -8.0; x <= 8.0; x += 0.0005)
        {
            var f = (float)x;
            var error = Math.Abs(VectorMath.Erf(f) - Erf(f));
            worst = Math.Max(worst, error);
        }

        Assert.True(worst < 1e-6, $"worst |erf error| {worst:E3}");
        Assert.Equal(0f, VectorMath.Erf(0f));
        Assert.Equal(1f, VectorMath.Erf(float.PositiveInfinity));
        Assert.Equal(-1f, VectorMath.Erf(float.NegativeInfinity));
        Assert.True(float.IsNaN(VectorMath.Erf(float.NaN)));
    }

    [Fact]
    public void Gelu_EveryLength0To256_MatchesDoubleErfReference()
    {
        AssertActivation(VectorMath.Gelu, x => 0.5 * x * OnePlusErf(x / Math.Sqrt(2)), "Gelu");
    }

    [Fact]
    public void GeluTanh_EveryLength0To256_MatchesDoubleReference()
    {
        AssertActivation(
            VectorMath.GeluTanh,
            x => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))),
            "GeluTanh");
    }

    [Fact]
    public void QuickGelu_EveryLength0To256_MatchesDoubleReference()
    {
        AssertActivation(VectorMath.QuickGelu, x => x / (1 + Math.Exp(-1.702 * x)), "QuickGelu");
    }

    [Fact]
    public void Silu_EveryLength0To256_MatchesDoubleReference()
    {
        AssertActivation(VectorMath.Silu, x => x / (1 + Math.Exp(-x)), "Silu");
    }

    [Fact]
    public void SiluMultiply_EveryLength0To256_MatchesDoubleReference()
    {
        var random = new Random(7);
        for (var length = 0; length <= MaxLength; length++)
        {
            var gate = RandomArray(random, length, 8);
            var up = RandomArray(random, length, 3);
            var result = (float[])gate.Clone();
            VectorMath.SiluMultiply(result, up);
            for (var i = 0; i < length; i++)
            {
                var expected = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                AssertClose(expected, result[i], (RelativeTolerance * Math.Abs(expected)) + 1e-30, $"SiluMultiply n={length} [{i}]");
            }
        }
    }

    [Fact]
    public void Activations_ExtremeInputs_StayFinite()
    {
        float[] values = [-200f, -90f, -20f, -1e-30f, 0f, 1e-30f, 20f, 90f, 1e30f];
        foreach (var activation in new Action<Span<float>>[] { VectorMath.Gelu, VectorMath.GeluTanh, VectorMath.QuickGelu, VectorMath.Silu })
        {
            // 8 values go through the vector path, the ninth through the scalar tail.
            var v = (float[])values.Clone();
            activation(v);
            Assert.All(v, f => Assert.True(float.IsFinite(f)));
            Assert.Equal(20f, v[6], 4);
            Assert.True(Math.Abs(v[2]) < 1e-6f);
        }
    }

    private static void AssertActivation(Action<Span<float>> activation, Func<double, double> reference, string name)
    {
        var random = new Random(name.Length);
        for (var length = 0; length <= MaxLength; length++)
        {
            var x = RandomArray(random, length, 8);
            var y = (float[])x.Clone();
            activation(y);
            for (var i = 0; i < length; i++)
            {
                var expected = reference(x[i]);

                // Relative to the input scale: the functions are x times a factor in [0, 1].
                AssertClose(expected, y[i], RelativeTolerance * Math.Max(Math.Abs(x[i]) * 1e-2, Math.Abs(expected)) + 1e-30, $"{name} n={length} x={x[i]}");
            }
        }
    }

    private static void AssertClose(double expected, float actual, double tolerance, string label)
    {
        var error = Math.Abs(actual - expected);
        if (!(error <= tolerance))
        {
            Assert.Fail($"{label}: {actual} vs {expected} (error {error:E3}, allowed {tolerance:E3}).");
        }
    }
}
