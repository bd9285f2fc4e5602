// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>
/// Packed, cache-blocked float32 GEMM <c>C[m, n] (+)= A[m, k] · B</c>, where B is supplied column panel by column
/// panel by a <see cref="PanelSource"/> (a linear weight in any format, a row-major or a transposed float matrix).
/// </summary>
/// <remarks>
/// <para>A is packed once per call into micro-panels of <see cref="TileRows"/> rows (k-major, zero padded). Work items
/// are (column block of <see cref="BlockN"/>, row range) pairs; each packs its B block, <see cref="BlockK"/> ×
/// <see cref="BlockN"/> values (256 KB, sized for L2), into a per-thread buffer, converting or dequantizing the
/// weights on the way, then runs the 6 × 16 FMA micro-kernel (12 Vector256 accumulators) over every
/// A micro-panel × B micro-panel pair. Each output accumulates its k blocks in order, independent of the split.</para>
/// <para>Without AVX2/FMA the same packing drives a scalar micro-kernel.</para>
/// </remarks>
internal static unsafe class GemmCore
{
    /// <summary>Rows of the micro-tile (rows of A).</summary>
    internal const int TileRows = 6;

    /// <summary>Columns of the micro-tile (columns of C: weight rows).</summary>
    internal const int TileColumns = 16;

    /// <summary>The k extent of one packed block.</summary>
    internal const int BlockK = 256;

    /// <summary>The column extent of one packed B block.</summary>
    internal const int BlockN = 256;

    private static readonly bool UseAvx2 = Avx2.IsSupported && Fma.IsSupported;

    [ThreadStatic]
    private static float[]? t_packB;

    [ThreadStatic]
    private static float[]? t_decode;

    /// <summary>Computes <c>y = x · wᵀ + bias</c> for <paramref name="m"/> rows.</summary>
    /// <param name="x">The input, <c>m × w.Columns</c>.</param>
    /// <param name="m">The rows.</param>
    /// <param name="w">The weights.</param>
    /// <param name="bias">The bias or empty.</param>
    /// <param name="y">The output, <c>m × w.Rows</c>.</param>
    /// <param name="context">The threading settings.</param>
    public static void RunLinear(ReadOnlySpan<float> x, int m, LinearWeight w, ReadOnlySpan<float> bias, Span<float> y, ComputeContext context)
    {
        fixed (byte* data = &w.DataReference)
        {
            var source = new WeightPanelSource(w, data);
            Run(x, m, source, bias, y, context);
        }
    }

    /// <summary>Computes <c>c = a · bᵀ</c> with <c>b</c> row-major <c>n × k</c>.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <param name="c">The result.</param>
    /// <param name="m">The rows of a.</param>
    /// <param name="n">The rows of b.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="context">The threading settings.</param>
    public static void RunTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ComputeContext context)
    {
        fixed (float* pb = b)
        {
            Run(a, m, new RowsPanelSource(pb, n, k), default, c, context);
        }
    }

    /// <summary>Computes <c>c = a · b</c> with <c>b</c> row-major <c>k × n</c>.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <param name="c">The result.</param>
    /// <param name="m">The rows of a.</param>
    /// <param name="n">The columns of b.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="context">The threading settings.</param>
    public static void RunRowMajor(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ComputeContext context)
    {
        fixed (float* pb = b)
        {
            Run(a, m, new ColumnsPanelSource(pb, n, k), default, c, context);
        }
    }

    private static void Run(ReadOnlySpan<float> a, int m, PanelSource source, ReadOnlySpan<float> bias, Span<float> c, ComputeContext context)
    {
        int n = source.N, k = source.K;
        var panels = (m + TileRows - 1) / TileRows;
        var kBlocks = (k + BlockK - 1) / BlockK;
        var packedLength = (long)panels * TileRows * k;
        var packedA = ArrayPool<float>.Shared.Rent(checked((int)packedLength + 16));
        try
        {
            fixed (float* pa = a)
            fixed (float* pc = c)
            fixed (float* pbias = bias)
            fixed (float* ppacked = packedA)
            {
                var aligned = (float*)(((nint)ppacked + 63) & ~(nint)63);
                var job = new Job
                {
                    A = pa,
                    PackedA = aligned,
                    C = pc,
                    Bias = bias.IsEmpty ? null : pbias,
                    Source = source,
                    M = m,
                    Panels = panels,
                };

                // Pack A: k block by k block, micro-panel by micro-panel (k-major, zero-padded rows).
                var threads = Math.Max(1, context.MaxDegreeOfParallelism);
                var flops = 2.0 * m * n * k;
                var parallel = flops >= 4e6 ? context : ComputeContext.SingleThreaded;
                parallel.For(panels, job.PackAPanel);

                // Work items: column blocks × row ranges (row ranges only when there are too few column blocks).
                var columnBlocks = (n + BlockN - 1) / BlockN;
                var rowSplits = 1;
                if (parallel.MaxDegreeOfParallelism > 1 && columnBlocks < 2 * threads)
                {
                    rowSplits = Math.Clamp((2 * threads) / columnBlocks, 1, panels);
                }

                job.ColumnBlocks = columnBlocks;
                job.RowSplits = rowSplits;
                job.KBlocks = kBlocks;
                parallel.For(columnBlocks * rowSplits, job.RunItem);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedA);
        }
    }

    private static float* GetPackBuffer()
    {
        // Pinned (POH) per-thread buffer of one B block, 64-byte aligned.
        t_packB ??= GC.AllocateUninitializedArray<float>((BlockK * BlockN) + 16, pinned: true);
        var p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(t_packB));
        return (float*)(((nint)p + 63) & ~(nint)63);
    }

    private static float* GetDecodeBuffer()
    {
        t_decode ??= GC.AllocateUninitializedArray<float>(TileColumns * BlockK, pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(t_decode));
    }

    /// <summary>6 × 16 micro-kernel: <c>C[6, 16] += Σₚ a[p, 0..6] ⊗ b[p, 0..16]</c> with packed a and b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, nint ldc)
    {
        var c00 = Vector256<float>.Zero;
        var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero;
        var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero;
        var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero;
        var c31 = Vector256<float>.Zero;
        var c40 = Vector256<float>.Zero;
        var c41 = Vector256<float>.Zero;
        var c50 = Vector256<float>.Zero;
        var c51 = Vector256<float>.Zero;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += TileRows;
            b += TileColumns;
        }

        Accumulate(c, c00, c01);
        Accumulate(c + ldc, c10, c11);
        Accumulate(c + (2 * ldc), c20, c21);
        Accumulate(c + (3 * ldc), c30, c31);
        Accumulate(c + (4 * ldc), c40, c41);
        Accumulate(c + (5 * ldc), c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(float* c, Vector256<float> lo, Vector256<float> hi)
    {
        Avx.Store(c, Avx.LoadVector256(c) + lo);
        Avx.Store(c + 8, Avx.LoadVector256(c + 8) + hi);
    }

    /// <summary>Portable micro-kernel with the same packed layout and summation order per output.</summary>
    private static void KernelScalar(int kc, float* a, float* b, float* c, nint ldc)
    {
        var acc = stackalloc float[TileRows * TileColumns];
        new Span<float>(acc, TileRows * TileColumns).Clear();
        for (var p = 0; p < kc; p++)
        {
            for (var i = 0; i < TileRows; i++)
            {
                var ai = a[i];
                for (var j = 0; j < TileColumns; j++)
                {
                    acc[(i * TileColumns) + j] = MathF.FusedMultiplyAdd(ai, b[j], acc[(i * TileColumns) + j]);
                }
            }

            a += TileRows;
            b += TileColumns;
        }

        for (var i = 0; i < TileRows; i++)
        {
            for (var j = 0; j < TileColumns; j++)
            {
                c[(i * ldc) + j] += acc[(i * TileColumns) + j];
            }
        }
    }

    /// <summary>Supplies column panels of B, packed k-major: <c>dest[p · 16 + j] = B[k0 + p, j0 + j]</c>.</summary>
    internal abstract class PanelSource
    {
        /// <summary>Gets the number of columns of C (weight rows).</summary>
        public abstract int N { get; }

        /// <summary>Gets the inner dimension.</summary>
        public abstract int K { get; }

        /// <summary>Packs columns <c>[j0, j0 + count)</c> (count ≤ 16, rest zero) for k range <c>[k0, k0 + kc)</c>.</summary>
        /// <param name="destination">The 16 × kc destination.</param>
        /// <param name="j0">The first column.</param>
        /// <param name="count">The number of columns.</param>
        /// <param name="k0">The first k.</param>
        /// <param name="kc">The k extent.</param>
        /// <param name="scratch">A per-thread buffer of 16 × <see cref="BlockK"/> floats.</param>
        public abstract void Pack(float* destination, int j0, int count, int k0, int kc, float* scratch);

        /// <summary>Transposes <paramref name="count"/> rows of <paramref name="kc"/> values (stride <paramref name="stride"/>) into a k-major panel of 16.</summary>
        /// <param name="rows">The first row's first value.</param>
        /// <param name="stride">The distance between rows, in floats.</param>
        /// <param name="count">The rows (≤ 16); the panel's other columns are zeroed.</param>
        /// <param name="kc">The values per row.</param>
        /// <param name="destination">The panel.</param>
        protected static void TransposeRows(float* rows, nint stride, int count, int kc, float* destination)
        {
            var p = 0;
            if (UseAvx2 && count == TileColumns)
            {
                for (; p <= kc - 8; p += 8)
                {
                    Transpose8x8(rows + p, stride, destination + (p * TileColumns), TileColumns);
                    Transpose8x8(rows + (8 * stride) + p, stride, destination + (p * TileColumns) + 8, TileColumns);
                }
            }

            for (; p < kc; p++)
            {
                var d = destination + (p * TileColumns);
                var j = 0;
                for (; j < count; j++)
                {
                    d[j] = rows[(j * stride) + p];
                }

                for (; j < TileColumns; j++)
                {
                    d[j] = 0;
                }
            }
        }

        private static void Transpose8x8(float* source, nint stride, float* destination, nint destinationStride)
        {
            var r0 = Avx.LoadVector256(source);
            var r1 = Avx.LoadVector256(source + stride);
            var r2 = Avx.LoadVector256(source + (2 * stride));
            var r3 = Avx.LoadVector256(source + (3 * stride));
            var r4 = Avx.LoadVector256(source + (4 * stride));
            var r5 = Avx.LoadVector256(source + (5 * stride));
            var r6 = Avx.LoadVector256(source + (6 * stride));
            var r7 = Avx.LoadVector256(source + (7 * stride));
            var t0 = Avx.UnpackLow(r0, r1);
            var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3);
            var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5);
            var t5 = Avx.UnpackHigh(r4, r5);
            var t6 = Avx.UnpackLow(r6, r7);
            var t7 = Avx.UnpackHigh(r6, r7);
            var s0 = Avx.Shuffle(t0, t2, 0x44);
            var s1 = Avx.Shuffle(t0, t2, 0xEE);
            var s2 = Avx.Shuffle(t1, t3, 0x44);
            var s3 = Avx.Shuffle(t1, t3, 0xEE);
            var s4 = Avx.Shuffle(t4, t6, 0x44);
            var s5 = Avx.Shuffle(t4, t6, 0xEE);
            var s6 = Avx.Shuffle(t5, t7, 0x44);
            var s7 = Avx.Shuffle(t5, t7, 0xEE);
            Avx.Store(destination, Avx.Permute2x128(s0, s4, 0x20));
            Avx.Store(destination + destinationStride, Avx.Permute2x128(s1, s5, 0x20));
            Avx.Store(destination + (2 * destinationStride), Avx.Permute2x128(s2, s6, 0x20));
            Avx.Store(destination + (3 * destinationStride), Avx.Permute2x128(s3, s7, 0x20));
            Avx.Store(destination + (4 * destinationStride), Avx.Permute2x128(s0, s4, 0x31));
            Avx.Store(destination + (5 * destinationStride), Avx.Permute2x128(s1, s5, 0x31));
            Avx.Store(destination + (6 * destinationStride), Avx.Permute2x128(s2, s6, 0x31));
            Avx.Store(destination + (7 * destinationStride), Avx.Permute2x128(s3, s7, 0x31));
        }
    }

    /// <summary>B = wᵀ for a linear weight: decodes up to 16 weight rows, then transposes them.</summary>
    private sealed class WeightPanelSource(LinearWeight weight, byte* data) : PanelSource
    {
        public override int N => weight.Rows;

        public override int K => weight.Columns;

        public override void Pack(float* destination, int j0, int count, int k0, int kc, float* scratch)
        {
            if (weight.Format == WeightFormat.Float32)
            {
                TransposeRows((float*)(data + ((nint)j0 * weight.RowBytes)) + k0, weight.Columns, count, kc, destination);
                return;
            }

            for (var j = 0; j < count; j++)
            {
                weight.DecodeRow(j0 + j, k0, kc, new Span<float>(scratch + (j * kc), kc));
            }

            TransposeRows(scratch, kc, count, kc, destination);
        }
    }

    /// <summary>B = bᵀ for a row-major float matrix <c>b[n, k]</c>.</summary>
    private sealed class RowsPanelSource(float* b, int n, int k) : PanelSource
    {
        public override int N => n;

        public override int K => k;

        public override void Pack(float* destination, int j0, int count, int k0, int kc, float* scratch) =>
            TransposeRows(b + ((nint)j0 * k) + k0, k, count, kc, destination);
    }

    /// <summary>B = b for a row-major float matrix <c>b[k, n]</c>: each k contributes up to 16 contiguous values.</summary>
    private sealed class ColumnsPanelSource(float* b, int n, int k) : PanelSource
    {
        public override int N => n;

        public override int K => k;

        public override void Pack(float* destination, int j0, int count, int k0, int kc, float* scratch)
        {
            for (var p = 0; p < kc; p++)
            {
                var source = b + ((nint)(k0 + p) * n) + j0;
                var d = destination + (p * TileColumns);
                if (count == TileColumns && UseAvx2)
                {
                    Avx.Store(d, Avx.LoadVector256(source));
                    Avx.Store(d + 8, Avx.LoadVector256(source + 8));
                    continue;
                }

                var j = 0;
                for (; j < count; j++)
                {
                    d[j] = source[j];
                }

                for (; j < TileColumns; j++)
                {
                    d[j] = 0;
                }
            }
        }
    }

    private sealed class Job
    {
        public required float* A { get; init; }

        public required float* PackedA { get; init; }

        public required float* C { get; init; }

        public required float* Bias { get; init; }

        public required PanelSource Source { get; init; }

        public required int M { get; init; }

        public required int Panels { get; init; }

        public int ColumnBlocks { get; set; }

        public int RowSplits { get; set; }

        public int KBlocks { get; set; }

        /// <summary>Packs one micro-panel of A for every k block: block-major, then panel, then k, then row.</summary>
        public void PackAPanel(int panel)
        {
            var k = Source.K;
            var i0 = panel * TileRows;
            var rows = Math.Min(TileRows, M - i0);
            for (var kb = 0; kb < KBlocksOf(k); kb++)
            {
                var k0 = kb * BlockK;
                var kc = Math.Min(BlockK, k - k0);
                var d = PackedA + ((nint)k0 * Panels * TileRows) + ((nint)panel * kc * TileRows);
                for (var p = 0; p < kc; p++)
                {
                    var i = 0;
                    for (; i < rows; i++)
                    {
                        d[(p * TileRows) + i] = A[((nint)(i0 + i) * k) + k0 + p];
                    }

                    for (; i < TileRows; i++)
                    {
                        d[(p * TileRows) + i] = 0;
                    }
                }
            }
        }

        public void RunItem(int item)
        {
            var columnBlock = item % ColumnBlocks;
            var split = item / ColumnBlocks;
            var panelStart = (int)((long)Panels * split / RowSplits);
            var panelEnd = (int)((long)Panels * (split + 1) / RowSplits);
            if (panelStart >= panelEnd)
            {
                return;
            }

            int n = Source.N, k = Source.K;
            var j0 = columnBlock * BlockN;
            var nc = Math.Min(BlockN, n - j0);
            var rowStart = panelStart * TileRows;
            var rowEnd = Math.Min(panelEnd * TileRows, M);

            // Initialise C with the bias (or zero); the k blocks then accumulate onto it.
            for (var i = rowStart; i < rowEnd; i++)
            {
                var row = new Span<float>(C + ((nint)i * n) + j0, nc);
                if (Bias is null)
                {
                    row.Clear();
                }
                else
                {
                    new ReadOnlySpan<float>(Bias + j0, nc).CopyTo(row);
                }
            }

            var packB = GetPackBuffer();
            var scratch = GetDecodeBuffer();
            var edge = stackalloc float[TileRows * TileColumns];
            var bPanels = (nc + TileColumns - 1) / TileColumns;
            for (var kb = 0; kb < KBlocks; kb++)
            {
                var k0 = kb * BlockK;
                var kc = Math.Min(BlockK, k - k0);
                for (var jp = 0; jp < bPanels; jp++)
                {
                    var jj = jp * TileColumns;
                    Source.Pack(packB + (jp * TileColumns * kc), j0 + jj, Math.Min(TileColumns, nc - jj), k0, kc, scratch);
                }

                var aBlock = PackedA + ((nint)k0 * Panels * TileRows);
                for (var ip = panelStart; ip < panelEnd; ip++)
                {
                    var i0 = ip * TileRows;
                    var rows = Math.Min(TileRows, M - i0);
                    var a = aBlock + ((nint)ip * kc * TileRows);
                    for (var jp = 0; jp < bPanels; jp++)
                    {
                        var jj = jp * TileColumns;
                        var cols = Math.Min(TileColumns, nc - jj);
                        var b = packB + (jp * TileColumns * kc);
                        var c = C + ((nint)i0 * n) + j0 + jj;
                        if (rows == TileRows && cols == TileColumns)
                        {
                            Multiply(kc, a, b, c, n);
                            continue;
                        }

                        new Span<float>(edge, TileRows * TileColumns).Clear();
                        Multiply(kc, a, b, edge, TileColumns);
                        for (var i = 0; i < rows; i++)
                        {
                            for (var j = 0; j < cols; j++)
                            {
                                c[((nint)i * n) + j] += edge[(i * TileColumns) + j];
                            }
                        }
                    }
                }
            }
        }

        private static int KBlocksOf(int k) => (k + BlockK - 1) / BlockK;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Multiply(int kc, float* a, float* b, float* c, nint ldc)
        {
            if (UseAvx2)
            {
                Kernel6x16(kc, a, b, c, ldc);
            }
            else
            {
                KernelScalar(kc, a, b, c, ldc);
            }
        }
    }
}
