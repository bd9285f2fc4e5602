// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>
/// Matrix-vector products for one input row (decode): each output is the dot product of the input with one weight
/// row, computed straight from the stored format. Rows are split into fixed blocks of <see cref="RowsPerBlock"/> and
/// the blocks run in parallel; every row's weights are read once.
/// </summary>
/// <remarks>
/// <para>bfloat16 and float16 rows are read as 32-bit lanes holding two values: the even column is the low half, the
/// odd column the high half, so the input is split once per call into its even and odd columns and each lane is turned
/// into two float32 values with a shift or mask (bfloat16) or an exponent rebias (float16) in registers.</para>
/// <para>int8 rows are widened to int32, converted and accumulated, and the row's scale is applied once at the end.
/// int4 rows accumulate <c>Σ u·x</c> over each group from the unsigned nibbles <c>u</c> and apply
/// <c>scale · (Σ u·x − zero · Σ x)</c> per group, with the per-group input sums computed once per call.</para>
/// <para>Without AVX2/FMA every row is decoded into a small buffer and dotted with <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>.</para>
/// </remarks>
internal static unsafe class GemvKernels
{
    /// <summary>The number of output rows one work item computes.</summary>
    internal const int RowsPerBlock = 16;

    /// <summary>Below this many weight bytes a call runs on the calling thread.</summary>
    private const long ParallelThresholdBytes = 256 * 1024;

    private static readonly bool UseAvx2 = Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether the AVX-512 int4 path is used (512-bit vectors accelerated, not disabled by
    /// <c>MULTIMODAL_KERNELS_NO_AVX512=1</c>).</summary>
    private static readonly bool UseAvx512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated
        && Environment.GetEnvironmentVariable("MULTIMODAL_KERNELS_NO_AVX512") != "1";

    /// <summary>Computes <c>y[r] = w[r, :] · x (+ bias[r])</c> for every row of <paramref name="w"/>.</summary>
    /// <param name="x">The input, <c>w.Columns</c> values.</param>
    /// <param name="w">The weights.</param>
    /// <param name="bias">The bias or empty.</param>
    /// <param name="y">The output, <c>w.Rows</c> values.</param>
    /// <param name="context">The threading settings.</param>
    public static void Run(ReadOnlySpan<float> x, LinearWeight w, ReadOnlySpan<float> bias, Span<float> y, ComputeContext context)
    {
        var columns = w.Columns;
        var half = columns / 2;
        var format = w.Format;
        var needsSplit = UseAvx2 && format is WeightFormat.BFloat16 or WeightFormat.Float16;
        var groups = format is WeightFormat.Int4Symmetric or WeightFormat.Int4Asymmetric ? w.GroupsPerRow : 0;
        var scratchLength = (needsSplit ? 2 * half : 0) + groups;
        var rented = scratchLength > 0 ? ArrayPool<float>.Shared.Rent(scratchLength) : null;
        try
        {
            var scratch = rented.AsSpan(0, scratchLength);
            if (needsSplit)
            {
                for (var i = 0; i < half; i++)
                {
                    scratch[i] = x[2 * i];
                    scratch[half + i] = x[(2 * i) + 1];
                }
            }

            var groupSums = scratch[(scratchLength - groups)..];
            for (var g = 0; g < groups; g++)
            {
                groupSums[g] = Sum(x.Slice(g * w.GroupSize, w.GroupSize));
            }

            fixed (float* px = x)
            fixed (float* py = y)
            fixed (float* pb = bias)
            fixed (float* ps = scratch)
            fixed (byte* pw = &w.DataReference)
            fixed (float* pscale = w.Scales)
            fixed (byte* pzero = w.ZeroPoints)
            {
                var job = new Job
                {
                    Weight = w,
                    Data = pw,
                    X = px,
                    Even = ps,
                    Odd = ps + half,
                    GroupSums = ps + (scratchLength - groups),
                    Scales = pscale,
                    Zeros = pzero,
                    Y = py,
                    Bias = bias.IsEmpty ? null : pb,
                };
                var blocks = (w.Rows + RowsPerBlock - 1) / RowsPerBlock;
                var parallel = w.ByteSize >= ParallelThresholdBytes ? context : ComputeContext.SingleThreaded;
                parallel.For(blocks, job.RunBlock);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Computes <c>c[j] = a · b[j, :]</c> for a row-major <c>b[n, k]</c>.</summary>
    /// <param name="a">The input, <paramref name="k"/> values.</param>
    /// <param name="b">The matrix, <c>n × k</c>.</param>
    /// <param name="c">The output, <paramref name="n"/> values.</param>
    /// <param name="n">The rows of <paramref name="b"/>.</param>
    /// <param name="k">The columns of <paramref name="b"/>.</param>
    /// <param name="context">The threading settings.</param>
    public static void RunTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int n, int k, ComputeContext context)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var state = new TransposedJob { A = pa, B = pb, C = pc, N = n, K = k };
            var blocks = (n + RowsPerBlock - 1) / RowsPerBlock;
            var parallel = (long)n * k * sizeof(float) >= ParallelThresholdBytes ? context : ComputeContext.SingleThreaded;
            parallel.For(blocks, state.RunBlock);
        }
    }

    /// <summary>Computes <c>c[j] = Σₖ a[k] · b[k, j]</c> for a row-major <c>b[k, n]</c>.</summary>
    /// <param name="a">The input, <paramref name="k"/> values.</param>
    /// <param name="b">The matrix, <c>k × n</c>.</param>
    /// <param name="c">The output, <paramref name="n"/> values.</param>
    /// <param name="n">The columns of <paramref name="b"/>.</param>
    /// <param name="k">The rows of <paramref name="b"/>.</param>
    /// <param name="context">The threading settings.</param>
    public static void RunRowMajor(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int n, int k, ComputeContext context)
    {
        const int ColumnsPerBlock = 256;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var state = new RowMajorJob { A = pa, B = pb, C = pc, N = n, K = k, Width = ColumnsPerBlock };
            var blocks = (n + ColumnsPerBlock - 1) / ColumnsPerBlock;
            var parallel = (long)n * k * sizeof(float) >= ParallelThresholdBytes ? context : ComputeContext.SingleThreaded;
            parallel.For(blocks, state.RunBlock);
        }
    }

    /// <summary>Dot product of two float32 vectors with four independent accumulators.</summary>
    /// <param name="w">The first vector.</param>
    /// <param name="x">The second vector.</param>
    /// <param name="n">The length.</param>
    /// <returns>The dot product.</returns>
    internal static float DotF32(float* w, float* x, int n)
    {
        if (!UseAvx2)
        {
            return TensorPrimitives.Dot(new ReadOnlySpan<float>(w, n), new ReadOnlySpan<float>(x, n));
        }

        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            acc0 = Fma.MultiplyAdd(Avx.LoadVector256(w + i), Avx.LoadVector256(x + i), acc0);
            acc1 = Fma.MultiplyAdd(Avx.LoadVector256(w + i + 8), Avx.LoadVector256(x + i + 8), acc1);
            acc2 = Fma.MultiplyAdd(Avx.LoadVector256(w + i + 16), Avx.LoadVector256(x + i + 16), acc2);
            acc3 = Fma.MultiplyAdd(Avx.LoadVector256(w + i + 24), Avx.LoadVector256(x + i + 24), acc3);
        }

        for (; i <= n - 8; i += 8)
        {
            acc0 = Fma.MultiplyAdd(Avx.LoadVector256(w + i), Avx.LoadVector256(x + i), acc0);
        }

        var sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(w[i], x[i], sum);
        }

        return sum;
    }

    private static float DotBFloat16(ushort* w, float* even, float* odd, float* x, int n)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var high = Vector256.Create(0xFFFF0000u);
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            var v0 = Avx.LoadVector256((uint*)(w + i));
            var v1 = Avx.LoadVector256((uint*)(w + i + 16));
            var h = i >> 1;
            acc0 = Fma.MultiplyAdd((v0 << 16).AsSingle(), Avx.LoadVector256(even + h), acc0);
            acc1 = Fma.MultiplyAdd((v0 & high).AsSingle(), Avx.LoadVector256(odd + h), acc1);
            acc2 = Fma.MultiplyAdd((v1 << 16).AsSingle(), Avx.LoadVector256(even + h + 8), acc2);
            acc3 = Fma.MultiplyAdd((v1 & high).AsSingle(), Avx.LoadVector256(odd + h + 8), acc3);
        }

        for (; i <= n - 16; i += 16)
        {
            var v0 = Avx.LoadVector256((uint*)(w + i));
            var h = i >> 1;
            acc0 = Fma.MultiplyAdd((v0 << 16).AsSingle(), Avx.LoadVector256(even + h), acc0);
            acc1 = Fma.MultiplyAdd((v0 & high).AsSingle(), Avx.LoadVector256(odd + h), acc1);
        }

        var sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(HalfConvert.BFloat16ToSingle(w[i]), x[i], sum);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBitsToSingle(Vector256<uint> bits, Vector256<uint> sign)
    {
        // bits: the half's exponent and mantissa moved to float32 bit 13 upwards; sign: the sign at bit 31.
        // Multiplying by 2^112 rebiases the exponent (exact for normals and subnormals); infinities and NaNs,
        // whose half exponent is all ones, get the float32 all-ones exponent.
        var value = (bits | sign).AsSingle() * Vector256.Create(5.192297E+33f);
        var special = Vector256.GreaterThanOrEqual(bits.AsInt32(), Vector256.Create(0x0F800000)).AsUInt32() & Vector256.Create(0x7F800000u);
        return (value.AsUInt32() | special).AsSingle();
    }

    private static float DotHalf(ushort* w, float* even, float* odd, float* x, int n)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var magnitude = Vector256.Create(0x0FFFE000u);
        var signBit = Vector256.Create(0x80000000u);
        var i = 0;
        for (; i <= n - 16; i += 16)
        {
            var v = Avx.LoadVector256((uint*)(w + i));
            var h = i >> 1;
            var lo = HalfBitsToSingle((v << 13) & magnitude, (v << 16) & signBit);
            var hi = HalfBitsToSingle((v >>> 3) & magnitude, v & signBit);
            acc0 = Fma.MultiplyAdd(lo, Avx.LoadVector256(even + h), acc0);
            acc1 = Fma.MultiplyAdd(hi, Avx.LoadVector256(odd + h), acc1);
        }

        var sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd((float)BitConverter.UInt16BitsToHalf(w[i]), x[i], sum);
        }

        return sum;
    }

    private static float DotInt8(sbyte* q, float* x, int n)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var i = 0;
        for (; i <= n - 32; i += 32)
        {
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + i)), Avx.LoadVector256(x + i), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + i + 8)), Avx.LoadVector256(x + i + 8), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + i + 16)), Avx.LoadVector256(x + i + 16), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + i + 24)), Avx.LoadVector256(x + i + 24), acc3);
        }

        for (; i <= n - 8; i += 8)
        {
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + i)), Avx.LoadVector256(x + i), acc0);
        }

        var sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(q[i], x[i], sum);
        }

        return sum;
    }

    private static float DotInt4(byte* q, float* x, float* scales, byte* zeros, float* groupSums, int groups, int groupSize)
    {
        // Two sets of four accumulators (two 32-column blocks in flight) and two group accumulators (even and odd
        // groups) keep eight FMA chains independent, so the loop is bound by unpacking throughput, not FMA latency.
        var even = Vector256<float>.Zero;
        var odd = Vector256<float>.Zero;
        var correction = 0f;
        var mask = Vector256.Create(15);
        for (var g = 0; g < groups; g++)
        {
            var s0 = Vector256<float>.Zero;
            var s1 = Vector256<float>.Zero;
            var s2 = Vector256<float>.Zero;
            var s3 = Vector256<float>.Zero;
            var t0 = Vector256<float>.Zero;
            var t1 = Vector256<float>.Zero;
            var t2 = Vector256<float>.Zero;
            var t3 = Vector256<float>.Zero;
            var b = 0;
            for (; b <= groupSize - 64; b += 64)
            {
                var l0 = Avx2.ConvertToVector256Int32(q);
                var l1 = Avx2.ConvertToVector256Int32(q + 8);
                var l2 = Avx2.ConvertToVector256Int32(q + 16);
                var l3 = Avx2.ConvertToVector256Int32(q + 24);
                s0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l0 & mask), Avx.LoadVector256(x), s0);
                s1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l1 & mask), Avx.LoadVector256(x + 8), s1);
                s2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l0 >>> 4), Avx.LoadVector256(x + 16), s2);
                s3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l1 >>> 4), Avx.LoadVector256(x + 24), s3);
                t0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l2 & mask), Avx.LoadVector256(x + 32), t0);
                t1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l3 & mask), Avx.LoadVector256(x + 40), t1);
                t2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l2 >>> 4), Avx.LoadVector256(x + 48), t2);
                t3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l3 >>> 4), Avx.LoadVector256(x + 56), t3);
                q += 32;
                x += 64;
            }

            if (b < groupSize)
            {
                var l0 = Avx2.ConvertToVector256Int32(q);
                var l1 = Avx2.ConvertToVector256Int32(q + 8);
                s0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l0 & mask), Avx.LoadVector256(x), s0);
                s1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l1 & mask), Avx.LoadVector256(x + 8), s1);
                s2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l0 >>> 4), Avx.LoadVector256(x + 16), s2);
                s3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(l1 >>> 4), Avx.LoadVector256(x + 24), s3);
                q += 16;
                x += 32;
            }

            var scale = scales[g];
            var sum = ((s0 + s1) + (s2 + s3)) + ((t0 + t1) + (t2 + t3));
            if ((g & 1) == 0)
            {
                even = Fma.MultiplyAdd(sum, Vector256.Create(scale), even);
            }
            else
            {
                odd = Fma.MultiplyAdd(sum, Vector256.Create(scale), odd);
            }

            correction = MathF.FusedMultiplyAdd(scale * (zeros is null ? 8 : zeros[g]), groupSums[g], correction);
        }

        return Vector256.Sum(even + odd) - correction;
    }

    /// <summary>AVX-512 int4 dot: each group's 16 dequantized levels <c>(u − zero) · scale</c> form a table that
    /// <c>vpermps</c> indexes with the nibbles directly (it reads only the low 4 bits of each lane).</summary>
    private static float DotInt4Avx512(byte* q, float* x, float* scales, byte* zeros, int groups, int groupSize)
    {
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        var levels = Vector512.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f);
        for (var g = 0; g < groups; g++)
        {
            var zero = zeros is null ? 8f : zeros[g];
            var table = (levels - Vector512.Create(zero)) * Vector512.Create(scales[g]);
            var b = 0;
            for (; b <= groupSize - 64; b += 64)
            {
                var l0 = Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(q));
                var l1 = Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(q + 16));
                a0 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0), Avx512F.LoadVector512(x), a0);
                a1 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0 >>> 4), Avx512F.LoadVector512(x + 16), a1);
                a2 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l1), Avx512F.LoadVector512(x + 32), a2);
                a3 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l1 >>> 4), Avx512F.LoadVector512(x + 48), a3);
                q += 32;
                x += 64;
            }

            if (b < groupSize)
            {
                var l0 = Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(q));
                if ((g & 1) == 0)
                {
                    a0 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0), Avx512F.LoadVector512(x), a0);
                    a1 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0 >>> 4), Avx512F.LoadVector512(x + 16), a1);
                }
                else
                {
                    a2 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0), Avx512F.LoadVector512(x), a2);
                    a3 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(table, l0 >>> 4), Avx512F.LoadVector512(x + 16), a3);
                }

                q += 16;
                x += 32;
            }
        }

        return Vector512.Sum((a0 + a1) + (a2 + a3));
    }

    private static float Sum(ReadOnlySpan<float> values) => TensorPrimitives.Sum(values);

    private sealed class Job
    {
        public required LinearWeight Weight { get; init; }

        public required byte* Data { get; init; }

        public required float* X { get; init; }

        public required float* Even { get; init; }

        public required float* Odd { get; init; }

        public required float* GroupSums { get; init; }

        public required float* Scales { get; init; }

        public required byte* Zeros { get; init; }

        public required float* Y { get; init; }

        public required float* Bias { get; init; }

        public void RunBlock(int block)
        {
            var w = Weight;
            var start = block * RowsPerBlock;
            var end = Math.Min(start + RowsPerBlock, w.Rows);
            var columns = w.Columns;
            nint rowBytes = w.RowBytes;
            if (!UseAvx2)
            {
                RunPortable(start, end);
                return;
            }

            for (var r = start; r < end; r++)
            {
                var row = Data + (r * rowBytes);
                float dot;
                switch (w.Format)
                {
                    case WeightFormat.Float32:
                        dot = DotF32((float*)row, X, columns);
                        break;
                    case WeightFormat.BFloat16:
                        dot = DotBFloat16((ushort*)row, Even, Odd, X, columns);
                        break;
                    case WeightFormat.Float16:
                        dot = DotHalf((ushort*)row, Even, Odd, X, columns);
                        break;
                    case WeightFormat.Int8:
                        dot = DotInt8((sbyte*)row, X, columns) * Scales[r];
                        break;
                    default:
                        {
                            var groups = w.GroupsPerRow;
                            var zeros = Zeros is null ? null : Zeros + ((nint)r * groups);
                            dot = UseAvx512
                                ? DotInt4Avx512(row, X, Scales + ((nint)r * groups), zeros, groups, w.GroupSize)
                                : DotInt4(row, X, Scales + ((nint)r * groups), zeros, GroupSums, groups, w.GroupSize);
                            break;
                        }
                }

                Y[r] = Bias is null ? dot : dot + Bias[r];
            }
        }

        private void RunPortable(int start, int end)
        {
            var w = Weight;
            var buffer = ArrayPool<float>.Shared.Rent(w.Columns);
            try
            {
                var x = new ReadOnlySpan<float>(X, w.Columns);
                for (var r = start; r < end; r++)
                {
                    w.DecodeRow(r, 0, w.Columns, buffer);
                    var dot = TensorPrimitives.Dot(buffer.AsSpan(0, w.Columns), x);
                    Y[r] = Bias is null ? dot : dot + Bias[r];
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        }
    }

    private sealed class TransposedJob
    {
        public required float* A { get; init; }

        public required float* B { get; init; }

        public required float* C { get; init; }

        public required int N { get; init; }

        public required int K { get; init; }

        public void RunBlock(int block)
        {
            var end = Math.Min((block + 1) * RowsPerBlock, N);
            for (var j = block * RowsPerBlock; j < end; j++)
            {
                C[j] = DotF32(B + ((nint)j * K), A, K);
            }
        }
    }

    private sealed class RowMajorJob
    {
        public required float* A { get; init; }

        public required float* B { get; init; }

        public required float* C { get; init; }

        public required int N { get; init; }

        public required int K { get; init; }

        public required int Width { get; init; }

        public void RunBlock(int block)
        {
            var start = block * Width;
            var width = Math.Min(Width, N - start);
            var c = new Span<float>(C + start, width);
            c.Clear();
            for (var p = 0; p < K; p++)
            {
                // c += a[p] · b[p, start..]; the same order for every split, so results do not depend on threads.
                var row = new ReadOnlySpan<float>(B + ((nint)p * N) + start, width);
                TensorPrimitives.MultiplyAdd(row, A[p], c, c);
            }
        }
    }
}
