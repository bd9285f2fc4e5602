// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.Kernels;

/// <summary>y = x·Wᵀ + b for every <see cref="WeightFormat"/>: GEMV for one row, blocked GEMM for many, multi-threaded.</summary>
/// <remarks>
/// <para>One row (decode) is memory-bandwidth bound: <see cref="GemvKernels"/> splits the output rows into fixed
/// blocks run in parallel, and each row's dot product reads its weight bytes exactly once, converting or
/// dequantizing them in registers (bfloat16/float16 bits to float32, int8 widened and scaled per row, int4 nibbles
/// unpacked and scaled per group) — no dequantized copy of the matrix is made.</para>
/// <para>Several rows (prefill) use <see cref="GemmCore"/>: a packed, cache-blocked GEMM whose register-tiled FMA
/// micro-kernel computes 6 × 16 outputs; weight panels are decoded into a per-thread L2-sized buffer
/// (<see cref="GemmCore.BlockK"/> × <see cref="GemmCore.BlockN"/> values), never the whole matrix.</para>
/// <para>Block boundaries do not depend on the thread count and every output is accumulated in the same order, so
/// results are bit-identical whatever <see cref="ComputeContext.MaxDegreeOfParallelism"/> is.</para>
/// </remarks>
internal static class LinearKernel
{
    /// <summary>Computes <c>y[n, w.Rows] = x[n, w.Columns] · wᵀ (+ bias)</c>.</summary>
    /// <param name="x">The input rows, row-major, <c>n × w.Columns</c>.</param>
    /// <param name="n">The number of rows (tokens).</param>
    /// <param name="w">The weights.</param>
    /// <param name="bias">The bias (<c>w.Rows</c> values) or empty.</param>
    /// <param name="y">The output, row-major, <c>n × w.Rows</c>; overwritten.</param>
    /// <param name="context">The threading settings.</param>
    public static void Forward(ReadOnlySpan<float> x, int n, LinearWeight w, ReadOnlySpan<float> bias, Span<float> y, ComputeContext context)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (x.Length < (long)n * w.Columns)
        {
            throw new ArgumentException($"x has {x.Length} values; {n} rows of {w.Columns} need {(long)n * w.Columns}.", nameof(x));
        }

        if (y.Length < (long)n * w.Rows)
        {
            throw new ArgumentException($"y has {y.Length} values; {n} rows of {w.Rows} need {(long)n * w.Rows}.", nameof(y));
        }

        if (!bias.IsEmpty && bias.Length != w.Rows)
        {
            throw new ArgumentException($"The bias has {bias.Length} values; the weight has {w.Rows} output features.", nameof(bias));
        }

        if (n == 0)
        {
            return;
        }

        if (n == 1)
        {
            GemvKernels.Run(x[..w.Columns], w, bias, y[..w.Rows], context);
            return;
        }

        GemmCore.RunLinear(x, n, w, bias, y, context);
    }
}

/// <summary>Float matrix products used by attention and the projectors (row-major, float32).</summary>
/// <remarks>Both share the <see cref="GemmCore"/> micro-kernel; a single row of <c>a</c> takes a GEMV path. Results do
/// not depend on the thread count.</remarks>
internal static class Gemm
{
    /// <summary><c>c[m, n] = a[m, k] · b[n, k]ᵀ</c> (both operands row-major; b is read row by row).</summary>
    /// <param name="a">The left operand, <c>m × k</c>.</param>
    /// <param name="b">The right operand, <c>n × k</c>.</param>
    /// <param name="c">The result, <c>m × n</c>; overwritten.</param>
    /// <param name="m">The rows of <paramref name="a"/>.</param>
    /// <param name="n">The rows of <paramref name="b"/>.</param>
    /// <param name="k">The shared inner dimension.</param>
    /// <param name="context">The threading settings.</param>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ComputeContext context)
    {
        Validate(a, b, c, m, n, k, context);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            c[..(m * n)].Clear();
            return;
        }

        if (m == 1)
        {
            GemvKernels.RunTransposed(a[..k], b[..(n * k)], c[..n], n, k, context);
            return;
        }

        GemmCore.RunTransposed(a, b, c, m, n, k, context);
    }

    /// <summary><c>c[m, n] = a[m, k] · b[k, n]</c>.</summary>
    /// <param name="a">The left operand, <c>m × k</c>.</param>
    /// <param name="b">The right operand, <c>k × n</c>.</param>
    /// <param name="c">The result, <c>m × n</c>; overwritten.</param>
    /// <param name="m">The rows of <paramref name="a"/>.</param>
    /// <param name="n">The columns of <paramref name="b"/>.</param>
    /// <param name="k">The shared inner dimension.</param>
    /// <param name="context">The threading settings.</param>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ComputeContext context)
    {
        Validate(a, b, c, m, n, k, context);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            c[..(m * n)].Clear();
            return;
        }

        if (m == 1)
        {
            GemvKernels.RunRowMajor(a[..k], b[..(k * n)], c[..n], n, k, context);
            return;
        }

        GemmCore.RunRowMajor(a, b, c, m, n, k, context);
    }

    private static void Validate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ComputeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length < (long)m * k)
        {
            throw new ArgumentException($"a has {a.Length} values; {m} × {k} needs {(long)m * k}.", nameof(a));
        }

        if (b.Length < (long)n * k)
        {
            throw new ArgumentException($"b has {b.Length} values; {n} × {k} needs {(long)n * k}.", nameof(b));
        }

        if (c.Length < (long)m * n)
        {
            throw new ArgumentException($"c has {c.Length} values; {m} × {n} needs {(long)m * n}.", nameof(c));
        }
    }
}

/// <summary>Threading settings for the kernels.</summary>
/// <param name="MaxDegreeOfParallelism">The most threads one kernel call uses (1 = single-threaded).</param>
internal sealed record ComputeContext(int MaxDegreeOfParallelism)
{
    /// <summary>Gets a context that uses every core.</summary>
    public static ComputeContext Default { get; } = new(Environment.ProcessorCount);

    /// <summary>Gets a single-threaded context.</summary>
    public static ComputeContext SingleThreaded { get; } = new(1);

    /// <summary>Runs <paramref name="body"/> for every index in <c>[0, count)</c>, on up to
    /// <see cref="MaxDegreeOfParallelism"/> threads (inline when 1 or when there is one item): on the
    /// <see cref="KernelThreadPool"/>, or with <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> when that
    /// pool is busy with another caller's kernel.</summary>
    /// <param name="count">The number of work items.</param>
    /// <param name="body">The work for one item.</param>
    internal void For(int count, Action<int> body)
    {
        var threads = Math.Min(MaxDegreeOfParallelism, count);
        if (threads <= 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        if (!KernelThreadPool.Shared.TryRun(count, threads, body))
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
    }
}
