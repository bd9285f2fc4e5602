// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>How ONNX Runtime sessions are created: threads, graph optimization, memory planning, execution provider and free-form session configuration entries.</summary>
/// <remarks>
/// <para>
/// The settings are read when a session is created; changing them afterwards affects only later sessions. Setters
/// validate their values. The type is not thread-safe: configure an instance before sharing it.
/// </para>
/// <code>
/// var options = new OnnxRuntimeSessionOptions
/// {
///     IntraOpThreads = 4,
///     ExecutionProvider = OnnxRuntimeExecutionProvider.Cuda,
///     CudaMemoryLimitBytes = 8L &lt;&lt; 30,
/// };
/// options.ConfigEntries["session.load_model_format"] = "ONNX";
/// </code>
/// </remarks>
public sealed class OnnxRuntimeSessionOptions
{
    private int _intraOpThreads;
    private int _interOpThreads;
    private int _cudaDeviceId;
    private long? _cudaMemoryLimitBytes;
    private OnnxRuntimeGraphOptimizationLevel _graphOptimizationLevel = OnnxRuntimeGraphOptimizationLevel.All;
    private OnnxRuntimeExecutionProvider _executionProvider = OnnxRuntimeExecutionProvider.Cpu;

    /// <summary>Gets or sets the number of threads that parallelize work inside one operator (<c>SetIntraOpNumThreads</c>).</summary>
    /// <value>The default is 0: ONNX Runtime's default (one thread per physical core).</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int IntraOpThreads
    {
        get => _intraOpThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _intraOpThreads = value;
        }
    }

    /// <summary>Gets or sets the number of threads that run independent operators in parallel (<c>SetInterOpNumThreads</c>); used only when ONNX Runtime runs the graph in parallel mode.</summary>
    /// <value>The default is 0: ONNX Runtime's default.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int InterOpThreads
    {
        get => _interOpThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _interOpThreads = value;
        }
    }

    /// <summary>Gets or sets how much ONNX Runtime rewrites the graph before running it.</summary>
    /// <value>The default is <see cref="OnnxRuntimeGraphOptimizationLevel.All"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined level.</exception>
    public OnnxRuntimeGraphOptimizationLevel GraphOptimizationLevel
    {
        get => _graphOptimizationLevel;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown graph optimization level.");
            }

            _graphOptimizationLevel = value;
        }
    }

    /// <summary>Gets or sets the execution provider the session runs on; operators it cannot run fall back to the CPU.</summary>
    /// <value>The default is <see cref="OnnxRuntimeExecutionProvider.Cpu"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined provider.</exception>
    /// <remarks>
    /// <see cref="OnnxRuntimeExecutionProvider.Cuda"/> needs the CUDA build of ONNX Runtime with its provider libraries
    /// (<c>libonnxruntime_providers_shared.so</c> and <c>libonnxruntime_providers_cuda.so</c> next to
    /// <c>libonnxruntime.so</c>; for example from the NuGet package <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c>), CUDA 12
    /// and cuDNN 9. Without them, creating a session throws <see cref="OnnxRuntimeException"/> naming what is missing.
    /// </remarks>
    public OnnxRuntimeExecutionProvider ExecutionProvider
    {
        get => _executionProvider;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown execution provider.");
            }

            _executionProvider = value;
        }
    }

    /// <summary>Gets or sets the CUDA device the session runs on (the provider option <c>device_id</c>); used with <see cref="OnnxRuntimeExecutionProvider.Cuda"/>.</summary>
    /// <value>The default is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int CudaDeviceId
    {
        get => _cudaDeviceId;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _cudaDeviceId = value;
        }
    }

    /// <summary>Gets or sets the most GPU memory, in bytes, the CUDA provider's arena may hold (the provider option <c>gpu_mem_limit</c>).</summary>
    /// <value>The default is <see langword="null"/>: no limit.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public long? CudaMemoryLimitBytes
    {
        get => _cudaMemoryLimitBytes;
        set
        {
            if (value is { } limit)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit, nameof(value));
            }

            _cudaMemoryLimitBytes = value;
        }
    }

    /// <summary>Gets or sets whether ONNX Runtime plans one memory block for a run from the shapes it saw before (<c>EnableMemPattern</c>/<c>DisableMemPattern</c>).</summary>
    /// <value>The default is <see langword="true"/>, ONNX Runtime's default. Shapes that change every run (a growing KV cache) gain little from it.</value>
    public bool EnableMemoryPattern { get; set; } = true;

    /// <summary>Gets or sets whether CPU tensors come from an arena that keeps memory for reuse (<c>EnableCpuMemArena</c>/<c>DisableCpuMemArena</c>).</summary>
    /// <value>The default is <see langword="true"/>, ONNX Runtime's default. Turning it off returns memory to the system sooner at some speed cost.</value>
    public bool EnableCpuMemoryArena { get; set; } = true;

    /// <summary>Gets the session configuration entries passed to <c>AddSessionConfigEntry</c> (keys from ONNX Runtime's <c>onnxruntime_session_options_config_keys.h</c>).</summary>
    /// <value>The default is empty. Keys are compared ordinally; ONNX Runtime rejects entries it does not accept when the session is created.</value>
    public IDictionary<string, string> ConfigEntries { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>How much ONNX Runtime optimizes a graph (<c>GraphOptimizationLevel</c>).</summary>
public enum OnnxRuntimeGraphOptimizationLevel
{
    /// <summary>ORT_DISABLE_ALL: run the graph as written.</summary>
    Disabled = 0,

    /// <summary>ORT_ENABLE_BASIC: semantics-preserving rewrites such as constant folding and redundant-node removal.</summary>
    Basic = 1,

    /// <summary>ORT_ENABLE_EXTENDED: also complex node fusions.</summary>
    Extended = 2,

    /// <summary>ORT_ENABLE_ALL: everything, including layout optimizations.</summary>
    All = 99,
}

/// <summary>Which execution provider runs a session.</summary>
public enum OnnxRuntimeExecutionProvider
{
    /// <summary>The CPU provider, built into every ONNX Runtime.</summary>
    Cpu = 0,

    /// <summary>NVIDIA CUDA: needs the CUDA build of ONNX Runtime with its provider libraries, CUDA 12 and cuDNN 9.</summary>
    Cuda = 1,
}
