// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
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
using Multimodal.Models.Llava;

namespace Multimodal.Benchmarks;

/// <summary>Creates one backend's language decoder and model for the backend benchmarks, on the same weights.</summary>
internal static class BackendFactory
{
    /// <summary>Gets the backends compared: the managed engine, ONNX Runtime, ONNX Runtime GenAI.</summary>
    public static IEnumerable<string> Names => ["managed", "onnxruntime", "onnxruntime-genai"];

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
            var script = Path.Combine(PeerProcess.RepositoryRoot, "eng", "onnx", "export_llama.py");
            using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script, folder]) { RedirectStandardOutput = true })
                ?? throw new InvalidOperationException("Cannot start /usr/bin/python3 (python3-torch and python3-onnx export the ONNX model).");
            Console.WriteLine("// " + process.StandardOutput.ReadToEnd().Trim());
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{script} failed with exit code {process.ExitCode}.");
            }
        }

        return folder;
    }

    /// <summary>Loads a folder's language decoder with a backend (managed: safetensors; others: the onnx/ export).</summary>
    public static (ILanguageDecoder Decoder, IDisposable Owner) Decoder(string backend, string folder)
    {
        ConfigureNativeLibraries();
        var onnx = Path.Combine(folder, "onnx");
        switch (backend)
        {
            case "managed":
                var model = ManagedModel.Load(folder);
                return (model.LanguageDecoder, model);
            case "onnxruntime":
                var session = new OnnxRuntimeSessionOptions { IntraOpThreads = Threads };
                var embed = OrtSession.Create(Path.Combine(onnx, "embed_tokens.onnx"), session);
                var decoder = OrtSession.Create(Path.Combine(onnx, "decoder_model_merged.onnx"), session);
                var ort = new OnnxLanguageDecoder(embed, decoder, 4096, "onnxruntime:cpu");
                return (ort, ort);
            case "onnxruntime-genai":
                using (var config = GenAiConfig.FromDirectory(onnx))
                {
                    config.Overlay("{\"model\":{\"decoder\":{\"session_options\":{\"intra_op_num_threads\":" + Threads.ToString(CultureInfo.InvariantCulture) + "}}}}");
                    var genai = GenAiModel.Create(config);
                    var json = JsonConfig.ReadFile(onnx, "genai_config.json")!.Value.Section("model")!.Value;
                    var d = new GenAILanguageDecoder(genai, json.Int("vocab_size", 0), json.Int("context_length", 0), json.Section("decoder")!.Value.Int("hidden_size", 0), "onnxruntime-genai:cpu");
                    return (d, d);
                }

            default:
                throw new ArgumentException($"Unknown backend '{backend}'.", nameof(backend));
        }
    }

    /// <summary>Builds the bundled tiny LLaVA with a backend, the way an application does.</summary>
    public static MultimodalModel TinyLlava(string backend)
    {
        ConfigureNativeLibraries();
        var builder = new MultimodalModelBuilder()
            .UseModelPath(Path.Combine(PeerProcess.RepositoryRoot, "models", "llava-tiny"))
            .UseLlava()
            .UseImageDecoder(new ImageDecoder());
        return (backend switch
        {
            "managed" => builder.UseBackend(new ManagedBackend()),
            "onnxruntime" => builder.UseOnnxRuntime(o => o.Session.IntraOpThreads = Threads),
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
/// ONNX export by eng/onnx/export_llama.py) and the bundled tiny LLaVA's decoder. Prefill: one call of 512 positions
/// from an empty cache. Decode: 8 single-token steps after a 64-position prompt (reported per token).
/// </summary>
[BenchmarkCategory("Backends")]
[Config(typeof(BackendConfig))]
public class BackendDecoderBenchmarks
{
    private const int DecodeSteps = 8;
    private ILanguageDecoder? _decoder;
    private IDisposable? _owner;
    private IDecoderState? _state;
    private float[] _logits = [];
    private int[] _prefill = [];
    private int[] _prompt = [];

    [Params("llama-1.1b", "llava-tiny")]
    public string Model { get; set; } = "llava-tiny";

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    public static IEnumerable<string> Backends => BackendFactory.Names;

    [GlobalSetup]
    public void Setup()
    {
        var folder = Model == "llama-1.1b" ? BackendFactory.Llama1B() : Path.Combine(PeerProcess.RepositoryRoot, "models", "llava-tiny");
        (_decoder, _owner) = BackendFactory.Decoder(Backend, folder);
        var vocab = _decoder.Metadata.VocabularySize;
        _logits = new float[vocab];
        _prefill = [.. Enumerable.Range(0, 512).Select(i => ((i * 7919) + 13) % vocab)];
        _prompt = _prefill[..64];
    }

    [IterationSetup(Target = nameof(Decode))]
    public void PrefillPrompt()
    {
        _state?.Dispose();
        _state = _decoder!.CreateState();
        _decoder.Forward(_state, new DecoderInput(_prompt), _logits);
    }

    [IterationCleanup]
    public void DropState()
    {
        _state?.Dispose();
        _state = null;
    }

    [Benchmark(Description = "prefill 512", Baseline = false)]
    public float Prefill()
    {
        using var state = _decoder!.CreateState();
        _decoder.Forward(state, new DecoderInput(_prefill), _logits);
        return _logits[0];
    }

    [Benchmark(Description = "decode (per token, 64-position cache)", OperationsPerInvoke = DecodeSteps)]
    public float Decode()
    {
        for (var i = 0; i < DecodeSteps; i++)
        {
            _decoder!.Forward(_state!, DecoderInput.Token((i * 31) + 7), _logits);
        }

        return _logits[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        BackendFactory.ReportMemory($"{Model} {Backend}");
        _state?.Dispose();
        _owner?.Dispose();
    }
}

/// <summary>
/// The bundled tiny LLaVA end to end through <see cref="MultimodalModel"/>, per backend: vision encode of one
/// preprocessed view; time to first token (decode the PNG, preprocess, encode, template, prefill, first sample); and a
/// whole greedy answer ("Describe the image.").
/// </summary>
[BenchmarkCategory("Backends")]
[Config(typeof(BackendConfig))]
public class BackendPipelineBenchmarks
{
    private MultimodalModel? _model;
    private DenseTensor<float>? _view;
    private ChatMessage? _question;
    private ChatMessage? _describe;
    private readonly GenerationOptions _first = new() { DoSample = false, Temperature = 0, MaxNewTokens = 1 };
    private readonly GenerationOptions _answer = new() { DoSample = false, Temperature = 0, MaxNewTokens = 64 };

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    public static IEnumerable<string> Backends => BackendFactory.Names;

    [GlobalSetup]
    public void Setup()
    {
        _model = BackendFactory.TinyLlava(Backend);
        _model.LoadAsync().GetAwaiter().GetResult();
        var size = _model.Components.VisionEncoder!.Metadata.ImageSize;
        var random = new Random(5);
        _view = new DenseTensor<float>(Enumerable.Range(0, 3 * size * size).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray(), 3, size, size);
        var image = ImageContent.FromFile(Path.Combine(PeerProcess.RepositoryRoot, "tests", "data", "eval", "scenes-112", "scene-000.png"));
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
        var tokens = _model!.GenerateAsync([_describe!], _answer).GetAwaiter().GetResult().TokenIds.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// answer: {Backend} {tokens} tokens"));
        BackendFactory.ReportMemory($"llava-tiny pipeline {Backend}");
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
            nameof(BackendDecoderBenchmarks.Prefill) => Format($"{512 / seconds:F0} tok/s"),
            nameof(BackendDecoderBenchmarks.Decode) => Format($"{1 / seconds:F1} tok/s"),
            _ => "-",
        };

    private static string Format(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
