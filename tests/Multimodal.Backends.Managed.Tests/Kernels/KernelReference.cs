// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.SafeTensors;

namespace Multimodal.Backends.Managed.Tests.Kernels;

/// <summary>Double-precision references and test data for the kernel tests.</summary>
internal static class KernelReference
{
    /// <summary>Relative tolerance of a float32 dot product against the double reference, as a fraction of Σ|x|·|w|.</summary>
    public const double DotTolerance = 1e-5;

    public static float[] RandomArray(Random random, int length, double scale = 1.0)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)(((random.NextDouble() * 2) - 1) * scale);
        }

        return values;
    }

    /// <summary>Roughly Gaussian values (sum of uniforms), like trained weights.</summary>
    public static float[] GaussianArray(Random random, int length, double sigma = 1.0)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            var s = 0.0;
            for (var j = 0; j < 4; j++)
            {
                s += random.NextDouble() - 0.5;
            }

            values[i] = (float)(s * sigma * Math.Sqrt(3));
        }

        return values;
    }

    /// <summary>Builds a float weight of the given float format (F32 from an array, F16/BF16 from bytes at a byte offset).</summary>
    public static LinearWeight MakeFloatWeight(float[] values, int rows, int columns, WeightFormat format, int byteOffset = 0)
    {
        switch (format)
        {
            case WeightFormat.Float32 when byteOffset == 0:
                return LinearWeight.FromSingle(values, rows, columns);
            case WeightFormat.Float32:
                {
                    var bytes = new byte[(values.Length * 4) + byteOffset];
                    MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes.AsSpan(byteOffset));
                    return LinearWeight.FromBytes(bytes.AsMemory(byteOffset, values.Length * 4), TensorDType.F32, rows, columns);
                }

            case WeightFormat.Float16:
            case WeightFormat.BFloat16:
                {
                    var bytes = new byte[(values.Length * 2) + byteOffset];
                    var halves = new ushort[values.Length];
                    for (var i = 0; i < values.Length; i++)
                    {
                        halves[i] = format == WeightFormat.Float16
                            ? BitConverter.HalfToUInt16Bits((Half)values[i])
                            : (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16);
                    }

                    MemoryMarshal.AsBytes(halves.AsSpan()).CopyTo(bytes.AsSpan(byteOffset));
                    var dtype = format == WeightFormat.Float16 ? TensorDType.F16 : TensorDType.BF16;
                    return LinearWeight.FromBytes(bytes.AsMemory(byteOffset, values.Length * 2), dtype, rows, columns);
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    /// <summary>Makes a weight in any format from float values (quantized formats via <see cref="LinearWeight.Quantize"/>).</summary>
    public static LinearWeight MakeWeight(float[] values, int rows, int columns, WeightFormat format, int groupSize = 0, int byteOffset = 0) =>
        format switch
        {
            WeightFormat.Float32 or WeightFormat.Float16 or WeightFormat.BFloat16 => MakeFloatWeight(values, rows, columns, format, byteOffset),
            _ => LinearWeight.Quantize(LinearWeight.FromSingle(values, rows, columns), format, groupSize),
        };

    /// <summary>Asserts <c>y = x · wᵀ + bias</c> against a double reference on the dequantized weights.</summary>
    public static void AssertLinear(ReadOnlySpan<float> x, int n, float[] w, int rows, int columns, ReadOnlySpan<float> bias, ReadOnlySpan<float> y, string label)
    {
        for (var i = 0; i < n; i++)
        {
            for (var r = 0; r < rows; r++)
            {
                double sum = bias.IsEmpty ? 0 : bias[r];
                double magnitude = bias.IsEmpty ? 0 : Math.Abs(bias[r]);
                for (var c = 0; c < columns; c++)
                {
                    double a = x[(i * columns) + c], b = w[(r * columns) + c];
                    sum += a * b;
                    magnitude += Math.Abs(a * b);
                }

                var actual = y[(i * rows) + r];
                var error = Math.Abs(actual - sum);
                if (!(error <= (DotTolerance * magnitude) + 1e-30))
                {
                    Assert.Fail($"{label}: y[{i}, {r}] = {actual}, expected {sum} (error {error:E3}, allowed {DotTolerance * magnitude:E3}).");
                }
            }
        }
    }

    /// <summary>Asserts <c>c = a · bᵀ</c> (<paramref name="transposed"/>) or <c>c = a · b</c> against a double reference.</summary>
    public static void AssertProduct(float[] a, float[] b, float[] c, int m, int n, int k, bool transposed, string label)
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (var p = 0; p < k; p++)
                {
                    double av = a[(i * k) + p], bv = transposed ? b[(j * k) + p] : b[(p * n) + j];
                    sum += av * bv;
                    magnitude += Math.Abs(av * bv);
                }

                var error = Math.Abs(c[(i * n) + j] - sum);
                if (!(error <= (DotTolerance * magnitude) + 1e-30))
                {
                    Assert.Fail($"{label}: c[{i}, {j}] = {c[(i * n) + j]}, expected {sum} (error {error:E3}).");
                }
            }
        }
    }

    /// <summary>erf in double precision: Maclaurin series below 3, Lentz continued fraction of erfc above.</summary>
    public static double Erf(double x)
    {
        var a = Math.Abs(x);
        if (a < 3)
        {
            double term = a, sum = a;
            for (var n = 1; n < 200; n++)
            {
                term *= -a * a / n;
                var add = term / ((2 * n) + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }

            var e = 2 / Math.Sqrt(Math.PI) * sum;
            return x < 0 ? -e : e;
        }

        var erfc = Erfc(a);
        return x < 0 ? erfc - 1 : 1 - erfc;
    }

    /// <summary>erfc(x) for x ≥ 3 via the continued fraction erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).</summary>
    public static double Erfc(double x)
    {
        // Evaluate the continued fraction bottom-up with enough terms for x >= 3.
        var f = x;
        for (var n = 200; n >= 1; n--)
        {
            f = x + (n / 2.0 / f);
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>1 + erf(z) without cancellation for negative z.</summary>
    public static double OnePlusErf(double z) => z >= 0 ? 1 + Erf(z) : (z > -3 ? 1 + Erf(z) : Erfc(-z));
}
