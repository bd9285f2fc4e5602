// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using Multimodal.Backends.Managed;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI;
using Multimodal.Interop;
using Multimodal.Media.Images;
using Multimodal.Models.Aria;
using Multimodal.Models.AuroraCap;
using Multimodal.Models.Llava;
using Multimodal.Models.LongVA;
using Multimodal.Models.MiniCpmV;

namespace Multimodal.Cli;

/// <summary>Builds a model for the verbs that run one: the five family packages (detected from config.json), the
/// backend chosen with <c>--backend</c> (managed, ONNX Runtime or ONNX Runtime GenAI), and the image decoder.</summary>
internal static class CliModels
{
    /// <summary>The <c>--backend</c> value of the managed (pure C#) engine.</summary>
    internal const string Managed = "managed";

    /// <summary>The <c>--backend</c> value of the ONNX Runtime backend.</summary>
    internal const string OnnxRuntime = "onnxruntime";

    /// <summary>The <c>--backend</c> value of the ONNX Runtime GenAI backend.</summary>
    internal const string OnnxRuntimeGenAI = "onnxruntime-genai";

    /// <summary>The environment variable that names a folder with the ONNX Runtime (GenAI) native libraries, like <c>--native-dir</c>.</summary>
    internal const string NativeDirectoryVariable = "MULTIMODAL_NATIVE_DIR";

    /// <summary>Gets the installed families, in detection order.</summary>
    internal static IReadOnlyList<IModelFamily> Families { get; } =
        [LlavaFamily.Instance, LongVaFamily.Instance, AuroraCapFamily.Instance, MiniCpmVFamily.Instance, AriaFamily.Instance];

    /// <summary>Gets the <c>--model</c> option.</summary>
    internal static Option<DirectoryInfo> ModelOption() => new("--model", "-m") { Description = "The model folder (Hugging Face layout; the family is detected from config.json).", Required = true };

    /// <summary>Gets the <c>--quantize</c> option.</summary>
    internal static Option<string?> QuantizeOption()
    {
        var option = new Option<string?>("--quantize") { Description = "Quantize the language model's weights while loading: int8 or int4 (managed backend only)." };
        option.AcceptOnlyFromAmong("int8", "int4");
        return option;
    }

    /// <summary>Creates (but does not load) the model for a folder.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="settings">The backend and its options.</param>
    /// <param name="configure">Sets the model's options (concurrency, media limits) before it is built, or <see langword="null"/>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">The options do not fit the backend (for example <c>--quantize</c> with ONNX Runtime), or a native folder does not exist.</exception>
    /// <exception cref="ModelLoadException">The folder is not a model of an installed family, or lacks the export the backend loads.</exception>
    internal static MultimodalModel Create(DirectoryInfo folder, BackendSettings settings, Action<MultimodalModelOptions>? configure = null)
    {
        // Check the flags first: a wrong combination is reported before any file is read.
        var backend = CreateBackend(settings);

        // Detect now, once, so that a wrong folder fails before anything else happens, with the family list in the message.
        var family = new DetectingModelFamily(Families).Detect(folder.FullName);
        if (settings.Backend != Managed)
        {
            RequireOnnxExport(folder.FullName, settings.Backend);
            ConfigureNativeLibraries(settings.NativeDirectory);
        }

        return new MultimodalModelBuilder()
            .UseModelPath(folder.FullName)
            .UseFamily(family)
            .UseBackend(backend)
            .UseImageDecoder(new ImageDecoder())
            .UsePdf()
            .UseVideo()
            .ConfigureOptions(configure ?? (_ => { }))
            .Build();
    }

    /// <summary>Maps the settings onto a backend, rejecting flags the backend cannot honour.</summary>
    /// <exception cref="ArgumentException">A flag does not apply to the chosen backend.</exception>
    private static IModelBackend CreateBackend(BackendSettings settings)
    {
        ValidateFlags(settings);
        var cuda = settings.Device == "cuda";
        return settings.Backend switch
        {
            Managed => new ManagedBackend(new ManagedModelOptions
            {
                Quantization = settings.Quantize switch
                {
                    "int8" => WeightFormat.Int8,
                    "int4" => WeightFormat.Int4Symmetric,
                    _ => null,
                },
                MaxDegreeOfParallelism = settings.Threads ?? 0,
            }),
            OnnxRuntime => new OnnxRuntimeBackend(new OnnxRuntimeBackendOptions { Session = SessionOptions(settings, cuda) }),
            _ => new OnnxRuntimeGenAIBackend(new OnnxRuntimeGenAIBackendOptions
            {
                IntraOpThreads = settings.Threads ?? 0,
                ExecutionProvider = cuda ? OnnxRuntimeExecutionProvider.Cuda : OnnxRuntimeExecutionProvider.Cpu,

                // The vision encoder runs in plain ONNX Runtime next to GenAI; it follows the same flags.
                VisionSession = SessionOptions(settings, cuda),
            }),
        };
    }

    /// <summary>Rejects flags the chosen backend cannot honour, before any file is read.</summary>
    /// <param name="settings">The backend and its options.</param>
    /// <exception cref="ArgumentException">A flag does not apply to the backend, or <c>--native-dir</c> does not exist.</exception>
    internal static void ValidateFlags(BackendSettings settings)
    {
        if (settings.Backend is not (Managed or OnnxRuntime or OnnxRuntimeGenAI))
        {
            throw new ArgumentException($"Unknown backend '{settings.Backend}'; use {Managed}, {OnnxRuntime} or {OnnxRuntimeGenAI}.");
        }

        if (settings.Threads is < 1)
        {
            throw new ArgumentException($"--threads must be at least 1; got {settings.Threads}.");
        }

        if (settings.NativeDirectory is { } native && !Directory.Exists(native))
        {
            throw new ArgumentException($"--native-dir: '{Path.GetFullPath(native)}' does not exist.");
        }

        if (settings.Backend == Managed && settings.Device == "cuda")
        {
            throw new ArgumentException("The managed backend runs on the CPU only; use --device cpu, or --backend onnxruntime or onnxruntime-genai for --device cuda.");
        }

        if (settings.Backend != Managed && settings.Quantize is { } quantize)
        {
            throw new ArgumentException($"--quantize {quantize} applies to the managed backend only; --backend {settings.Backend} loads the ONNX export as it is (export a quantized model instead).");
        }
    }

    /// <summary>ONNX Runtime session options for <c>--threads</c> and <c>--device</c>.</summary>
    private static OnnxRuntimeSessionOptions SessionOptions(BackendSettings settings, bool cuda) => new()
    {
        IntraOpThreads = settings.Threads ?? 0,
        ExecutionProvider = cuda ? OnnxRuntimeExecutionProvider.Cuda : OnnxRuntimeExecutionProvider.Cpu,
    };

    /// <summary>Fails with one line naming the backend when the folder has no ONNX export (the backends' own messages name library options a command line cannot set).</summary>
    private static void RequireOnnxExport(string folder, string backend)
    {
        var onnx = Path.Combine(folder, "onnx");
        const string Export = "Export it with eng/onnx/export.py (bundled models) or optimum-cli export onnx (Hugging Face models), or use --backend managed.";
        if (!Directory.Exists(onnx))
        {
            throw new ModelLoadException($"'{folder}' has no ONNX export ('{onnx}' does not exist), which --backend {backend} loads. {Export}", folder);
        }

        if (backend == OnnxRuntimeGenAI && !File.Exists(Path.Combine(onnx, "genai_config.json")))
        {
            throw new ModelLoadException($"'{onnx}' has no genai_config.json, which --backend {backend} loads. {Export}", folder);
        }
    }

    /// <summary>Adds <c>--native-dir</c> and then <c>MULTIMODAL_NATIVE_DIR</c> to the ONNX Runtime and GenAI library search folders.</summary>
    /// <exception cref="ArgumentException"><c>MULTIMODAL_NATIVE_DIR</c> names a folder that does not exist.</exception>
    private static void ConfigureNativeLibraries(string? nativeDirectory)
    {
        var folders = new List<string>();
        if (nativeDirectory is not null)
        {
            folders.Add(Path.GetFullPath(nativeDirectory));
        }

        if (Environment.GetEnvironmentVariable(NativeDirectoryVariable) is { Length: > 0 } variable)
        {
            if (!Directory.Exists(variable))
            {
                throw new ArgumentException($"{NativeDirectoryVariable} names '{Path.GetFullPath(variable)}', which does not exist; point it at the folder with the ONNX Runtime libraries, or unset it.");
            }

            folders.Add(Path.GetFullPath(variable));
        }

        foreach (var folder in folders)
        {
            AddSearchDirectory(OnnxRuntimeLibraryOptions.Shared, folder, d => OnnxRuntimeLibraryOptions.Shared.AddSearchDirectory(d));
            AddSearchDirectory(OnnxRuntimeGenAILibraryOptions.Shared, folder, d => OnnxRuntimeGenAILibraryOptions.Shared.AddSearchDirectory(d));
        }
    }

    /// <summary>Adds a folder once, unless the library has already loaded.</summary>
    /// <remarks>A native library loads once per process and freezes its options. The tool runs one verb per process,
    /// but tests (and any host that runs several command lines) reuse the process: once the library is loaded, another
    /// folder could change nothing, so it is skipped rather than reported.</remarks>
    private static void AddSearchDirectory(NativeLibraryOptions options, string folder, Action<string> add)
    {
        if (options.IsFrozen || options.SearchDirectories.Contains(folder, StringComparer.Ordinal))
        {
            return;
        }

        try
        {
            add(folder);
        }
        catch (InvalidOperationException) when (options.IsFrozen)
        {
            // Another thread loaded the library between the check and the add.
        }
    }
}

/// <summary>The backend a verb loads its model with, from <c>--backend</c>, <c>--threads</c>, <c>--device</c>, <c>--native-dir</c> and <c>--quantize</c>.</summary>
/// <param name="Backend"><see cref="CliModels.Managed"/>, <see cref="CliModels.OnnxRuntime"/> or <see cref="CliModels.OnnxRuntimeGenAI"/>.</param>
/// <param name="Threads">The intra-op (ONNX Runtime, GenAI) or kernel (managed) thread count, or <see langword="null"/> for the backend's default.</param>
/// <param name="Device"><c>cpu</c> or <c>cuda</c>.</param>
/// <param name="NativeDirectory">A folder with the native libraries, or <see langword="null"/>.</param>
/// <param name="Quantize">int8, int4 or <see langword="null"/> (managed only).</param>
internal sealed record BackendSettings(string Backend, int? Threads = null, string Device = "cpu", string? NativeDirectory = null, string? Quantize = null);

/// <summary>The options that choose and tune the backend, shared by <c>ask</c>, <c>chat</c> and <c>inspect</c>.</summary>
internal sealed class BackendOptions
{
    /// <summary>Initializes the options.</summary>
    /// <param name="withQuantize">Whether the verb has <c>--quantize</c> (the verbs that generate do; <c>inspect</c> does not).</param>
    public BackendOptions(bool withQuantize)
    {
        Backend.AcceptOnlyFromAmong(CliModels.Managed, CliModels.OnnxRuntime, CliModels.OnnxRuntimeGenAI);
        Device.AcceptOnlyFromAmong("cpu", "cuda");
        Quantize = withQuantize ? CliModels.QuantizeOption() : null;
    }

    /// <summary>Gets <c>--backend</c>.</summary>
    public Option<string> Backend { get; } = new("--backend")
    {
        Description = "The engine that runs the model: managed (C#, the default), onnxruntime or onnxruntime-genai (the folder's onnx/ export, with the native libraries).",
        DefaultValueFactory = _ => CliModels.Managed,
    };

    /// <summary>Gets <c>--threads</c>.</summary>
    public Option<int?> Threads { get; } = new("--threads")
    {
        Description = "Threads per operator: ONNX Runtime's and GenAI's intra-op threads, the managed kernels' parallelism (every core by default).",
        HelpName = "N",
    };

    /// <summary>Gets <c>--device</c>.</summary>
    public Option<string> Device { get; } = new("--device")
    {
        Description = "cpu (the default) or cuda: the ONNX Runtime execution provider. The managed backend runs on the CPU only.",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>Gets <c>--native-dir</c>.</summary>
    public Option<DirectoryInfo?> NativeDirectory { get; } = new("--native-dir")
    {
        Description = $"A folder with the ONNX Runtime and GenAI native libraries (libonnxruntime.so.1, libonnxruntime-genai.so), searched first; {CliModels.NativeDirectoryVariable} is searched next.",
        HelpName = "DIR",
    };

    /// <summary>Gets <c>--quantize</c>, or <see langword="null"/> for a verb without it.</summary>
    public Option<string?>? Quantize { get; }

    /// <summary>Adds the options to a command.</summary>
    /// <param name="command">The verb.</param>
    public void AddTo(Command command)
    {
        command.Add(Backend);
        command.Add(Threads);
        command.Add(Device);
        command.Add(NativeDirectory);
        if (Quantize is not null)
        {
            command.Add(Quantize);
        }
    }

    /// <summary>Reads the settings from a parse.</summary>
    /// <param name="parse">The verb's parse result.</param>
    /// <returns>The settings.</returns>
    public BackendSettings Read(ParseResult parse) => new(
        parse.GetValue(Backend) ?? CliModels.Managed,
        parse.GetValue(Threads),
        parse.GetValue(Device) ?? "cpu",
        parse.GetValue(NativeDirectory)?.FullName,
        Quantize is null ? null : parse.GetValue(Quantize));
}
