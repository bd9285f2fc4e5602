// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Multimodal.Backends.Managed;
using Multimodal.Backends.Managed.Decoder;
using Multimodal.Backends.Managed.Families;
using Multimodal.Backends.Managed.Kernels;
using Multimodal.Backends.Managed.Modules;
using Multimodal.Backends.Managed.SafeTensors;
using Multimodal.Backends.Managed.Vision;

namespace Multimodal.Benchmarks;

/// <summary>Synthetic models shared by the managed model benchmarks (written once under the temp folder).</summary>
internal static class SyntheticModels
{
    /// <summary>A TinyLlama-1.1B-shaped Llama: hidden 2048, 22 layers, 32 heads (4 KV heads), MLP 5632, vocab 32000.</summary>
    public static string Llama1B(TensorDType dtype) => SyntheticCheckpoints.Llama(
        Path.Combine(Path.GetTempPath(), "mm-bench-models", $"llama-1.1b-{dtype.ToString().ToLowerInvariant()}"),
        hidden: 2048, layers: 22, heads: 32, kvHeads: 4, intermediate: 5632, vocab: 32000, dtype);

    /// <summary>The peak resident set size of this process (VmHWM), in bytes, or -1 where /proc is unavailable.</summary>
    public static long PeakResidentBytes()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
        {
            return -1;
        }

        var line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>
/// Decode (batch 1, one token per call over a 64-position KV cache) and prefill (512 and 2,048 tokens) on a synthetic
/// 1.1B-parameter Llama, per weight format: fp32 and bf16 as stored, int8 and int4 (group 64) quantized at load from
/// the bf16 checkpoint. The "Rate" column gives tokens/s and the achieved weight bandwidth (decode) or GFLOP/s
/// (prefill); compare with <see cref="ManagedKernelRooflineBenchmarks"/> run in the same invocation. Each case also
/// prints its peak resident memory against weights + KV cache ("// memory:" lines in the log).
/// </summary>
[BenchmarkCategory("ManagedModel")]
[Config(typeof(ManagedModelConfig))]
public class ManagedDecoderBenchmarks
{
    private const int Context = 64;
    private ManagedModel? _model;
    private TransformerDecoder? _decoder;
    private IDecoderState? _state;
    private float[] _logits = [];
    private int[] _prompt = [];

    /// <summary>Gets the formats to run: all, or those listed in <c>MM_BENCH_FORMATS</c> (comma-separated).</summary>
    public static IEnumerable<string> Formats =>
        Environment.GetEnvironmentVariable("MM_BENCH_FORMATS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ["fp32", "bf16", "int8", "int4-g64"];

    [ParamsSource(nameof(Formats))]
    public string Format { get; set; } = "bf16";

    /// <summary>Positions in one call: 1 is a decode step; 512 and 2048 are prefills.</summary>
    [Params(1, 512, 2048)]
    public int Tokens { get; set; } = 1;

    internal static long BytesPerToken { get; private set; }

    internal static long MultiplyAdds { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var folder = SyntheticModels.Llama1B(Format == "fp32" ? TensorDType.F32 : TensorDType.BF16);
        var options = new ManagedModelOptions
        {
            Quantization = Format switch { "int8" => WeightFormat.Int8, "int4-g64" => WeightFormat.Int4Symmetric, _ => null },
            GroupSize = 64,
        };
        _model = LoadLlama(folder, options);
        _decoder = (TransformerDecoder)_model.LanguageDecoder;
        _logits = new float[_decoder.Config.VocabularySize];
        _prompt = Enumerable.Range(0, Tokens == 1 ? Context : Tokens).Select(i => ((i * 7919) + 13) % 32000).ToArray();
        _state = _decoder.CreateState();
        if (Tokens == 1)
        {
            _decoder.Forward(_state, new DecoderInput(_prompt), _logits);
        }

        BytesPerToken = _decoder.Weights.BytesPerToken(0);
        MultiplyAdds = _decoder.Weights.Layers.SelectMany(l => l.Linears()).Sum(l => (long)l.Layer.Weight.Rows * l.Layer.Weight.Columns);
    }

    [Benchmark(Description = "managed decoder")]
    public float Run()
    {
        if (Tokens == 1)
        {
            _decoder!.Forward(_state!, DecoderInput.Token(42), _logits);
            _state!.Truncate(Context);
        }
        else
        {
            _state!.Truncate(0);
            _decoder!.Forward(_state, new DecoderInput(_prompt), _logits);
        }

        return _logits[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var weights = _decoder!.Weights.Layers.SelectMany(l => l.Linears()).Sum(l => l.Layer.Weight.ByteSize)
            + _decoder.Weights.LmHead.Weight.ByteSize + (32000L * 2048 * (Format == "fp32" ? 4 : 2));
        var kv = 2L * _decoder.Config.Layers * _decoder.Config.KvHeads * _decoder.Config.HeadDim * 4 * Math.Max(Context + 1, Tokens);
        var peak = SyntheticModels.PeakResidentBytes();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// memory: {Format} tokens={Tokens} peak RSS {peak / 1e6:F0} MB (GC committed now {GC.GetGCMemoryInfo().TotalCommittedBytes / 1e6:F0} MB), weights {weights / 1e6:F0} MB, KV {kv / 1e6:F1} MB, ratio {(double)peak / (weights + kv):F3}"));
        _state?.Dispose();
        _model?.Dispose();
    }

    internal static ManagedModel LoadLlama(string folder, ManagedModelOptions options) => ManagedModel.Load(folder, options);
}

/// <summary>The vision tower of LLaVA-1.5 / LongVA: a CLIP ViT-L/14-336-shaped encoder with random bf16 weights, one
/// 336×336 view through the 23 layers LLaVA uses (feature layer −2).</summary>
[BenchmarkCategory("ManagedModel")]
[Config(typeof(ManagedModelConfig))]
public class ManagedVisionBenchmarks
{
    private SafeTensorsCheckpoint? _checkpoint;
    private ClipVisionTower? _tower;
    private DenseTensor<float>? _view;

    /// <summary>Multiply-adds of one view: 23 layers × 577 tokens × (4 projections of 1024² + MLP 2 × 1024 × 4096),
    /// attention (2 × 577² × 1024 per layer) and the patch embedding (576 × 588 × 1024).</summary>
    internal const double MultiplyAdds = (23.0 * 577 * ((4 * 1024 * 1024) + (2 * 1024 * 4096))) + (23.0 * 2 * 577 * 577 * 1024) + (576.0 * 588 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        var file = SyntheticCheckpoints.ClipVision(Path.Combine(Path.GetTempPath(), "mm-bench-models", "clip-vit-l-14-336-bf16.safetensors"), 1024, 24, 4096, 336, 14, TensorDType.BF16);
        _checkpoint = SafeTensorsCheckpoint.Open(file);
        var config = new VisionConfig { HiddenSize = 1024, IntermediateSize = 4096, Heads = 16, Layers = 24, ImageSize = 336, PatchSize = 14, LayerNormEpsilon = 1e-5f, Activation = VitActivation.QuickGelu };
        _tower = ClipVisionTower.Load(new WeightLoader(_checkpoint), config, "vision_model.", 23, ComputeContext.Default);
        var random = new Random(3);
        var pixels = new float[3 * 336 * 336];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)((random.NextDouble() * 4) - 2);
        }

        _view = new DenseTensor<float>(pixels, 3, 336, 336);
    }

    [Benchmark(Description = "CLIP ViT-L/14-336, 23 layers, one view")]
    public int Encode() => _tower!.Forward(_view!, 23, keepClassToken: false).Length;

    [GlobalCleanup]
    public void Cleanup() => _checkpoint?.Dispose();
}

/// <summary>Adds the rate column; the job is the suite-wide one (ShortRun: 3 warm-ups, 3 iterations — a 2,048-token
/// prefill of a 1.1B model takes tens of seconds here).</summary>
public class ManagedModelConfig : ManualConfig
{
    public ManagedModelConfig() => AddColumn(new ManagedModelRateColumn());
}

/// <summary>tokens/s and GB/s of weights (decode), tokens/s and GFLOP/s (prefill), views/s and GFLOP/s (vision).</summary>
public class ManagedModelRateColumn : MeanRateColumn
{
    public override string Id => nameof(ManagedModelRateColumn);

    public override string ColumnName => "Rate";

    public override string Legend => "decode: tokens/s and weight GB/s; prefill: tokens/s and GFLOP/s of the linear layers; vision: views/s and GFLOP/s";

    protected override string Rate(BenchmarkCase benchmarkCase, double seconds)
    {
        if (benchmarkCase.Descriptor.Type == typeof(ManagedVisionBenchmarks))
        {
            return Format($"{1 / seconds:F2} views/s, {2 * ManagedVisionBenchmarks.MultiplyAdds / seconds / 1e9:F1} GFLOP/s");
        }

        if (benchmarkCase.Descriptor.Type != typeof(ManagedDecoderBenchmarks))
        {
            return "-";
        }

        var tokens = (int)benchmarkCase.Parameters["Tokens"];
        var model = Llama1BFacts.For((string)benchmarkCase.Parameters["Format"]);
        return tokens == 1
            ? Format($"{1 / seconds:F2} tok/s, {model.BytesPerToken / seconds / 1e9:F1} GB/s")
            : Format($"{tokens / seconds:F1} tok/s, {2.0 * model.MultiplyAdds * tokens / seconds / 1e9:F1} GFLOP/s");
    }

    private static string Format(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Bytes per token and multiply-adds of the synthetic 1.1B Llama per format (computed from its shapes, so the
/// summary column does not depend on the benchmark process).</summary>
internal readonly record struct Llama1BFacts(long BytesPerToken, long MultiplyAdds)
{
    public static Llama1BFacts For(string format)
    {
        const long Hidden = 2048, Kv = 256, Inner = 5632, Layers = 22, Vocab = 32000;
        var perLayer = (2 * Hidden * Hidden) + (2 * Kv * Hidden) + (3 * Hidden * Inner);
        var linear = Layers * perLayer;
        double bytesPerWeight = format switch { "fp32" => 4, "bf16" => 2, "int8" => 1, _ => 0.5 + (4.0 / 64) };
        var headBytes = format switch { "fp32" => 4.0, "bf16" => 2.0, _ => 1.0 } * Vocab * Hidden;
        return new Llama1BFacts((long)((linear * bytesPerWeight) + headBytes), linear + (Vocab * Hidden));
    }
}
