// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Numerics.Tensors;
using Multimodal.Backends.Managed.Kernels;

namespace Multimodal.Backends.Managed.Modules;

/// <summary>
/// Scaled dot-product attention over row-major <c>[positions, heads × headDim]</c> buffers, causal (decoder, with a
/// KV cache and grouped-query heads) or bidirectional (vision towers, projectors) with an optional key mask.
/// </summary>
/// <remarks>
/// Work is split into (head, block of 16 queries) items run in parallel; each item keeps one 16 × keys score block, so
/// memory grows linearly with the sequence (never a full positions × positions matrix). Scores are computed in
/// float32 as <c>q·k · scale</c> (+ ALiBi), softmax subtracts the row maximum, and the output is Σ p·v.
/// </remarks>
internal static class AttentionMath
{
    private const int QueryBlock = 16;

    /// <summary>From this many queries on (prefill, vision towers), scores and outputs are computed as GEMMs over
    /// contiguous per-head copies of K and V; fewer queries (decode) read the cache in place.</summary>
    private const int GemmThreshold = 8;

    private const int GemmQueryBlock = 64;

    /// <summary>Causal attention for <paramref name="queries"/> new positions starting at absolute position
    /// <paramref name="start"/>, against <paramref name="start"/> + <paramref name="queries"/> cached keys and values.</summary>
    /// <param name="q">Queries, <c>[queries, heads × headDim]</c>.</param>
    /// <param name="k">Cached keys, <c>[≥ start + queries, kvHeads × headDim]</c>.</param>
    /// <param name="v">Cached values, same layout as keys.</param>
    /// <param name="output">Receives <c>[queries, heads × headDim]</c>.</param>
    /// <param name="queries">The number of new positions.</param>
    /// <param name="start">The absolute position of the first query.</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="kvHeads">Key/value heads (a divisor of <paramref name="heads"/>).</param>
    /// <param name="headDim">The head width.</param>
    /// <param name="scale">The score scale, usually 1/√headDim.</param>
    /// <param name="alibiSlopes">Per-head ALiBi slopes (bias slope·(key − query)), or <see langword="null"/>.</param>
    /// <param name="context">The threading settings.</param>
    public static void Causal(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int queries, int start, int heads, int kvHeads, int headDim, float scale, float[]? alibiSlopes, ComputeContext context)
    {
        unsafe
        {
            fixed (float* qp = q, kp = k, vp = v, op = output)
            {
                var job = new Job((nint)qp, (nint)kp, (nint)vp, (nint)op, queries, start, heads, kvHeads, headDim, scale, alibiSlopes, null, Causal: true);
                Run(job, context);
            }
        }
    }

    /// <summary>Bidirectional attention: every query sees every key (except masked ones).</summary>
    /// <param name="q">Queries, <c>[queries, heads × headDim]</c>.</param>
    /// <param name="k">Keys, <c>[keys, heads × headDim]</c>.</param>
    /// <param name="v">Values, same layout as keys.</param>
    /// <param name="output">Receives <c>[queries, heads × headDim]</c>.</param>
    /// <param name="queries">The number of queries.</param>
    /// <param name="keys">The number of keys.</param>
    /// <param name="heads">The number of heads.</param>
    /// <param name="headDim">The head width.</param>
    /// <param name="scale">The score scale.</param>
    /// <param name="keyValid">Per key, whether it may be attended to; <see langword="null"/> for all. A query whose keys
    /// are all masked gets a zero output.</param>
    /// <param name="context">The threading settings.</param>
    public static void Bidirectional(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int queries, int keys, int heads, int headDim, float scale, bool[]? keyValid, ComputeContext context)
    {
        unsafe
        {
            fixed (float* qp = q, kp = k, vp = v, op = output)
            {
                var job = new Job((nint)qp, (nint)kp, (nint)vp, (nint)op, queries, keys, heads, heads, headDim, scale, null, keyValid, Causal: false);
                Run(job, context);
            }
        }
    }

    private static void Run(Job job, ComputeContext context)
    {
        if (job.Queries >= GemmThreshold)
        {
            RunBlocked(job, context);
            return;
        }

        var blocks = (job.Queries + QueryBlock - 1) / QueryBlock;
        var items = blocks * job.Heads;
        var keyCount = job.Causal ? job.Start + job.Queries : job.Start;
        var work = (long)job.Queries * keyCount * job.HeadDim * job.Heads;
        if (context.MaxDegreeOfParallelism <= 1 || items == 1 || work < 200_000)
        {
            for (var i = 0; i < items; i++)
            {
                Item(job, i);
            }

            return;
        }

        Parallel.For(0, items, new ParallelOptions { MaxDegreeOfParallelism = context.MaxDegreeOfParallelism }, i => Item(job, i));
    }

    private static unsafe void Item(Job job, int item)
    {
        var head = item % job.Heads;
        var block = item / job.Heads;
        var first = block * QueryBlock;
        var count = Math.Min(QueryBlock, job.Queries - first);
        var d = job.HeadDim;
        var qStride = job.Heads * d;
        var kvStride = job.KvHeads * d;
        var kvHead = head / (job.Heads / job.KvHeads);
        var totalKeys = job.Causal ? job.Start + job.Queries : job.Start;
        var scores = ArrayPool<float>.Shared.Rent(totalKeys);
        try
        {
            var keys = new ReadOnlySpan<float>((float*)job.K, totalKeys * kvStride);
            var values = new ReadOnlySpan<float>((float*)job.V, totalKeys * kvStride);
            for (var r = 0; r < count; r++)
            {
                var row = first + r;
                var query = new ReadOnlySpan<float>((float*)job.Q + ((long)row * qStride) + (head * d), d);
                var visible = job.Causal ? job.Start + row + 1 : totalKeys;
                var s = scores.AsSpan(0, visible);
                var max = float.NegativeInfinity;
                for (var j = 0; j < visible; j++)
                {
                    float score;
                    if (job.KeyValid is { } valid && !valid[j])
                    {
                        score = float.NegativeInfinity;
                    }
                    else
                    {
                        score = TensorPrimitives.Dot(query, keys.Slice((j * kvStride) + (kvHead * d), d)) * job.Scale;
                        if (job.AlibiSlopes is { } slopes)
                        {
                            score += slopes[head] * (j - (job.Start + row));
                        }
                    }

                    s[j] = score;
                    max = MathF.Max(max, score);
                }

                var output = new Span<float>((float*)job.Output + ((long)row * qStride) + (head * d), d);
                output.Clear();
                if (float.IsNegativeInfinity(max))
                {
                    continue;
                }

                var sum = 0f;
                for (var j = 0; j < visible; j++)
                {
                    var e = MathF.Exp(s[j] - max);
                    s[j] = e;
                    sum += e;
                }

                var inverse = 1f / sum;
                for (var j = 0; j < visible; j++)
                {
                    if (s[j] != 0f)
                    {
                        TensorPrimitives.MultiplyAdd(values.Slice((j * kvStride) + (kvHead * d), d), s[j] * inverse, output, output);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    private static unsafe void RunBlocked(Job job, ComputeContext context)
    {
        var d = job.HeadDim;
        var totalKeys = job.Causal ? job.Start + job.Queries : job.Start;
        var kvStride = job.KvHeads * d;

        // Contiguous [keys, d] copies of each K/V head, shared by the query heads of its group (pooled: a long
        // prefill calls this once per layer and chunk).
        var keys = new float[job.KvHeads][];
        var values = new float[job.KvHeads][];
        var pool = ArrayPool<float>.Shared;
        try
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, context.MaxDegreeOfParallelism) };
            Parallel.For(0, job.KvHeads, options, h =>
            {
                var k = pool.Rent(totalKeys * d);
                var v = pool.Rent(totalKeys * d);
                var kSource = new ReadOnlySpan<float>((float*)job.K, totalKeys * kvStride);
                var vSource = new ReadOnlySpan<float>((float*)job.V, totalKeys * kvStride);
                for (var j = 0; j < totalKeys; j++)
                {
                    kSource.Slice((j * kvStride) + (h * d), d).CopyTo(k.AsSpan(j * d, d));
                    vSource.Slice((j * kvStride) + (h * d), d).CopyTo(v.AsSpan(j * d, d));
                }

                keys[h] = k;
                values[h] = v;
            });

            var blocks = (job.Queries + GemmQueryBlock - 1) / GemmQueryBlock;
            Parallel.For(0, blocks * job.Heads, options, item => BlockedItem(job, keys, values, item % job.Heads, item / job.Heads));
        }
        finally
        {
            foreach (var array in keys.Concat(values))
            {
                if (array is not null)
                {
                    pool.Return(array);
                }
            }
        }
    }

    private static unsafe void BlockedItem(Job job, float[][] keys, float[][] values, int head, int block)
    {
        var d = job.HeadDim;
        var first = block * GemmQueryBlock;
        var count = Math.Min(GemmQueryBlock, job.Queries - first);
        var qStride = job.Heads * d;
        var kvHead = head / (job.Heads / job.KvHeads);
        var visible = job.Causal ? job.Start + first + count : job.Start;
        var pool = ArrayPool<float>.Shared;
        var q = pool.Rent(count * d);
        var scores = pool.Rent(count * visible);
        var output = pool.Rent(count * d);
        try
        {
            var queries = new ReadOnlySpan<float>((float*)job.Q, job.Queries * qStride);
            for (var r = 0; r < count; r++)
            {
                queries.Slice(((first + r) * qStride) + (head * d), d).CopyTo(q.AsSpan(r * d, d));
            }

            var s = scores.AsSpan(0, count * visible);
            Gemm.MultiplyTransposed(q.AsSpan(0, count * d), keys[kvHead].AsSpan(0, visible * d), s, count, visible, d, ComputeContext.SingleThreaded);
            for (var r = 0; r < count; r++)
            {
                var row = s.Slice(r * visible, visible);
                var position = job.Start + first + r;
                var limit = job.Causal ? position + 1 : visible;
                TensorPrimitives.Multiply(row[..limit], job.Scale, row[..limit]);
                if (job.AlibiSlopes is { } slopes)
                {
                    for (var j = 0; j < limit; j++)
                    {
                        row[j] += slopes[head] * (j - position);
                    }
                }

                row[limit..].Fill(float.NegativeInfinity);
                if (job.KeyValid is { } valid)
                {
                    for (var j = 0; j < limit; j++)
                    {
                        if (!valid[j])
                        {
                            row[j] = float.NegativeInfinity;
                        }
                    }
                }

                var max = TensorPrimitives.Max(row);
                if (float.IsNegativeInfinity(max))
                {
                    row.Clear();
                    continue;
                }

                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
            }

            var o = output.AsSpan(0, count * d);
            Gemm.Multiply(s, values[kvHead].AsSpan(0, visible * d), o, count, d, visible, ComputeContext.SingleThreaded);
            var destination = new Span<float>((float*)job.Output, job.Queries * qStride);
            for (var r = 0; r < count; r++)
            {
                o.Slice(r * d, d).CopyTo(destination.Slice(((first + r) * qStride) + (head * d), d));
            }

        }
        finally
        {
            pool.Return(q);
            pool.Return(scores);
            pool.Return(output);
        }
    }

    /// <summary>One attention call; pointers cross into the parallel loop as integers.</summary>
    private sealed record Job(nint Q, nint K, nint V, nint Output, int Queries, int Start, int Heads, int KvHeads, int HeadDim, float Scale, float[]? AlibiSlopes, bool[]? KeyValid, bool Causal);
}
