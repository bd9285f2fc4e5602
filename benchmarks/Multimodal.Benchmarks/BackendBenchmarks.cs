// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Microsoft.Extensions.AI;
using Multimodal.Backends.Managed;
using Multimodal.Backends.Managed.SafeTensors;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Backends.OnnxRuntimeGenAI;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Multimodal.Media.Images;
using Multimodal.Models.Aria;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.Llava;
using Multimodal.Models.LongVA;
using Multimodal.Models.MiniCpmV;

namespace Multimodal.Benchmarks;

/// <summary>Creates one backend's language decoder and model for the backend benchmarks, on the same weights.</summary>
internal static class BackendFactory
{
    /// <summary>Gets the backends compared: the managed engine, ONNX Runtime, ONNX Runtime GenAI on the float weights,
    /// and the two int4 paths on the same quantized values: the managed engine's int4 (group 64, LM head int8) and ONNX
    /// Runtime's <c>decoder_model_merged_q4.onnx</c> (MatMulNBits, written by eng/onnx/quantize_int4.py).</summary>
    /// <remarks><c>MM_BENCH_BACKENDS</c> (comma-separated) restricts the list, as <c>MM_BENCH_FORMATS</c> does for the managed suite.</remarks>
    public static IEnumerable<string> Names =>
        Environment.GetEnvironmentVariable("MM_BENCH_BACKENDS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        ?? ["managed", "onnxruntime", "onnxruntime-genai", "managed-int4", "onnxruntime-int4"];

    /// <summary>The int4 group size of both int4 backends.</summary>
    public const int Int4GroupSize = 64;

    /// <summary>Gets the intra-op threads every backend uses: all cores, as the managed engine does by default.</summary>
    public static int Threads => Environment.ProcessorCount;

    /// <summary>Points the ONNX Runtime packages at .tools/native/linux-x64 (eng/native/fetch-onnxruntime.sh).</summary>
    public static void ConfigureNativeLibraries()
    {
        var folder = Path.Combine(PeerProcess.RepositoryRoot, ".tools", "native", "linux-x64");
        if (!OnnxRuntimeLibraryOptions.Shared.IsFrozen)
        {
            OnnxRuntimeLibraryOptions.Shared.AddSearchDirectory(folder);
        }

        if (!OnnxRuntimeGenAILibraryOptions.Shared.IsFrozen)
        {
            OnnxRuntimeGenAILibraryOptions.Shared.AddSearchDirectory(folder);
        }
    }

    /// <summary>The synthetic TinyLlama-1.1B-shaped checkpoint (float32), exported to ONNX on first use by eng/onnx/export_llama.py.</summary>
    public static string Llama1B()
    {
        var folder = SyntheticModels.Llama1B(TensorDType.F32);
        if (!File.Exists(Path.Combine(folder, "onnx", "genai_config.json")))
        {
            // A new float export makes an earlier int4 variant stale.
            File.Delete(Path.Combine(folder, "onnx", "decoder_model_merged_q4.onnx"));
            File.Delete(Path.Combine(folder, "onnx", "decoder_model_merged_q4.onnx.data"));
            RunPython("export_llama.py", folder);
        }

        return folder;
    }

    /// <summary>The managed engine's int4 settings: symmetric, <see cref="Int4GroupSize"/>, every layer (ratio 1).</summary>
    public static ManagedModelOptions Int4Options => new() { Quantization = WeightFormat.Int4Symmetric, GroupSize = Int4GroupSize };

    /// <summary>Gets a folder's <c>onnx/decoder_model_merged_q4.onnx</c> (committed for models/llava-tiny), written on
    /// first use by eng/onnx/quantize_int4.py with the managed engine's int4 values.</summary>
    public static string Int4Decoder(string folder)
    {
        var onnx = Path.Combine(folder, "onnx");
        var q4 = Path.Combine(onnx, "decoder_model_merged_q4.onnx");
        if (!File.Exists(q4))
        {
            RunPython("quantize_int4.py", onnx, "--group", Int4GroupSize.ToString(CultureInfo.InvariantCulture));
        }

        return q4;
    }

    /// <summary>Runs one of eng/onnx/'s scripts with /usr/bin/python3 (python3-torch and python3-onnx).</summary>
    private static void RunPython(string name, params string[] arguments)
    {
        var script = Path.Combine(PeerProcess.RepositoryRoot, "eng", "onnx", name);
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script, .. arguments]) { RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("Cannot start /usr/bin/python3 (python3-torch and python3-onnx write the ONNX models).");
        Console.WriteLine("// " + process.StandardOutput.ReadToEnd().Trim());
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed with exit code {process.ExitCode}.");
        }
    }

    /// <summary>Loads a folder's language decoder with a backend (managed: safetensors; others: the onnx/ export).</summary>
    public static (ILanguageDecoder Decoder, IDisposable Owner) Decoder(string backend, string folder)
    {
        ConfigureNativeLibraries();
        var onnx = Path.Combine(folder, "onnx");
        switch (backend)
        {
            case "managed":
            case "managed-int4":
                var model = ManagedModel.Load(folder, backend == "managed-int4" ? Int4Options : null);
                return (model.LanguageDecoder, model);
            case "onnxruntime":
            case "onnxruntime-int4":
                var session = new OnnxRuntimeSessionOptions { IntraOpThreads = Threads };
                var decoderPath = backend == "onnxruntime-int4" ? Int4Decoder(folder) : Path.Combine(onnx, "decoder_model_merged.onnx");
                var embed = OrtSession.Create(Path.Combine(onnx, "embed_tokens.onnx"), session);
                var decoder = OrtSession.Create(decoderPath, session);
                var ort = new OnnxLanguageDecoder(embed, decoder, 4096, "onnxruntime:cpu");
                return (ort, ort);
            case "onnxruntime-genai":
                using (var config = GenAiConfig.FromDirectory(onnx))
                {
                    config.SetIntraOpThreads(Threads);
                    var genai = GenAiModel.Create(config);
                    var json = JsonConfig.ReadFile(onnx, "genai_config.json")!.Value.Section("model")!.Value;
                    var d = new GenAILanguageDecoder(genai, json.Int("vocab_size", 0), json.Int("context_length", 0), json.Section("decoder")!.Value.Int("hidden_size", 0), "onnxruntime-genai:cpu");
                    return (d, d);
                }

            default:
                throw new ArgumentException($"Unknown backend '{backend}'.", nameof(backend));
        }
    }

    /// <summary>The families whose tiny models are bundled (models/&lt;family&gt;-tiny).</summary>
    public static IEnumerable<string> TinyFamilies => ["llava", "llava-mpt", "longva", "auroracap", "minicpmv", "aria"];

    /// <summary>Builds the bundled tiny LLaVA with a backend, the way an application does.</summary>
    public static MultimodalModel TinyLlava(string backend) => TinyModel("llava", backend);

    /// <summary>Builds a bundled tiny model (models/<paramref name="family"/>-tiny) with a backend, the way an
    /// application does: every family installed, the right one detected from config.json.</summary>
    public static MultimodalModel TinyModel(string family, string backend)
    {
        ConfigureNativeLibraries();
        var folder = Path.Combine(PeerProcess.RepositoryRoot, "models", family + "-tiny");
        if (backend == "onnxruntime-int4")
        {
            Int4Decoder(folder);
        }

        var builder = new MultimodalModelBuilder()
            .UseModelPath(folder)
            .UseFamily(new DetectingModelFamily([LlavaFamily.Instance, LongVaFamily.Instance, AuroraCapFamily.Instance, MiniCpmVFamily.Instance, AriaFamily.Instance]))
            .UseImageDecoder(new ImageDecoder());
        return (backend switch
        {
            "managed" => builder.UseBackend(new ManagedBackend()),
            "managed-int4" => builder.UseBackend(new ManagedBackend(Int4Options)),
            "onnxruntime" => builder.UseOnnxRuntime(o => o.Session.IntraOpThreads = Threads),
            "onnxruntime-int4" => builder.UseOnnxRuntime(o =>
            {
                o.Session.IntraOpThreads = Threads;
                o.FileVariants["decoder_model_merged"] = "q4";
            }),
            "onnxruntime-genai" => builder.UseOnnxRuntimeGenAI(o =>
            {
                o.IntraOpThreads = Threads;
                o.VisionSession.IntraOpThreads = Threads;
            }),
            _ => throw new ArgumentException($"Unknown backend '{backend}'.", nameof(backend)),
        }).Build();
    }

    /// <summary>Prints the process's peak resident memory (each BenchmarkDotNet case runs in its own process).</summary>
    public static void ReportMemory(string what) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// memory: {what} peak RSS {SyntheticModels.PeakResidentBytes() / 1e6:F0} MB"));
}

/// <summary>
/// The language decoder alone, per backend, on the same weights: the synthetic TinyLlama-1.1B-shaped model (float32;
/// ONNX export by eng/onnx/export_llama.py) and the bundled tiny LLaVA's decoder.
/// </summary>
public abstract class BackendDecoderBenchmarkBase
{
    private IDisposable? _owner;

    [Params("llama-1.1b", "llava-tiny")]
    public string Model { get; set; } = "llava-tiny";

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    public static IEnumerable<string> Backends => BackendFactory.Names;

    protected ILanguageDecoder Decoder { get; private set; } = null!;

    protected float[] Logits { get; private set; } = [];

    protected int[] Prompt { get; private set; } = [];

    [GlobalSetup]
    public virtual void Setup()
    {
        var folder = Model == "llama-1.1b" ? BackendFactory.Llama1B() : Path.Combine(PeerProcess.RepositoryRoot, "models", "llava-tiny");
        (Decoder, _owner) = BackendFactory.Decoder(Backend, folder);
        var vocab = Decoder.Metadata.VocabularySize;
        Logits = new float[vocab];
        Prompt = [.. Enumerable.Range(0, 512).Select(i => ((i * 7919) + 13) % vocab)];

        // The same weights must give the same numbers through every backend: print what a 64-position prompt gives.
        using var check = Decoder.CreateState();
        Decoder.Forward(check, new DecoderInput(Prompt.AsMemory(0, 64)), Logits);
        var best = Array.IndexOf(Logits, Logits.Max());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// check: {Model} {Backend} argmax {best}, logits[0..3] {Logits[0]:F5} {Logits[1]:F5} {Logits[2]:F5}"));
    }

    [GlobalCleanup]
    public virtual void Cleanup()
    {
        BackendFactory.ReportMemory($"{GetType().Name} {Model} {Backend}");
        _owner?.Dispose();
    }
}

/// <summary>Prefill: one call of 512 positions from an empty cache (a new state per call).</summary>
[BenchmarkCategory("Backends")]
[Config(typeof(BackendConfig))]
[InvocationCount(1, 1)]
public class BackendPrefillBenchmarks : BackendDecoderBenchmarkBase
{
    public override void Setup()
    {
        base.Setup();

        // As for decode: let tiered compilation settle before the one-call iterations (a few prefills for the tiny model).
        for (var i = 0; i < (Model == "llama-1.1b" ? 1 : 30); i++)
        {
            Prefill();
        }

        Thread.Sleep(500);
    }

    [Benchmark(Description = "prefill 512")]
    public float Prefill()
    {
        using var state = Decoder.CreateState();
        Decoder.Forward(state, new DecoderInput(Prompt), Logits);
        return Logits[0];
    }
}

/// <summary>Decode: single-token steps on one state that starts after a 64-position prompt and grows by 32 positions per
/// measured iteration (4 calls of 8 steps), so every backend decodes over the same 64–256 cached positions. No
/// per-iteration setup, which would let worker threads go idle between the measured steps.</summary>
[BenchmarkCategory("Backends")]
[Config(typeof(BackendConfig))]
[InvocationCount(4, 1)]
public class BackendDecodeBenchmarks : BackendDecoderBenchmarkBase
{
    private const int Steps = 8;
    private IDecoderState? _state;
    private int _next;

    public override void Setup()
    {
        base.Setup();

        // Warm up outside the measurement: with four calls per iteration BenchmarkDotNet's own warm-up is too short for
        // tiered compilation and dynamic PGO to settle the managed engine's per-step code (measured here: the tiny
        // decoder takes 1.7 ms/token for its first 400 steps, then 0.4-0.5 ms). The 1.1B model's time is in its
        // matrix loops, which on-stack replacement optimises within the first steps.
        var warmSteps = Model == "llama-1.1b" ? 32 : 600;
        using (var warm = Decoder.CreateState())
        {
            Decoder.Forward(warm, new DecoderInput(Prompt.AsMemory(0, 64)), Logits);
            for (var i = 0; i < warmSteps; i++)
            {
                Decoder.Forward(warm, DecoderInput.Token(Prompt[64 + (i % 256)]), Logits);
            }
        }

        Thread.Sleep(500);
        _state = Decoder.CreateState();
        Decoder.Forward(_state, new DecoderInput(Prompt.AsMemory(0, 64)), Logits);
    }

    [Benchmark(Description = "decode (per token)", OperationsPerInvoke = Steps)]
    public float Decode()
    {
        for (var i = 0; i < Steps; i++)
        {
            Decoder.Forward(_state!, DecoderInput.Token(Prompt[64 + (_next++ % 256)]), Logits);
        }

        return Logits[0];
    }

    public override void Cleanup()
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// cache: {Model} {Backend} ended at {_state!.Length} positions"));
        _state.Dispose();
        base.Cleanup();
    }
}

/// <summary>
/// Each bundled tiny model end to end through <see cref="MultimodalModel"/>, per backend: vision encode of the first
/// view the family's own preprocessing makes of a held-out scene; time to first token (decode the PNG, preprocess,
/// encode, template, prefill, first sample); and a whole greedy answer ("Describe the image.").
/// </summary>
[BenchmarkCategory("Backends")]
[Config(typeof(BackendConfig))]
public class BackendPipelineBenchmarks
{
    private MultimodalModel? _model;
    private DenseTensor<float>? _view;
    private ChatMessage? _question;
    private ChatMessage? _describe;
    private readonly GenerationOptions _first = new() { DoSample = false, Temperature = 0, MaxNewTokens = 1, RepetitionPenalty = 1 };
    private readonly GenerationOptions _answer = new() { DoSample = false, Temperature = 0, MaxNewTokens = 64, RepetitionPenalty = 1 };

    [ParamsSource(nameof(Families))]
    public string Family { get; set; } = "llava";

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    public static IEnumerable<string> Families => BackendFactory.TinyFamilies;

    public static IEnumerable<string> Backends => BackendFactory.Names;

    [GlobalSetup]
    public void Setup()
    {
        _model = BackendFactory.TinyModel(Family, Backend);
        _model.LoadAsync().GetAwaiter().GetResult();

        // The scene size the family was trained on (224 for MiniCPM-V's sliced scenes, 112 for the others).
        using var goldens = JsonDocument.Parse(File.ReadAllText(Path.Combine(PeerProcess.RepositoryRoot, "tests", "data", "eval", Family, "goldens.json")));
        var scene = goldens.RootElement.GetProperty("scene_size").GetInt32();
        var path = Path.Combine(PeerProcess.RepositoryRoot, "tests", "data", "eval", $"scenes-{scene}", "scene-000.png");
        var components = _model.Components;
        var frame = new ImageDecoder().Decode(File.ReadAllBytes(path));
        _view = components.ImageProcessor!.Process(components.ImageSplitter!.Split(frame).Views[0]);
        var image = ImageContent.FromFile(path);
        _question = new ChatMessage(ChatRole.User, [image, new TextContent("What shape is in the image?")]);
        _describe = new ChatMessage(ChatRole.User, [image, new TextContent("Describe the image.")]);
    }

    [Benchmark(Description = "vision encode (1 view)")]
    public int VisionEncode() => _model!.Components.VisionEncoder!.EncodeAsync([_view!]).AsTask().GetAwaiter().GetResult()[0].Dimension(0);

    [Benchmark(Description = "time to first token (image + question)")]
    public int TimeToFirstToken() => _model!.GenerateAsync([_question!], _first).GetAwaiter().GetResult().TokenIds.Count;

    [Benchmark(Description = "whole answer (Describe the image.)")]
    public int Answer() => _model!.GenerateAsync([_describe!], _answer).GetAwaiter().GetResult().TokenIds.Count;

    [GlobalCleanup]
    public void Cleanup()
    {
        var answer = _model!.GenerateAsync([_describe!], _answer).GetAwaiter().GetResult();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// answer: {Family} {Backend} {answer.TokenIds.Count} tokens: {answer.Text}"));
        BackendFactory.ReportMemory($"{Family}-tiny pipeline {Backend}");
        _model.Dispose();
    }
}

/// <summary>Adds the rate column (tokens/s for prefill and decode).</summary>
public class BackendConfig : ManualConfig
{
    public BackendConfig() => AddColumn(new BackendRateColumn());
}

/// <summary>Prefill and decode tokens/s.</summary>
public class BackendRateColumn : MeanRateColumn
{
    public override string Id => nameof(BackendRateColumn);

    public override string ColumnName => "Rate";

    public override string Legend => "prefill: positions/s; decode: tokens/s";

    protected override string Rate(BenchmarkCase benchmarkCase, double seconds) =>
        benchmarkCase.Descriptor.WorkloadMethod.Name switch
        {
            nameof(BackendPrefillBenchmarks.Prefill) => Format($"{512 / seconds:F0} tok/s"),
            nameof(BackendDecodeBenchmarks.Decode) => Format($"{1 / seconds:F1} tok/s"),
            _ => "-",
        };

    private static string Format(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
