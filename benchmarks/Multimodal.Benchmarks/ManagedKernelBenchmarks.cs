// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Multimodal.Backends.Managed;
using Multimodal.Backends.Managed.Kernels;

namespace Multimodal.Benchmarks;

/// <summary>
/// Roofline ceilings of this machine for the managed CPU backend: streaming read bandwidth (sum over a 512 MB array on
/// every core) and peak FMA throughput (independent Vector256 FMA chains on every core). The "Throughput" column gives
/// GB/s and GFLOP/s; the GEMV and GEMM suites report theirs in the same units to compare against these.
/// </summary>
[BenchmarkCategory("ManagedKernels")]
[Config(typeof(ManagedKernelThroughputConfig))]
public class ManagedKernelRooflineBenchmarks
{
    /// <summary>Bytes read by <see cref="StreamingRead"/>.</summary>
    internal const long StreamBytes = 512L * 1024 * 1024;

    /// <summary>Iterations of the FMA loop per thread.</summary>
    internal const int FmaIterations = 20_000_000;

    /// <summary>Independent accumulator chains (covers FMA latency × throughput).</summary>
    internal const int FmaChains = 10;

    private float[] _data = [];

    [GlobalSetup]
    public void Setup()
    {
        _data = GC.AllocateUninitializedArray<float>((int)(StreamBytes / 4));
        _data.AsSpan().Fill(1f);
    }

    [Benchmark(Description = "stream read 512 MB, all cores")]
    public float StreamingRead()
    {
        var threads = Environment.ProcessorCount;
        var count = StreamBytes / 4;
        var sums = new float[threads];
        var data = _data;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            ref var start = ref data[count * t / threads];
            var length = (count * (t + 1) / threads) - (count * t / threads);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            nuint i = 0;
            for (; (long)i <= length - 32; i += 32)
            {
                a0 += Vector256.LoadUnsafe(ref start, i);
                a1 += Vector256.LoadUnsafe(ref start, i + 8);
                a2 += Vector256.LoadUnsafe(ref start, i + 16);
                a3 += Vector256.LoadUnsafe(ref start, i + 24);
            }

            sums[t] = Vector256.Sum((a0 + a1) + (a2 + a3));
        });
        return sums.Sum();
    }

    [Benchmark(Description = "FMA peak, Vector256, all cores")]
    public float FmaPeak()
    {
        var threads = Environment.ProcessorCount;
        var results = new float[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => results[t] = FmaChainsLoop(FmaIterations));
        return results.Sum();
    }

    private static float FmaChainsLoop(int iterations)
    {
        var b = Vector256.Create(0.9999999f);
        var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6, c6 = a * 7, c7 = a * 8, c8 = a * 9, c9 = a * 10;
        for (var i = 0; i < iterations; i++)
        {
            c0 = Fma(c0, b, a);
            c1 = Fma(c1, b, a);
            c2 = Fma(c2, b, a);
            c3 = Fma(c3, b, a);
            c4 = Fma(c4, b, a);
            c5 = Fma(c5, b, a);
            c6 = Fma(c6, b, a);
            c7 = Fma(c7, b, a);
            c8 = Fma(c8, b, a);
            c9 = Fma(c9, b, a);
        }

        return Vector256.Sum(((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + (c8 + c9));
    }

    private static Vector256<float> Fma(Vector256<float> x, Vector256<float> y, Vector256<float> z) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x, y, z) : Vector256.FusedMultiplyAdd(x, y, z);
}

/// <summary>
/// Decode GEMV (one token) through <see cref="LinearKernel.Forward"/> on Llama-7B-sized projections (4096×4096 and
/// 11008×4096) in every storage format. Enough copies of the weight are cycled that they do not stay in the L3 cache,
/// as in a real model; "Throughput" is weight bytes streamed per second, to compare with the streaming-read ceiling.
/// </summary>
[BenchmarkCategory("ManagedKernels")]
[Config(typeof(ManagedKernelThroughputConfig))]
public class ManagedKernelGemvBenchmarks
{
    private const long CycledBytes = 256L * 1024 * 1024;
    private LinearWeight[] _weights = [];
    private float[] _x = [];
    private float[] _y = [];
    private int _next;

    [Params(4096, 11008)]
    public int Rows { get; set; }

    [Params("F32", "BF16", "Int8", "Int4Sym64", "Int4Asym128")]
    public string Format { get; set; } = "BF16";

    [GlobalSetup]
    public void Setup()
    {
        const int Columns = 4096;
        _weights = ManagedKernelData.Weights(Rows, Columns, Format, CycledBytes);
        _x = ManagedKernelData.Random(new Random(2), Columns);
        _y = new float[Rows];
    }

    [Benchmark(Description = "LinearKernel.Forward, n = 1")]
    public float Gemv()
    {
        var w = _weights[_next];
        _next = (_next + 1) % _weights.Length;
        LinearKernel.Forward(_x, 1, w, default, _y, ComputeContext.Default);
        return _y[0];
    }

    internal static double BytesPerOperation(BenchmarkCase benchmark)
    {
        var rows = (int)benchmark.Parameters["Rows"];
        var format = (string)benchmark.Parameters["Format"];
        return ManagedKernelData.ByteSize(rows, 4096, format);
    }
}

/// <summary>
/// Prefill GEMM through <see cref="LinearKernel.Forward"/> (512 tokens × 4096 → 4096); "Throughput" is GFLOP/s
/// (2·m·n·k per call), to compare with the FMA ceiling.
/// </summary>
[BenchmarkCategory("ManagedKernels")]
[Config(typeof(ManagedKernelThroughputConfig))]
public class ManagedKernelGemmBenchmarks
{
    internal const int M = 512;
    internal const int N = 4096;
    internal const int K = 4096;
    private LinearWeight _weight = null!;
    private float[] _x = [];
    private float[] _y = [];

    [Params("F32", "BF16", "Int4Sym64")]
    public string Format { get; set; } = "F32";

    [GlobalSetup]
    public void Setup()
    {
        _weight = ManagedKernelData.Weights(N, K, Format, 0)[0];
        _x = ManagedKernelData.Random(new Random(3), M * K);
        _y = new float[M * N];
    }

    [Benchmark(Description = "LinearKernel.Forward, 512 x 4096 x 4096")]
    public float Linear()
    {
        LinearKernel.Forward(_x, M, _weight, default, _y, ComputeContext.Default);
        return _y[0];
    }

}

/// <summary>The float32 products of attention and the projectors (<see cref="Gemm"/>), 512 × 4096 × 4096, GFLOP/s.</summary>
[BenchmarkCategory("ManagedKernels")]
[Config(typeof(ManagedKernelThroughputConfig))]
public class ManagedKernelFloatGemmBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    [GlobalSetup]
    public void Setup()
    {
        _a = ManagedKernelData.Random(new Random(4), ManagedKernelGemmBenchmarks.M * ManagedKernelGemmBenchmarks.K);
        _b = ManagedKernelData.Random(new Random(5), ManagedKernelGemmBenchmarks.N * ManagedKernelGemmBenchmarks.K);
        _c = new float[ManagedKernelGemmBenchmarks.M * ManagedKernelGemmBenchmarks.N];
    }

    [Benchmark(Description = "Gemm.MultiplyTransposed, 512 x 4096 x 4096")]
    public float MultiplyTransposed()
    {
        Gemm.MultiplyTransposed(_a, _b, _c, ManagedKernelGemmBenchmarks.M, ManagedKernelGemmBenchmarks.N, ManagedKernelGemmBenchmarks.K, ComputeContext.Default);
        return _c[0];
    }

    [Benchmark(Description = "Gemm.Multiply, 512 x 4096 x 4096")]
    public float Multiply()
    {
        Gemm.Multiply(_a, _b, _c, ManagedKernelGemmBenchmarks.M, ManagedKernelGemmBenchmarks.N, ManagedKernelGemmBenchmarks.K, ComputeContext.Default);
        return _c[0];
    }
}

/// <summary>Weights and inputs shared by the managed kernel benchmarks.</summary>
internal static class ManagedKernelData
{
    public static float[] Random(Random random, int length)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * 0.1);
        }

        return values;
    }

    /// <summary>Creates <c>max(1, cycledBytes / size)</c> copies of a random weight in the named format.</summary>
    public static LinearWeight[] Weights(int rows, int columns, string format, long cycledBytes)
    {
        var copies = (int)Math.Max(1, Math.Min(16, cycledBytes / ByteSize(rows, columns, format)));
        var result = new LinearWeight[copies];
        for (var i = 0; i < copies; i++)
        {
            var values = Random(new Random(10 + i), rows * columns);
            var f32 = LinearWeight.FromSingle(values, rows, columns);
            result[i] = format switch
            {
                "F32" => f32,
                "BF16" => LinearWeight.Quantize(f32, WeightFormat.BFloat16),
                "F16" => LinearWeight.Quantize(f32, WeightFormat.Float16),
                "Int8" => LinearWeight.Quantize(f32, WeightFormat.Int8),
                "Int4Sym64" => LinearWeight.Quantize(f32, WeightFormat.Int4Symmetric, 64),
                "Int4Asym128" => LinearWeight.Quantize(f32, WeightFormat.Int4Asymmetric, 128),
                _ => throw new ArgumentOutOfRangeException(nameof(format)),
            };
        }

        return result;
    }

    /// <summary>The weight bytes one GEMV reads (data, scales, zero points).</summary>
    public static long ByteSize(int rows, int columns, string format)
    {
        var elements = (long)rows * columns;
        return format switch
        {
            "F32" => elements * 4,
            "BF16" or "F16" => elements * 2,
            "Int8" => elements + (rows * 4L),
            "Int4Sym64" => (elements / 2) + (elements / 64 * 4),
            "Int4Asym128" => (elements / 2) + (elements / 128 * 5),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }
}

/// <summary>Adds the <see cref="ManagedKernelThroughputColumn"/> to the managed kernel suites.</summary>
public class ManagedKernelThroughputConfig : ManualConfig
{
    public ManagedKernelThroughputConfig() => AddColumn(new ManagedKernelThroughputColumn());
}

/// <summary>GB/s (streaming read, GEMV weight bytes) or GFLOP/s (FMA peak, GEMM) from the mean time.</summary>
public class ManagedKernelThroughputColumn : MeanRateColumn
{
    public override string Id => nameof(ManagedKernelThroughputColumn);

    public override string ColumnName => "Throughput";

    public override string Legend => "GB/s for memory-bound cases (bytes of weights read), GFLOP/s for compute-bound cases";

    protected override string Rate(BenchmarkCase benchmarkCase, double seconds)
    {
        var method = benchmarkCase.Descriptor.WorkloadMethod.Name;
        return method switch
        {
            nameof(ManagedKernelRooflineBenchmarks.StreamingRead) => Format(ManagedKernelRooflineBenchmarks.StreamBytes / seconds / 1e9, "GB/s"),
            nameof(ManagedKernelRooflineBenchmarks.FmaPeak) => Format(
                (double)Environment.ProcessorCount * ManagedKernelRooflineBenchmarks.FmaIterations * ManagedKernelRooflineBenchmarks.FmaChains * 16 / seconds / 1e9,
                "GFLOP/s"),
            nameof(ManagedKernelGemvBenchmarks.Gemv) => Format(ManagedKernelGemvBenchmarks.BytesPerOperation(benchmarkCase) / seconds / 1e9, "GB/s"),
            nameof(ManagedKernelGemmBenchmarks.Linear) or nameof(ManagedKernelFloatGemmBenchmarks.MultiplyTransposed) or nameof(ManagedKernelFloatGemmBenchmarks.Multiply) => Format(
                2.0 * ManagedKernelGemmBenchmarks.M * ManagedKernelGemmBenchmarks.N * ManagedKernelGemmBenchmarks.K / seconds / 1e9,
                "GFLOP/s"),
            _ => "-",
        };
    }

    private static string Format(double value, string unit) => string.Create(CultureInfo.InvariantCulture, $"{value:F1} {unit}");
}
