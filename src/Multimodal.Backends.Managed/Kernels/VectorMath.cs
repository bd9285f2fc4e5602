// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>Row-wise and element-wise kernels (float32, SIMD), matching PyTorch's float32 results within rounding.</summary>
/// <remarks>
/// <para>Row-wise functions take <c>rows × width</c> row-major data (the row count is <c>source.Length / width</c>) and
/// may run in place (<c>destination</c> == <c>source</c>). Element-wise functions run one pass with
/// <see cref="Vector256{T}"/> (exp from <see cref="Vector256.Exp(Vector256{float})"/>) and a scalar tail.</para>
/// <para>The sigmoid-based activations use <c>x / (1 + exp(−k·x))</c>, which is accurate in both tails; the tanh GELU uses
/// the identity <c>0.5·(1 + tanh(u)) = σ(2u)</c>, so it does not cancel for large negative inputs (PyTorch's literal
/// formula loses relative precision there; the difference stays within float rounding of the result's magnitude).</para>
/// </remarks>
internal static class VectorMath
{
    private const float Sqrt2OverPi = 0.7978845608028654f;
    private const float GeluTanhCubic = 0.044715f;
    private const float QuickGeluFactor = 1.702f;
    private const float InverseSqrt2 = 0.70710678118654752f;

    /// <summary>LayerNorm over each row: (x − mean) / sqrt(var + eps) · weight + bias (bias may be empty).</summary>
    /// <param name="source">The input rows.</param>
    /// <param name="destination">The output rows (may be the source).</param>
    /// <param name="width">The row length (normalized dimension).</param>
    /// <param name="weight">The scale, <paramref name="width"/> values.</param>
    /// <param name="bias">The shift, <paramref name="width"/> values, or empty.</param>
    /// <param name="epsilon">The variance epsilon.</param>
    /// <remarks>Mean and (biased) variance are computed in float32 with two passes (mean first, then squared
    /// deviations), which is at least as accurate as PyTorch's float Welford moments.</remarks>
    public static void LayerNorm(ReadOnlySpan<float> source, Span<float> destination, int width, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float epsilon)
    {
        var rows = CheckRows(source, destination, width);
        if (weight.Length < width || (!bias.IsEmpty && bias.Length < width))
        {
            throw new ArgumentException($"LayerNorm weight/bias must have {width} values.", nameof(weight));
        }

        for (var r = 0; r < rows; r++)
        {
            var x = source.Slice(r * width, width);
            var y = destination.Slice(r * width, width);
            var mean = TensorPrimitives.Sum(x) / width;
            var variance = SumOfSquaredDeviations(x, mean) / width;
            var rstd = 1f / MathF.Sqrt(variance + epsilon);
            NormalizeAffine(x, y, mean, rstd, weight, bias);
        }
    }

    /// <summary>RMSNorm over each row: x / sqrt(mean(x²) + eps) · weight.</summary>
    /// <param name="source">The input rows.</param>
    /// <param name="destination">The output rows (may be the source).</param>
    /// <param name="width">The row length.</param>
    /// <param name="weight">The scale, <paramref name="width"/> values.</param>
    /// <param name="epsilon">The epsilon added to the mean square.</param>
    /// <remarks>As Llama's <c>LlamaRMSNorm</c> in float32: <c>(x · rsqrt(mean(x²) + eps)) · weight</c>.</remarks>
    public static void RmsNorm(ReadOnlySpan<float> source, Span<float> destination, int width, ReadOnlySpan<float> weight, float epsilon)
    {
        var rows = CheckRows(source, destination, width);
        if (weight.Length < width)
        {
            throw new ArgumentException($"RMSNorm weight must have {width} values.", nameof(weight));
        }

        for (var r = 0; r < rows; r++)
        {
            var x = source.Slice(r * width, width);
            var y = destination.Slice(r * width, width);
            var meanSquare = TensorPrimitives.SumOfSquares(x) / width;
            var scale = 1f / MathF.Sqrt(meanSquare + epsilon);
            ref var xr = ref MemoryMarshal.GetReference(x);
            ref var yr = ref MemoryMarshal.GetReference(y);
            ref var wr = ref MemoryMarshal.GetReference(weight);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var s = Vector256.Create(scale);
                for (; i <= width - 8; i += 8)
                {
                    (Vector256.LoadUnsafe(ref xr, (nuint)i) * s * Vector256.LoadUnsafe(ref wr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
                }
            }

            for (; i < width; i++)
            {
                Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * scale * Unsafe.Add(ref wr, i);
            }
        }
    }

    /// <summary>Softmax over each row, in place.</summary>
    /// <param name="values">The rows.</param>
    /// <param name="width">The row length.</param>
    /// <remarks>Max-subtracted: <c>exp(x − max) / Σ exp(x − max)</c>. A row whose values are all −∞ (fully masked
    /// attention) produces zeros, not NaN. NaN inputs propagate.</remarks>
    public static void SoftmaxRows(Span<float> values, int width)
    {
        var rows = CheckRows(values, values, width);
        for (var r = 0; r < rows; r++)
        {
            var row = values.Slice(r * width, width);
            var max = TensorPrimitives.Max(row);
            if (float.IsNegativeInfinity(max))
            {
                row.Clear();
                continue;
            }

            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Exp(row, row);
            var sum = TensorPrimitives.Sum(row);
            TensorPrimitives.Divide(row, sum, row);
        }
    }

    /// <summary>Exact GELU (erf), in place: PyTorch <c>nn.GELU()</c>.</summary>
    /// <param name="values">The values.</param>
    /// <remarks><c>0.5·x·(1 + erf(x/√2))</c>, with <c>1 + erf(z)</c> evaluated as <c>erfc(−z)</c> (relative error
    /// below 1.2e-7 before float rounding), so the negative tail keeps its relative precision.</remarks>
    public static void Gelu(Span<float> values)
    {
        ref var r = ref MemoryMarshal.GetReference(values);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - 8; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref r, (nuint)i);
                var z = x * Vector256.Create(InverseSqrt2);
                var c = Erfc(Vector256.Abs(z));
                var onePlusErf = Vector256.ConditionalSelect(Vector256.LessThan(z, Vector256<float>.Zero), c, Vector256.Create(2f) - c);
                (Vector256.Create(0.5f) * x * onePlusErf).StoreUnsafe(ref r, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            var x = Unsafe.Add(ref r, i);
            var z = x * InverseSqrt2;
            var c = Erfc(MathF.Abs(z));
            Unsafe.Add(ref r, i) = 0.5f * x * (z < 0 ? c : 2f - c);
        }
    }

    /// <summary>GELU with the tanh approximation, in place: <c>gelu_pytorch_tanh</c> / <c>gelu_new</c>.</summary>
    /// <param name="values">The values.</param>
    /// <remarks><c>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c>, evaluated as <c>x / (1 + exp(−2u))</c>.</remarks>
    public static void GeluTanh(Span<float> values)
    {
        ref var r = ref MemoryMarshal.GetReference(values);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - 8; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref r, (nuint)i);
                var u = Vector256.Create(Sqrt2OverPi) * (x + (Vector256.Create(GeluTanhCubic) * x * x * x));
                (x / (Vector256<float>.One + Vector256.Exp(Vector256.Create(-2f) * u))).StoreUnsafe(ref r, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            var x = Unsafe.Add(ref r, i);
            var u = Sqrt2OverPi * (x + (GeluTanhCubic * x * x * x));
            Unsafe.Add(ref r, i) = x / (1f + MathF.Exp(-2f * u));
        }
    }

    /// <summary>quick-GELU, in place: x·σ(1.702x).</summary>
    /// <param name="values">The values.</param>
    public static void QuickGelu(Span<float> values) => ScaledSilu(values, QuickGeluFactor);

    /// <summary>SiLU, in place: x·σ(x).</summary>
    /// <param name="values">The values.</param>
    public static void Silu(Span<float> values) => ScaledSilu(values, 1f);

    /// <summary>SwiGLU: gate ← SiLU(gate) · up.</summary>
    /// <param name="gate">The gate projection; receives the result.</param>
    /// <param name="up">The up projection, at least as long as <paramref name="gate"/>.</param>
    public static void SiluMultiply(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length < gate.Length)
        {
            throw new ArgumentException($"up has {up.Length} values; gate has {gate.Length}.", nameof(up));
        }

        ref var g = ref MemoryMarshal.GetReference(gate);
        ref var u = ref MemoryMarshal.GetReference(up);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= gate.Length - 8; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref g, (nuint)i);
                (x / (Vector256<float>.One + Vector256.Exp(-x)) * Vector256.LoadUnsafe(ref u, (nuint)i)).StoreUnsafe(ref g, (nuint)i);
            }
        }

        for (; i < gate.Length; i++)
        {
            var x = Unsafe.Add(ref g, i);
            Unsafe.Add(ref g, i) = x / (1f + MathF.Exp(-x)) * Unsafe.Add(ref u, i);
        }
    }

    /// <summary>The error function in float32, absolute error below 1e-6 (relative below about 3e-7).</summary>
    /// <param name="x">The argument.</param>
    /// <returns>erf(x).</returns>
    /// <remarks>A Maclaurin series (7 terms) for |x| &lt; 0.5, else <c>1 − erfc(|x|)</c> with the sign of x.</remarks>
    internal static float Erf(float x)
    {
        var a = MathF.Abs(x);
        if (a < 0.5f)
        {
            // erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
            var x2 = x * x;
            var p = -1f / 75600f;
            p = (p * x2) + (1f / 9360f);
            p = (p * x2) - (1f / 1320f);
            p = (p * x2) + (1f / 216f);
            p = (p * x2) - (1f / 42f);
            p = (p * x2) + 0.1f;
            p = (p * x2) - (1f / 3f);
            p = (p * x2) + 1f;
            return 1.1283791670955126f * x * p;
        }

        if (float.IsNaN(x))
        {
            return x;
        }

        var e = 1f - Erfc(a);
        return x < 0 ? -e : e;
    }

    /// <summary>erfc(z) for z ≥ 0, fractional error below 1.2e-7 (Chebyshev fit in Numerical Recipes' <c>erfcc</c>).</summary>
    /// <param name="z">A non-negative argument.</param>
    /// <returns>erfc(z).</returns>
    internal static float Erfc(float z)
    {
        var t = 1f / (1f + (0.5f * z));
        return t * MathF.Exp(ErfcExponent(z, t));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ErfcExponent(float z, float t)
    {
        var p = 0.17087277f;
        p = (p * t) - 0.82215223f;
        p = (p * t) + 1.48851587f;
        p = (p * t) - 1.13520398f;
        p = (p * t) + 0.27886807f;
        p = (p * t) - 0.18628806f;
        p = (p * t) + 0.09678418f;
        p = (p * t) + 0.37409196f;
        p = (p * t) + 1.00002368f;
        p = (p * t) - 1.26551223f;
        return p - (z * z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Erfc(Vector256<float> z)
    {
        var t = Vector256<float>.One / (Vector256<float>.One + (Vector256.Create(0.5f) * z));
        var p = Vector256.Create(0.17087277f);
        p = (p * t) - Vector256.Create(0.82215223f);
        p = (p * t) + Vector256.Create(1.48851587f);
        p = (p * t) - Vector256.Create(1.13520398f);
        p = (p * t) + Vector256.Create(0.27886807f);
        p = (p * t) - Vector256.Create(0.18628806f);
        p = (p * t) + Vector256.Create(0.09678418f);
        p = (p * t) + Vector256.Create(0.37409196f);
        p = (p * t) + Vector256.Create(1.00002368f);
        p = (p * t) - Vector256.Create(1.26551223f);
        return t * Vector256.Exp(p - (z * z));
    }

    private static void ScaledSilu(Span<float> values, float k)
    {
        ref var r = ref MemoryMarshal.GetReference(values);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var nk = Vector256.Create(-k);
            for (; i <= values.Length - 8; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref r, (nuint)i);
                (x / (Vector256<float>.One + Vector256.Exp(nk * x))).StoreUnsafe(ref r, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            var x = Unsafe.Add(ref r, i);
            Unsafe.Add(ref r, i) = x / (1f + MathF.Exp(-k * x));
        }
    }

    private static float SumOfSquaredDeviations(ReadOnlySpan<float> x, float mean)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean);
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var d0 = Vector256.LoadUnsafe(ref xr, (nuint)i) - m;
                var d1 = Vector256.LoadUnsafe(ref xr, (nuint)(i + 8)) - m;
                acc0 += d0 * d0;
                acc1 += d1 * d1;
            }

            for (; i <= x.Length - 8; i += 8)
            {
                var d0 = Vector256.LoadUnsafe(ref xr, (nuint)i) - m;
                acc0 += d0 * d0;
            }

            sum = Vector256.Sum(acc0 + acc1);
        }

        for (; i < x.Length; i++)
        {
            var d = Unsafe.Add(ref xr, i) - mean;
            sum += d * d;
        }

        return sum;
    }

    private static void NormalizeAffine(ReadOnlySpan<float> x, Span<float> y, float mean, float rstd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var yr = ref MemoryMarshal.GetReference(y);
        ref var wr = ref MemoryMarshal.GetReference(weight);
        ref var br = ref MemoryMarshal.GetReference(bias);
        var hasBias = !bias.IsEmpty;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(mean);
            var s = Vector256.Create(rstd);
            for (; i <= x.Length - 8; i += 8)
            {
                var v = (Vector256.LoadUnsafe(ref xr, (nuint)i) - m) * s * Vector256.LoadUnsafe(ref wr, (nuint)i);
                if (hasBias)
                {
                    v += Vector256.LoadUnsafe(ref br, (nuint)i);
                }

                v.StoreUnsafe(ref yr, (nuint)i);
            }
        }

        for (; i < x.Length; i++)
        {
            var v = (Unsafe.Add(ref xr, i) - mean) * rstd * Unsafe.Add(ref wr, i);
            Unsafe.Add(ref yr, i) = hasBias ? v + Unsafe.Add(ref br, i) : v;
        }
    }

    private static int CheckRows(ReadOnlySpan<float> source, Span<float> destination, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        if (width == 0)
        {
            return 0;
        }

        if (source.Length % width != 0)
        {
            throw new ArgumentException($"The data length {source.Length} is not a multiple of the row width {width}.", nameof(source));
        }

        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"The destination has {destination.Length} values; the source has {source.Length}.", nameof(destination));
        }

        return source.Length / width;
    }
}
