// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.Managed.Kernels;
using static Multimodal.Backends.Managed.Tests.Kernels.KernelReference;

namespace Multimodal.Backends.Managed.Tests.Kernels;

public class LinearKernelTests
{
    private static readonly int[] OddSizes = [1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 64, 100];

    public static TheoryData<WeightFormat> FloatFormats => new() { WeightFormat.Float32, WeightFormat.Float16, WeightFormat.BFloat16 };

    public static TheoryData<WeightFormat, int> QuantizedFormats => new()
    {
        { WeightFormat.Int8, 0 },
        { WeightFormat.Int4Symmetric, 32 },
        { WeightFormat.Int4Symmetric, 64 },
        { WeightFormat.Int4Symmetric, 128 },
        { WeightFormat.Int4Asymmetric, 32 },
        { WeightFormat.Int4Asymmetric, 64 },
        { WeightFormat.Int4Asymmetric, 128 },
    };

    public static TheoryData<WeightFormat, int> AllFormats
    {
        get
        {
            var data = new TheoryData<WeightFormat, int> { { WeightFormat.Float32, 0 }, { WeightFormat.Float16, 0 }, { WeightFormat.BFloat16, 0 } };
            foreach (var row in QuantizedFormats)
            {
                data.Add((WeightFormat)row[0], (int)row[1]);
            }

            return data;
        }
    }

    public static TheoryData<int> OddSizeData
    {
        get
        {
            var data = new TheoryData<int>();
            foreach (var m in OddSizes)
            {
                data.Add(m);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(FloatFormats))]
    public void Gemv_FloatFormats_EveryInnerDimension0To256_MatchesDoubleReference(WeightFormat format)
    {
        var random = new Random(11);
        const int Rows = 37;
        for (var columns = 0; columns <= 256; columns++)
        {
            var offset = columns % 4; // unaligned checkpoint data for F16/BF16 (and F32 from bytes)
            var w = MakeWeight(RandomArray(random, Rows * columns), Rows, columns, format, byteOffset: offset);
            var x = RandomArray(random, columns, 3);
            var bias = columns % 2 == 0 ? RandomArray(random, Rows) : [];
            var y = Enumerable.Repeat(float.NaN, Rows).ToArray();
            LinearKernel.Forward(x, 1, w, bias, y, ComputeContext.SingleThreaded);
            AssertLinear(x, 1, w.ToSingle(), Rows, columns, bias, y, $"{format} k={columns}");
        }
    }

    [Fact]
    public void Gemv_Int8_EveryInnerDimension0To256_EqualsInputTimesDequantizedWeights()
    {
        var random = new Random(12);
        const int Rows = 21;
        for (var columns = 0; columns <= 256; columns++)
        {
            var w = MakeWeight(GaussianArray(random, Rows * columns), Rows, columns, WeightFormat.Int8);
            var x = RandomArray(random, columns, 2);
            var y = new float[Rows];
            LinearKernel.Forward(x, 1, w, default, y, ComputeContext.SingleThreaded);
            AssertLinear(x, 1, w.ToSingle(), Rows, columns, default, y, $"int8 k={columns}");
        }
    }

    [Theory]
    [InlineData(WeightFormat.Int4Symmetric, 32)]
    [InlineData(WeightFormat.Int4Symmetric, 64)]
    [InlineData(WeightFormat.Int4Symmetric, 128)]
    [InlineData(WeightFormat.Int4Asymmetric, 32)]
    [InlineData(WeightFormat.Int4Asymmetric, 64)]
    [InlineData(WeightFormat.Int4Asymmetric, 128)]
    public void Gemv_Int4_EveryValidInnerDimensionTo256_EqualsInputTimesDequantizedWeights(WeightFormat format, int groupSize)
    {
        var random = new Random(13);
        const int Rows = 19;
        for (var columns = 0; columns <= 256; columns += groupSize)
        {
            var w = MakeWeight(GaussianArray(random, Rows * columns), Rows, columns, format, groupSize);
            var x = RandomArray(random, columns, 2);
            var bias = RandomArray(random, Rows);
            var y = new float[Rows];
            LinearKernel.Forward(x, 1, w, bias, y, ComputeContext.SingleThreaded);
            AssertLinear(x, 1, w.ToSingle(), Rows, columns, bias, y, $"{format}/{groupSize} k={columns}");
        }
    }

    [Theory]
    [MemberData(nameof(AllFormats))]
    public void Forward_ManyRows_AllFormats_OddShapes_MatchReference(WeightFormat format, int groupSize)
    {
        var random = new Random(14);
        int[] ns = [2, 3, 5, 7, 13, 17, 100];
        int[] outs = [1, 5, 16, 17, 33, 300];
        int[] ks = groupSize == 0 ? [1, 7, 16, 33, 100, 300] : [groupSize, 2 * groupSize, 3 * groupSize, 640 - (640 % groupSize)];
        foreach (var n in ns)
        {
            foreach (var rows in outs)
            {
                foreach (var k in ks)
                {
                    var w = MakeWeight(GaussianArray(random, rows * k), rows, k, format, groupSize, byteOffset: 1);
                    var x = RandomArray(random, n * k, 2);
                    var bias = rows % 2 == 1 ? RandomArray(random, rows) : [];
                    var y = Enumerable.Repeat(float.NaN, n * rows).ToArray();
                    LinearKernel.Forward(x, n, w, bias, y, ComputeContext.Default);
                    AssertLinear(x, n, w.ToSingle(), rows, k, bias, y, $"{format}/{groupSize} n={n} out={rows} k={k}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OddSizeData))]
    public void Gemm_MultiplyTransposed_OddShapes_MatchReference(int m)
    {
        var random = new Random(100 + m);
        foreach (var n in OddSizes)
        {
            foreach (var k in OddSizes)
            {
                var a = RandomArray(random, m * k);
                var b = RandomArray(random, n * k);
                var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
                Gemm.MultiplyTransposed(a, b, c, m, n, k, ComputeContext.Default);
                AssertProduct(a, b, c, m, n, k, transposed: true, $"a·bᵀ m={m} n={n} k={k}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(OddSizeData))]
    public void Gemm_Multiply_OddShapes_MatchReference(int m)
    {
        var random = new Random(200 + m);
        foreach (var n in OddSizes)
        {
            foreach (var k in OddSizes)
            {
                var a = RandomArray(random, m * k);
                var b = RandomArray(random, n * k);
                var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
                Gemm.Multiply(a, b, c, m, n, k, ComputeContext.Default);
                AssertProduct(a, b, c, m, n, k, transposed: false, $"a·b m={m} n={n} k={k}");
            }
        }
    }

    [Fact]
    public void Gemm_CrossesEveryBlockBoundary_MatchesReference()
    {
        var random = new Random(3);
        (int M, int N, int K)[] shapes = [(37, 529, 600), (130, 260, 257), (6, 16, 512), (7, 17, 513)];
        foreach (var (m, n, k) in shapes)
        {
            var a = RandomArray(random, m * k);
            var b = RandomArray(random, n * k);
            var c = new float[m * n];
            Gemm.MultiplyTransposed(a, b, c, m, n, k, ComputeContext.Default);
            AssertProduct(a, b, c, m, n, k, transposed: true, $"a·bᵀ {m}x{n}x{k}");
            Gemm.Multiply(a, b, c, m, n, k, ComputeContext.Default);
            AssertProduct(a, b, c, m, n, k, transposed: false, $"a·b {m}x{n}x{k}");
        }
    }

    [Fact]
    public void Gemm_ZeroInnerDimension_ClearsOutput()
    {
        var c = new[] { 1f, 2f, 3f, 4f };
        Gemm.MultiplyTransposed([], [], c, 2, 2, 0, ComputeContext.Default);
        Assert.All(c, v => Assert.Equal(0f, v));
        c = [1f, 2f, 3f, 4f];
        Gemm.Multiply([], [], c, 2, 2, 0, ComputeContext.Default);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(AllFormats))]
    public void Forward_MultiThreaded_IsBitIdenticalToSingleThreaded(WeightFormat format, int groupSize)
    {
        var random = new Random(15);
        const int Rows = 1000, Columns = 1024;
        var w = MakeWeight(GaussianArray(random, Rows * Columns), Rows, Columns, format, groupSize, byteOffset: 3);
        var bias = RandomArray(random, Rows);
        foreach (var n in new[] { 1, 2, 7, 40 })
        {
            var x = RandomArray(random, n * Columns);
            var expected = new float[n * Rows];
            LinearKernel.Forward(x, n, w, bias, expected, ComputeContext.SingleThreaded);
            foreach (var threads in new[] { 2, 3, 8 })
            {
                var actual = new float[n * Rows];
                LinearKernel.Forward(x, n, w, bias, actual, new ComputeContext(threads));
                Assert.Equal(expected, actual);
            }

            if (n <= 7)
            {
                AssertLinear(x, n, w.ToSingle(), Rows, Columns, bias, expected, $"{format}/{groupSize} n={n}");
            }
        }
    }

    [Fact]
    public void Gemm_MultiThreaded_IsBitIdenticalToSingleThreaded()
    {
        var random = new Random(16);
        foreach (var (m, n, k) in new[] { (1, 700, 600), (50, 600, 600), (300, 40, 129), (2, 3000, 64) })
        {
            var a = RandomArray(random, m * k);
            var b = RandomArray(random, n * k);
            var single = new float[m * n];
            var multi = new float[m * n];
            Gemm.MultiplyTransposed(a, b, single, m, n, k, ComputeContext.SingleThreaded);
            Gemm.MultiplyTransposed(a, b, multi, m, n, k, new ComputeContext(4));
            Assert.Equal(single, multi);
            Gemm.Multiply(a, b, single, m, n, k, ComputeContext.SingleThreaded);
            Gemm.Multiply(a, b, multi, m, n, k, new ComputeContext(4));
            Assert.Equal(single, multi);
        }
    }

    [Fact]
    public void Gemv_Float16_SubnormalsZerosAndLargest_AreExact()
    {
        // Every finite half bit pattern, one per row, picked out by a one-hot input.
        var patterns = Enumerable.Range(0, 65536).Where(b => ((b >> 10) & 0x1F) != 0x1F).Select(b => (ushort)b).ToArray();
        const int Columns = 16;
        var rows = patterns.Length;
        var bytes = new byte[(rows * Columns * 2) + 1];
        for (var r = 0; r < rows; r++)
        {
            var column = r % Columns;
            BitConverter.TryWriteBytes(bytes.AsSpan(1 + (((r * Columns) + column) * 2)), patterns[r]);
        }

        var w = LinearWeight.FromBytes(bytes.AsMemory(1), SafeTensors.TensorDType.F16, rows, Columns);
        var y = new float[rows];
        for (var column = 0; column < Columns; column++)
        {
            var x = new float[Columns];
            x[column] = 1;
            LinearKernel.Forward(x, 1, w, default, y, ComputeContext.Default);
            for (var r = column; r < rows; r += Columns)
            {
                var expected = (float)BitConverter.UInt16BitsToHalf(patterns[r]);
                Assert.Equal(expected, y[r]); // −0 sums to +0 in a dot product; every other value is exact
                Assert.Equal(float.IsNegative(expected) && expected != 0, float.IsNegative(y[r]) && y[r] != 0);
            }
        }
    }

    [Theory]
    [InlineData(0x7C00, float.PositiveInfinity)]
    [InlineData(0xFC00, float.NegativeInfinity)]
    [InlineData(0x7E00, float.NaN)]
    public void Gemv_Float16_InfinityAndNaN_Propagate(int bits, float expected)
    {
        const int Columns = 32;
        var bytes = new byte[Columns * 2];
        BitConverter.TryWriteBytes(bytes.AsSpan(6), (ushort)bits); // column 3 (odd lane) of the only row
        var w = LinearWeight.FromBytes(bytes, SafeTensors.TensorDType.F16, 1, Columns);
        var x = Enumerable.Repeat(1f, Columns).ToArray();
        var y = new float[1];
        LinearKernel.Forward(x, 1, w, default, y, ComputeContext.SingleThreaded);
        Assert.Equal(expected, y[0]);
    }

    [Fact]
    public void Forward_ValidatesLengths()
    {
        var w = LinearWeight.FromSingle(new float[6], 2, 3);
        Assert.Throws<ArgumentException>(() => LinearKernel.Forward(new float[2], 1, w, default, new float[2], ComputeContext.Default));
        Assert.Throws<ArgumentException>(() => LinearKernel.Forward(new float[3], 1, w, default, new float[1], ComputeContext.Default));
        Assert.Throws<ArgumentException>(() => LinearKernel.Forward(new float[3], 1, w, new float[3], new float[2], ComputeContext.Default));
    }
}
