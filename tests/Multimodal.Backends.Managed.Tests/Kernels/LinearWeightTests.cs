// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.SafeTensors;
using static Multimodal.Backends.Managed.Tests.Kernels.KernelReference;

namespace Multimodal.Backends.Managed.Tests.Kernels;

public class LinearWeightTests
{
    [Fact]
    public void FromBytes_DoesNotCopy_AndReadsUnalignedBFloat16()
    {
        var bytes = new byte[(2 * 3 * 2) + 1];
        var w = LinearWeight.FromBytes(bytes.AsMemory(1), TensorDType.BF16, 2, 3);
        Assert.Equal(WeightFormat.BFloat16, w.Format);
        Assert.Equal(12, w.ByteSize);
        Assert.All(w.ToSingle(), v => Assert.Equal(0f, v));

        // 1.5f = 0x3FC00000 → bf16 0x3FC0, written into the caller's buffer after wrapping.
        bytes[1 + 8] = 0xC0;
        bytes[1 + 9] = 0x3F;
        Assert.Equal(1.5f, w.ToSingle()[4]);
    }

    [Fact]
    public void FromBytes_RejectsWrongLengthAndUnsupportedTypes()
    {
        Assert.Throws<ArgumentException>(() => LinearWeight.FromBytes(new byte[10], TensorDType.F16, 2, 3));
        Assert.Throws<NotSupportedException>(() => LinearWeight.FromBytes(new byte[6], TensorDType.I8, 2, 3));
        Assert.Throws<ArgumentException>(() => LinearWeight.FromSingle(new float[5], 2, 3));
    }

    [Theory]
    [InlineData(WeightFormat.Float32, 0, 64L * 96 * 4)]
    [InlineData(WeightFormat.Float16, 0, 64L * 96 * 2)]
    [InlineData(WeightFormat.BFloat16, 0, 64L * 96 * 2)]
    [InlineData(WeightFormat.Int8, 0, (64L * 96) + (64 * 4))]
    [InlineData(WeightFormat.Int4Symmetric, 32, (64L * 96 / 2) + (64 * 3 * 4))]
    [InlineData(WeightFormat.Int4Asymmetric, 32, (64L * 96 / 2) + (64 * 3 * 4) + (64 * 3))]
    public void ByteSize_CountsDataScalesAndZeroPoints(WeightFormat format, int groupSize, long expected)
    {
        var source = LinearWeight.FromSingle(RandomArray(new Random(1), 64 * 96), 64, 96);
        var w = LinearWeight.Quantize(source, format, groupSize);
        Assert.Equal(format, w.Format);
        Assert.Equal(groupSize, w.GroupSize);
        Assert.Equal(expected, w.ByteSize);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(48)]
    [InlineData(256)]
    [InlineData(-32)]
    public void Quantize_Int4_UnsupportedGroupSize_Throws(int groupSize)
    {
        var source = LinearWeight.FromSingle(new float[4 * 256], 4, 256);
        var error = Assert.Throws<ArgumentException>(() => LinearWeight.Quantize(source, WeightFormat.Int4Symmetric, groupSize));
        Assert.Contains("group size", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(WeightFormat.Int4Symmetric)]
    [InlineData(WeightFormat.Int4Asymmetric)]
    public void Quantize_Int4_ColumnsNotDivisibleByGroup_Throws(WeightFormat format)
    {
        var source = LinearWeight.FromSingle(new float[4 * 96], 4, 96);
        var error = Assert.Throws<ArgumentException>(() => LinearWeight.Quantize(source, format, 64));
        Assert.Contains("does not divide the 96 input channels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Quantize_Int8_PerRowScale_RoundsHalfToEven()
    {
        // Row max 127 → scale 1: 2.5 → 2, 3.5 → 4, −2.5 → −2, −127 stays.
        float[] row = [127f, 2.5f, 3.5f, -2.5f, -127f, 0.49f, 0f, 100.6f];
        var w = LinearWeight.Quantize(LinearWeight.FromSingle(row, 1, row.Length), WeightFormat.Int8);
        Assert.Equal([127f, 2f, 4f, -2f, -127f, 0f, 0f, 101f], w.ToSingle());
    }

    [Fact]
    public void Quantize_Int4Symmetric_UsesNncfSignedScale()
    {
        // Largest magnitude is +1 → scale = −1/8; +1 → level −8 (exact), −0.5 → +4, 0.25 → −2, −0.99 → 7.92 → clipped 7.
        var row = new float[32];
        row[0] = 1f;
        row[1] = -0.5f;
        row[2] = 0.25f;
        row[3] = -0.99f;
        row[4] = 0.0625f; // −0.5 → half-to-even → 0
        var w = LinearWeight.Quantize(LinearWeight.FromSingle(row, 1, 32), WeightFormat.Int4Symmetric, 32);
        var d = w.ToSingle();
        Assert.Equal(1f, d[0]);
        Assert.Equal(-0.5f, d[1]);
        Assert.Equal(0.25f, d[2]);
        Assert.Equal(-0.875f, d[3]);
        Assert.Equal(0f, d[4]);
        Assert.Equal(0f, d[31]);

        // Largest magnitude negative → positive scale |min|/8, and −2 lands on −8 exactly.
        row[0] = -2f;
        d = LinearWeight.Quantize(LinearWeight.FromSingle(row, 1, 32), WeightFormat.Int4Symmetric, 32).ToSingle();
        Assert.Equal(-2f, d[0]);
        Assert.Equal(-0.5f, d[1]);
        Assert.Equal(0.25f, d[2]);
    }

    [Fact]
    public void Quantize_Int4Asymmetric_UsesMinMaxScaleAndRoundedZeroPoint()
    {
        // min −1, max 0.875 → scale 0.125, zero point 8.
        var row = new float[32];
        row[0] = -1f;
        row[1] = 0.875f;
        row[2] = 0.0625f;  // 0.5 → 0 (half to even) → 0
        row[3] = 0.1875f;  // 1.5 → 2 → 0.25
        row[4] = -0.0625f; // −0.5 → −0 → 0
        row[5] = 0.3f;     // 2.4 → 2 → 0.25
        var w = LinearWeight.Quantize(LinearWeight.FromSingle(row, 1, 32), WeightFormat.Int4Asymmetric, 32);
        Assert.Equal([8], w.ZeroPoints.ToArray());
        Assert.Equal([0.125f], w.Scales.ToArray());
        var d = w.ToSingle();
        Assert.Equal(-1f, d[0]);
        Assert.Equal(0.875f, d[1]);
        Assert.Equal(0f, d[2]);
        Assert.Equal(0.25f, d[3]);
        Assert.Equal(0f, d[4]);
        Assert.Equal(0.25f, d[5]);
    }

    [Fact]
    public void Quantize_AllZeroGroup_DequantizesToZero()
    {
        foreach (var format in new[] { WeightFormat.Int8, WeightFormat.Int4Symmetric, WeightFormat.Int4Asymmetric })
        {
            var w = LinearWeight.Quantize(LinearWeight.FromSingle(new float[2 * 64], 2, 64), format, 32);
            Assert.All(w.ToSingle(), v => Assert.Equal(0f, v));
        }
    }

    [Theory]
    [InlineData(WeightFormat.Float32)]
    [InlineData(WeightFormat.Float16)]
    [InlineData(WeightFormat.BFloat16)]
    public void Quantize_FromEveryFloatSource_MatchesQuantizingItsFloat32Values(WeightFormat sourceFormat)
    {
        var random = new Random(2);
        var values = GaussianArray(random, 8 * 128);
        var source = MakeFloatWeight(values, 8, 128, sourceFormat, byteOffset: 1);
        var viaFloat = LinearWeight.FromSingle(source.ToSingle(), 8, 128);
        foreach (var format in new[] { WeightFormat.Int8, WeightFormat.Int4Symmetric, WeightFormat.Int4Asymmetric })
        {
            Assert.Equal(LinearWeight.Quantize(viaFloat, format, 64).ToSingle(), LinearWeight.Quantize(source, format, 64).ToSingle());
        }
    }

    [Fact]
    public void Quantize_ToFloat16AndBFloat16_RoundsToNearest()
    {
        float[] values = [1f, -2.5f, 1.00390625f, 3.1415927f];
        var source = LinearWeight.FromSingle(values, 2, 2);
        Assert.Equal(values.Select(v => (float)(Half)v).ToArray(), LinearWeight.Quantize(source, WeightFormat.Float16).ToSingle());
        var bf = LinearWeight.Quantize(source, WeightFormat.BFloat16).ToSingle();
        Assert.Equal(1f, bf[0]);
        Assert.Equal(-2.5f, bf[1]);
        Assert.Equal(1f, bf[2]); // 1 + 2^-8 is a tie between 1 and 1 + 2^-7 → even (1)
        Assert.Equal(3.140625f, bf[3]);
    }

    /// <summary>
    /// Stated error bounds, per element: int8 |w − ŵ| ≤ scale/2 (no clipping: scale = max|w|/127); int4 ≤ |scale|
    /// (half a step, or one step for the element clipped at the top level); and on Gaussian weights the relative RMS
    /// error is below 0.8 % (int8), 11 % (int4 sym, g = 64) and 9 % (int4 asym, g = 64).
    /// </summary>
    [Theory]
    [InlineData(WeightFormat.Int8, 0, 0.008)]
    [InlineData(WeightFormat.Int4Symmetric, 32, 0.10)]
    [InlineData(WeightFormat.Int4Symmetric, 64, 0.11)]
    [InlineData(WeightFormat.Int4Symmetric, 128, 0.12)]
    [InlineData(WeightFormat.Int4Asymmetric, 32, 0.08)]
    [InlineData(WeightFormat.Int4Asymmetric, 64, 0.09)]
    [InlineData(WeightFormat.Int4Asymmetric, 128, 0.10)]
    public void Quantize_ErrorWithinStatedBounds(WeightFormat format, int groupSize, double relativeRmsBound)
    {
        const int Rows = 64, Columns = 512;
        var values = GaussianArray(new Random(5), Rows * Columns, 0.02);
        var w = LinearWeight.Quantize(LinearWeight.FromSingle(values, Rows, Columns), format, groupSize);
        var dequantized = w.ToSingle();
        var scales = w.Scales;
        var perRow = format == WeightFormat.Int8 ? 1 : Columns / groupSize;
        double errorSquares = 0, valueSquares = 0;
        for (var r = 0; r < Rows; r++)
        {
            for (var c = 0; c < Columns; c++)
            {
                var i = (r * Columns) + c;
                var scale = Math.Abs(scales[(r * perRow) + (format == WeightFormat.Int8 ? 0 : c / groupSize)]);
                var error = Math.Abs(values[i] - dequantized[i]);
                var bound = format == WeightFormat.Int8 ? 0.5 * scale : scale;
                Assert.True(error <= (bound * (1 + 1e-5)) + 1e-9, $"{format} [{r},{c}]: error {error} exceeds {bound}.");
                errorSquares += error * error;
                valueSquares += (double)values[i] * values[i];
            }
        }

        var relativeRms = Math.Sqrt(errorSquares / valueSquares);
        Assert.True(relativeRms < relativeRmsBound, $"{format}/{groupSize}: relative RMS error {relativeRms:P2} ≥ {relativeRmsBound:P2}.");
    }

    [Theory]
    [InlineData(WeightFormat.Int8, 0)]
    [InlineData(WeightFormat.Int4Symmetric, 64)]
    [InlineData(WeightFormat.Int4Asymmetric, 128)]
    public void QuantizedLinear_OutputErrorAgainstFloat32_IsBounded(WeightFormat format, int groupSize)
    {
        // End to end: y_q vs y_fp32 for a realistic layer; relative RMS over outputs.
        const int Rows = 256, Columns = 1024;
        var random = new Random(6);
        var values = GaussianArray(random, Rows * Columns, 0.02);
        var x = GaussianArray(random, Columns);
        var reference = new float[Rows];
        var quantized = new float[Rows];
        LinearKernel.Forward(x, 1, LinearWeight.FromSingle(values, Rows, Columns), default, reference, ComputeContext.Default);
        LinearKernel.Forward(x, 1, LinearWeight.Quantize(LinearWeight.FromSingle(values, Rows, Columns), format, groupSize), default, quantized, ComputeContext.Default);
        double error = 0, norm = 0;
        for (var r = 0; r < Rows; r++)
        {
            error += Math.Pow(quantized[r] - reference[r], 2);
            norm += Math.Pow(reference[r], 2);
        }

        var bound = format == WeightFormat.Int8 ? 0.008 : 0.12;
        Assert.True(Math.Sqrt(error / norm) < bound, $"{format}: relative output error {Math.Sqrt(error / norm):P2}.");
    }

    [Fact]
    public void Int4Packing_TwoValuesPerByte_LowNibbleColumnJ_HighNibbleColumnJPlus16()
    {
        var row = new float[32];
        for (var c = 0; c < 32; c++)
        {
            row[c] = c < 16 ? -8 + (c % 8) : 7 - (c % 8);
        }

        row[0] = -8f; // scale = 1 (largest magnitude negative)
        var w = LinearWeight.Quantize(LinearWeight.FromSingle(row, 1, 32), WeightFormat.Int4Symmetric, 32);
        Assert.Equal(1f, w.Scales[0]);
        var bytes = MemoryMarshal.CreateReadOnlySpan(ref w.DataReference, 16);
        for (var j = 0; j < 16; j++)
        {
            Assert.Equal((int)row[j] + 8, bytes[j] & 15);
            Assert.Equal((int)row[j + 16] + 8, bytes[j] >> 4);
        }
    }
}
